// The first-order baselines of docs/algorithm.md §9.1: SGD, heavy-ball momentum, Nesterov momentum and
// Adam, with the learning rate halved every `decayPeriod` updates. Weight decay enters through the
// gradient (g = ∇E + ηθ).
import type { Backend } from "../backend/types.ts";
import { gradient } from "../nn/backward.ts";
import { forward, meanLoss } from "../nn/forward.ts";
import { type LayerTensors, allocLayers, axpbyLayers } from "../nn/params.ts";
import type { NetworkSpec } from "../nn/spec.ts";
import type { BatchWorkspace } from "../nn/workspace.ts";
import { type Optimizer, type OptimizerState, type RecordedUpdate, freeAll, halvedLearningRate } from "./optimizer.ts";
import { ScalarSlots } from "./scalars.ts";
import type { PhaseMarker } from "./phases.ts";

import type { FirstOrderMethod } from "./settings.ts";

export interface FirstOrderOptions {
  lr: number;
  decayPeriod: number;
  weightDecay: number;
  momentum: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Benchmarks only: told when each phase of the step begins. */
  phases?: PhaseMarker;
}

export class FirstOrderOptimizer implements Optimizer {
  private readonly grads: LayerTensors;
  /** Momentum buffer, or Adam's first moment. */
  private readonly velocity: LayerTensors;
  /** Adam's second moment. */
  private readonly secondMoment: LayerTensors;
  private readonly scalars: ScalarSlots<"loss">;

  constructor(
    readonly name: FirstOrderMethod,
    private readonly backend: Backend,
    private readonly spec: NetworkSpec,
    private readonly weights: LayerTensors,
    private readonly options: FirstOrderOptions,
  ) {
    this.grads = allocLayers(backend, spec);
    this.velocity = name === "sgd" ? [] : allocLayers(backend, spec);
    this.secondMoment = name === "adam" ? allocLayers(backend, spec) : [];
    this.scalars = new ScalarSlots(backend, ["loss"]);
  }

  /** Records the update and starts the loss's download; nothing here waits for the device. */
  async step(ws: BatchWorkspace, step: number): Promise<RecordedUpdate> {
    const { backend, spec, weights, grads, velocity, options } = this;
    await options.phases?.mark("forward");
    forward(backend, spec, weights, ws);
    meanLoss(backend, spec, ws, this.scalars.slot("loss"));
    await options.phases?.mark("backward");
    gradient(backend, spec, weights, ws, options.weightDecay, grads);
    await options.phases?.mark("update");
    const lr = halvedLearningRate(options.lr, options.decayPeriod, step);
    switch (this.name) {
      // θ ← θ − lr g
      case "sgd":
        axpbyLayers(backend, -lr, grads, 1, weights);
        break;
      // v ← μ v + g;  θ ← θ − lr v
      case "momentum":
        axpbyLayers(backend, 1, grads, options.momentum, velocity);
        axpbyLayers(backend, -lr, velocity, 1, weights);
        break;
      // v ← μ v + g;  θ ← θ − lr (g + μ v)   (Sutskever et al.'s Nesterov form, as in PyTorch)
      case "nesterov":
        axpbyLayers(backend, 1, grads, options.momentum, velocity);
        axpbyLayers(backend, -lr, grads, 1, weights);
        axpbyLayers(backend, -lr * options.momentum, velocity, 1, weights);
        break;
      case "adam":
        for (let l = 0; l < weights.length; l++) {
          backend.adamStep(weights[l], grads[l], velocity[l], this.secondMoment[l], {
            lr,
            beta1: options.beta1,
            beta2: options.beta2,
            eps: options.epsilon,
            step,
          });
        }
        break;
    }
    const scalars = this.scalars.readLater();
    return { report: async () => ({ loss: (await scalars()).loss, lr }) };
  }

  state(): OptimizerState {
    const tensors: OptimizerState["tensors"] = {};
    this.velocity.forEach((t, l) => (tensors[`${this.name === "adam" ? "adam.m" : "velocity"}.${l}`] = t));
    this.secondMoment.forEach((t, l) => (tensors[`adam.v.${l}`] = t));
    return { tensors, scalars: {} };
  }

  restoreScalars(): void {}

  dispose(): void {
    freeAll(this.backend, [...this.grads, ...this.velocity, ...this.secondMoment]);
    this.scalars.dispose();
  }
}
