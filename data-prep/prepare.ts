// One dataset preparation: generate its splits, encode each as Arrow, write them all atomically.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ARROW, checkOutput } from "../src/io/outputs.ts";
import { DataError } from "../src/data/data-error.ts";
import { DATASET_NAMES, type DatasetName } from "../src/data/datasets.ts";
import { encodeImageSet, imageCount, type ImageSet } from "./arrow-writer.ts";
import { writeFilesAtomically } from "./arrow-writer.ts";
import { curvesCounts, generateCurves } from "./curves.ts";
import { facesCounts, generateFaces } from "./faces.ts";
import { generateMnist, mnistTotal } from "./mnist.ts";
import { dataDir } from "../src/data/location.ts";
import { Progress } from "./progress.ts";

export const DEFAULT_SEED = 1;

export interface PrepOptions {
  out?: string;
  seed?: number;
  source?: string;
  /** Internal, for tests: MNIST images per split / CURVES training images / FACES pairs per source image. */
  count?: number;
  /** Internal, for tests and benchmarks: FACES worker threads (default one per core). */
  workers?: number;
  /** No progress output (tests). */
  quiet?: boolean;
}

export interface PrepResult {
  files: { file: string; count: number }[];
  seconds: number;
}

function totalImages(name: DatasetName, count?: number): number {
  if (name === "mnist") return mnistTotal({ count });
  const counts = name === "curves" ? curvesCounts({ count }) : facesCounts(count);
  return counts.train + counts.test;
}

export async function prepareDataset(name: DatasetName, options: PrepOptions = {}): Promise<PrepResult> {
  if (!DATASET_NAMES.includes(name)) throw new DataError(`unknown dataset '${name}'; valid: ${DATASET_NAMES.join(", ")}`);
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new DataError(`--seed must be a non-negative integer, got ${seed}`);
  if (options.count !== undefined && !(Number.isSafeInteger(options.count) && options.count > 0)) {
    throw new DataError(`--count must be a positive integer, got ${options.count}`);
  }
  const out = dataDir(options.out);
  // Before the work: a file of this dataset's names that no Arrow writer made is left as it is.
  if (existsSync(out)) for (const file of readdirSync(out)) if (file.startsWith(`${name}-`) && file.endsWith(".arrow")) checkOutput(join(out, file), ARROW, [], null);
  const progress = new Progress(`prep ${name}`, totalImages(name, options.count), { quiet: options.quiet });
  const generate = { mnist: generateMnist, curves: generateCurves, faces: generateFaces }[name];
  const sets: ImageSet[] = await generate({ seed, source: options.source, count: options.count, workers: options.workers, progress });
  const outputs = sets.map((set) => ({ file: join(out, `${name}-${set.split}.arrow`), bytes: encodeImageSet(set), count: imageCount(set) }));
  writeFilesAtomically(outputs);
  return { files: outputs.map(({ file, count }) => ({ file, count })), seconds: progress.seconds() };
}
