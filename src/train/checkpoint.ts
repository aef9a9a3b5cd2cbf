// Checkpoints: model.safetensors holds the network (tensors layers.{i}.weight, D_out × D_in, and
// layers.{i}.bias, D_out; architecture, transfer functions and loss in the metadata), and
// optimizer.safetensors everything needed to continue exactly: the optimiser's tensors and scalars,
// the step, the data-stream position and the elapsed time.
import { ExpectedError } from "../errors.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../backend/types.ts";
import { type NamedTensor, readSafetensors, SafetensorsError, writeSafetensors } from "../io/safetensors.ts";
import { type LayerTensors, downloadLayers, uploadLayers } from "../nn/params.ts";
import { type NetworkSpec, describeSpec, layerCount } from "../nn/spec.ts";
import type { Optimizer } from "../optim/optimizer.ts";

export const MODEL_FILE = "model.safetensors";
export const OPTIMIZER_FILE = "optimizer.safetensors";

export class CheckpointError extends ExpectedError {}

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

export function modelMetadata(spec: NetworkSpec): Record<string, string> {
  return {
    format: "kfra-webgpu model 1",
    arch: spec.sizes.join("-"),
    transfers: spec.transfers.join(","),
    loss: spec.loss,
  };
}

/** Reads a model file and joins weight and bias into W_λ, checking every name and shape against `spec`. */
export function readModelWeights(path: string, spec: NetworkSpec): Float32Array[] {
  const file = readSafetensors(path);
  const out: Float32Array[] = [];
  const expectedNames = new Set<string>();
  for (let l = 0; l < layerCount(spec); l++) {
    const rows = spec.sizes[l + 1];
    const cols = spec.sizes[l];
    const w = file.tensors.get(`layers.${l}.weight`);
    const b = file.tensors.get(`layers.${l}.bias`);
    expectedNames.add(`layers.${l}.weight`).add(`layers.${l}.bias`);
    if (!w || !b) throw new CheckpointError(`${path}: missing tensor layers.${l}.${w ? "bias" : "weight"} (the network ${describeSpec(spec)} has ${layerCount(spec)} layers)`);
    if (w.shape.join("×") !== `${rows}×${cols}`) throw new CheckpointError(`${path}: layers.${l}.weight is ${w.shape.join("×")}, the network needs ${rows}×${cols}`);
    if (b.shape.join("×") !== `${rows}`) throw new CheckpointError(`${path}: layers.${l}.bias has shape [${b.shape}], the network needs [${rows}]`);
    const joined = new Float32Array(rows * (cols + 1));
    for (let i = 0; i < rows; i++) {
      joined.set(w.data.subarray(i * cols, (i + 1) * cols), i * (cols + 1));
      joined[i * (cols + 1) + cols] = b.data[i];
    }
    out.push(joined);
  }
  const extra = [...file.tensors.keys()].filter((n) => !expectedNames.has(n));
  if (extra.length > 0) throw new CheckpointError(`${path}: unexpected tensors ${extra.slice(0, 3).join(", ")} for the network ${describeSpec(spec)}`);
  return out;
}

/** What the training loop itself must restore. */
export interface LoopState {
  step: number;
  elapsedSeconds: number;
  stream: { epoch: number; batch: number };
}

export async function saveCheckpoint(dir: string, backend: Backend, spec: NetworkSpec, weights: LayerTensors, optimizer: Optimizer, loop: LoopState): Promise<void> {
  const values = await downloadLayers(backend, weights);
  const state = optimizer.state();
  const stateTensors: NamedTensor[] = [];
  for (const [name, t] of Object.entries(state.tensors)) {
    stateTensors.push({ name, shape: [t.rows, t.cols], data: Float32Array.from(await backend.download(t)) });
  }
  const info = JSON.stringify({ optimizer: optimizer.name, scalars: state.scalars, ...loop });
  // The optimiser file goes first: a model file is only ever newer than or as new as its state.
  writeSafetensors(join(dir, OPTIMIZER_FILE), stateTensors, { format: "kfra-webgpu optimizer 1", state: info });
  writeSafetensors(join(dir, MODEL_FILE), modelTensors(spec, values), modelMetadata(spec));
}

/** Restores weights and optimiser state from a checkpoint directory; returns the loop state. */
export function loadCheckpoint(dir: string, backend: Backend, spec: NetworkSpec, weights: LayerTensors, optimizer: Optimizer): LoopState {
  const modelPath = join(dir, MODEL_FILE);
  const statePath = join(dir, OPTIMIZER_FILE);
  for (const p of [modelPath, statePath]) if (!existsSync(p)) throw new CheckpointError(`${p}: no such checkpoint file`);
  uploadLayers(backend, weights, readModelWeights(modelPath, spec));
  const file = readSafetensors(statePath);
  const info = JSON.parse(file.metadata.state ?? "null") as (LoopState & { optimizer: string; scalars: Record<string, number> }) | null;
  if (!info) throw new SafetensorsError(statePath, "no optimiser state in the metadata");
  if (info.optimizer !== optimizer.name) throw new CheckpointError(`${statePath}: saved by optimiser ${info.optimizer}, not ${optimizer.name}`);
  for (const [name, t] of Object.entries(optimizer.state().tensors)) {
    const saved = file.tensors.get(name);
    if (!saved || saved.shape.join("×") !== `${t.rows}×${t.cols}`) throw new CheckpointError(`${statePath}: tensor ${name} is missing or has the wrong shape`);
    backend.upload(t, saved.data);
  }
  optimizer.restoreScalars(info.scalars);
  return { step: info.step, elapsedSeconds: info.elapsedSeconds, stream: info.stream };
}
