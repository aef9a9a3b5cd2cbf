// The model file, model.safetensors: tensors layers.{i}.weight (D_out × D_in) and layers.{i}.bias
// (D_out), with the architecture, transfer functions and loss in the metadata (and a classifier's
// class names, "classes", a JSON list, when it has them). Written by the
// trainer's checkpoints and Network.save, read by Network.load, --init and --resume.
import { ExpectedError } from "../errors.ts";
import { type NamedTensor, type SafetensorsFile, readSafetensors } from "../io/safetensors.ts";
import { LOSS_KINDS, type LossKind, TRANSFER_KINDS, type TransferKind } from "../backend/types.ts";
import { type NetworkSpec, describeSpec, layerCount } from "./spec.ts";

/** A model file that does not hold the network asked for. */
export class ModelFileError extends ExpectedError {}

/** Splits each W_λ = [W̃ | b] into the weight and bias tensors of the file. */
export function modelTensors(spec: NetworkSpec, weights: ArrayLike<number>[]): NamedTensor[] {
  const out: NamedTensor[] = [];
  for (let l = 0; l < layerCount(spec); l++) {
    const rows = spec.sizes[l + 1];
    const cols = spec.sizes[l];
    const w = new Float32Array(rows * cols);
    const b = new Float32Array(rows);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) w[i * cols + j] = weights[l][i * (cols + 1) + j];
      b[i] = weights[l][i * (cols + 1) + cols];
    }
    out.push({ name: `layers.${l}.weight`, shape: [rows, cols], data: w }, { name: `layers.${l}.bias`, shape: [rows], data: b });
  }
  return out;
}

export function modelMetadata(spec: NetworkSpec, classNames?: readonly string[]): Record<string, string> {
  const metadata: Record<string, string> = {
    format: "kfra-webgpu model 1",
    arch: spec.sizes.join("-"),
    transfers: spec.transfers.join(","),
    loss: spec.loss,
  };
  if (classNames) metadata.classes = JSON.stringify(classNames);
  return metadata;
}

/** A model file's class names (metadata "classes"), undefined when it has none; malformed ones are a ModelFileError. */
export function modelClassNames(path: string, metadata: Record<string, string>): string[] | undefined {
  if (metadata.classes === undefined) return undefined;
  let names: unknown;
  try {
    names = JSON.parse(metadata.classes);
  } catch {
    names = undefined;
  }
  if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== "string") || new Set(names).size !== names.length) {
    throw new ModelFileError(`${path}: metadata 'classes' is not a JSON list of distinct class names`);
  }
  return names as string[];
}

/**
 * What a model file's metadata says of its network: sizes (`arch`), hidden transfer functions
 * (`transfers`) and loss, each absent when the file does not record it; a value recorded but
 * malformed is a ModelFileError naming the file and the key.
 */
export function modelSpecFromMetadata(path: string, metadata: Record<string, string>): Partial<NetworkSpec> {
  const out: { sizes?: number[]; transfers?: TransferKind[]; loss?: LossKind } = {};
  if (metadata.arch !== undefined) {
    const sizes = metadata.arch.split("-").map(Number);
    if (sizes.length < 2 || sizes.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new ModelFileError(`${path}: metadata 'arch' is '${metadata.arch}', not layer sizes such as 784-30-10`);
    out.sizes = sizes;
  }
  if (metadata.transfers !== undefined) {
    const transfers = metadata.transfers === "" ? [] : metadata.transfers.split(",");
    const bad = transfers.find((t) => !TRANSFER_KINDS.includes(t as TransferKind));
    if (bad !== undefined) throw new ModelFileError(`${path}: metadata 'transfers' names '${bad}', not one of ${TRANSFER_KINDS.join(", ")}`);
    if (out.sizes && transfers.length !== out.sizes.length - 2) throw new ModelFileError(`${path}: metadata 'transfers' lists ${transfers.length} transfer functions for the ${out.sizes.length - 2} hidden layers of ${metadata.arch}`);
    out.transfers = transfers as TransferKind[];
  }
  if (metadata.loss !== undefined) {
    if (!LOSS_KINDS.includes(metadata.loss as LossKind)) throw new ModelFileError(`${path}: metadata 'loss' is '${metadata.loss}', not one of ${LOSS_KINDS.join(", ")}`);
    out.loss = metadata.loss as LossKind;
  }
  return out;
}

/** The index of the first value that is not finite (NaN, ±Inf), or -1. */
export function firstNonFiniteIndex(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

/** Reads a model file and joins weight and bias into W_λ, checking every name and shape against `spec`. */
export function readModelWeights(path: string, spec: NetworkSpec): Float32Array[] {
  return modelWeightsFrom(readSafetensors(path), path, spec);
}

export function modelWeightsFrom(file: SafetensorsFile, path: string, spec: NetworkSpec): Float32Array[] {
  const out: Float32Array[] = [];
  const expectedNames = new Set<string>();
  for (let l = 0; l < layerCount(spec); l++) {
    const rows = spec.sizes[l + 1];
    const cols = spec.sizes[l];
    const w = file.tensors.get(`layers.${l}.weight`);
    const b = file.tensors.get(`layers.${l}.bias`);
    expectedNames.add(`layers.${l}.weight`).add(`layers.${l}.bias`);
    if (!w || !b) throw new ModelFileError(`${path}: missing tensor layers.${l}.${w ? "bias" : "weight"} (the network ${describeSpec(spec)} has ${layerCount(spec)} layers)`);
    if (w.shape.join("×") !== `${rows}×${cols}`) throw new ModelFileError(`${path}: layers.${l}.weight is ${w.shape.join("×")}, the network needs ${rows}×${cols}`);
    if (b.shape.join("×") !== `${rows}`) throw new ModelFileError(`${path}: layers.${l}.bias has shape [${b.shape}], the network needs [${rows}]`);
    const joined = new Float32Array(rows * (cols + 1));
    for (let i = 0; i < rows; i++) {
      joined.set(w.data.subarray(i * cols, (i + 1) * cols), i * (cols + 1));
      joined[i * (cols + 1) + cols] = b.data[i];
    }
    const bad = firstNonFiniteIndex(joined);
    if (bad >= 0) {
      const row = Math.floor(bad / (cols + 1)), col = bad % (cols + 1);
      const where = col === cols ? `layers.${l}.bias holds ${joined[bad]} at ${row}` : `layers.${l}.weight holds ${joined[bad]} at row ${row}, column ${col}`;
      throw new ModelFileError(`${path}: ${where}; weights must be finite`);
    }
    out.push(joined);
  }
  const extra = [...file.tensors.keys()].filter((n) => !expectedNames.has(n));
  if (extra.length > 0) throw new ModelFileError(`${path}: unexpected tensors ${extra.slice(0, 3).join(", ")} for the network ${describeSpec(spec)}`);
  return out;
}
