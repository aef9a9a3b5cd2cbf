// The trainer's view of a prepared dataset: its description, the whole set as float32, the file
// names of its splits, and on-demand preparation when the files are missing.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DataError } from "./data-error.ts";
import { openDatasetFile, type DatasetInfo } from "./dataset-file.ts";
import { dataDir } from "./location.ts";
import { DATASET_NAMES, type DatasetName } from "./schema.ts";

export { DataError } from "./data-error.ts";
export type { DatasetInfo } from "./dataset-file.ts";

/** Validates the file's schema, metadata and record batches and returns its description; throws DataError. */
export function readDatasetInfo(file: string): DatasetInfo {
  return openDatasetFile(file).info;
}

// x[r·dim + j] = pixel / 255 for Uint8 files (exactly representable steps of 1/255, no subnormals).
export function loadDataset(file: string): { info: DatasetInfo; x: Float32Array; labels?: Uint8Array } {
  const { info, chunks } = openDatasetFile(file);
  const x = new Float32Array(info.count * info.dim);
  const labels = info.hasLabels ? new Uint8Array(info.count) : undefined;
  for (const chunk of chunks) {
    const out = x.subarray(chunk.start * info.dim, (chunk.start + chunk.rows) * info.dim);
    if (chunk.pixels instanceof Uint8Array) {
      for (let i = 0; i < out.length; i++) out[i] = chunk.pixels[i] / 255;
    } else {
      out.set(chunk.pixels);
    }
    if (labels && chunk.labels) labels.set(chunk.labels, chunk.start);
  }
  return { info, x, labels };
}

/** The training file and the held-out file (MNIST: the validation split) of a dataset. */
export function datasetFiles(name: DatasetName, dir = dataDir()): { train: string; heldOut: string } {
  if (!DATASET_NAMES.includes(name)) throw new DataError(`unknown dataset '${name}'; valid: ${DATASET_NAMES.join(", ")}`);
  return { train: join(dir, `${name}-train.arrow`), heldOut: join(dir, `${name}-${name === "mnist" ? "valid" : "test"}.arrow`) };
}

/** Runs `bun run prep <name> --out dir` in this process when the train or held-out file is missing. */
export async function ensureDataset(name: DatasetName, dir = dataDir()): Promise<void> {
  const { train, heldOut } = datasetFiles(name, dir);
  if (existsSync(train) && existsSync(heldOut)) return;
  process.stderr.write(`data: ${existsSync(train) ? heldOut : train} is missing; preparing '${name}' into ${dir}/ now (bun run prep ${name})\n`);
  const { prepareDataset } = await import("../../data-prep/prepare.ts");
  await prepareDataset(name, { out: dir });
}
