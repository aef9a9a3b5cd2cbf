// The training loop: data stream → workspace → optimiser step → metrics, evaluation,
// checkpoints; each update's report is read once the next update is recorded; resumable, and
// stopped cleanly by Ctrl-C or SIGTERM within one update. The run directory is locked while a
// process trains in it; a run that stopped before its first checkpoint starts again from update 0
// on --resume. What a person sees (a progress bar, a chart) is the caller's business, through
// TrainHooks.
import { existsSync, readdirSync, rmdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { createBackend } from "../backend/index.ts";
import { NotPositiveDefiniteError } from "../backend/types.ts";
import { MinibatchStream } from "../data/stream.ts";
import { ExpectedError, UsageError } from "../errors.ts";
import { removeStaleTemporaries, writeFileAtomic } from "../io/atomicWrite.ts";
import { initialWeights, uploadLayers } from "../nn/params.ts";
import type { DatasetName } from "../data/datasets.ts";
import { type NetworkSpec, describeSpec, parameterCount } from "../nn/spec.ts";
import type { RecordedUpdate, StepReport } from "../optim/optimizer.ts";
import { CHECKPOINTS_DIR, NonFiniteStateError, listCheckpoints, loadCheckpoint, readModelWeights, saveCheckpoint } from "./checkpoint.ts";
import type { TrainConfig } from "./config.ts";
import { createSession } from "./session.ts";
import { networkFor } from "./setup.ts";
import { Evaluator } from "./evaluate.ts";
import { batchTargets, evalData, trainingData } from "./data-source.ts";
import { MetricsLog, type StepRecord } from "./metrics.ts";
import { type ResumeChanges, recordResumeChanges } from "./resume.ts";
import { RunLock } from "./runLock.ts";
import { CONFIG_FILE, ENVIRONMENT_FILE, METRICS_FILE, describeEnvironment } from "./runFiles.ts";
import { type StopSignal, StopSignals, yieldToEventLoop } from "./stopSignals.ts";

/** Where a diverged run can continue from, in words. */
function lastCheckpointNote(runDir: string): string {
  const latest = listCheckpoints(runDir)[0];
  return latest ? `The last finite checkpoint is step ${latest.step}, in ${latest.dir}.` : "No checkpoint had been saved yet.";
}

/** The run stopped because the loss, the weights or the curvature became unusable. */
export class DivergedError extends ExpectedError {
  constructor(what: string, runDir: string) {
    super(`${what}; stopped. ${lastCheckpointNote(runDir)}`);
  }
}

export interface TrainResult {
  runDir: string;
  steps: number;
  interrupted: boolean;
  /** The signal that stopped the run early, if one did. */
  signal?: StopSignal;
  finalLoss: number;
}

function defaultRunDir(config: TrainConfig): string {
  const label = config.data ? basename(config.data).replace(/\.(arrow|feather|ipc)$/, "") : config.dataset;
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  return resolve("runs", `${label}-${config.opt}-${stamp}`);
}

export { resumeConfig } from "./resume.ts";

/** Removes what killed processes left in a run directory: temporary files and checkpoint directories. */
function removeLeftovers(runDir: string): void {
  removeStaleTemporaries(runDir);
  removeStaleTemporaries(join(runDir, CHECKPOINTS_DIR));
}

/** What the caller sees of a run while it goes; every hook is optional. */
export interface TrainHooks {
  /** Prepares a named dataset whose files are missing, once the run directory is locked (the CLI passes data-prep's ensureDataset). */
  prepareDataset?: (name: DatasetName, dir?: string) => Promise<void>;
  /** Once the run's files are written, just before the first update: the step it starts from and the last. */
  onStart?: (run: { runDir: string; step: number; steps: number }) => void;
  /** After each update, with the record written to the metrics file. */
  onStep?: (record: StepRecord) => void;
  /** A line for the person at the terminal while the run goes (signals, interruption); default: stderr unless --quiet. */
  onNote?: (line: string) => void;
  /** After the last checkpoint of a run that finished or was interrupted, while a second Ctrl-C still exits at once (the CLI draws the run's chart). */
  onFinish?: (runDir: string) => Promise<void>;
}

export async function train(config: TrainConfig & { resumeChanges?: ResumeChanges }, hooks: TrainHooks = {}): Promise<TrainResult> {
  const runDir = resolve(config.resume ?? config.out ?? defaultRunDir(config));
  const log = (line: string) => config.quiet || console.error(line);
  const warn = (line: string) => console.error(line);
  const created = !existsSync(runDir);
  const lock = RunLock.acquire(runDir, warn);
  try {
    return await trainLocked(config, runDir, log, warn, hooks);
  } finally {
    lock.release();
    // A run refused before it wrote anything leaves no empty directory behind.
    if (created && existsSync(runDir) && readdirSync(runDir).length === 0) rmdirSync(runDir);
  }
}

async function trainLocked(
  config: TrainConfig & { resumeChanges?: ResumeChanges },
  runDir: string,
  log: (line: string) => void,
  warn: (line: string) => void,
  hooks: TrainHooks,
): Promise<TrainResult> {
  const note = hooks.onNote ?? log;
  removeLeftovers(runDir);
  if (!config.resume && existsSync(join(runDir, CONFIG_FILE))) {
    const how = listCheckpoints(runDir).length > 0 ? "continue it" : "it stopped before its first checkpoint; start it again from update 0";
    throw new UsageError(`--out ${runDir} already holds a run (${how} with --resume ${runDir}), or choose another --out`);
  }
  if (!config.data) await hooks.prepareDataset?.(config.dataset, config.dataDir);
  const data = await trainingData(config);
  const spec = networkFor(config, data.shape);
  const backend = await createBackend({ device: config.device });
  log(`train: ${config.opt} on ${data.label} (${describeSpec(spec)}, ${parameterCount(spec).toLocaleString("en")} parameters), batch ${config.batch}, ${backend.info.name} backend (${backend.info.device})`);

  // The weights come from the checkpoint, --init or the seed below, once the optimiser exists.
  const session = createSession(config, backend, { spec, initialize: false });
  const { weights, optimizer, workspace: ws } = session;
  const evaluator = new Evaluator(backend, spec, ws);
  const metrics = new MetricsLog(join(runDir, METRICS_FILE), warn);
  let stream: MinibatchStream | undefined;
  let signals: StopSignals | undefined;
  try {
    let loop = { step: 0, elapsedSeconds: 0, stream: { epoch: 0, batch: 0 } };
    const restored = config.resume ? loadCheckpoint(runDir, backend, spec, weights, optimizer, (line) => warn(`train: ${line}`)) : null;
    if (restored) {
      loop = restored;
      log(`train: resuming ${runDir} at step ${loop.step}`);
    } else {
      if (config.resume) warn(`train: ${runDir} has no checkpoint yet (it stopped before its first); starting it again from update 0`);
      uploadLayers(backend, weights, config.init ? readModelWeights(config.init, spec) : initialWeights(spec, config.seed));
    }

    // Everything that can refuse the run (data, batch size) is checked before its files are written.
    stream = await MinibatchStream.open({
      file: data.train,
      columns: data.columns,
      batchSize: config.batch,
      seed: config.seed,
      workers: config.workers,
      shuffle: config.shuffle,
      start: loop.stream,
    });
    const trainSet = evalData(data.train, data.columns, spec, config.task);
    const heldOutSet = data.heldOut ? evalData(data.heldOut, data.columns, spec, config.task) : undefined;
    if (config.resume) {
      metrics.truncateAfter(restored ? loop.step : -1, config.evalEvery);
      recordResumeChanges(runDir, config.resumeChanges ?? {}, loop.step);
    } else {
      const { resumeChanges: _notSaved, ...settings } = config;
      writeFileAtomic(join(runDir, CONFIG_FILE), `${JSON.stringify({ ...settings, out: runDir }, null, 2)}\n`);
      writeFileAtomic(join(runDir, ENVIRONMENT_FILE), `${JSON.stringify(describeEnvironment(backend), null, 2)}\n`);
      metrics.truncateAfter(-1);
    }

    hooks.onStart?.({ runDir, step: loop.step, steps: config.steps });
    const startedAt = performance.now();
    // Training time: wall-clock seconds since the start, less the time spent evaluating on the whole
    // sets (so runs that evaluate more often are not charged for it), continued across --resume.
    let evalSeconds = 0;
    const elapsed = () => loop.elapsedSeconds + (performance.now() - startedAt) / 1000 - evalSeconds;
    // `step`: updates reported (their metrics lines written); `recorded`: updates recorded on the
    // backend, at most one ahead. An update's report is awaited once the next update is recorded,
    // so that the device works on one while the CPU records the other (the loss of an update is
    // read back after the fact); evaluations, checkpoints and the end of the run wait for it.
    let step = loop.step;
    let recorded = loop.step;
    let pending: { step: number; update: RecordedUpdate; dataWaitMs: number } | undefined;
    let nextPosition = loop.stream;
    let finalLoss = NaN;
    let savedStep = restored ? loop.step : -1;
    signals = new StopSignals(
      (signal) => note(`train: ${signal} received after update ${recorded}; stopping after the current update and saving a checkpoint (Ctrl-C again to exit at once)`),
      () => console.error(`train: second Ctrl-C; exiting without saving. ${lastCheckpointNote(runDir)}`),
    );
    const unusable = (error: unknown, at: number) =>
      error instanceof NotPositiveDefiniteError ? new DivergedError(`the curvature became unusable at step ${at} (${error.message}; the model has diverged)`, runDir) : error;
    // Writes the pending update's record (metrics line, hook); a non-finite loss stops the run.
    const reportPending = async () => {
      if (!pending) return;
      const { step: at, update, dataWaitMs } = pending;
      pending = undefined;
      let report: StepReport;
      try {
        report = await update.report();
      } catch (error) {
        throw unusable(error, at);
      }
      if (!Number.isFinite(report.loss)) throw new DivergedError(`the minibatch loss became non-finite at step ${at}`, runDir);
      step = at;
      finalLoss = report.loss;
      const record: StepRecord = { type: "step", step, time: elapsed(), dataWaitMs, ...report };
      metrics.append(record);
      hooks.onStep?.(record);
    };
    const checkpoint = async () => {
      if (savedStep === step) return;
      try {
        await saveCheckpoint(runDir, backend, spec, weights, optimizer, { step, elapsedSeconds: elapsed(), stream: nextPosition });
      } catch (error) {
        if (error instanceof NonFiniteStateError) throw new DivergedError(`${error.message}, so its checkpoint was not saved`, runDir);
        throw error;
      }
      savedStep = step;
    };

    const evaluate = async () => {
      const average = optimizer.averagedWeights;
      const evalStart = performance.now();
      const time = elapsed();
      const record = {
        type: "eval" as const,
        step,
        time,
        train: await evaluator.meanLoss(weights, trainSet),
        trainAverage: average ? await evaluator.meanLoss(average, trainSet) : undefined,
        heldOut: heldOutSet ? await evaluator.meanLoss(weights, heldOutSet) : undefined,
        heldOutAverage: average && heldOutSet ? await evaluator.meanLoss(average, heldOutSet) : undefined,
      };
      evalSeconds += (performance.now() - evalStart) / 1000;
      metrics.append(record);
    };

    const stopped = () => signals!.received !== undefined;
    if (step === 0 && config.evalEvery > 0) await evaluate();
    while (recorded < config.steps && !stopped()) {
      const waitBefore = stream.waitTimeMs();
      const batch = await stream.next();
      nextPosition = batch.batch + 1 < stream.batchesPerEpoch ? { epoch: batch.epoch, batch: batch.batch + 1 } : { epoch: batch.epoch + 1, batch: 0 };
      const dataWaitMs = stream.waitTimeMs() - waitBefore;
      ws.loadBatch(batch.x, batchTargets(config.task, batch));
      const at = recorded + 1;
      let update: RecordedUpdate;
      try {
        update = await optimizer.step(ws, at);
      } catch (error) {
        await reportPending();
        throw unusable(error, at);
      }
      recorded = at;
      await reportPending();
      pending = { step: at, update, dataWaitMs };
      const evaluates = config.evalEvery > 0 && at % config.evalEvery === 0;
      const saves = config.saveEvery > 0 && at % config.saveEvery === 0;
      if (evaluates || saves) await reportPending();
      if (evaluates) await evaluate();
      if (saves) await checkpoint();
      // The updates themselves never wait on the event loop; this lets a signal handler run.
      await yieldToEventLoop();
    }
    await reportPending();
    if (stopped()) note(`train: interrupted at step ${step}; saving a checkpoint to ${runDir} (continue with --resume ${runDir})`);
    else if (config.evalEvery === 0 || step % config.evalEvery !== 0) await evaluate();
    await checkpoint();
    await hooks.onFinish?.(runDir);
    return { runDir, steps: step, interrupted: stopped(), signal: signals.received, finalLoss };
  } finally {
    signals?.dispose();
    await stream?.close();
    evaluator.dispose();
    session.dispose();
    backend.dispose();
  }
}
