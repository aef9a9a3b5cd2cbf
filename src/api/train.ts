// train(): the one way to run training, for the library and the CLI alike (the CLI adds its run
// files as hooks, src/run/). It checks its arguments, then runs the training loop of src/train:
// minibatches of `data` in the CLI stream's seeded order (or from `batches`), reports read one
// update late, whole-set evaluations, checkpoint points, and a stop on `signal`.
import { UsageError } from "../errors.ts";
import { MinibatchStream } from "../data/stream.ts";
import { type BatchSource, type EvalInfo, type LoopBatch, type LoopHooks, runLoop } from "../train/loop.ts";
import { trainSetting } from "../train/settings.ts";
import { SettingError, checkSetting } from "../settings.ts";
import { Dataset } from "./dataset.ts";
import type { Network } from "./network.ts";
import { type Optimizer, internals } from "./optimizer.ts";

export { DivergedError, type BatchSource, type EvalInfo, type StepInfo } from "../train/loop.ts";

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
   * MinibatchStream of `data`'s own file (checked whole when `data` was).
   */
  batches?: BatchSource;
  /** Stops training after the current update (a whole-set evaluation under way is dropped). */
  signal?: AbortSignal;
  /** onCheckpoint every N updates (and at the end); default 0: only at the end. */
  checkpointEvery?: number;
  /** Seconds trained before this call, added to the `time` of reports (a resumed run's). */
  timeOffset?: number;
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
}

const HOOKS = ["onStart", "onStep", "onEvalStart", "onEval", "onCheckpoint"] as const;
const OPTIONS = ["steps", "seed", "evalEvery", "evalAtStart", "validation", "batches", "signal", "checkpointEvery", "timeOffset", ...HOOKS];

/** Trains `network` with `optimizer` on `data`; throws DivergedError when the loss or the curvature stops being finite. */
export async function train(network: Network, optimizer: Optimizer, data: Dataset, options: TrainOptions = {}): Promise<TrainSummary> {
  if (typeof options !== "object" || options === null) throw new UsageError("train: options must be an object such as { steps: 100 }");
  for (const key of Object.keys(options)) if (!OPTIONS.includes(key)) throw new SettingError(key, `not an option of train(); its options are ${OPTIONS.join(", ")}`);
  if (optimizer?.network !== network) throw new UsageError("train: the optimizer was made for another network");
  if (!(data instanceof Dataset)) throw new UsageError("train: data must be a Dataset (openDataset)");
  if (options.validation !== undefined && !(options.validation instanceof Dataset)) throw new SettingError("validation", "must be a Dataset (openDataset)");
  const steps = trainSetting("steps", options.steps);
  const seed = trainSetting("seed", options.seed);
  const evalEvery = trainSetting("evalEvery", options.evalEvery);
  const checkpointEvery = options.checkpointEvery === undefined ? 0 : checkSetting<number>("checkpointEvery", { kind: "integer", min: 0, help: "" }, options.checkpointEvery);
  for (const hook of HOOKS) if (options[hook] !== undefined && typeof options[hook] !== "function") throw new SettingError(hook, "must be a function");
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
      hooks: options,
    });
    return { steps: result.step, loss: result.loss, final: result.final, interrupted: result.interrupted };
  });
}

/** The minibatches of a call: `data`'s in seeded order from update `start`, or `batches`, checked unless they are `data`'s own. */
function batchSource(optimizer: Optimizer, data: Dataset, seed: number, start: number, batches?: BatchSource): BatchSource {
  if (!batches) {
    let index = start;
    return { next: () => data.batch(optimizer.batchSize, seed, index++) };
  }
  const ownFile = batches instanceof MinibatchStream && data.info !== undefined && batches.info.file === data.info.file;
  if (ownFile) return batches;
  return {
    next: async (): Promise<LoopBatch> => {
      const batch = await batches.next();
      optimizer.checkBatch(batch);
      return batch;
    },
  };
}
