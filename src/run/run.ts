// A run: the library's train() with a run directory around it. The directory is locked while a
// process trains in it; its files (config.json, environment.json, metrics.ndjson, checkpoints,
// model.safetensors) are written by hooks on the training loop; Ctrl-C or SIGTERM stops the loop
// after the current update and a checkpoint is saved; --resume continues from the newest usable
// checkpoint. What a person sees (a progress bar, a chart) is the caller's, through RunHooks.
import { existsSync, readdirSync, rmSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { type Dataset, fileDataset } from "../api/dataset.ts";
import { Network, type NetworkOptions } from "../api/network.ts";
import { Optimizer, type OptimizerOptions, internals } from "../api/optimizer.ts";
import { DivergedError, train } from "../api/train.ts";
import { createBackend, type DeviceFlag } from "../backend/index.ts";
import type { ColumnChoice } from "../data/dataset-file.ts";
import { MinibatchStream } from "../data/stream.ts";
import { FileError, UsageError } from "../errors.ts";
import { readJsonFile } from "../io/json.ts";
import { removeStaleTemporaries, writeFileAtomic } from "../io/atomicWrite.ts";
import { readModelWeights } from "../nn/modelFile.ts";
import { describeSpec, parameterCount } from "../nn/spec.ts";
import { CHECKPOINTS_DIR, NonFiniteStateError, listCheckpoints, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { type EvalRecord, MetricsLog, type StepRecord, bestEvaluation, readMetrics } from "./metrics.ts";
import { RunLock } from "./runLock.ts";
import { BEST_DIR, BEST_MODEL_FILE, BEST_RECORD_FILE, CONFIG_FILE, ENVIRONMENT_FILE, FAILURE_FILE, METRICS_FILE, MODEL_FILE, describeEnvironment } from "./runFiles.ts";
import { type StopSignal, StopSignals, exitCodeFor } from "./stopSignals.ts";
import { faultPoint } from "../io/faultPoint.ts";

/** What to train on, known once the run directory is locked (the data may be prepared then). */
export interface RunData {
  /** For logs: the dataset's name, or the file's. */
  label: string;
  train: string;
  heldOut?: string;
  columns: ColumnChoice;
  /** Targets are label mod 2 (MNIST's odd/even task). */
  oddEven: boolean;
  network: NetworkOptions;
}

export interface RunPlan {
  runDir: string;
  /** Continue the run in runDir from its newest usable checkpoint. */
  resume: boolean;
  device: DeviceFlag;
  /** Called once runDir is locked: prepares missing data if the caller can, and says what to train. */
  data(): Promise<RunData>;
  optimizer: OptimizerOptions;
  /** Updates in all, the resumed ones included. */
  steps: number;
  seed: number;
  evalEvery: number;
  /** Stop once N held-out evaluations in a row have not improved on the best (0: never). */
  earlyStop: number;
  /** Checkpoint every N updates, 0: only at the end. */
  saveEvery: number;
  workers: number;
  shuffle: boolean;
  /** Initial weights from a model file. */
  init?: string;
  /** The run's settings as the caller records them: config.json of a new run (called once data() has given the data). */
  record(): object;
  /** A resumed run restored at `step` (the caller records what changed). */
  onResumed?(step: number): void;
  quiet: boolean;
}

export interface RunHooks {
  onStart?(run: { runDir: string; step: number; steps: number }): void;
  onStep?(record: StepRecord): void;
  /** A whole-set evaluation at update `step` begins. */
  onEvalStart?(info: { step: number }): void;
  /** An evaluation's record, as metrics.ndjson holds it. */
  onEval?(record: EvalRecord): void;
  /** A line for the person at the terminal while the run goes (signals, interruption). */
  onNote?(line: string): void;
  /** After the last checkpoint of a run that finished or was interrupted (the CLI draws the run's chart). */
  onFinish?(runDir: string): Promise<void>;
}

export interface RunResult {
  runDir: string;
  steps: number;
  interrupted: boolean;
  /** The signal that stopped the run early, if one did. */
  signal?: StopSignal;
  finalLoss: number;
  /** True when --early-stop ended the run. */
  stoppedEarly: boolean;
  /** The last evaluation's record, if any. */
  final?: EvalRecord;
}

/** The files a new run writes in its directory (besides config.json): none of them may be there already. */
const RUN_FILES = [ENVIRONMENT_FILE, METRICS_FILE, MODEL_FILE, CHECKPOINTS_DIR, BEST_DIR, FAILURE_FILE, "training-error.svg", "training-error.png"];

/** Where a diverged run can continue from, in words. */
function lastCheckpointNote(runDir: string): string {
  const latest = listCheckpoints(runDir)[0];
  return latest ? `The last finite checkpoint is step ${latest.step}, in ${latest.dir}.` : "No checkpoint had been saved yet.";
}

/** Records why the run stopped on `error` (the dashboard shows it); a record that cannot be written is left out, the error itself stands. */
function recordFailure(runDir: string, step: number, error: unknown): void {
  try {
    writeFileAtomic(join(runDir, FAILURE_FILE), `${JSON.stringify({ step, message: (error as Error).message }, null, 2)}\n`);
  } catch {
    // the error being reported matters more than its record
  }
}

/** Removes what killed processes left in a run directory: temporary files (the best model's among them) and checkpoint directories. */
function removeLeftovers(runDir: string): void {
  removeStaleTemporaries(runDir);
  removeStaleTemporaries(join(runDir, CHECKPOINTS_DIR));
  removeStaleTemporaries(join(runDir, BEST_DIR));
}

export async function runTraining(plan: RunPlan, hooks: RunHooks = {}): Promise<RunResult> {
  const { runDir } = plan;
  const created = !existsSync(runDir);
  // A run refused or stopped before it wrote anything leaves no empty directory behind.
  const removeIfEmpty = () => {
    try {
      if (created && existsSync(runDir) && readdirSync(runDir).length === 0) rmdirSync(runDir);
    } catch {
      // a folder that cannot be read or removed stays; the cause is reported elsewhere
    }
  };
  let lock: RunLock | undefined;
  // Until the first update a stop has nothing to save: the process leaves at once, its lock released
  // and a directory it made and left empty removed, so that the same command starts the run again
  // (or --resume continues it once config.json is written). From the first update on, the loop stops
  // after the current update and saves a checkpoint.
  const control: RunControl = { stop: new AbortController(), started: false };
  const signals = new StopSignals(
    (signal) => {
      if (control.started) return control.onStop?.(signal);
      const written = existsSync(join(runDir, CONFIG_FILE)) ? `continue it with --resume ${runDir}` : "nothing was written; the same command starts it";
      console.error(`train: ${signal} during start-up, before the first update; stopped (${written})`);
      lock?.release();
      removeIfEmpty();
      process.exit(exitCodeFor(signal));
    },
    () => console.error(`train: second Ctrl-C; exiting without saving. ${lastCheckpointNote(runDir)}`),
  );
  try {
    await faultPoint("before-lock");
    lock = RunLock.acquire(runDir, (line) => console.error(line));
    await faultPoint("startup");
    return await runLocked(plan, hooks, control, signals);
  } finally {
    signals.dispose();
    lock?.release();
    removeIfEmpty();
  }
}

/** How a run is stopped once its signal handlers are installed (before the lock). */
interface RunControl {
  stop: AbortController;
  /** True from the loop's start: a signal then stops after the current update. */
  started: boolean;
  /** What a signal does once training has begun. */
  onStop?(signal: StopSignal): void;
}

/** A file as a Dataset for evaluation, read chunk by chunk (its targets are checked against the loss by train()). */
function wholeSet(file: string, data: RunData): Dataset {
  return fileDataset(file, data.columns, data.oddEven);
}

/**
 * The run's best/best.json when it is whole and no later than the checkpoint resumed from (a best
 * recorded after it is found again as the run repeats those updates); a damaged one is reported and
 * left out, and its model is replaced at the next improvement.
 */
function recordedBest(runDir: string, step: number, warn: (line: string) => void): { step: number; at: "weights" | "average"; heldOut: number } | undefined {
  const path = join(runDir, BEST_RECORD_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const value = readJsonFile(path) as { step?: unknown; at?: unknown; heldOut?: unknown };
    const ok = typeof value === "object" && value !== null && Number.isSafeInteger(value.step) && (value.at === "weights" || value.at === "average") && typeof value.heldOut === "number";
    if (!ok) throw new FileError(`${path}: not a best-model record (step, at, heldOut)`);
    return (value.step as number) <= step ? { step: value.step as number, at: value.at as "weights" | "average", heldOut: value.heldOut as number } : undefined;
  } catch (error) {
    if (!(error instanceof FileError)) throw error;
    warn(`train: ${error.message}; the best model so far is judged from the metrics alone`);
    return undefined;
  }
}

/**
 * A resumed run whose checkpoint already holds every update asked for: nothing to train, so it
 * ends at once and changes nothing (a sweep rerun after a kill past the last checkpoint); fewer
 * updates than it has done is a mistake.
 */
function finishedRun(plan: RunPlan, step: number, log: (line: string) => void): RunResult {
  const { runDir } = plan;
  if (step > plan.steps) throw new UsageError(`--resume ${runDir}: the run has done ${step} updates, more than --steps ${plan.steps}; give --steps ${step} or more`);
  log(`train: ${runDir} has finished its ${step} updates; nothing to do (--steps above ${step} continues it)`);
  const metrics = join(runDir, METRICS_FILE);
  const last = (existsSync(metrics) ? readMetrics(metrics, () => {}) : []).findLast((r): r is StepRecord => r.type === "step");
  return { runDir, steps: step, interrupted: false, stoppedEarly: false, finalLoss: last?.loss ?? Number.NaN };
}

async function runLocked(plan: RunPlan, hooks: RunHooks, control: RunControl, signals: StopSignals): Promise<RunResult> {
  const { runDir } = plan;
  const log = (line: string) => plan.quiet || console.error(line);
  const warn = (line: string) => console.error(line);
  const note = hooks.onNote ?? log;
  removeLeftovers(runDir);
  if (!plan.resume && existsSync(join(runDir, CONFIG_FILE))) {
    const how = listCheckpoints(runDir).length > 0 ? "continue it" : "it stopped before its first checkpoint; start it again from update 0";
    throw new UsageError(`--out ${runDir} already holds a run (${how} with --resume ${runDir}), or choose another --out`);
  }
  if (!plan.resume) {
    const taken = RUN_FILES.filter((name) => existsSync(join(runDir, name)));
    if (taken.length > 0) throw new UsageError(`--out ${runDir} holds ${taken.join(", ")}, which a run would write over; choose an empty or new folder`);
  }
  const data = await plan.data();
  const backend = await createBackend({ device: plan.device, log });
  let network: Network | undefined;
  let optimizer: Optimizer | undefined;
  let stream: MinibatchStream | undefined;
  try {
    network = new Network(backend, data.network);
    const { spec } = network;
    log(`train: ${plan.optimizer.method} on ${data.label} (${describeSpec(spec)}, ${parameterCount(spec).toLocaleString("en")} parameters), batch ${plan.optimizer.batchSize}, ${backend.info.name} backend (${backend.info.device})`);
    optimizer = new Optimizer(network, plan.optimizer);
    const internal = internals.get(optimizer)!;
    const metrics = new MetricsLog(join(runDir, METRICS_FILE), warn);

    let loop = { step: 0, elapsedSeconds: 0, stream: { epoch: 0, batch: 0 } };
    const restored = plan.resume ? loadCheckpoint(runDir, backend, spec, network.weights, internal.checkpointed, (line) => warn(`train: ${line}`)) : null;
    if (restored && restored.step >= plan.steps) return finishedRun(plan, restored.step, log);
    if (restored) {
      loop = restored;
      internal.resumeAt(loop.step);
      log(`train: resuming ${runDir} at step ${loop.step}`);
    } else {
      if (plan.resume) warn(`train: ${runDir} has no checkpoint yet (it stopped before its first); starting it again from update 0`);
      if (plan.init) network.setWeights(readModelWeights(plan.init, spec));
    }

    // Everything that can refuse the run (data, batch size) is checked before its files are written.
    stream = await MinibatchStream.open({
      file: data.train,
      columns: data.columns,
      batchSize: optimizer.batchSize,
      seed: plan.seed,
      workers: plan.workers,
      shuffle: plan.shuffle,
      start: loop.stream,
      oddEvenTargets: data.oddEven,
    });
    const trainSet = wholeSet(data.train, data);
    const heldOutSet = data.heldOut ? wholeSet(data.heldOut, data) : undefined;
    trainSet.checkFits(spec);
    heldOutSet?.checkFits(spec);
    // A resumed run makes up the on-schedule evaluation at its checkpoint (at update 0 for a run started
    // again, its log emptied) when the log lacks it (a stop during it, or no checkpoint yet).
    let evalAtStart: boolean | undefined;
    // The best held-out evaluation so far and the evaluations since: a resumed run keeps them (its log up to the checkpoint).
    let best: ReturnType<typeof bestEvaluation>;
    // The metrics log exists from the start, so that a run stopped before it logged anything resumes.
    const metricsPath = join(runDir, METRICS_FILE);
    if (plan.resume) {
      rmSync(join(runDir, FAILURE_FILE), { force: true });
      if (!existsSync(metricsPath)) writeFileAtomic(metricsPath, "");
      if (!existsSync(join(runDir, ENVIRONMENT_FILE))) writeFileAtomic(join(runDir, ENVIRONMENT_FILE), `${JSON.stringify(describeEnvironment(backend), null, 2)}\n`);
      metrics.truncateAfter(restored ? loop.step : -1, plan.evalEvery);
      plan.onResumed?.(loop.step);
      // Started again from update 0 (no checkpoint), the run evaluates at 0 as a new one does.
      const records = readMetrics(metricsPath, warn);
      const due = plan.evalEvery > 0 && loop.step % plan.evalEvery === 0;
      evalAtStart = due && !records.some((r) => r.type === "eval" && r.step === loop.step);
      if (heldOutSet) best = bestEvaluation(records, recordedBest(runDir, restored ? loop.step : -1, warn));
    } else {
      writeFileAtomic(join(runDir, CONFIG_FILE), `${JSON.stringify(plan.record(), null, 2)}\n`);
      writeFileAtomic(join(runDir, ENVIRONMENT_FILE), `${JSON.stringify(describeEnvironment(backend), null, 2)}\n`);
      writeFileAtomic(metricsPath, "");
    }

    // The stream position after update `step`: one minibatch per update since the restored position.
    const perEpoch = stream.batchesPerEpoch;
    const positionAfter = (step: number) => {
      const taken = loop.stream.epoch * perEpoch + loop.stream.batch + step - loop.step;
      return { epoch: Math.floor(taken / perEpoch), batch: taken % perEpoch };
    };

    const { stop } = control;
    control.onStop = (signal) => {
      note(`train: ${signal} received after update ${optimizer!.steps}; stopping after the current update and saving a checkpoint (Ctrl-C again to exit at once)`);
      stop.abort();
    };
    let savedStep = restored ? loop.step : -1;
    let final: EvalRecord | undefined;
    let result;
    try {
      result = await train(network, optimizer, trainSet, {
        steps: Math.max(plan.steps - loop.step, 0),
        seed: plan.seed,
        evalEvery: plan.evalEvery,
        evalAtStart,
        validation: heldOutSet,
        batches: stream,
        signal: stop.signal,
        checkpointEvery: plan.saveEvery,
        timeOffset: loop.elapsedSeconds,
        onStart: ({ step }) => {
          control.started = true;
          hooks.onStart?.({ runDir, step, steps: plan.steps });
        },
        onStep: ({ step, time, dataWaitMs, epoch: _epoch, batch: _batch, ...report }) => {
          const record: StepRecord = { type: "step", step, time, dataWaitMs, ...report };
          metrics.append(record);
          hooks.onStep?.(record);
        },
        earlyStop: plan.earlyStop,
        best,
        saveBest: heldOutSet ? join(runDir, BEST_MODEL_FILE) : undefined,
        onEvalStart: (info) => hooks.onEvalStart?.(info),
        onEval: (e) => {
          const record: EvalRecord = {
            type: "eval",
            step: e.step,
            time: e.time,
            train: e.train,
            trainAverage: e.trainAverage,
            heldOut: e.validation,
            heldOutAverage: e.validationAverage,
            trainAccuracy: e.trainAccuracy,
            trainAverageAccuracy: e.trainAverageAccuracy,
            heldOutAccuracy: e.validationAccuracy,
            heldOutAverageAccuracy: e.validationAverageAccuracy,
            seconds: e.seconds,
          };
          metrics.append(record);
          final = record;
          hooks.onEval?.(record);
        },
        onBest: ({ step, at, heldOut, heldOutAccuracy, eval: e }) => {
          const record = { step, at, heldOut, heldOutAccuracy, train: at === "average" ? e.trainAverage : e.train, model: BEST_MODEL_FILE };
          writeFileAtomic(join(runDir, BEST_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
        },
        onCheckpoint: async ({ step, time }) => {
          if (stop.signal.aborted) note(`train: interrupted at step ${step}; saving a checkpoint to ${runDir} (continue with --resume ${runDir})`);
          if (savedStep === step) return;
          try {
            await saveCheckpoint(runDir, backend, spec, network!.weights, internal.checkpointed, { step, elapsedSeconds: time, stream: positionAfter(step) });
          } catch (error) {
            if (error instanceof NonFiniteStateError) throw new DivergedError(`${error.message}, so its checkpoint was not saved`, step);
            throw error;
          }
          savedStep = step;
        },
      });
    } catch (error) {
      const stopped = error instanceof DivergedError ? new DivergedError(`${error.message}; stopped. ${lastCheckpointNote(runDir)}`, error.step) : error;
      recordFailure(runDir, stopped instanceof DivergedError ? stopped.step : optimizer.steps, stopped);
      throw stopped;
    }
    if (result.stoppedEarly && result.best) {
      const { step, at, heldOut, evaluationsSince } = result.best;
      note(
        `train: stopped early after update ${result.steps}: the held-out error has not improved for ${evaluationsSince} evaluations; the best, ${heldOut.toPrecision(5)} at update ${step} (${at === "average" ? "the Polyak average θ̂" : "θ"}), is ${join(runDir, BEST_MODEL_FILE)}`,
      );
    }
    await hooks.onFinish?.(runDir);
    return { runDir, steps: result.steps, interrupted: result.interrupted, signal: signals.received, finalLoss: result.loss, stoppedEarly: result.stoppedEarly, final };
  } finally {
    await stream?.close();
    optimizer?.dispose();
    network?.dispose();
    backend.dispose();
  }
}
