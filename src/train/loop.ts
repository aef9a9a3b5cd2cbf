// The training loop, the one behind the library's train() and the CLI's runs: minibatches from a
// source → the optimiser's update → reports, whole-set evaluations and checkpoint points, through
// hooks. Each update's report is read once the next update is recorded, so the device works on one
// update while the CPU records the next; an evaluation, a checkpoint point and the end wait for it.
// An AbortSignal stops the loop after the current update (or in the middle of an evaluation, which
// is then dropped), with a last checkpoint point. Every evaluation with a held-out set keeps track of
// the best held-out error so far (docs/algorithm.md §12.2): onBest sees each new best's weights, and
// with earlyStop N the loop ends once N evaluations in a row have not improved on it.
import { ExpectedError } from "../errors.ts";
import { faultPoint } from "../io/faultPoint.ts";
import { NotPositiveDefiniteError, type Backend } from "../backend/types.ts";
import { EvaluationAborted, type EvalData, type Evaluation, Evaluator } from "../nn/evaluate.ts";
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
  /** Called once the update has loaded `batch` (a MinibatchStream then fills its arrays again). */
  release?(batch: LoopBatch): void;
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
  /** Classifiers: the fraction of samples whose predicted class is their label, for each of the four errors above. */
  trainAccuracy?: number;
  trainAverageAccuracy?: number;
  validationAccuracy?: number;
  validationAverageAccuracy?: number;
  /** Wall-clock seconds the evaluation took (left out of `time`). */
  seconds?: number;
}

/** The best evaluation so far by held-out error (the smaller of θ's and θ̂'s), and the evaluations since it. */
export interface BestState {
  step: number;
  /** Which weights gave it: θ ("weights") or the Polyak average θ̂ ("average"). */
  at: "weights" | "average";
  /** The held-out error there. */
  heldOut: number;
  /** Held-out evaluations after it that did not improve on it. */
  evaluationsSince: number;
}

/** A new best evaluation, with the weights that gave it (valid only during the hook). */
export interface BestInfo extends Omit<BestState, "evaluationsSince"> {
  time: number;
  heldOutAccuracy?: number;
  eval: EvalInfo;
  weights: LayerTensors;
}

export interface LoopHooks {
  /** Before the first update: the update count so far and the count to reach. */
  onStart?(info: { step: number; steps: number }): void | Promise<void>;
  /** Each update's report, once read. */
  onStep?(info: StepInfo): void | Promise<void>;
  /** A whole-set evaluation at update `step` begins (it may take seconds; onEval follows unless it is stopped). */
  onEvalStart?(info: { step: number }): void | Promise<void>;
  onEval?(info: EvalInfo): void | Promise<void>;
  /** An evaluation whose held-out error is below every earlier one's (only with a held-out set). */
  onBest?(info: BestInfo): void | Promise<void>;
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
  /** Stop once this many held-out evaluations in a row have not improved on the best (0 or absent: never); needs validationSet. */
  earlyStop?: number;
  /** The best so far of earlier loops of the same run (a resumed run's). */
  best?: BestState;
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
  /** The best held-out evaluation so far (this loop's or an earlier one's). */
  best?: BestState;
  /** True when earlyStop ended the loop (possibly before any update: the run had already stopped early). */
  stoppedEarly: boolean;
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
    let best = options.best ? { ...options.best } : undefined;
    const earlyStop = options.earlyStop ?? 0;
    const patienceSpent = () => earlyStop > 0 && best !== undefined && best.evaluationsSince >= earlyStop;
    let stoppedEarly = false;

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
      const at = (w: LayerTensors, data: EvalData) => evaluator.evaluate(w, data, signal);
      const put = (info: EvalInfo, key: "train" | "trainAverage" | "validation" | "validationAverage", e: Evaluation) => {
        info[key] = e.loss;
        if (e.accuracy !== undefined) info[`${key}Accuracy`] = e.accuracy;
      };
      await hooks.onEvalStart?.({ step });
      try {
        await faultPoint("eval", step);
        const info: EvalInfo = { step, time, train: NaN };
        put(info, "train", await at(weights, options.trainSet));
        if (averaged) put(info, "trainAverage", await at(averaged, options.trainSet));
        if (options.validationSet) {
          put(info, "validation", await at(weights, options.validationSet));
          if (averaged) put(info, "validationAverage", await at(averaged, options.validationSet));
        }
        info.seconds = (performance.now() - evalStart) / 1000;
        final = info;
        await hooks.onEval?.(info);
        if (info.validation !== undefined) await judge(info, time);
      } catch (error) {
        if (!(error instanceof EvaluationAborted)) throw error;
      } finally {
        evalSeconds += (performance.now() - evalStart) / 1000;
      }
    };
    // §12.2: the held-out error of an evaluation is the smaller of θ's and θ̂'s; a new best resets the count.
    const judge = async (info: EvalInfo, time: number) => {
      const average = info.validationAverage !== undefined && info.validationAverage < info.validation!;
      const heldOut = average ? info.validationAverage! : info.validation!;
      if (best === undefined || heldOut < best.heldOut) {
        best = { step: info.step, at: average ? "average" : "weights", heldOut, evaluationsSince: 0 };
        const heldOutAccuracy = average ? info.validationAverageAccuracy : info.validationAccuracy;
        await hooks.onBest?.({ step: best.step, at: best.at, heldOut, time, heldOutAccuracy, eval: info, weights: average ? trainee.averagedWeights! : weights });
      } else {
        best.evaluationsSince += 1;
      }
      if (patienceSpent()) stoppedEarly = true;
    };
    let checkpointed = -1;
    const checkpoint = async () => {
      if (checkpointed === step) return;
      await hooks.onCheckpoint?.({ step, time: elapsed() });
      checkpointed = step;
    };

    await hooks.onStart?.({ step, steps: last });
    stoppedEarly = patienceSpent();
    if ((options.evalAtStart ?? step === 0) && options.evalEvery > 0 && !stoppedEarly) await evaluate();
    while (recorded < last && !stopped() && !stoppedEarly) {
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
      source.release?.(batch);
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
    if (stopped()) await faultPoint("stopping");
    await reportPending();
    if (!stopped() && !stoppedEarly && (options.evalEvery === 0 || step % options.evalEvery !== 0)) await evaluate();
    await checkpoint();
    return { step, interrupted: stopped(), loss, final, best, stoppedEarly };
  } finally {
    evaluator?.dispose();
    evalWorkspace?.dispose();
  }
}
