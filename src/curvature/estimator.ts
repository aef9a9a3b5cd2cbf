// The shape shared by the three estimators of G_λ (docs/algorithm.md §3). Each runs inside the single
// backward pass: `start` forms its output-layer quantity from h_L, then `atLayer(λ)` is called for
// λ = L … 1 and leaves G_λ in `factors[λ−1]`, preparing what layer λ−1 needs.
import { allocStacked } from "../backend/stacked.ts";
import type { Backend, Tensor } from "../backend/types.ts";
import type { LayerTensors } from "../nn/params.ts";
import { type NetworkSpec, layerCount } from "../nn/spec.ts";
import type { BatchWorkspace } from "../nn/workspace.ts";

export type CurvatureKind = "kfra" | "kflr" | "kfac";
export const CURVATURE_KINDS: readonly CurvatureKind[] = ["kfra", "kflr", "kfac"];

export interface CurvatureEstimator {
  readonly kind: CurvatureKind;
  /** Output-layer start; `sampleCounter` makes KFAC's sampled targets reproducible per step. */
  start(ws: BatchWorkspace, sampleCounter: number): void;
  /** Leaves G_λ in factors[λ−1] (λ from L down to 1) and propagates to λ−1. */
  atLayer(layer: number, weights: LayerTensors, ws: BatchWorkspace, factors: Tensor[]): void;
  dispose(): void;
}

/** One D_λ × D_λ tensor per layer for G_λ. */
export function allocOutputFactors(backend: Backend, spec: NetworkSpec): Tensor[] {
  return spec.sizes.slice(1).map((d) => backend.alloc(d, d));
}

/** One (D_{λ−1}+1) × (D_{λ−1}+1) tensor per layer for Q_λ. */
export function allocInputFactors(backend: Backend, spec: NetworkSpec): Tensor[] {
  return spec.sizes.slice(0, -1).map((d) => backend.alloc(d + 1, d + 1));
}

/**
 * G_λ of every layer, then Q_λ of every layer, as views of one storage stacked down its rows
 * (`parent` is what to free). Every call gives the same layout, so an op over all factors of one
 * stack into another (averaging, copying) is one op over the parents.
 */
export function allocFactorsTogether(backend: Backend, spec: NetworkSpec): { parent: Tensor; outputFactors: Tensor[]; inputFactors: Tensor[] } {
  const L = layerCount(spec);
  const sizes = [...spec.sizes.slice(1), ...spec.sizes.slice(0, -1).map((d) => d + 1)];
  const { parent, views } = allocStacked(backend, sizes.map((n): [number, number] => [n, n]));
  return { parent, outputFactors: views.slice(0, L), inputFactors: views.slice(L) };
}

/** Q_λ = (1/N) Ā_{λ−1} Ā_{λ−1}ᵀ: the uncentred second moment of the layer's input, bias row included (§3). */
export function inputFactor(backend: Backend, abarIn: Tensor, q: Tensor): void {
  backend.gemm(abarIn, abarIn, q, { transB: true, alpha: 1 / abarIn.cols });
}

/** True for the losses whose output Hessian H_L is diagonal (bce, sse). */
export function hasDiagonalOutputHessian(spec: NetworkSpec): boolean {
  return spec.loss === "bce" || spec.loss === "sse";
}

/**
 * The columns K of each sample's square root C⁽ⁿ⁾ of H_L (D_L × K): the output size D_L for the
 * diagonal losses and softmax (docs/algorithm.md §11), 3 for the mixture.
 */
export function outputRootColumns(spec: NetworkSpec): number {
  return spec.loss === "mixture" ? 3 : spec.sizes[spec.sizes.length - 1];
}
