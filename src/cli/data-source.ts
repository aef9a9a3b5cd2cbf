// Where a run's data comes from: one of the prepared datasets (--dataset; the CLI prepares it first), or
// one's own Arrow files (--data, --valid, with --features and --targets). Gives the trainer the
// files, the columns, the shape the network must fit, and the targets of each minibatch.
import { basename } from "node:path";
import { sameFile } from "../io/outputs.ts";
import { DataError, datasetFiles, loadDataset, missingDatasetFile, readDatasetInfo } from "../data/dataset.ts";
import type { ColumnChoice } from "../data/dataset-file.ts";
import type { TrainConfig } from "../run/config.ts";
import type { DataShape } from "../run/network.ts";
import { classCount } from "../data/targets.ts";
import { LABEL_COLUMN } from "../data/schema.ts";

export interface TrainingData {
  /** For logs and run-directory names: the dataset, or the file's name. */
  label: string;
  train: string;
  heldOut?: string;
  columns: ColumnChoice;
  /** Own data only: the sizes the network must fit. */
  shape?: DataShape;
  /** Own data only: the class names of a target column of class labels. */
  classNames?: readonly string[];
}

/** Resolves --dataset or --data into files; validates an own file's columns. */
export async function trainingData(config: TrainConfig): Promise<TrainingData> {
  if (!config.data) {
    const missing = missingDatasetFile(config.dataset, config.dataDir);
    if (missing !== undefined) throw new DataError(`${missing} is missing; prepare it with: bun run prep ${config.dataset}${config.dataDir ? ` --out ${config.dataDir}` : ""}`);
    const { train, heldOut } = datasetFiles(config.dataset, config.dataDir);
    // The digit classifier reads the prepared files' label column as its targets (one class index per row).
    const columns: ColumnChoice = config.task === "classify" ? { targets: LABEL_COLUMN } : {};
    return { label: config.dataset, train, heldOut, columns };
  }
  const columns: ColumnChoice = { features: config.features, targets: config.targets };
  const info = readDatasetInfo(config.data, columns);
  if (config.valid) {
    if (sameFile(config.data, config.valid)) throw new DataError(`--valid ${config.valid} is the --data file itself; its error would not be held-out: give a file of other rows`);
    const valid = readDatasetInfo(config.valid, { features: info.features.name, targets: info.targets?.name });
    if (valid.dim !== info.dim || valid.targets?.width !== info.targets?.width) {
      throw new DataError(`${valid.file}: --valid has ${valid.dim} features and ${valid.targets?.width ?? 0} targets per row, --data ${info.dim} and ${info.targets?.width ?? 0}`);
    }
    const [ours, theirs] = [info.targets?.classNames, valid.targets?.classNames];
    if ((ours || theirs) && JSON.stringify(ours) !== JSON.stringify(theirs)) {
      const list = (names?: readonly string[]) => (names ? names.join(", ") : "none (plain numbers)");
      throw new DataError(`${valid.file}: --valid names the classes ${list(theirs)}, --data ${list(ours)}; class indices must mean the same in both (import both from one file, or with the same labels)`);
    }
  }
  return {
    label: basename(config.data).replace(/\.(arrow|feather|ipc)$/, ""),
    train: config.data,
    heldOut: config.valid,
    columns: { features: info.features.name, targets: info.targets?.name },
    shape: { inputDim: info.dim, targetWidth: info.targets?.width, unitFeatures: info.features.scale255, classes: softmaxClasses(config, columns, info.targets?.classNames) },
    classNames: info.targets?.classNames,
  };
}

/** K of --loss softmax without --classes: the number of named classes, else the largest label of --data + 1 (the labels are checked against K on load). */
function softmaxClasses(config: TrainConfig, columns: ColumnChoice, classNames?: readonly string[]): number | undefined {
  if (config.loss !== "softmax" || config.classes !== undefined || !columns.targets) return undefined;
  if (classNames) return Math.max(2, classNames.length);
  const { y } = loadDataset(config.data!, columns);
  return y ? classCount(y) : undefined;
}
