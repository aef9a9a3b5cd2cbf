// The exact Gauss–Newton matrix as a matrix-free product, and the damped solve against it by
// conjugate gradients (docs/algorithm.md §9.3, paper appendix F.2) — the reference against which the
// Kronecker-factored directions are compared. Analysis only; not used in training.
import type { Backend, Tensor } from "../backend/types.ts";
import { backwardFromOutput } from "../nn/backward.ts";
import { type LayerTensors, allocLayers, dotLayers, freeLayers } from "../nn/params.ts";
import { RopWorkspace, rop } from "../nn/rop.ts";
import type { NetworkSpec } from "../nn/spec.ts";
import type { BatchWorkspace } from "../nn/workspace.ts";

export class GaussNewtonOperator {
  private readonly rop: RopWorkspace;
  private readonly scalar: Tensor;

  /** Needs a forward pass with derivatives on `ws`; back-propagation overwrites ws.delta. */
  constructor(
    private readonly backend: Backend,
    private readonly spec: NetworkSpec,
    private readonly weights: LayerTensors,
    private readonly ws: BatchWorkspace,
  ) {
    this.rop = new RopWorkspace(backend, spec, ws.batchSize);
    this.scalar = backend.alloc(1, 1);
  }

  /**
   * out = (Ḡ + λI) v with Ḡ = (1/N) Σ_n J_nᵀ H_L⁽ⁿ⁾ J_n: the R-op gives J v, the output Hessian
   * H_L (J v), and back-propagation of that as d_L gives Jᵀ H_L J v layer by layer. With `layer`
   * set, only that layer's diagonal block: v is taken as zero elsewhere and only out[layer] is formed.
   */
  apply(v: LayerTensors, out: LayerTensors, damping: number, layer?: number): void {
    const { backend, spec, weights, ws } = this;
    const L = weights.length;
    rop(backend, spec, weights, layer === undefined ? v : v.map((t, l) => (l === layer ? t : this.zeroLike(t, l))), ws, this.rop);
    backend.lossHessianVector(spec.loss, ws.output, ws.target, this.rop.output, ws.delta[L - 1]);
    backwardFromOutput(backend, spec, weights, ws, (l, d) => {
      if (layer !== undefined && l - 1 !== layer) return;
      backend.gemm(d, ws.abar[l - 1], out[l - 1], { transB: true, alpha: 1 / ws.batchSize });
      backend.axpby(damping, v[l - 1], 1, out[l - 1]);
    });
  }

  private zeros?: LayerTensors;
  private zeroLike(_: Tensor, l: number): Tensor {
    this.zeros ??= allocLayers(this.backend, this.spec);
    return this.zeros[l];
  }

  async dot(a: LayerTensors, b: LayerTensors, layer?: number): Promise<number> {
    if (layer === undefined) dotLayers(this.backend, a, b, this.scalar);
    else this.backend.dot(a[layer], b[layer], this.scalar);
    return (await this.backend.download(this.scalar))[0];
  }

  dispose(): void {
    this.rop.dispose();
    this.backend.free(this.scalar);
    if (this.zeros) freeLayers(this.backend, this.zeros);
  }
}

export interface ConjugateGradientResult {
  iterations: number;
  /** ‖b − A x‖ / ‖b‖ at the end. */
  relativeResidual: number;
}

/**
 * Solves (Ḡ + λI) x = b by conjugate gradients from x = 0 (Ḡ + λI is symmetric positive definite
 * for λ > 0), over all layers or, with `layer`, that layer's block alone.
 */
export async function conjugateGradient(
  backend: Backend,
  spec: NetworkSpec,
  op: GaussNewtonOperator,
  b: LayerTensors,
  damping: number,
  x: LayerTensors,
  options: { maxIterations: number; tolerance: number; layer?: number },
): Promise<ConjugateGradientResult> {
  const { layer } = options;
  const active = layer === undefined ? b.map((_, l) => l) : [layer];
  // y ← αx + βy on the layers being solved for.
  const axpby = (alpha: number, from: LayerTensors, beta: number, to: LayerTensors) => {
    for (const l of active) backend.axpby(alpha, from[l], beta, to[l]);
  };
  const r = allocLayers(backend, spec);
  const p = allocLayers(backend, spec);
  const ap = allocLayers(backend, spec);
  try {
    for (const l of active) backend.fill(x[l], 0);
    axpby(1, b, 0, r);
    axpby(1, b, 0, p);
    const bNorm = Math.sqrt(await op.dot(b, b, layer));
    let rr = bNorm * bNorm;
    let iterations = 0;
    while (iterations < options.maxIterations && Math.sqrt(rr) > options.tolerance * bNorm) {
      op.apply(p, ap, damping, layer);
      // α = rᵀr / pᵀAp; x += αp; r −= αAp; β = r'ᵀr' / rᵀr; p = r + βp.
      const alpha = rr / (await op.dot(p, ap, layer));
      axpby(alpha, p, 1, x);
      axpby(-alpha, ap, 1, r);
      const next = await op.dot(r, r, layer);
      axpby(1, r, next / rr, p);
      rr = next;
      iterations += 1;
    }
    return { iterations, relativeResidual: Math.sqrt(rr) / bNorm };
  } finally {
    for (const t of [r, p, ap]) freeLayers(backend, t);
  }
}
