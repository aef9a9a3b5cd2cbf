// KFAC (Martens & Grosse 2015), the comparison method: G_λ from gradients of the log-likelihood of
// targets sampled from the model (docs/algorithm.md §3.4).
import type { Backend, Tensor } from "../backend/types.ts";
import { backpropagateThroughLayer } from "../nn/backward.ts";
import type { NetworkSpec } from "../nn/spec.ts";
import type { BatchWorkspace } from "../nn/workspace.ts";
import type { CurvatureEstimator } from "./estimator.ts";
import { lossTargetRows } from "../backend/shapes.ts";

export class KfacEstimator implements CurvatureEstimator {
  readonly kind = "kfac" as const;
  private readonly sampled: Tensor;
  private readonly sampledDelta: Tensor[] = [];

  constructor(
    private readonly backend: Backend,
    private readonly spec: NetworkSpec,
    batchSize: number,
    private readonly seed: number,
  ) {
    const L = spec.sizes.length - 1;
    this.sampled = backend.alloc(lossTargetRows(spec.loss, spec.sizes[L]), batchSize);
    for (let l = 1; l <= L; l++) this.sampledDelta.push(backend.alloc(spec.sizes[l], batchSize));
  }

  /** ŷ ~ p_θ(y | x); d̂_L = ∂(−log p(ŷ | h))/∂h_L. */
  start(ws: BatchWorkspace, sampleCounter: number): void {
    const L = this.sampledDelta.length;
    this.backend.lossSample(this.spec.loss, ws.output, this.seed, sampleCounter, this.sampled);
    this.backend.lossGrad(this.spec.loss, ws.output, this.sampled, this.sampledDelta[L - 1]);
  }

  /** G_λ = (1/N) D̂_λ D̂_λᵀ; d̂_{λ−1} = (W̃_λᵀ d̂_λ) ⊙ f′_{λ−1}. */
  atLayer(layer: number, weights: Tensor[], ws: BatchWorkspace, factors: Tensor[]): void {
    const d = this.sampledDelta[layer - 1];
    this.backend.gemm(d, d, factors[layer - 1], { transB: true, alpha: 1 / d.cols });
    if (layer > 1) backpropagateThroughLayer(this.backend, weights[layer - 1], d, ws.fprime[layer - 2], this.sampledDelta[layer - 2]);
  }

  dispose(): void {
    for (const t of [this.sampled, ...this.sampledDelta]) this.backend.free(t);
  }
}
