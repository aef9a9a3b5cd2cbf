// An independent float64 model of a small network, written with plain loops and per-sample
// matrices, to check the curvature code against the definitions (explicit Jacobians by finite
// differences, explicit expectations over samples).
import type { LossKind, TransferKind } from "../../src/backend/types.ts";
import { mixtureGaussNewton, sigmoid } from "../../src/backend/mixture.ts";
import type { NetworkSpec } from "../../src/nn/spec.ts";

export type Matrix = number[][];

export function f(kind: TransferKind, x: number): number {
  switch (kind) {
    case "sigmoid": return sigmoid(x);
    case "tanh": return Math.tanh(x);
    case "relu": return Math.max(0, x);
    case "leaky_relu": return Math.max(0.1 * x, x);
    case "linear": return x;
  }
}

export function fPrime(kind: TransferKind, x: number): number {
  const step = 1e-6;
  if (kind === "relu") return x > 0 ? 1 : 0;
  if (kind === "leaky_relu") return x > 0 ? 1 : 0.1;
  return (f(kind, x + step) - f(kind, x - step)) / (2 * step);
}

/** h_λ = W_λ [a; 1] for one sample; weights[λ−1] row-major D_λ × (D_{λ−1}+1). */
export function layerForward(spec: NetworkSpec, weights: Float64Array[], layer: number, input: number[]): number[] {
  const dIn = spec.sizes[layer - 1];
  const w = weights[layer - 1];
  return Array.from({ length: spec.sizes[layer] }, (_, i) => {
    let s = w[i * (dIn + 1) + dIn];
    for (let j = 0; j < dIn; j++) s += w[i * (dIn + 1) + j] * input[j];
    return s;
  });
}

/** All pre-activations h_1 … h_L of one sample. */
export function preActivations(spec: NetworkSpec, weights: Float64Array[], x: number[]): number[][] {
  const L = spec.sizes.length - 1;
  const hs: number[][] = [];
  let a = x;
  for (let l = 1; l <= L; l++) {
    const h = layerForward(spec, weights, l, a);
    hs.push(h);
    if (l < L) a = h.map((v) => f(spec.transfers[l - 1], v));
  }
  return hs;
}

/** h_L as a function of h_λ (λ ≥ 1). */
export function outputFrom(spec: NetworkSpec, weights: Float64Array[], layer: number, h: number[]): number[] {
  const L = spec.sizes.length - 1;
  let current = h;
  for (let l = layer; l < L; l++) current = layerForward(spec, weights, l + 1, current.map((v) => f(spec.transfers[l - 1], v)));
  return current;
}

/** J = ∂h_L/∂h_λ (D_L × D_λ) by central differences, step 1e-6. */
export function jacobian(spec: NetworkSpec, weights: Float64Array[], layer: number, h: number[]): Matrix {
  const step = 1e-6;
  const L = spec.sizes.length - 1;
  const J: Matrix = Array.from({ length: spec.sizes[L] }, () => Array(h.length).fill(0));
  for (let j = 0; j < h.length; j++) {
    const plus = [...h];
    const minus = [...h];
    plus[j] += step;
    minus[j] -= step;
    const op = outputFrom(spec, weights, layer, plus);
    const om = outputFrom(spec, weights, layer, minus);
    for (let i = 0; i < op.length; i++) J[i][j] = (op[i] - om[i]) / (2 * step);
  }
  return J;
}

/**
 * The Gauss–Newton output Hessian H_L of one sample (docs/algorithm.md §1.2, §11.2). Softmax is
 * written out here from its definition, diag(p) − ppᵀ with p = exp(h) / Σ exp(h), independently of
 * src/backend/softmax.ts.
 */
export function outputHessian(loss: LossKind, hL: number[], label: number): Matrix {
  if (loss === "softmax") {
    const e = hL.map(Math.exp);
    const total = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / total);
    return p.map((pi, i) => p.map((pj, j) => (i === j ? pi : 0) - pi * pj));
  }
  if (loss === "mixture") {
    const m = new Float64Array(9);
    mixtureGaussNewton(hL[0], hL[1], hL[2], label, m);
    return [0, 1, 2].map((i) => [0, 1, 2].map((j) => m[3 * i + j]));
  }
  return hL.map((v, i) => hL.map((_, j) => (i !== j ? 0 : loss === "sse" ? 1 : sigmoid(v) * (1 - sigmoid(v)))));
}

export function matmul(a: Matrix, b: Matrix): Matrix {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
}

export function transpose(a: Matrix): Matrix {
  return a[0].map((_, j) => a.map((row) => row[j]));
}

export function addInto(acc: Matrix, m: Matrix, scale: number): void {
  for (let i = 0; i < acc.length; i++) for (let j = 0; j < acc[0].length; j++) acc[i][j] += scale * m[i][j];
}

export function zeros(rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, () => Array(cols).fill(0));
}

/** Largest |a − b| relative to the largest |b|. */
export function relativeDifference(a: ArrayLike<number>, b: Matrix): number {
  const flat = b.flat();
  let diff = 0;
  let scale = 0;
  flat.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(a[i] - v));
    scale = Math.max(scale, Math.abs(v));
  });
  return diff / scale;
}
