// The library's training loop: minibatches of a dataset in the CLI stream's seeded order →
// optimizer.step → callbacks; whole-set error on the training (and validation) set every
// `evalEvery` updates and at the end.
import type { Dataset } from "./dataset.ts";
import type { Network } from "./network.ts";
import type { StepReport, TrainingOptimizer } from "./optimizers.ts";

export interface StepInfo extends StepReport {
  step: number;
  epoch: number;
}

export interface EvalInfo {
  step: number;
  /** Mean per-sample loss on the whole training set, at θ and (second-order optimisers) at the Polyak average θ̂. */
  train: number;
  trainAverage?: number;
  validation?: number;
  validationAverage?: number;
}

export interface TrainOptions {
  steps: number;
  /** Seed of the minibatch order (default 0). */
  seed?: number;
  validation?: Dataset;
  /** Whole-set evaluation every N updates (default 0: only at the start and the end). */
  evalEvery?: number;
  onStep?: (info: StepInfo) => void | Promise<void>;
  onEval?: (info: EvalInfo) => void | Promise<void>;
}

export interface TrainSummary {
  steps: number;
  /** The last minibatch loss. */
  loss: number;
  /** The last evaluation. */
  final: EvalInfo;
}

export class NonFiniteLossError extends Error {
  override name = "NonFiniteLossError";
}

/** Trains `network` with `optimizer` on `data` for `steps` updates; throws NonFiniteLossError if the loss diverges. */
export async function train(network: Network, optimizer: TrainingOptimizer, data: Dataset, options: TrainOptions): Promise<TrainSummary> {
  if (optimizer.network !== network) throw new Error("train: the optimizer was made for another network");
  data.checkFits(network.spec);
  options.validation?.checkFits(network.spec);
  const seed = options.seed ?? 0;
  const evalEvery = options.evalEvery ?? 0;
  const evaluate = async (step: number): Promise<EvalInfo> => {
    const average = optimizer.averagedWeights;
    const info: EvalInfo = { step, train: await network.evaluate(data) };
    if (average) info.trainAverage = await network.evaluate(data, average);
    if (options.validation) {
      info.validation = await network.evaluate(options.validation);
      if (average) info.validationAverage = await network.evaluate(options.validation, average);
    }
    await options.onEval?.(info);
    return info;
  };
  let final = await evaluate(optimizer.steps);
  let loss = NaN;
  for (let i = 0; i < options.steps; i++) {
    const batch = data.batch(optimizer.batchSize, seed, optimizer.steps);
    const report = await optimizer.step(batch);
    if (!Number.isFinite(report.loss)) throw new NonFiniteLossError(`train: the minibatch loss became non-finite at step ${optimizer.steps}`);
    loss = report.loss;
    await options.onStep?.({ ...report, step: optimizer.steps, epoch: batch.epoch });
    if (evalEvery > 0 && optimizer.steps % evalEvery === 0) final = await evaluate(optimizer.steps);
  }
  if (final.step !== optimizer.steps) final = await evaluate(optimizer.steps);
  return { steps: optimizer.steps, loss, final };
}
