// The training loop, the one behind the library's train() and the CLI's runs: minibatches from a
// source → the optimiser's update → reports, whole-set evaluations and checkpoint points, through
// hooks. Each update's report is read once the next update is recorded, so the device works on one
// update while the CPU records the next; an evaluation, a checkpoint point and the end wait for it.
// An AbortSignal stops the loop after the current update (or in the middle of an evaluation, which
// is then dropped), with a last checkpoint point.
import { ExpectedError } from "../errors.ts";
import { NotPositiveDefiniteError, type Backend } from "../backend/types.ts";
import { EvaluationAborted, type EvalData, Evaluator } from "../nn/evaluate.ts";
import type { LayerTensors } from "../nn/params.ts";
import type { NetworkSpec } from "../nn/spec.ts";
import { BatchWorkspace } from "../nn/workspace.ts";
import type { RecordedUpdate, StepReport } from "../optim/optimizer.ts";

/** A minibatch, sample per row, and where it sits in the source's order. */
export interface LoopBatch {
  x: ArrayLike<number>;
  /** Targets, sample per row; absent for an autoencoder. */
  y?: ArrayLike<number>;
  epoch: number;
  batch: number;
}

/** Where the minibatches come from: a dataset in memory, a worker stream. Its batches are trusted (checked where they entered). */
export interface BatchSource {
  next(): LoopBatch | Promise<LoopBatch>;
}

/** What the loop drives: a network's weights and the optimiser updating them. */
export interface Trainee {
  readonly backend: Backend;
  readonly spec: NetworkSpec;
  readonly weights: LayerTensors;
  /** θ̂, for optimisers that keep a Polyak average. */
  readonly averagedWeights?: LayerTensors;
  /** Loads the minibatch and records update number `step` (counting from 1). */
  record(batch: LoopBatch, step: number): Promise<RecordedUpdate>;
}

export interface StepInfo extends StepReport {
  step: number;
  /** Training seconds: wall-clock since the loop started (plus `timeOffset`), less whole-set evaluations. */
  time: number;
  /** Milliseconds the loop waited for this minibatch. */
  dataWaitMs: number;
  epoch: number;
  batch: number;
}

export interface EvalInfo {
  step: number;
  time: number;
  /** Mean per-sample loss on the whole training set, at θ and (Kronecker methods) at the Polyak average θ̂. */
  train: number;
  trainAverage?: number;
  validation?: number;
  validationAverage?: number;
}

export interface LoopHooks {
  /** Before the first update: the update count so far and the count to reach. */
  onStart?(info: { step: number; steps: number }): void | Promise<void>;
  /** Each update's report, once read. */
  onStep?(info: StepInfo): void | Promise<void>;
  /** A whole-set evaluation at update `step` begins (it may take seconds; onEval follows unless it is stopped). */
  onEvalStart?(info: { step: number }): void | Promise<void>;
  onEval?(info: EvalInfo): void | Promise<void>;
  /**
   * Every `checkpointEvery` updates and at the end: every update up to `step` is reported and
   * nothing later is recorded, so the weights and the optimiser's state are those of `step`.
   */
  onCheckpoint?(info: { step: number; time: number }): void | Promise<void>;
}

export interface LoopOptions {
  /** Updates already done (a resumed run's step); the next update is startStep + 1. */
  startStep: number;
  /** Updates to do now. */
  steps: number;
  /** Whole-set evaluation every N updates, 0: only at the end. */
  evalEvery: number;
  /** Evaluate before the first update too (default: when startStep is 0); only with evalEvery > 0. */
  evalAtStart?: boolean;
  trainSet?: EvalData;
  validationSet?: EvalData;
  checkpointEvery?: number;
  /** Stops the loop after the current update. */
  signal?: AbortSignal;
  /** Seconds trained before this loop (a resumed run's). */
  timeOffset?: number;
  hooks?: LoopHooks;
}

export interface LoopResult {
  /** The update count at the end. */
  step: number;
  interrupted: boolean;
  /** The last minibatch loss (NaN when no update ran). */
  loss: number;
  /** The last evaluation, if any. */
  final?: EvalInfo;
}

/** The run stopped because the loss or the curvature became unusable at `step`. */
export class DivergedError extends ExpectedError {
  constructor(
    readonly what: string,
    readonly step: number,
  ) {
    super(what);
  }
}

/** Lets the event loop run (timers, I/O, signal handlers) between two updates. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Rows of a whole-set evaluation at once. */
const EVAL_CHUNK = 1000;

export async function runLoop(trainee: Trainee, source: BatchSource, options: LoopOptions): Promise<LoopResult> {
  const { backend, spec, weights } = trainee;
  const hooks = options.hooks ?? {};
  const signal = options.signal;
  const stopped = () => signal?.aborted === true;
  const sets = [options.trainSet, options.validationSet].filter((s): s is EvalData => s !== undefined);
  const evalRows = Math.min(EVAL_CHUNK, ...sets.map((s) => s.count));
  const evalWorkspace = sets.length > 0 ? new BatchWorkspace(backend, spec, evalRows) : undefined;
  const evaluator = evalWorkspace ? new Evaluator(backend, spec, evalWorkspace) : undefined;
  try {
    const startedAt = performance.now();
    let evalSeconds = 0;
    const elapsed = () => (options.timeOffset ?? 0) + (performance.now() - startedAt) / 1000 - evalSeconds;
    const last = options.startStep + options.steps;
    let step = options.startStep;
    let recorded = options.startStep;
    let pending: { step: number; update: RecordedUpdate; dataWaitMs: number; epoch: number; batch: number } | undefined;
    let loss = NaN;
    let final: EvalInfo | undefined;

    const unusable = (error: unknown, at: number) =>
      error instanceof NotPositiveDefiniteError ? new DivergedError(`the curvature became unusable at step ${at} (${error.message}; the model has diverged)`, at) : error;
    const reportPending = async () => {
      if (!pending) return;
      const { step: at, update, dataWaitMs, epoch, batch } = pending;
      pending = undefined;
      let report: StepReport;
      try {
        report = await update.report();
      } catch (error) {
        throw unusable(error, at);
      }
      if (!Number.isFinite(report.loss)) throw new DivergedError(`the minibatch loss became non-finite at step ${at}`, at);
      step = at;
      loss = report.loss;
      await hooks.onStep?.({ ...report, step, time: elapsed(), dataWaitMs, epoch, batch });
    };
    const evaluate = async () => {
      if (!evaluator || !options.trainSet) return;
      const averaged = trainee.averagedWeights;
      const evalStart = performance.now();
      const time = elapsed();
      const mean = (w: LayerTensors, data: EvalData) => evaluator.meanLoss(w, data, signal);
      await hooks.onEvalStart?.({ step });
      try {
        const info: EvalInfo = { step, time, train: await mean(weights, options.trainSet) };
        if (averaged) info.trainAverage = await mean(averaged, options.trainSet);
        if (options.validationSet) {
          info.validation = await mean(weights, options.validationSet);
          if (averaged) info.validationAverage = await mean(averaged, options.validationSet);
        }
        final = info;
        await hooks.onEval?.(info);
      } catch (error) {
        if (!(error instanceof EvaluationAborted)) throw error;
      } finally {
        evalSeconds += (performance.now() - evalStart) / 1000;
      }
    };
    let checkpointed = -1;
    const checkpoint = async () => {
      if (checkpointed === step) return;
      await hooks.onCheckpoint?.({ step, time: elapsed() });
      checkpointed = step;
    };

    await hooks.onStart?.({ step, steps: last });
    if ((options.evalAtStart ?? step === 0) && options.evalEvery > 0) await evaluate();
    while (recorded < last && !stopped()) {
      const waitStart = performance.now();
      const batch = await source.next();
      const dataWaitMs = performance.now() - waitStart;
      const at = recorded + 1;
      let update: RecordedUpdate;
      try {
        update = await trainee.record(batch, at);
      } catch (error) {
        await reportPending();
        throw unusable(error, at);
      }
      recorded = at;
      await reportPending();
      pending = { step: at, update, dataWaitMs, epoch: batch.epoch, batch: batch.batch };
      const evaluates = options.evalEvery > 0 && at % options.evalEvery === 0;
      const saves = (options.checkpointEvery ?? 0) > 0 && at % options.checkpointEvery! === 0;
      if (evaluates || saves) await reportPending();
      if (evaluates && !stopped()) await evaluate();
      if (saves) await checkpoint();
      // The updates themselves never wait on the event loop; this lets a signal handler run.
      await yieldToEventLoop();
    }
    await reportPending();
    if (!stopped() && (options.evalEvery === 0 || step % options.evalEvery !== 0)) await evaluate();
    await checkpoint();
    return { step, interrupted: stopped(), loss, final };
  } finally {
    evaluator?.dispose();
    evalWorkspace?.dispose();
  }
}
