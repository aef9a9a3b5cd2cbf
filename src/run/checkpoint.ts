// Checkpoints. Each is a step directory, checkpoints/step-NNNNNNNNN/, holding model.safetensors
// (tensors layers.{i}.weight, D_out × D_in, and layers.{i}.bias, D_out; architecture, transfer
// functions, loss and step in the metadata) and optimizer.safetensors (everything needed to continue
// exactly: the optimiser's tensors and scalars, the step, the data-stream position and the elapsed
// time). A checkpoint is written into a temporary directory and renamed into place, so it appears
// whole or not at all; the step is in both files and must agree on load; the newest two are kept,
// and a latest one that is unreadable, torn, non-finite or of the wrong shape is skipped for the one
// before. Non-finite weights are never saved. The run directory's model.safetensors is a hard link to
// the newest checkpoint's model (for --init and for reading; its format: src/nn/modelFile.ts). Each checkpoint records the data the
// run learnt from (dataIdentity.ts), so that --resume can refuse to continue it on other data; a run
// whose checkpoints were removed although it saved some is refused rather than started again.
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readJsonFile } from "../io/json.ts";
import type { Backend } from "../backend/types.ts";
import { ExpectedError, asFileError } from "../errors.ts";
import { temporaryName, writeDurably, writeFileAtomic } from "../io/atomicWrite.ts";
import { type NamedTensor, encodeSafetensors, readSafetensors } from "../io/safetensors.ts";
import { modelMetadata, modelTensors, modelWeightsFrom } from "../nn/modelFile.ts";
import { type LayerTensors, downloadLayers, uploadLayers } from "../nn/params.ts";
import type { NetworkSpec } from "../nn/spec.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import { type DataFingerprint, type DataSettings, dataFingerprint, isDataFingerprint } from "./dataIdentity.ts";
import { faultPointSync } from "../io/faultPoint.ts";
import { readMetrics } from "./metrics.ts";

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
  /** The data the run learnt from up to this checkpoint (absent in checkpoints of older versions). */
  data?: DataFingerprint;
  /** The run's config.json (less its history) when the checkpoint was saved, for --resume to check an edited one against. */
  settings?: Record<string, unknown>;
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** What is wrong with a checkpoint's saved state, or undefined when it has the expected shape. */
function stateProblem(info: unknown): string | undefined {
  if (typeof info !== "object" || info === null || Array.isArray(info)) return "no optimiser state in the metadata";
  const state = info as Record<string, unknown>;
  if (!isCount(state.step)) return `the saved step is ${JSON.stringify(state.step)}, not a whole number`;
  if (typeof state.optimizer !== "string") return "the saved state names no optimiser";
  if (typeof state.elapsedSeconds !== "number" || !(state.elapsedSeconds >= 0)) return `the saved time is ${JSON.stringify(state.elapsedSeconds)}, not a number of seconds`;
  const stream = state.stream as Record<string, unknown> | null;
  if (typeof stream !== "object" || stream === null || !isCount(stream.epoch) || !isCount(stream.batch)) return `the saved stream position ${JSON.stringify(state.stream)} is not {epoch, batch}`;
  const scalars = state.scalars as Record<string, unknown> | null;
  if (typeof scalars !== "object" || scalars === null || Array.isArray(scalars) || Object.values(scalars).some((v) => typeof v !== "number" || !Number.isFinite(v))) {
    return `the saved scalars ${JSON.stringify(state.scalars)} are not finite numbers`;
  }
  if (state.data !== undefined && !isDataFingerprint(state.data)) return "the saved data identity is malformed";
  if (state.settings !== undefined && (typeof state.settings !== "object" || state.settings === null || Array.isArray(state.settings))) return "the saved settings are not an object";
  return undefined;
}

/** A run's config.json less its history, when it has a readable one. */
function runSettingsOf(runDir: string): Record<string, unknown> | undefined {
  try {
    const config = readJsonFile(join(runDir, "config.json"));
    if (typeof config !== "object" || config === null || Array.isArray(config)) return undefined;
    const { history: _history, ...settings } = config as Record<string, unknown>;
    return settings;
  } catch {
    return undefined;
  }
}

/** The data settings in a run's config.json, when it has a readable one. */
function dataSettingsOf(config: Record<string, unknown> | undefined): DataSettings | undefined {
  if (!config) return undefined;
  const text = (key: string) => (typeof config[key] === "string" ? (config[key] as string) : undefined);
  const dataset = text("dataset"), dataDir = text("dataDir");
  if (!dataset || !dataDir) return undefined;
  return { dataset: dataset as DataSettings["dataset"], dataDir, data: text("data"), valid: text("valid"), init: text("init") };
}

/** The saved state of each readable checkpoint of a run, newest first. */
function savedStates(runDir: string): { step: number; state: SavedState }[] {
  const out: { step: number; state: SavedState }[] = [];
  for (const { step, dir } of listCheckpoints(runDir)) {
    try {
      const info = JSON.parse(readSafetensors(join(dir, OPTIMIZER_FILE)).metadata.state ?? "null");
      if (stateProblem(info) === undefined) out.push({ step, state: info });
    } catch {
      // an unreadable checkpoint is --resume's to skip, with its reason
    }
  }
  return out;
}

/** The data recorded by each readable checkpoint of a run, newest first. */
export function checkpointData(runDir: string): { step: number; data: DataFingerprint }[] {
  return savedStates(runDir).flatMap(({ step, state }) => (state.data ? [{ step, data: state.data }] : []));
}

/** The run's settings (config.json) recorded by each readable checkpoint, newest first. */
export function checkpointSettings(runDir: string): { step: number; settings: Record<string, unknown> }[] {
  return savedStates(runDir).flatMap(({ step, state }) => (state.settings ? [{ step, settings: state.settings }] : []));
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
    const downloaded = await backend.download(t);
    const data = downloaded instanceof Float32Array ? downloaded : Float32Array.from(downloaded);
    const i = firstNonFinite(data);
    if (i >= 0) throw new NonFiniteStateError(`the optimiser's ${name} became non-finite (${data[i]}) at step ${loop.step}`);
    stateTensors.push({ name, shape: [t.rows, t.cols], data });
  }
  const config = runSettingsOf(runDir);
  const settings = dataSettingsOf(config);
  const info: SavedState = { optimizer: optimizer.name, scalars: state.scalars, ...loop, ...(settings ? { data: dataFingerprint(settings) } : {}), ...(config ? { settings: config } : {}) };
  const root = join(runDir, CHECKPOINTS_DIR);
  const final = join(root, stepDirName(loop.step));
  const staging = temporaryName(final);
  const replaced = temporaryName(`${final}-replaced`);
  try {
    mkdirSync(root, { recursive: true });
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging);
    writeDurably(join(staging, OPTIMIZER_FILE), encodeSafetensors(stateTensors, { format: "kfra-webgpu optimizer 1", state: JSON.stringify(info) }));
    faultPointSync("checkpoint", loop.step);
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
  let info: SavedState;
  try {
    info = JSON.parse(file.metadata.state ?? "null");
  } catch {
    throw new CheckpointError(`${statePath}: the optimiser state in the metadata is not valid JSON`);
  }
  const problem = stateProblem(info);
  if (problem) throw new CheckpointError(`${statePath}: ${problem}`);
  for (const name of Object.keys(optimizer.state().scalars)) {
    if (!(name in info.scalars)) throw new CheckpointError(`${statePath}: the saved state lacks the scalar ${name}`);
  }
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
 * The step of a checkpoint the run saved, as its other files tell (the run's model.safetensors, or
 * an update logged after the first --save-every point), or undefined when it never saved one.
 */
function savedStepWitness(runDir: string): string | undefined {
  const model = join(runDir, MODEL_FILE);
  if (existsSync(model)) {
    let step: string | undefined;
    try {
      step = readSafetensors(model).metadata.step;
    } catch {
      // unreadable: its presence is witness enough
    }
    return `${model} is the model of step ${step ?? "?"}`;
  }
  let saveEvery: unknown;
  try {
    saveEvery = (readJsonFile(join(runDir, "config.json")) as Record<string, unknown>).saveEvery;
  } catch {
    return undefined;
  }
  const metrics = join(runDir, "metrics.ndjson");
  if (typeof saveEvery !== "number" || saveEvery <= 0 || !existsSync(metrics)) return undefined;
  let last = 0;
  try {
    for (const record of readMetrics(metrics, () => {})) if (record.type === "step") last = Math.max(last, record.step);
  } catch {
    return undefined;
  }
  return last > saveEvery ? `metrics.ndjson logs update ${last}, past the checkpoint at update ${saveEvery}` : undefined;
}

/**
 * Restores weights and optimiser state from the newest usable checkpoint of a run (a skipped one is
 * reported through `warn`); returns its loop state, or null when the run has no checkpoint yet.
 * A run that saved checkpoints which are gone now is refused: starting it again would overwrite
 * its metrics and model.
 */
export function loadCheckpoint(runDir: string, backend: Backend, spec: NetworkSpec, weights: LayerTensors, optimizer: CheckpointedOptimizer, warn: (line: string) => void = () => {}): LoopState | null {
  const candidates: { dir: string; step?: number }[] = listCheckpoints(runDir);
  if (candidates.length === 0 && existsSync(join(runDir, OPTIMIZER_FILE))) candidates.push({ dir: runDir });
  if (candidates.length === 0) {
    const witness = savedStepWitness(runDir);
    if (witness === undefined) return null;
    throw new CheckpointError(
      `${runDir} has no checkpoint in ${CHECKPOINTS_DIR}/, yet it saved one (${witness}); were they removed? --resume would start it again from update 0 and overwrite its metrics and model. Start a new run with --out instead (--init ${join(runDir, MODEL_FILE)} starts from its weights)`,
    );
  }
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
