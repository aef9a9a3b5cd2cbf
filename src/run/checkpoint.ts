// Checkpoints. Each is a step directory, checkpoints/step-NNNNNNNNN/, holding model.safetensors
// (tensors layers.{i}.weight, D_out × D_in, and layers.{i}.bias, D_out; architecture, transfer
// functions, loss and step in the metadata) and optimizer.safetensors (everything needed to continue
// exactly: the optimiser's tensors and scalars, the step, the data-stream position and the elapsed
// time). A checkpoint is written into a temporary directory and renamed into place, so it appears
// whole or not at all; the step is in both files and must agree on load; the newest two are kept,
// and a latest one that is unreadable, torn or non-finite is skipped for the one before. Non-finite
// weights are never saved. The run directory's model.safetensors is a hard link to the newest
// checkpoint's model (for --init and for reading). The model file's format: src/nn/modelFile.ts.
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../backend/types.ts";
import { ExpectedError, asFileError } from "../errors.ts";
import { temporaryName, writeDurably, writeFileAtomic } from "../io/atomicWrite.ts";
import { type NamedTensor, encodeSafetensors, readSafetensors } from "../io/safetensors.ts";
import { modelMetadata, modelTensors, modelWeightsFrom } from "../nn/modelFile.ts";
import { type LayerTensors, downloadLayers, uploadLayers } from "../nn/params.ts";
import type { NetworkSpec } from "../nn/spec.ts";
import type { Optimizer } from "../optim/optimizer.ts";

/** What a checkpoint saves and restores of an optimiser. */
export type CheckpointedOptimizer = Pick<Optimizer, "name" | "state" | "restoreScalars">;

export const MODEL_FILE = "model.safetensors";
export const OPTIMIZER_FILE = "optimizer.safetensors";
export const CHECKPOINTS_DIR = "checkpoints";
/** Checkpoints kept: the newest and the one before, to fall back to. */
const KEEP = 2;
const STEP_DIR = /^step-(\d+)$/;

export class CheckpointError extends ExpectedError {}

/** Raised instead of saving weights or optimiser state that hold Inf or NaN. */
export class NonFiniteStateError extends ExpectedError {}

/** What the training loop itself must restore. */
export interface LoopState {
  step: number;
  elapsedSeconds: number;
  stream: { epoch: number; batch: number };
}

interface SavedState extends LoopState {
  optimizer: string;
  scalars: Record<string, number>;
}

export function stepDirName(step: number): string {
  return `step-${String(step).padStart(9, "0")}`;
}

/** The run's checkpoint directories, newest first. */
export function listCheckpoints(runDir: string): { step: number; dir: string }[] {
  const root = join(runDir, CHECKPOINTS_DIR);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => ({ match: STEP_DIR.exec(name), name }))
    .filter((e) => e.match)
    .map((e) => ({ step: Number(e.match![1]), dir: join(root, e.name) }))
    .sort((a, b) => b.step - a.step);
}

function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Saves the checkpoint of `loop.step`; returns its directory. Throws NonFiniteStateError rather than save Inf or NaN. */
export async function saveCheckpoint(runDir: string, backend: Backend, spec: NetworkSpec, weights: LayerTensors, optimizer: CheckpointedOptimizer, loop: LoopState): Promise<string> {
  const values = await downloadLayers(backend, weights);
  values.forEach((w, l) => {
    const i = firstNonFinite(w);
    if (i >= 0) throw new NonFiniteStateError(`the weights of layer ${l} became non-finite (${w[i]}) at step ${loop.step}`);
  });
  const state = optimizer.state();
  const stateTensors: NamedTensor[] = [];
  for (const [name, t] of Object.entries(state.tensors)) {
    const data = Float32Array.from(await backend.download(t));
    const i = firstNonFinite(data);
    if (i >= 0) throw new NonFiniteStateError(`the optimiser's ${name} became non-finite (${data[i]}) at step ${loop.step}`);
    stateTensors.push({ name, shape: [t.rows, t.cols], data });
  }
  const info: SavedState = { optimizer: optimizer.name, scalars: state.scalars, ...loop };
  const root = join(runDir, CHECKPOINTS_DIR);
  const final = join(root, stepDirName(loop.step));
  const staging = temporaryName(final);
  const replaced = temporaryName(`${final}-replaced`);
  try {
    mkdirSync(root, { recursive: true });
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging);
    writeDurably(join(staging, OPTIMIZER_FILE), encodeSafetensors(stateTensors, { format: "kfra-webgpu optimizer 1", state: JSON.stringify(info) }));
    writeDurably(join(staging, MODEL_FILE), encodeSafetensors(modelTensors(spec, values), { ...modelMetadata(spec), step: String(loop.step) }));
    syncDirectory(staging);
    if (existsSync(final)) renameSync(final, replaced);
    renameSync(staging, final);
    syncDirectory(root);
    rmSync(replaced, { recursive: true, force: true });
  } catch (error) {
    try {
      rmSync(staging, { recursive: true, force: true });
    } catch {
      // a failing clean-up (read-only folder) must not hide the cause
    }
    throw asFileError(error, "write the checkpoint", final);
  }
  linkLatestModel(runDir, join(final, MODEL_FILE));
  for (const old of listCheckpoints(runDir).slice(KEEP)) rmSync(old.dir, { recursive: true, force: true });
  rmSync(join(runDir, OPTIMIZER_FILE), { force: true });
  return final;
}

/** Points RUN/model.safetensors at the newest model (a hard link, or a copy where links fail). */
function linkLatestModel(runDir: string, model: string): void {
  const target = join(runDir, MODEL_FILE);
  const temporary = temporaryName(target);
  try {
    rmSync(temporary, { force: true });
    linkSync(model, temporary);
    renameSync(temporary, target);
  } catch {
    rmSync(temporary, { force: true });
    writeFileAtomic(target, readFileSync(model));
  }
}

interface ReadCheckpoint {
  loop: LoopState;
  scalars: Record<string, number>;
  weights: Float32Array[];
  tensors: Map<string, Float32Array>;
}

/** Reads and checks one checkpoint directory (or a run directory of the older two-file layout) without touching the backend. */
function readCheckpoint(dir: string, spec: NetworkSpec, optimizer: CheckpointedOptimizer, expectedStep?: number): ReadCheckpoint {
  const modelPath = join(dir, MODEL_FILE);
  const statePath = join(dir, OPTIMIZER_FILE);
  for (const p of [modelPath, statePath]) if (!existsSync(p)) throw new CheckpointError(`${p}: no such checkpoint file`);
  const modelFile = readSafetensors(modelPath);
  const weights = modelWeightsFrom(modelFile, modelPath, spec);
  const file = readSafetensors(statePath);
  let info: SavedState | null;
  try {
    info = JSON.parse(file.metadata.state ?? "null");
  } catch {
    throw new CheckpointError(`${statePath}: the optimiser state in the metadata is not valid JSON`);
  }
  if (!info || typeof info.step !== "number") throw new CheckpointError(`${statePath}: no optimiser state in the metadata`);
  if (info.optimizer !== optimizer.name) throw new CheckpointError(`${statePath}: saved by optimiser ${info.optimizer}, not ${optimizer.name}`);
  const modelStep = modelFile.metadata.step === undefined ? undefined : Number(modelFile.metadata.step);
  if ((modelStep !== undefined && modelStep !== info.step) || (expectedStep !== undefined && info.step !== expectedStep)) {
    throw new CheckpointError(`${dir}: a mixed checkpoint: the model is from step ${modelStep ?? "?"}, the optimiser state from step ${info.step}`);
  }
  weights.forEach((w, l) => {
    if (firstNonFinite(w) >= 0) throw new CheckpointError(`${modelPath}: the weights of layer ${l} hold non-finite values`);
  });
  const tensors = new Map<string, Float32Array>();
  for (const [name, t] of Object.entries(optimizer.state().tensors)) {
    const saved = file.tensors.get(name);
    if (!saved || saved.shape.join("×") !== `${t.rows}×${t.cols}`) throw new CheckpointError(`${statePath}: tensor ${name} is missing or has the wrong shape`);
    if (firstNonFinite(saved.data) >= 0) throw new CheckpointError(`${statePath}: tensor ${name} holds non-finite values`);
    tensors.set(name, saved.data);
  }
  return { loop: { step: info.step, elapsedSeconds: info.elapsedSeconds, stream: info.stream }, scalars: info.scalars, weights, tensors };
}

/**
 * Restores weights and optimiser state from the newest usable checkpoint of a run (a skipped one is
 * reported through `warn`); returns its loop state, or null when the run has no checkpoint yet.
 */
export function loadCheckpoint(runDir: string, backend: Backend, spec: NetworkSpec, weights: LayerTensors, optimizer: CheckpointedOptimizer, warn: (line: string) => void = () => {}): LoopState | null {
  const candidates: { dir: string; step?: number }[] = listCheckpoints(runDir);
  if (candidates.length === 0 && existsSync(join(runDir, OPTIMIZER_FILE))) candidates.push({ dir: runDir });
  if (candidates.length === 0) return null;
  const problems: string[] = [];
  for (const candidate of candidates) {
    let read: ReadCheckpoint;
    try {
      read = readCheckpoint(candidate.dir, spec, optimizer, candidate.step);
    } catch (error) {
      if (!(error instanceof ExpectedError)) throw error;
      problems.push(error.message);
      continue;
    }
    if (problems.length > 0) warn(`skipped an unusable checkpoint (${problems.join("; ")}); resuming from ${candidate.dir}`);
    uploadLayers(backend, weights, read.weights);
    for (const [name, t] of Object.entries(optimizer.state().tensors)) backend.upload(t, read.tensors.get(name)!);
    optimizer.restoreScalars(read.scalars);
    return read.loop;
  }
  throw new CheckpointError(`no usable checkpoint in ${runDir}: ${problems.join("; ")}`);
}
