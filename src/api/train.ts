// train(): the one way to run training, for the library and the CLI alike (the CLI adds its run
// files as hooks, src/run/). It checks its arguments, then runs the training loop of src/train:
// minibatches of `data` in the CLI stream's seeded order (or from `batches`), reports read one
// update late, whole-set evaluations, checkpoint points, and a stop on `signal`.
import { UsageError } from "../errors.ts";
import { MinibatchStream } from "../data/stream.ts";
import { writeSafetensors } from "../io/safetensors.ts";
import { modelMetadata, modelTensors } from "../nn/modelFile.ts";
import { downloadLayers } from "../nn/params.ts";
import { type BatchSource, type BestState, type EvalInfo, type LoopBatch, type LoopHooks, runLoop } from "../train/loop.ts";
import { trainSetting } from "../train/settings.ts";
import { SettingError, checkSetting, ownOptions } from "../settings.ts";
import { Dataset } from "./dataset.ts";
import type { Network } from "./network.ts";
import { type Optimizer, internals } from "./optimizer.ts";

export { DivergedError, type BatchSource, type BestInfo, type BestState, type EvalInfo, type StepInfo } from "../train/loop.ts";

export interface TrainOptions extends LoopHooks {
  /** Updates to do in this call (default 200). */
  steps?: number;
  /** Seed of the minibatch order (default 0). */
  seed?: number;
  /** Whole-set evaluation every N updates and at the start (default 50); 0: only at the end. */
  evalEvery?: number;
  /** Evaluate before the first update (default: when the optimiser has done no update yet). */
  evalAtStart?: boolean;
  /** A held-out set, evaluated beside the training set. */
  validation?: Dataset;
  /**
   * Minibatches from elsewhere instead of `data`'s own, e.g. a MinibatchStream (worker threads);
   * `data` is then what is evaluated. Each is checked as step() checks a batch, unless it is a
   * MinibatchStream reading what `data` holds: its file, feature and target columns (checked whole when `data` was).
   */
  batches?: BatchSource;
  /** Stops training after the current update (a whole-set evaluation under way is dropped). */
  signal?: AbortSignal;
  /** onCheckpoint every N updates (and at the end); default 0: only at the end. */
  checkpointEvery?: number;
  /** Seconds trained before this call, added to the `time` of reports (a resumed run's). */
  timeOffset?: number;
  /** Stop once N evaluations of `validation` in a row have not improved on the best held-out error (default 0: never). */
  earlyStop?: number;
  /** Writes the best weights by held-out error (θ or θ̂) to this model file, atomically, at each new best. */
  saveBest?: string;
  /** The best so far of earlier calls (a resumed run's; `summary.best` of the last call), so that a new best must beat it. */
  best?: BestState;
}

/** The best evaluation by held-out error and its weights, W_λ = [W̃_λ | b_λ] per layer (as getWeights()). */
export interface BestModel extends BestState {
  heldOutAccuracy?: number;
  /** Absent when the best was an earlier call's (options.best) and this call found none better. */
  weights?: Float32Array[];
}

export interface TrainSummary {
  /** Updates done by the optimiser in all, this call's included. */
  steps: number;
  /** The last minibatch loss. */
  loss: number;
  /** The last evaluation, if any. */
  final?: EvalInfo;
  /** True when `signal` stopped training early. */
  interrupted: boolean;
  /** True when earlyStop ended training. */
  stoppedEarly: boolean;
  /** The best evaluation by held-out error (with a validation set). */
  best?: BestModel;
}

const HOOKS = ["onStart", "onStep", "onEvalStart", "onEval", "onBest", "onCheckpoint"] as const;
const OPTIONS = ["steps", "seed", "evalEvery", "evalAtStart", "validation", "batches", "signal", "checkpointEvery", "timeOffset", "earlyStop", "saveBest", "best", ...HOOKS];

/** The metadata of a best model file: the network's, and where the weights come from. */
export function bestMetadata(spec: Network["spec"], best: BestModel, classNames?: readonly string[]): Record<string, string> {
  const metadata: Record<string, string> = { ...modelMetadata(spec, classNames), best_step: String(best.step), best_at: best.at, held_out_error: String(best.heldOut) };
  if (best.heldOutAccuracy !== undefined) metadata.held_out_accuracy = String(best.heldOutAccuracy);
  return metadata;
}

function checkBest(value: unknown): BestState {
  const b = value as BestState;
  const ok = typeof b === "object" && b !== null && Number.isSafeInteger(b.step) && b.step >= 0 && (b.at === "weights" || b.at === "average") && typeof b.heldOut === "number" && !Number.isNaN(b.heldOut) && Number.isSafeInteger(b.evaluationsSince) && b.evaluationsSince >= 0;
  if (!ok) throw new SettingError("best", `must be { step, at: "weights" | "average", heldOut, evaluationsSince } (a summary's best), got ${JSON.stringify(value)}`);
  return { step: b.step, at: b.at, heldOut: b.heldOut, evaluationsSince: b.evaluationsSince };
}

/** Trains `network` with `optimizer` on `data`; throws DivergedError when the loss or the curvature stops being finite. */
export async function train(network: Network, optimizer: Optimizer, data: Dataset, given: TrainOptions = {}): Promise<TrainSummary> {
  if (typeof given !== "object" || given === null) throw new UsageError("train: options must be an object such as { steps: 100 }");
  const options = ownOptions(given);
  for (const key of Object.keys(options)) if (!OPTIONS.includes(key)) throw new SettingError(key, `not an option of train(); its options are ${OPTIONS.join(", ")}`);
  if (optimizer?.network !== network) throw new UsageError("train: the optimizer was made for another network");
  if (!(data instanceof Dataset)) throw new UsageError("train: data must be a Dataset (openDataset)");
  if (options.validation !== undefined && !(options.validation instanceof Dataset)) throw new SettingError("validation", "must be a Dataset (openDataset)");
  const steps = trainSetting("steps", options.steps);
  const seed = trainSetting("seed", options.seed);
  const evalEvery = trainSetting("evalEvery", options.evalEvery);
  const earlyStop = trainSetting("earlyStop", options.earlyStop);
  if (earlyStop > 0 && options.validation === undefined) throw new SettingError("earlyStop", "needs a held-out set to judge the error on: give the validation option");
  if (earlyStop > 0 && evalEvery === 0) throw new SettingError("earlyStop", "needs evaluations along the way; evalEvery 0 evaluates only at the end");
  if (options.saveBest !== undefined && (typeof options.saveBest !== "string" || options.saveBest === "")) throw new SettingError("saveBest", "must be a file name, such as best/model.safetensors");
  if (options.saveBest !== undefined && options.validation === undefined) throw new SettingError("saveBest", "needs a held-out set to choose the best weights by: give the validation option");
  const initialBest = options.best === undefined ? undefined : checkBest(options.best);
  const checkpointEvery = options.checkpointEvery === undefined ? 0 : checkSetting<number>("checkpointEvery", { kind: "integer", min: 0, help: "" }, options.checkpointEvery);
  for (const hook of HOOKS) if (options[hook] !== undefined && typeof options[hook] !== "function") throw new SettingError(hook, "must be a function");
  if (options.timeOffset !== undefined) checkSetting<number>("timeOffset", { kind: "number", min: 0, help: "" }, options.timeOffset);
  if (options.evalAtStart !== undefined && typeof options.evalAtStart !== "boolean") throw new SettingError("evalAtStart", "must be true or false");
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new SettingError("signal", "must be an AbortSignal");
  if (options.batches !== undefined && typeof options.batches?.next !== "function") throw new SettingError("batches", "must have a next() giving minibatches { x, y?, epoch, batch }");
  network.checkUsable("train");
  data.checkFits(network.spec);
  options.validation?.checkFits(network.spec);

  const internal = internals.get(optimizer)!;
  return internal.exclusive("train()", async () => {
    const start = optimizer.steps;
    const source = batchSource(optimizer, data, seed, start, options.batches);
    let bestModel: BestModel | undefined = initialBest && { ...initialBest };
    const result = await runLoop(internal.trainee, source, {
      startStep: start,
      steps,
      evalEvery,
      evalAtStart: options.evalAtStart,
      trainSet: data.evalData(),
      validationSet: options.validation?.evalData(),
      checkpointEvery,
      signal: options.signal,
      timeOffset: options.timeOffset,
      earlyStop,
      best: initialBest,
      hooks: {
        ...options,
        onBest: async (info) => {
          const weights = (await downloadLayers(network.backend, info.weights)).map((w) => Float32Array.from(w));
          bestModel = { step: info.step, at: info.at, heldOut: info.heldOut, heldOutAccuracy: info.heldOutAccuracy, evaluationsSince: 0, weights };
          if (options.saveBest) writeSafetensors(options.saveBest, modelTensors(network.spec, weights), bestMetadata(network.spec, bestModel, network.classNames));
          await options.onBest?.(info);
        },
      },
    });
    if (bestModel && result.best) bestModel.evaluationsSince = result.best.evaluationsSince;
    return { steps: result.step, loss: result.loss, final: result.final, interrupted: result.interrupted, stoppedEarly: result.stoppedEarly, best: bestModel };
  });
}

/** The minibatches of a call: `data`'s in seeded order from update `start`, or `batches`, checked unless they are `data`'s own. */
function batchSource(optimizer: Optimizer, data: Dataset, seed: number, start: number, batches?: BatchSource): BatchSource {
  if (!batches) {
    let index = start;
    return { next: () => data.batch(optimizer.batchSize, seed, index++) };
  }
  // A stream is trusted only when it reads what `data` holds (checked whole): the same file, feature
  // column and target column; any other, another target column of the same file included, is checked.
  const reads = batches instanceof MinibatchStream ? batches.reads : undefined;
  const same = reads !== undefined && data.info !== undefined && reads.file === data.info.file && reads.features === data.info.features.name && reads.targets === data.info.targets?.name;
  if (same) return batches;
  return {
    next: async (): Promise<LoopBatch> => {
      const batch = await batches.next();
      optimizer.checkBatch(batch);
      return batch;
    },
    release: batches.release?.bind(batches),
  };
}
