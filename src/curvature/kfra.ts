// KFRA: the paper's recursive approximation of the expected pre-activation Gauss–Newton matrix
// (docs/algorithm.md §3.2, paper eq. 26).
import type { Backend, Tensor } from "../backend/types.ts";
import { weightsWithoutBias } from "../nn/params.ts";
import type { NetworkSpec } from "../nn/spec.ts";
import type { BatchWorkspace } from "../nn/workspace.ts";
import { lossSqrtRows } from "../backend/shapes.ts";
import { type CurvatureEstimator, hasDiagonalOutputHessian, outputRootColumns } from "./estimator.ts";

/**
 * G_L = (1/N) Σ_n H_L⁽ⁿ⁾ from the per-sample square roots C⁽ⁿ⁾ of H_L⁽ⁿ⁾ (`sqrtH`, as
 * Backend.lossHessianSqrt writes them). Diagonal H_L: G_L = diag((1/N) Σ_n (C⁽ⁿ⁾)²). Mixture and
 * softmax: G_L = (1/N) Σ_k C_k C_kᵀ with C_k the D_L × N block of k-th columns (k < 3 for the
 * mixture, k < K for softmax, where it is the batch average of diag(p) − ppᵀ; §11.2, §3.2).
 */
export function expectedOutputHessian(backend: Backend, spec: NetworkSpec, sqrtH: Tensor, diagonal: Tensor, out: Tensor): void {
  const n = sqrtH.cols;
  if (hasDiagonalOutputHessian(spec)) {
    backend.hadamard(sqrtH, sqrtH, sqrtH);
    backend.rowSums(sqrtH, diagonal, 1 / n);
    backend.diag(diagonal, out);
    return;
  }
  const d = out.rows;
  for (let k = 0; k < outputRootColumns(spec); k++) {
    const ck = backend.view(sqrtH, d * k, 0, d, n);
    backend.gemm(ck, ck, out, { transB: true, alpha: 1 / n, beta: k === 0 ? 0 : 1 });
  }
}

export class KfraEstimator implements CurvatureEstimator {
  readonly kind = "kfra" as const;
  private readonly sqrtH: Tensor;
  private readonly diagonal: Tensor;
  /** G_λ W̃_λ (D_λ × D_{λ−1}) and (1/N) B Bᵀ (D_{λ−1} × D_{λ−1}) per layer λ ≥ 2. */
  private readonly product: Tensor[] = [];
  private readonly activationMoment: Tensor[] = [];

  constructor(
    private readonly backend: Backend,
    private readonly spec: NetworkSpec,
    batchSize: number,
  ) {
    const L = spec.sizes.length - 1;
    const dOut = spec.sizes[L];
    this.sqrtH = backend.alloc(lossSqrtRows(spec.loss, dOut), batchSize);
    this.diagonal = backend.alloc(dOut, 1);
    for (let l = 2; l <= L; l++) {
      this.product.push(backend.alloc(spec.sizes[l], spec.sizes[l - 1]));
      this.activationMoment.push(backend.alloc(spec.sizes[l - 1], spec.sizes[l - 1]));
    }
  }

  /** G_L = E[H_L] (written by atLayer(L), which needs the factor tensor). */
  start(ws: BatchWorkspace): void {
    this.backend.lossHessianSqrt(this.spec.loss, ws.output, ws.target, this.sqrtH);
  }

  /** G_{λ−1} = (W̃_λᵀ G_λ W̃_λ) ⊙ ((1/N) B_{λ−1} B_{λ−1}ᵀ). */
  atLayer(layer: number, weights: Tensor[], ws: BatchWorkspace, factors: Tensor[]): void {
    const { backend } = this;
    const L = this.spec.sizes.length - 1;
    if (layer === L) expectedOutputHessian(backend, this.spec, this.sqrtH, this.diagonal, factors[L - 1]);
    if (layer === 1) return;
    const wt = weightsWithoutBias(backend, weights[layer - 1]);
    const product = this.product[layer - 2];
    const moment = this.activationMoment[layer - 2];
    const b = ws.fprime[layer - 2];
    backend.gemm(factors[layer - 1], wt, product);
    backend.gemm(wt, product, factors[layer - 2], { transA: true });
    backend.gemm(b, b, moment, { transB: true, alpha: 1 / b.cols });
    backend.hadamard(factors[layer - 2], moment, factors[layer - 2]);
  }

  dispose(): void {
    for (const t of [this.sqrtH, this.diagonal, ...this.product, ...this.activationMoment]) this.backend.free(t);
  }
}
