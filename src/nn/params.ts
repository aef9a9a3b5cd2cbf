// Parameters θ = (W₁ … W_L), each W_λ a D_λ × (D_{λ−1}+1) tensor whose last column is the bias
// (docs/algorithm.md §1: ā = [a; 1], h = W ā). Helpers apply one op to every layer.
import { allocStacked } from "../backend/stacked.ts";
import type { Backend, Tensor } from "../backend/types.ts";
import { seedKey, threefry2x32, wordsToNormal } from "../backend/random.ts";
import { type NetworkSpec, layerCount } from "./spec.ts";

export type LayerTensors = Tensor[];

/** One zero tensor per layer, shaped like W_λ. */
export function allocLayers(backend: Backend, spec: NetworkSpec): LayerTensors {
  const out: Tensor[] = [];
  for (let l = 1; l <= layerCount(spec); l++) out.push(backend.alloc(spec.sizes[l], spec.sizes[l - 1] + 1));
  return out;
}

/** Tensors shaped like W_λ as views of `parent` (what to free), stacked down its rows. */
export interface StackedLayers {
  parent: Tensor;
  layers: LayerTensors;
}

/**
 * Tensors shaped like W_λ as views of one storage: batched ops over all layers (the damped Kronecker
 * solves) then run as one batch, and two such stacks (same layout) copy into each other in one op.
 */
export function allocLayersTogether(backend: Backend, spec: NetworkSpec): StackedLayers {
  const shapes = spec.sizes.slice(1).map((d, l): [number, number] => [d, spec.sizes[l] + 1]);
  const { parent, views } = allocStacked(backend, shapes);
  return { parent, layers: views };
}

export function freeLayers(backend: Backend, layers: LayerTensors): void {
  for (const t of layers) backend.free(t);
}

/** W̃_λ: W_λ without its bias column (a view). */
export function weightsWithoutBias(backend: Backend, w: Tensor): Tensor {
  return backend.view(w, 0, 0, w.rows, w.cols - 1);
}

/** y_λ = α x_λ + β y_λ for every layer. */
export function axpbyLayers(backend: Backend, alpha: number, x: LayerTensors, beta: number, y: LayerTensors): void {
  for (let l = 0; l < x.length; l++) backend.axpby(alpha, x[l], beta, y[l]);
}

/** y_λ = y_λ + α x_λ for every layer, α a 1×1 tensor read on the device; no layer changes when α is not finite. */
export function addScaledLayersIfFinite(backend: Backend, alpha: Tensor, x: LayerTensors, y: LayerTensors): void {
  for (let l = 0; l < x.length; l++) backend.addScaledIfFinite(alpha, x[l], y[l]);
}

export function copyLayers(backend: Backend, src: LayerTensors, dst: LayerTensors): void {
  for (let l = 0; l < src.length; l++) backend.copy(src[l], dst[l]);
}

/** out (1×1) = Σ_λ ⟨x_λ, y_λ⟩, one batched op over the layers. */
export function dotLayers(backend: Backend, x: LayerTensors, y: LayerTensors, out: Tensor): void {
  backend.dotMany(x, y, out);
}

/**
 * Seeded initialisation, identical on every backend: W_λ entries ~ N(0, 1/D_{λ−1}) (LeCun normal,
 * which keeps tanh units out of saturation at the start) and biases 0. The normals come from the
 * project's Threefry stream with seed `seed` and counter λ, computed in float64 on the host.
 */
export function initialWeights(spec: NetworkSpec, seed: number): Float32Array[] {
  const [k0, k1] = seedKey(seed);
  const out: Float32Array[] = [];
  for (let l = 1; l <= layerCount(spec); l++) {
    const rows = spec.sizes[l];
    const fanIn = spec.sizes[l - 1];
    const w = new Float32Array(rows * (fanIn + 1));
    const scale = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < fanIn; j++) {
        const index = i * (fanIn + 1) + j;
        const [x0, x1] = threefry2x32(k0, k1, index, l);
        w[index] = scale * wordsToNormal(x0, x1);
      }
    }
    out.push(w);
  }
  return out;
}

export function uploadLayers(backend: Backend, layers: LayerTensors, values: ArrayLike<number>[]): void {
  for (let l = 0; l < layers.length; l++) backend.upload(layers[l], values[l]);
}

export async function downloadLayers(backend: Backend, layers: LayerTensors): Promise<(Float32Array | Float64Array)[]> {
  const out: (Float32Array | Float64Array)[] = [];
  for (const t of layers) out.push(await backend.download(t));
  return out;
}
