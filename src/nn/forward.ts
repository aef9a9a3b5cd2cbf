// Forward pass and loss (docs/algorithm.md §1): h_λ = W_λ ā_{λ−1}, a_λ = f_λ(h_λ) for λ < L, and the
// per-sample loss E⁽ⁿ⁾(h_L, y⁽ⁿ⁾).
import type { Backend, Tensor } from "../backend/types.ts";
import type { LayerTensors } from "./params.ts";
import { type NetworkSpec, layerCount } from "./spec.ts";
import type { BatchWorkspace } from "./workspace.ts";

/**
 * h_λ = W_λ ā_{λ−1}; a_λ = f_λ(h_λ); and, when `withDerivatives`, B_λ = f′_λ(h_λ) for the backward
 * pass and the curvature recursions.
 */
export function forward(backend: Backend, spec: NetworkSpec, weights: LayerTensors, ws: BatchWorkspace, withDerivatives = true): void {
  const L = layerCount(spec);
  for (let l = 1; l <= L; l++) {
    const h = ws.h[l - 1];
    backend.gemm(weights[l - 1], ws.abar[l - 1], h);
    if (l < L) {
      const f = spec.transfers[l - 1];
      backend.transfer(f, h, ws.a[l], 0);
      if (withDerivatives) backend.transfer(f, h, ws.fprime[l - 1], 1);
    }
  }
}

/** out (1×1) = (1/N) Σ_n E⁽ⁿ⁾: the minibatch mean of the loss, without weight decay. */
export function meanLoss(backend: Backend, spec: NetworkSpec, ws: BatchWorkspace, out: Tensor): void {
  backend.lossValue(spec.loss, ws.output, ws.target, ws.lossPerSample);
  backend.sum(ws.lossPerSample, out, 1 / ws.batchSize);
}
