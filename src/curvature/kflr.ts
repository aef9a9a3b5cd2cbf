// KFLR: the exact expected pre-activation Gauss–Newton matrix through per-sample low-rank factors
// (docs/algorithm.md §3.3, paper eqs. 23–25), for networks with few outputs K.
import { ExpectedError } from "../errors.ts";
import type { Backend, Tensor } from "../backend/types.ts";
import { backpropagateThroughLayer } from "../nn/backward.ts";
import type { NetworkSpec } from "../nn/spec.ts";
import type { BatchWorkspace } from "../nn/workspace.ts";
import { lossSqrtRows } from "../backend/shapes.ts";
import { type CurvatureEstimator, hasDiagonalOutputHessian, outputRootColumns } from "./estimator.ts";

/** Values the per-sample factors may occupy in all (2³⁰ float32 = 4 GiB). */
export const KFLR_MEMORY_BUDGET = 2 ** 30;

export class KflrTooLargeError extends ExpectedError {}

/** The columns K of H_L's square root per sample: the output size for diagonal losses and softmax, 3 for the mixture. */
export function kflrRank(spec: NetworkSpec): number {
  return outputRootColumns(spec);
}

/**
 * C⁽ⁿ⁾ of every sample is stored as K column blocks: C_λ is D_λ × (K·N) with block k (columns
 * kN … kN+N−1) holding column k of every C_λ⁽ⁿ⁾. Then C_{λ−1} = diag(b⁽ⁿ⁾) W̃_λᵀ C_λ⁽ⁿ⁾ is the
 * gradient's back-propagation step applied to each block, and G_λ = (1/N) C_λ C_λᵀ one gemm over all
 * K·N columns. Memory: K × D_λ × N per layer.
 */
export class KflrEstimator implements CurvatureEstimator {
  readonly kind = "kflr" as const;
  private readonly rank: number;
  private readonly sqrtH: Tensor;
  private readonly columns: Tensor[] = [];

  constructor(
    private readonly backend: Backend,
    private readonly spec: NetworkSpec,
    private readonly batchSize: number,
  ) {
    this.rank = kflrRank(spec);
    const L = spec.sizes.length - 1;
    const perLayer = spec.sizes.slice(1).map((d) => d * this.rank * batchSize);
    const total = perLayer.reduce((a, b) => a + b, 0);
    const budget = Math.min(KFLR_MEMORY_BUDGET, backend.info.maxElements * L);
    if (Math.max(...perLayer) > backend.info.maxElements || total > budget) {
      // The largest N that fits: N ≤ budget / (Σ_λ D_λ K) and N ≤ maxElements / (max_λ D_λ K).
      const sumD = spec.sizes.slice(1).reduce((a, b) => a + b, 0);
      const fits = Math.floor(Math.min(budget / (sumD * this.rank), backend.info.maxElements / (Math.max(...spec.sizes.slice(1)) * this.rank)));
      const instead = fits >= 1 ? `a minibatch of at most ${fits} fits (--batch ${fits}, batchSize: ${fits}); or ` : "no minibatch fits this network; ";
      throw new KflrTooLargeError(
        `kflr: the per-sample factors need Σ_λ D_λ × K × N = ${spec.sizes.slice(1).reduce((a, b) => a + b, 0)} × ${this.rank} × ${batchSize} = ${total.toExponential(2)} values ` +
          `(${(total * 4 / 2 ** 30).toFixed(1)} GiB), over the ${backend.info.name} backend's budget of ${budget.toExponential(2)} values (at most ${backend.info.maxElements.toExponential(2)} per layer); ` +
          `${instead}KFLR is for networks with few outputs (the paper uses it for the 3-output classifier): use kfra or kfac`,
      );
    }
    this.sqrtH = backend.alloc(lossSqrtRows(spec.loss, spec.sizes[L]), batchSize);
    for (let l = 1; l <= L; l++) this.columns.push(backend.alloc(spec.sizes[l], this.rank * batchSize));
  }

  private block(t: Tensor, k: number): Tensor {
    return this.backend.view(t, 0, k * this.batchSize, t.rows, this.batchSize);
  }

  /**
   * C_L⁽ⁿ⁾: diag(√h) for diagonal losses (block k is zero but for row k), V diag(√λ) for the mixture,
   * diag(√p) − p√pᵀ for softmax (block k is column k of it, rows kD_L … kD_L+D_L−1 of sqrtH).
   */
  start(ws: BatchWorkspace): void {
    const { backend } = this;
    const n = this.batchSize;
    const cL = this.columns[this.columns.length - 1];
    backend.lossHessianSqrt(this.spec.loss, ws.output, ws.target, this.sqrtH);
    backend.fill(cL, 0);
    for (let k = 0; k < this.rank; k++) {
      const block = this.block(cL, k);
      if (hasDiagonalOutputHessian(this.spec)) backend.copy(backend.view(this.sqrtH, k, 0, 1, n), backend.view(block, k, 0, 1, n));
      else backend.copy(backend.view(this.sqrtH, cL.rows * k, 0, cL.rows, n), block);
    }
  }

  /** G_λ = (1/N) Σ_n C_λ⁽ⁿ⁾ C_λ⁽ⁿ⁾ᵀ; C_{λ−1}⁽ⁿ⁾ = diag(b⁽ⁿ⁾) W̃_λᵀ C_λ⁽ⁿ⁾. */
  atLayer(layer: number, weights: Tensor[], ws: BatchWorkspace, factors: Tensor[]): void {
    const { backend } = this;
    const c = this.columns[layer - 1];
    backend.gemm(c, c, factors[layer - 1], { transB: true, alpha: 1 / this.batchSize });
    if (layer === 1) return;
    const below = this.columns[layer - 2];
    const b = ws.fprime[layer - 2];
    for (let k = 0; k < this.rank; k++) backpropagateThroughLayer(backend, weights[layer - 1], this.block(c, k), b, this.block(below, k));
  }

  dispose(): void {
    for (const t of [this.sqrtH, ...this.columns]) this.backend.free(t);
  }
}
