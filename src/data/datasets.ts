// The paper's three datasets (docs/algorithm.md §10) in one table: what data-prep writes, what the
// trainer reads, and the network and targets each implies.
import type { LossKind } from "../backend/types.ts";

export type DatasetName = "mnist" | "curves" | "faces";

export interface DatasetFacts {
  /** Features per row: the image's width × height. */
  dim: number;
  /** The splits data-prep writes. */
  splits: readonly string[];
  /** The split the trainer evaluates as held out (MNIST: its validation split; the test set stays unused). */
  heldOut: string;
  /** The autoencoder's loss: bce for images in [0, 1] read as probabilities, sse for FACES' real values. */
  autoencoderLoss: LossKind;
  /** Digit labels, so the odd/even mixture classifier can train on it. */
  labels: boolean;
}

export const DATASETS: Readonly<Record<DatasetName, Readonly<DatasetFacts>>> = {
  mnist: { dim: 784, splits: ["train", "valid", "test"], heldOut: "valid", autoencoderLoss: "bce", labels: true },
  curves: { dim: 784, splits: ["train", "test"], heldOut: "test", autoencoderLoss: "bce", labels: false },
  faces: { dim: 625, splits: ["train", "test"], heldOut: "test", autoencoderLoss: "sse", labels: false },
};

export const DATASET_NAMES = Object.keys(DATASETS) as readonly DatasetName[];

/** The odd/even classifier's targets: label mod 2, i.e. 1 for an odd digit, 0 for an even one. */
export function oddEvenTargets(labels: ArrayLike<number>): Float32Array {
  return Float32Array.from(labels, (label) => label % 2);
}
