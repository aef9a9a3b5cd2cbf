// Back-propagation (docs/algorithm.md §2). The same step, d_{λ−1} = (W̃_λᵀ d_λ) ⊙ B_{λ−1}, carries the
// gradient and every curvature estimator's vectors (KFAC's sampled d̂, KFLR's columns of C), so it
// is written once here and shared (the BackPACK pattern: siblings share the module derivatives).
import type { Backend, Tensor } from "../backend/types.ts";
import { type LayerTensors, weightsWithoutBias } from "./params.ts";
import { type NetworkSpec, layerCount } from "./spec.ts";
import type { BatchWorkspace } from "./workspace.ts";

/** out = (W̃ᵀ x) ⊙ b: one back-propagation step through a layer's weights and transfer derivative. */
export function backpropagateThroughLayer(backend: Backend, w: Tensor, x: Tensor, b: Tensor, out: Tensor): void {
  backend.gemm(weightsWithoutBias(backend, w), x, out, { transA: true });
  backend.hadamard(out, b, out);
}

/**
 * Fills ws.delta with d_λ for λ = L … 1, starting from d_L = ∂E/∂h_L, and calls `visit(λ, d_λ)` at
 * each layer before moving down (where the gradient and curvature of that layer are formed).
 */
export function backward(
  backend: Backend,
  spec: NetworkSpec,
  weights: LayerTensors,
  ws: BatchWorkspace,
  visit: (layer: number, d: Tensor) => void,
): void {
  backend.lossGrad(spec.loss, ws.output, ws.target, ws.delta[layerCount(spec) - 1]);
  backwardFromOutput(backend, spec, weights, ws, visit);
}

/** The same pass from a d_L already in ws.delta[L−1] (e.g. H_L Jv for a Gauss–Newton product). */
export function backwardFromOutput(
  backend: Backend,
  spec: NetworkSpec,
  weights: LayerTensors,
  ws: BatchWorkspace,
  visit: (layer: number, d: Tensor) => void,
): void {
  const L = layerCount(spec);
  for (let l = L; l >= 1; l--) {
    visit(l, ws.delta[l - 1]);
    if (l > 1) backpropagateThroughLayer(backend, weights[l - 1], ws.delta[l - 1], ws.fprime[l - 2], ws.delta[l - 2]);
  }
}

/** g_λ = (1/N) d_λ Ā_{λ−1}ᵀ + η W_λ. */
export function layerGradient(backend: Backend, d: Tensor, abarIn: Tensor, w: Tensor, weightDecay: number, g: Tensor): void {
  backend.gemm(d, abarIn, g, { transB: true, alpha: 1 / d.cols });
  if (weightDecay !== 0) backend.axpby(weightDecay, w, 1, g);
}

/** The full gradient ∇f into `grads` (forward must have run with derivatives). */
export function gradient(backend: Backend, spec: NetworkSpec, weights: LayerTensors, ws: BatchWorkspace, weightDecay: number, grads: LayerTensors): void {
  backward(backend, spec, weights, ws, (l, d) => layerGradient(backend, d, ws.abar[l - 1], weights[l - 1], weightDecay, grads[l - 1]));
}
