// The single backward pass of the paper's Algorithm 1: at each layer, from the output down, the
// gradient g_λ, the input factor Q_λ and the output factor G_λ of the chosen estimator.
import type { Backend, Tensor } from "../backend/types.ts";
import { backward, layerGradient } from "../nn/backward.ts";
import type { LayerTensors } from "../nn/params.ts";
import type { NetworkSpec } from "../nn/spec.ts";
import type { BatchWorkspace } from "../nn/workspace.ts";
import { type CurvatureEstimator, inputFactor } from "./estimator.ts";

export interface CurvatureOutputs {
  grads: LayerTensors;
  /** Q_λ, (D_{λ−1}+1)² each. */
  inputFactors: Tensor[];
  /** G_λ, D_λ² each. */
  outputFactors: Tensor[];
}

/** Needs a forward pass with derivatives on the same minibatch. */
export function gradientAndCurvature(
  backend: Backend,
  spec: NetworkSpec,
  weights: LayerTensors,
  ws: BatchWorkspace,
  estimator: CurvatureEstimator,
  sampleCounter: number,
  weightDecay: number,
  out: CurvatureOutputs,
): void {
  estimator.start(ws, sampleCounter);
  backward(backend, spec, weights, ws, (l, d) => {
    layerGradient(backend, d, ws.abar[l - 1], weights[l - 1], weightDecay, out.grads[l - 1]);
    inputFactor(backend, ws.abar[l - 1], out.inputFactors[l - 1]);
    estimator.atLayer(l, weights, ws, out.outputFactors);
  });
}
