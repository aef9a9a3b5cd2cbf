// What the training loop sees of an optimiser, first- or second-order.
import type { Backend, Tensor } from "../backend/types.ts";
import type { LayerTensors } from "../nn/params.ts";
import type { BatchWorkspace } from "../nn/workspace.ts";

import type { MethodName } from "./settings.ts";

/** Per-step figures for the metrics log: always the minibatch loss, plus the optimiser's own scalars. */
export interface StepReport {
  /** Minibatch mean of E at the parameters before the update (no weight-decay term). */
  loss: number;
  [scalar: string]: number;
}

/** Everything an optimiser must save to continue exactly where it stopped. */
export interface OptimizerState {
  tensors: Record<string, Tensor>;
  scalars: Record<string, number>;
}

/**
 * An update whose work is recorded on the backend. Its report may still be on its way from the
 * device, so that a loop can record the next update while the device finishes this one.
 */
export interface RecordedUpdate {
  /** The update's figures; waits for the device when they are not back yet. */
  report(): Promise<StepReport>;
}

export interface Optimizer {
  readonly name: MethodName;
  /**
   * Records one update of `weights` from the minibatch already loaded into `ws`; `step` counts from
   * 1. Returns without waiting for the device unless the update itself needs a value from it
   * (the Kronecker optimisers' damping split and step size); the report comes with the update.
   */
  step(ws: BatchWorkspace, step: number): Promise<RecordedUpdate>;
  /** The Polyak average θ̂, for optimisers that keep one. */
  readonly averagedWeights?: LayerTensors;
  state(): OptimizerState;
  /** Restores scalars (tensors are restored by writing into the tensors `state()` returns). */
  restoreScalars(scalars: Record<string, number>): void;
  dispose(): void;
}

/** One update and its report, waited for: for loops that look at each report before the next update. */
export async function stepAndReport(optimizer: Optimizer, ws: BatchWorkspace, step: number): Promise<StepReport> {
  return (await optimizer.step(ws, step)).report();
}

/** A report known when the update is recorded. */
export function reported(report: StepReport): RecordedUpdate {
  return { report: () => Promise.resolve(report) };
}

/** Learning rate halved every `decayPeriod` updates (docs/algorithm.md §9.1); no decay when decayPeriod ≤ 0. */
export function halvedLearningRate(lr: number, decayPeriod: number, step: number): number {
  if (!(decayPeriod > 0)) return lr;
  return lr * 0.5 ** Math.floor((step - 1) / decayPeriod);
}

export function freeAll(backend: Backend, tensors: Tensor[]): void {
  for (const t of tensors) backend.free(t);
}
