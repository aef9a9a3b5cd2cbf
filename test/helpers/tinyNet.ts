// A tiny network with a seeded batch, on any backend, for checking the maths against definitions.
import type { Backend, LossKind, TransferKind } from "../../src/backend/types.ts";
import { allocLayers, initialWeights, uploadLayers } from "../../src/nn/params.ts";
import type { NetworkSpec } from "../../src/nn/spec.ts";
import { BatchWorkspace } from "../../src/nn/workspace.ts";
import { seedKey, threefry2x32, wordToUniform } from "../../src/backend/random.ts";

export function tinySpec(loss: LossKind, transfer: TransferKind = "tanh", sizes?: number[]): NetworkSpec {
  const s = sizes ?? (loss === "mixture" ? [4, 5, 3, 3] : loss === "softmax" ? [3, 4, 4, 3] : [4, 5, 3, 4]);
  return { sizes: s, transfers: Array(s.length - 2).fill(transfer), loss };
}

/** Deterministic values in [0, 1) from the project's RNG (seed, counter). */
export function uniforms(count: number, seed: number, counter = 0): Float64Array {
  const [k0, k1] = seedKey(seed);
  return Float64Array.from({ length: count }, (_, i) => wordToUniform(threefry2x32(k0, k1, i, counter)[0]));
}

/**
 * The labels of a tiny batch from uniforms (seed): 0/1 for the mixture, a class index ⌊uK⌋ for
 * softmax's K outputs. tinyProblem uses seed + 2.
 */
export function tinyLabels(spec: NetworkSpec, batch: number, seed: number): number[] {
  const k = spec.sizes[spec.sizes.length - 1];
  return Array.from(uniforms(batch, seed), (u) => (spec.loss === "softmax" ? Math.floor(u * k) : u < 0.5 ? 1 : 0));
}

export interface TinyProblem {
  spec: NetworkSpec;
  weights: ReturnType<typeof allocLayers>;
  ws: BatchWorkspace;
  /** Initial weights as uploaded (scaled up so that curvature terms are not negligible). */
  w0: Float64Array[];
}

/**
 * A network with weights 3× the default initialisation (to leave the linear regime), inputs in
 * [0,1), targets: the input (autoencoder), binary labels (mixture) or class indices (softmax).
 */
export function tinyProblem(backend: Backend, spec: NetworkSpec, batch: number, seed = 7): TinyProblem {
  const weights = allocLayers(backend, spec);
  const w0 = initialWeights(spec, seed).map((w, l) => Float64Array.from(w, (v, i) => 3 * v + (i % (spec.sizes[l] + 1) === spec.sizes[l] ? 0.1 * Math.sin(i) : 0)));
  uploadLayers(backend, weights, w0);
  const ws = new BatchWorkspace(backend, spec, batch);
  const x = uniforms(batch * spec.sizes[0], seed + 1);
  const out = spec.sizes[spec.sizes.length - 1];
  if (spec.loss === "mixture" || spec.loss === "softmax") {
    ws.loadBatch(x, tinyLabels(spec, batch, seed + 2));
  } else if (out === spec.sizes[0]) {
    ws.loadBatch(x);
  } else {
    ws.loadBatch(x);
    backend.upload(ws.target, uniforms(out * batch, seed + 3));
  }
  return { spec, weights, ws, w0 };
}
