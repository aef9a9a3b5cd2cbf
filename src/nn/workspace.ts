// Per-minibatch buffers of one network, allocated once for a batch size N and reused every step.
// Matrices hold one sample per column (docs/algorithm.md §1.1): Ā_λ is (D_λ+1) × N with a last row of ones.
import type { Backend, Tensor } from "../backend/types.ts";
import { type NetworkSpec, layerCount } from "./spec.ts";
import { lossTargetRows } from "../backend/shapes.ts";

export class BatchWorkspace {
  /** Ā_λ for λ = 0 … L−1: layer inputs with the constant-1 bias row. */
  readonly abar: Tensor[] = [];
  /** a_λ = the first D_λ rows of Ā_λ (a view). a_0 is the input batch. */
  readonly a: Tensor[] = [];
  /** h_λ for λ = 1 … L (index λ−1): pre-activations. */
  readonly h: Tensor[] = [];
  /** B_λ = f′_λ(h_λ) for λ = 1 … L−1 (index λ−1). */
  readonly fprime: Tensor[] = [];
  /** d_λ = ∂E/∂h_λ for λ = 1 … L (index λ−1), also reused for back-propagated curvature vectors. */
  readonly delta: Tensor[] = [];
  /** The target: D_L × N (1 × N of labels for the mixture loss). */
  readonly target: Tensor;
  /** Per-sample losses, 1 × N. */
  readonly lossPerSample: Tensor;
  /** The input batch as it arrives, N × D₀ (sample per row), before transposition into a_0. */
  readonly inputRows: Tensor;
  /** Supervised targets as they arrive, N × K, allocated on first use. */
  private targetRows?: Tensor;

  constructor(
    readonly backend: Backend,
    readonly spec: NetworkSpec,
    readonly batchSize: number,
  ) {
    const L = layerCount(spec);
    const N = batchSize;
    for (let l = 0; l < L; l++) {
      const abar = backend.alloc(spec.sizes[l] + 1, N);
      backend.fill(backend.view(abar, spec.sizes[l], 0, 1, N), 1);
      this.abar.push(abar);
      this.a.push(backend.view(abar, 0, 0, spec.sizes[l], N));
    }
    for (let l = 1; l <= L; l++) {
      this.h.push(backend.alloc(spec.sizes[l], N));
      this.delta.push(backend.alloc(spec.sizes[l], N));
      if (l < L) this.fprime.push(backend.alloc(spec.sizes[l], N));
    }
    this.target = backend.alloc(lossTargetRows(spec.loss, spec.sizes[L]), N);
    this.lossPerSample = backend.alloc(1, N);
    this.inputRows = backend.alloc(N, spec.sizes[0]);
  }

  /** The network output h_L. */
  get output(): Tensor {
    return this.h[this.h.length - 1];
  }

  /**
   * Loads a minibatch given sample-per-row (N × D₀, as the data stream delivers it) into a_0, and
   * the target: the input itself for an autoencoder, else `targets`, also sample-per-row (N × K,
   * K the target rows: D_L, or 1 label per sample for the mixture loss), transposed into K × N.
   */
  loadBatch(x: ArrayLike<number>, targets?: ArrayLike<number>): void {
    const { backend } = this;
    backend.upload(this.inputRows, x);
    backend.copy(this.inputRows, this.a[0], true);
    if (!targets) backend.copy(this.a[0], this.target);
    else if (this.target.rows === 1) backend.upload(this.target, targets);
    else {
      this.targetRows ??= backend.alloc(this.batchSize, this.target.rows);
      backend.upload(this.targetRows, targets);
      backend.copy(this.targetRows, this.target, true);
    }
  }

  dispose(): void {
    const all = [...this.abar, ...this.h, ...this.delta, ...this.fprime, this.target, this.lossPerSample, this.inputRows, ...(this.targetRows ? [this.targetRows] : [])];
    for (const t of all) this.backend.free(t);
  }
}
