// The methods, as rows of one table: each names the engine that runs it and what distinguishes it.
// KFRA, KFLR and KFAC are one engine (the Kronecker-factored Gauss–Newton optimiser) with different
// estimators of G_λ; SGD, momentum, Nesterov and Adam one first-order engine with different rules.
// `createOptimizer` is the only place an optimiser is assembled from its settings.
import type { Backend } from "../backend/types.ts";
import type { LayerTensors } from "../nn/params.ts";
import type { NetworkSpec } from "../nn/spec.ts";
import { FirstOrderOptimizer } from "./firstOrder.ts";
import { KroneckerOptimizer } from "./kronecker/optimizer.ts";
import type { Optimizer } from "./optimizer.ts";
import type { PhaseMarker } from "./phases.ts";
import { type MethodName, type OptimizerSettings, isKronecker } from "./settings.ts";

export const METHODS: Readonly<Record<MethodName, { engine: "kronecker" | "first-order"; summary: string }>> = {
  kfra: { engine: "kronecker", summary: "Kronecker factors G_λ by the paper's recursion, in the one backward pass (docs/algorithm.md §3.2)" },
  kflr: { engine: "kronecker", summary: "exact Kronecker factors from the per-sample output Hessian's square root; costly for wide outputs (§3.3)" },
  kfac: { engine: "kronecker", summary: "Kronecker factors from one sampled target per sample (§3.4)" },
  sgd: { engine: "first-order", summary: "gradient descent (§9.1)" },
  momentum: { engine: "first-order", summary: "heavy-ball momentum" },
  nesterov: { engine: "first-order", summary: "Nesterov momentum" },
  adam: { engine: "first-order", summary: "Adam" },
};

/** The optimiser of `method` with resolved settings (src/optim/settings.ts), updating `weights`. */
export function createOptimizer(
  method: MethodName,
  backend: Backend,
  spec: NetworkSpec,
  weights: LayerTensors,
  settings: OptimizerSettings,
  phases?: PhaseMarker,
): Optimizer {
  const s = settings;
  if (isKronecker(method)) {
    return new KroneckerOptimizer(backend, spec, weights, s.batchSize, {
      curvature: method,
      tau0: s.tau0,
      gamma0: s.gamma0,
      adapt: s.adapt,
      tauPeriod: s.tauPeriod,
      gammaPeriod: s.gammaPeriod,
      factorDecay: s.factorMomentum ? s.factorDecay : 0,
      polyakMax: s.polyakMax,
      rampSteps: s.rampSteps,
      weightDecay: s.weightDecay,
      seed: s.seed,
      phases,
    });
  }
  return new FirstOrderOptimizer(method, backend, spec, weights, {
    lr: s.lr,
    decayPeriod: s.decayPeriod,
    weightDecay: s.weightDecay,
    momentum: s.momentum,
    beta1: s.beta1,
    beta2: s.beta2,
    epsilon: s.epsilon,
    phases,
  });
}
