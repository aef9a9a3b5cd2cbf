// The network description: layer sizes, the transfer function of each hidden layer, and the loss
// acting on the last pre-activation (docs/algorithm.md §1).
import { ExpectedError } from "../errors.ts";
import { LOSS_KINDS, type LossKind, TRANSFER_KINDS, type TransferKind } from "../backend/types.ts";
import { isLabelLoss } from "../backend/shapes.ts";
import { DATASETS, type DatasetName } from "../data/datasets.ts";

export interface NetworkSpec {
  /** D₀ … D_L: input size, hidden sizes, output size. */
  readonly sizes: readonly number[];
  /** f₁ … f_{L−1}: one transfer function per hidden layer (the output layer is linear into the loss). */
  readonly transfers: readonly TransferKind[];
  readonly loss: LossKind;
}

/**
 * autoencoder: the targets are the inputs; odd-even: MNIST's mixture classifier; classify: MNIST's
 * 10-digit softmax classifier; supervised: a target column of one's own data.
 */
export type TaskName = "autoencoder" | "odd-even" | "classify" | "supervised";

export class SpecError extends ExpectedError {}

export function layerCount(spec: NetworkSpec): number {
  return spec.sizes.length - 1;
}

/** Number of parameters: Σ_λ D_λ (D_{λ−1} + 1). */
export function parameterCount(spec: NetworkSpec): number {
  let total = 0;
  for (let l = 1; l < spec.sizes.length; l++) total += spec.sizes[l] * (spec.sizes[l - 1] + 1);
  return total;
}

/** A layer size as typed: decimal digits only (no 0x8, 0b11, 0o7, 1e3, blanks or signs), at least 1. */
const LAYER_SIZE = /^[1-9][0-9]*$/;
const layerSizes = (parts: string[]) => (parts.every((p) => LAYER_SIZE.test(p) && Number.isSafeInteger(Number(p))) ? parts.map(Number) : undefined);

/** Parses "784-1000-500-30" into sizes; every size a positive decimal integer, at least two of them. */
export function parseArch(text: string): number[] {
  const parts = text.split("-");
  const sizes = layerSizes(parts);
  if (parts.length < 2 || !sizes) {
    throw new SpecError(`--arch '${text}': expected sizes joined by '-', e.g. 784-1000-500-250-30-250-500-1000-784`);
  }
  return sizes;
}

/** Parses "64-16-64" into hidden layer sizes (between the data's input and output sizes). */
export function parseHidden(text: string): number[] {
  const sizes = layerSizes(text.split("-"));
  if (!sizes) throw new SpecError(`--hidden '${text}': expected hidden layer sizes joined by '-', e.g. 64-16-64`);
  return sizes;
}

/**
 * Transfer functions from "tanh" (every hidden layer) or "tanh,tanh,linear,..." (one per hidden
 * layer).
 */
export function parseTransfers(text: string, hiddenLayers: number): TransferKind[] {
  const names = text.split(",");
  for (const name of names) {
    if (!TRANSFER_KINDS.includes(name as TransferKind)) {
      throw new SpecError(`--act '${name}': valid transfer functions are ${TRANSFER_KINDS.join(", ")}`);
    }
  }
  if (names.length === 1) return Array(hiddenLayers).fill(names[0]);
  if (names.length !== hiddenLayers) {
    throw new SpecError(`--act lists ${names.length} transfer functions; the architecture has ${hiddenLayers} hidden layers`);
  }
  return names as TransferKind[];
}

export function parseLoss(text: string): LossKind {
  if (!LOSS_KINDS.includes(text as LossKind)) throw new SpecError(`--loss '${text}': valid losses are ${LOSS_KINDS.join(", ")}`);
  return text as LossKind;
}

/** The input dimension D of each dataset. */
export function datasetDim(dataset: DatasetName): number {
  return DATASETS[dataset].dim;
}

/**
 * The paper's networks (docs/algorithm.md §1): the autoencoder D-1000-500-250-30-250-500-1000-D with tanh
 * on every hidden layer, bce for MNIST and CURVES, sse for FACES; the odd/even classifier
 * D-1000-500-250-30-3 with the mixture loss; the digit classifier D-1000-500-250-30-10 (the same
 * encoder) with the softmax loss.
 */
export function defaultSpec(dataset: DatasetName, task: TaskName = "autoencoder"): NetworkSpec {
  const d = datasetDim(dataset);
  if (task === "odd-even") {
    if (!DATASETS[dataset].labels) throw new SpecError(`--task odd-even needs --dataset mnist (it classifies digits), got ${dataset}`);
    return { sizes: [d, 1000, 500, 250, 30, 3], transfers: Array(4).fill("tanh"), loss: "mixture" };
  }
  if (task === "classify") {
    if (!DATASETS[dataset].labels) throw new SpecError(`--task classify needs --dataset mnist (it classifies digits), got ${dataset}`);
    return { sizes: [d, 1000, 500, 250, 30, 10], transfers: Array(4).fill("tanh"), loss: "softmax" };
  }
  return {
    sizes: [d, 1000, 500, 250, 30, 250, 500, 1000, d],
    transfers: Array(7).fill("tanh"),
    loss: DATASETS[dataset].autoencoderLoss,
  };
}

/**
 * Checks the spec is internally consistent and fits the data: input size D, and the target's
 * width K for a supervised task (the output size, or one 0/1 label for the mixture loss).
 */
export function validateSpec(spec: NetworkSpec, inputDim: number, task: TaskName, targetWidth?: number): void {
  const L = layerCount(spec);
  if (L < 1) throw new SpecError("the network needs at least one layer");
  if (spec.transfers.length !== L - 1) {
    throw new SpecError(`${L} layers need ${L - 1} hidden transfer functions, got ${spec.transfers.length}`);
  }
  if (spec.sizes[0] !== inputDim) {
    throw new SpecError(`the architecture's input size ${spec.sizes[0]} does not match the dataset's ${inputDim} features`);
  }
  const out = spec.sizes[L];
  if (task === "autoencoder" && out !== inputDim) {
    throw new SpecError(`an autoencoder's output size must equal its input size ${inputDim}, got ${out}`);
  }
  if (spec.loss === "mixture" && out !== 3) throw new SpecError(`the mixture loss needs 3 outputs, the architecture has ${out}`);
  if (spec.loss === "softmax" && out < 2) throw new SpecError(`the softmax loss needs at least 2 outputs (one per class), the architecture has ${out}`);
  if (task === "odd-even" && spec.loss !== "mixture") throw new SpecError(`--task odd-even uses the mixture loss, got --loss ${spec.loss}`);
  if (task === "classify" && spec.loss !== "softmax") throw new SpecError(`--task classify uses the softmax loss, got --loss ${spec.loss}`);
  if (task === "classify" && out !== 10) throw new SpecError(`--task classify has 10 digit classes, the architecture has ${out} outputs`);
  if (task === "supervised" && targetWidth !== undefined) {
    if (spec.loss === "mixture" && targetWidth !== 1) throw new SpecError(`the mixture loss needs one 0/1 label per row; the target column holds ${targetWidth} values per row`);
    if (spec.loss === "softmax" && targetWidth !== 1) throw new SpecError(`the softmax loss needs one integer class label per row; the target column holds ${targetWidth} values per row`);
    if (!isLabelLoss(spec.loss) && out !== targetWidth) throw new SpecError(`the output size ${out} does not match the target column's ${targetWidth} values per row`);
  }
}

export function describeSpec(spec: NetworkSpec): string {
  const acts = new Set(spec.transfers);
  const act = acts.size === 1 ? [...acts][0] : spec.transfers.join(",");
  return `${spec.sizes.join("-")} ${act} ${spec.loss}`;
}
