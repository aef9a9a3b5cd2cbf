// Forward-mode directional derivative (Pearlmutter's R-operator, docs/algorithm.md §5): v = J δ, the
// change of the network output h_L along the parameter direction δ.
import type { Backend, Tensor } from "../backend/types.ts";
import { type LayerTensors, weightsWithoutBias } from "./params.ts";
import { type NetworkSpec, layerCount } from "./spec.ts";
import type { BatchWorkspace } from "./workspace.ts";

/** Scratch for the R-op: Rh_λ (D_λ × N) per layer. */
export class RopWorkspace {
  readonly rh: Tensor[] = [];
  constructor(
    readonly backend: Backend,
    spec: NetworkSpec,
    batchSize: number,
  ) {
    for (let l = 1; l <= layerCount(spec); l++) this.rh.push(backend.alloc(spec.sizes[l], batchSize));
  }
  get output(): Tensor {
    return this.rh[this.rh.length - 1];
  }
  dispose(): void {
    for (const t of this.rh) this.backend.free(t);
  }
}

/**
 * Rā₀ = 0; Rh_λ = δ_λ ā_{λ−1} + W̃_λ Ra_{λ−1}; Ra_λ = f′_λ(h_λ) ⊙ Rh_λ. Leaves v = Rh_L in
 * rop.output. Ra_λ overwrites Rh_λ in place once Rh_λ is no longer needed. Needs the forward pass's
 * Ā and B in `ws`.
 */
export function rop(backend: Backend, spec: NetworkSpec, weights: LayerTensors, direction: LayerTensors, ws: BatchWorkspace, out: RopWorkspace): void {
  const L = layerCount(spec);
  for (let l = 1; l <= L; l++) {
    const rh = out.rh[l - 1];
    backend.gemm(direction[l - 1], ws.abar[l - 1], rh);
    if (l > 1) backend.gemm(weightsWithoutBias(backend, weights[l - 1]), out.rh[l - 2], rh, { beta: 1 });
    if (l < L) backend.hadamard(rh, ws.fprime[l - 1], rh);
  }
}
