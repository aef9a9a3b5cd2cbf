// The factored Tikhonov damping and solve of docs/algorithm.md §4 (paper appendix B.1).
import type { Backend, Tensor } from "../../backend/types.ts";

/**
 * π_λ = √( (tr Q_λ / dim Q_λ) / (tr G_λ / dim G_λ) ), which splits the damping between the two
 * factors in proportion to their average eigenvalues. A factor with zero trace (e.g. every unit of
 * a relu layer dead on the minibatch) gives π = 1 rather than 0 or ∞.
 */
export function dampingSplit(traceQ: number, dimQ: number, traceG: number, dimG: number): number {
  const ratio = traceQ / dimQ / (traceG / dimG);
  return Number.isFinite(ratio) && ratio > 0 ? Math.sqrt(ratio) : 1;
}

/** Scratch for the Cholesky factors of one layer's damped factors. */
export interface SolveScratch {
  /** D_λ × D_λ. */
  outputFactor: Tensor;
  /** (D_{λ−1}+1) × (D_{λ−1}+1). */
  inputFactor: Tensor;
}

/**
 * δ = (G + (k/π) I)⁻¹ g (Q + kπ I)⁻¹ — the inverse of (Q + kπI) ⊗ (G + (k/π)I) applied to g, using
 * (A ⊗ B) vec(V) = vec(B V Aᵀ) — by Cholesky: with G + (k/π)I = L_G L_Gᵀ and Q + kπI = L_Q L_Qᵀ,
 * δ = L_G⁻ᵀ L_G⁻¹ g L_Q⁻ᵀ L_Q⁻¹ (four triangular solves, no explicit inverse).
 */
export function dampedKroneckerSolve(
  backend: Backend,
  g: Tensor,
  outputFactor: Tensor,
  inputFactor: Tensor,
  k: number,
  pi: number,
  scratch: SolveScratch,
  delta: Tensor,
): void {
  const lg = scratch.outputFactor;
  const lq = scratch.inputFactor;
  backend.copy(outputFactor, lg);
  backend.addIdentity(k / pi, lg);
  backend.cholesky(lg);
  backend.copy(inputFactor, lq);
  backend.addIdentity(k * pi, lq);
  backend.cholesky(lq);
  backend.copy(g, delta);
  backend.triangularSolve(lg, delta, { side: "left", transpose: false });
  backend.triangularSolve(lg, delta, { side: "left", transpose: true });
  backend.triangularSolve(lq, delta, { side: "right", transpose: true });
  backend.triangularSolve(lq, delta, { side: "right", transpose: false });
}
