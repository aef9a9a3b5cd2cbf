// The trainer's view of a prepared dataset: its description, the whole set as float32, and the file
// names of its splits (data-prep's ensureDataset prepares them when missing). Both readers go through
// DatasetReader (dataset-reader.ts): the file is checked in pieces, never held whole.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DataError } from "./data-error.ts";
import type { ColumnChoice, DatasetInfo } from "./dataset-file.ts";
import { DatasetReader } from "./dataset-reader.ts";
import { dataDir } from "./location.ts";
import { DATASETS, DATASET_NAMES, type DatasetName } from "./datasets.ts";

export { DataError } from "./data-error.ts";
export type { ColumnChoice, DatasetInfo } from "./dataset-file.ts";

/** Validates the file's schema, metadata and record batches and returns its description; throws DataError. */
export function readDatasetInfo(file: string, choice: ColumnChoice = {}): DatasetInfo {
  const reader = DatasetReader.open(file, choice);
  reader.close();
  return reader.info;
}

/** A whole dataset in memory: x is count × dim, y (when a target column was chosen) count × targets.width, row-major. */
export interface LoadedDataset {
  info: DatasetInfo;
  x: Float32Array;
  labels?: Uint8Array;
  y?: Float32Array;
}

// x[r·dim + j] = pixel / 255 for Uint8 columns (exactly representable steps of 1/255, no subnormals),
// the value rounded to float32 otherwise; the same for y.
export function loadDataset(file: string, choice: ColumnChoice = {}): LoadedDataset {
  const reader = DatasetReader.open(file, choice);
  try {
    const { info } = reader;
    const x = new Float32Array(info.count * info.dim);
    const labels = info.hasLabels ? new Uint8Array(info.count) : undefined;
    const y = info.targets ? new Float32Array(info.count * info.targets.width) : undefined;
    reader.readRange(0, info.count, { x, labels, y });
    return { info, x, labels, y };
  } finally {
    reader.close();
  }
}

/** The training file and the held-out file (MNIST: the validation split) of a dataset. */
export function datasetFiles(name: DatasetName, dir = dataDir()): { train: string; heldOut: string } {
  if (!DATASET_NAMES.includes(name)) throw new DataError(`unknown dataset '${name}'; valid: ${DATASET_NAMES.join(", ")}`);
  return { train: join(dir, `${name}-train.arrow`), heldOut: join(dir, `${name}-${DATASETS[name].heldOut}.arrow`) };
}

/** The first of the dataset's files that is missing, or undefined when both are there. */
export function missingDatasetFile(name: DatasetName, dir = dataDir()): string | undefined {
  const { train, heldOut } = datasetFiles(name, dir);
  return [train, heldOut].find((file) => !existsSync(file));
}
