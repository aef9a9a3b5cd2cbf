// The losses of docs/algorithm.md §1.2 and §11 (values, gradients for §2, square roots for §3.3) on the
// CPU backend. The network output h is D×N (one sample per column); y is D×N, or 1×N labels for the
// 3-output mixture (0 or 1) and softmax (class indices). Per-sample maths in float64, rounded to
// float32 on store; the mixture's and softmax's scalar maths come from src/backend/mixture.ts and
// src/backend/softmax.ts, shared with the reference backend.
import type { LossKind, Tensor } from "../types.ts";
import { ShapeError } from "../types.ts";
import { lossSqrtRows, lossTargetRows, requireLossOperands, requireSameShape, requireShape, shapeOf } from "../shapes.ts";
import { mixtureGrad, mixtureHessian, mixtureValue, symmetricEigen3 } from "../mixture.ts";
import { softmaxGrad, softmaxHessianSqrt, softmaxHessianVector, softmaxInto, softmaxSample, softmaxValue } from "../softmax.ts";
import { sigmoid, softplus } from "./scalar.ts";
import { scratch } from "./scratch.ts";
import { copy, fill } from "./elementwise.ts";
import { cpu, planWalk, type CpuTensor } from "./tensor.ts";
import { normalOf, setKey, threefry, uniformOf, words } from "./threefry.ts";

// Per-sample work cells for the mixture, allocated once.
const grad3 = new Float64Array(3);
const hess9 = new Float64Array(9);
const eigenvalues = new Float64Array(3);
const eigenvectors = new Float64Array(9);
const root9 = new Float64Array(9);

// C = V diag(√max(λ, 0)) for the eigen-decomposition V diag(λ) Vᵀ of the exact mixture Hessian
// ∇²E (docs/algorithm.md §1.2 **choice**: PSD projection), row-major into root9 (root9[3i + k] = C[i][k]).
function mixtureRoot(h1: number, h2: number, h3: number, y: number): void {
  mixtureHessian(h1, h2, h3, y, hess9);
  symmetricEigen3(hess9, eigenvalues, eigenvectors);
  for (let k = 0; k < 3; k++) {
    const r = Math.sqrt(Math.max(eigenvalues[k], 0));
    root9[k] = eigenvectors[k] * r;
    root9[3 + k] = eigenvectors[3 + k] * r;
    root9[6 + k] = eigenvectors[6 + k] * r;
  }
}

function at(t: CpuTensor, i: number, n: number): number {
  return t.storage[t.offset + i * t.stride + n];
}

// Per-sample work vectors for softmax (K and K² long), grown on demand.
let column = new Float64Array(16);
let columnV = new Float64Array(16);
let probs = new Float64Array(16);
let result = new Float64Array(256);

function softmaxCells(k: number): void {
  if (column.length < k) {
    column = new Float64Array(k);
    columnV = new Float64Array(k);
    probs = new Float64Array(k);
  }
  if (result.length < k * k) result = new Float64Array(k * k);
}

/** Column n of t (t.rows values) into `into`, as a subarray of exactly t.rows. */
function readColumn(t: CpuTensor, n: number, into: Float64Array): Float64Array {
  const view = into.subarray(0, t.rows);
  for (let i = 0; i < t.rows; i++) view[i] = t.storage[t.offset + i * t.stride + n];
  return view;
}

/** Rows 0 … rows−1 of result into column n of out. */
function writeColumn(out: CpuTensor, n: number, rows: number): void {
  for (let i = 0; i < rows; i++) out.storage[out.offset + i * out.stride + n] = result[i];
}

// E⁽ⁿ⁾: bce Σᵢ softplus(hᵢ) − yᵢhᵢ; sse ½Σᵢ(hᵢ − yᵢ)²; mixture −log(eᵃ + eᵇ) (eq. 27);
// softmax log Σᵢ exp(hᵢ) − h_y.
export function lossValue(kind: LossKind, hT: Tensor, yT: Tensor, outT: Tensor): void {
  const h = cpu("lossValue", hT);
  const y = cpu("lossValue", yT);
  const out = cpu("lossValue", outT);
  requireLossOperands("lossValue", kind, h, y);
  requireShape("lossValue", "out", out, 1, h.cols);
  const N = h.cols;
  const o = out.storage;
  if (kind === "mixture") {
    for (let n = 0; n < N; n++) o[out.offset + n] = mixtureValue(at(h, 0, n), at(h, 1, n), at(h, 2, n), at(y, 0, n));
    return;
  }
  if (kind === "softmax") {
    softmaxCells(h.rows);
    for (let n = 0; n < N; n++) o[out.offset + n] = softmaxValue(readColumn(h, n, column), at(y, 0, n), probs);
    return;
  }
  // Accumulate each column over the output units i in ascending order, walking h row by row.
  const totals = scratch(N);
  const hs = h.storage;
  const ys = y.storage;
  for (let i = 0; i < h.rows; i++) {
    const ph = h.offset + i * h.stride;
    const py = y.offset + i * y.stride;
    if (kind === "bce") {
      for (let n = 0; n < N; n++) { const v = hs[ph + n]; totals[n] += softplus(v) - ys[py + n] * v; }
    } else {
      for (let n = 0; n < N; n++) { const d = hs[ph + n] - ys[py + n]; totals[n] += 0.5 * d * d; }
    }
  }
  for (let n = 0; n < N; n++) o[out.offset + n] = totals[n];
}

// ∂E/∂h: bce σ(h) − y; sse h − y; mixture (σ(h₁) − r, −r s(1−σ(s h₂)), −(1−r) s(1−σ(s h₃)));
// softmax p − e_y.
export function lossGrad(kind: LossKind, hT: Tensor, yT: Tensor, outT: Tensor): void {
  const h = cpu("lossGrad", hT);
  const y = cpu("lossGrad", yT);
  const out = cpu("lossGrad", outT);
  requireLossOperands("lossGrad", kind, h, y);
  requireSameShape("lossGrad", ["h", h], ["out", out]);
  const o = out.storage;
  if (kind === "mixture") {
    for (let n = 0; n < h.cols; n++) {
      mixtureGrad(at(h, 0, n), at(h, 1, n), at(h, 2, n), at(y, 0, n), grad3);
      o[out.offset + n] = grad3[0];
      o[out.offset + out.stride + n] = grad3[1];
      o[out.offset + 2 * out.stride + n] = grad3[2];
    }
    return;
  }
  if (kind === "softmax") {
    softmaxCells(h.rows);
    for (let n = 0; n < h.cols; n++) {
      softmaxGrad(readColumn(h, n, column), at(y, 0, n), result);
      writeColumn(out, n, h.rows);
    }
    return;
  }
  const w = planWalk(h, y, out);
  const hs = h.storage;
  const ys = y.storage;
  for (let r = 0; r < w.rows; r++) {
    const ph = h.offset + r * h.stride;
    const py = y.offset + r * y.stride;
    const po = out.offset + r * out.stride;
    if (kind === "bce") for (let j = 0; j < w.cols; j++) o[po + j] = sigmoid(hs[ph + j]) - ys[py + j];
    else for (let j = 0; j < w.cols; j++) o[po + j] = hs[ph + j] - ys[py + j];
  }
}

// H_L v per sample: bce σ(1−σ) ⊙ v; sse v; mixture (C Cᵀ) v with C from mixtureRoot;
// softmax p ⊙ v − p (pᵀv).
export function lossHessianVector(kind: LossKind, hT: Tensor, yT: Tensor, vT: Tensor, outT: Tensor): void {
  const h = cpu("lossHessianVector", hT);
  const y = cpu("lossHessianVector", yT);
  const v = cpu("lossHessianVector", vT);
  const out = cpu("lossHessianVector", outT);
  requireLossOperands("lossHessianVector", kind, h, y);
  requireSameShape("lossHessianVector", ["h", h], ["v", v], ["out", out]);
  const o = out.storage;
  if (kind === "sse") {
    copy(v, out);
    return;
  }
  if (kind === "softmax") {
    softmaxCells(h.rows);
    for (let n = 0; n < h.cols; n++) {
      softmaxHessianVector(readColumn(h, n, column), readColumn(v, n, columnV), probs, result);
      writeColumn(out, n, h.rows);
    }
    return;
  }
  if (kind === "mixture") {
    for (let n = 0; n < h.cols; n++) {
      mixtureRoot(at(h, 0, n), at(h, 1, n), at(h, 2, n), at(y, 0, n));
      const v0 = at(v, 0, n);
      const v1 = at(v, 1, n);
      const v2 = at(v, 2, n);
      for (let i = 0; i < 3; i++) {
        const ci0 = root9[3 * i];
        const ci1 = root9[3 * i + 1];
        const ci2 = root9[3 * i + 2];
        // (C Cᵀ)ᵢⱼ = Σₖ Cᵢₖ Cⱼₖ, then row i of it times v.
        const g0 = ci0 * root9[0] + ci1 * root9[1] + ci2 * root9[2];
        const g1 = ci0 * root9[3] + ci1 * root9[4] + ci2 * root9[5];
        const g2 = ci0 * root9[6] + ci1 * root9[7] + ci2 * root9[8];
        o[out.offset + i * out.stride + n] = g0 * v0 + g1 * v1 + g2 * v2;
      }
    }
    return;
  }
  const w = planWalk(h, v, out);
  const hs = h.storage;
  const vs = v.storage;
  for (let r = 0; r < w.rows; r++) {
    const ph = h.offset + r * h.stride;
    const pv = v.offset + r * v.stride;
    const po = out.offset + r * out.stride;
    for (let j = 0; j < w.cols; j++) {
      const s = sigmoid(hs[ph + j]);
      o[po + j] = s * (1 - s) * vs[pv + j];
    }
  }
}

// C⁽ⁿ⁾ with C Cᵀ = H_L⁽ⁿ⁾ (docs/algorithm.md §1.2; KFLR §3.3): bce diag √(σ(1−σ)); sse I (ones);
// mixture out[i + 3k, n] = C[i][k] from the clamped eigen-decomposition; softmax out[i + Kk, n] =
// C[i][k] = δᵢₖ√pᵢ − pᵢ√pₖ (docs/algorithm.md §11).
export function lossHessianSqrt(kind: LossKind, hT: Tensor, yT: Tensor, outT: Tensor): void {
  const h = cpu("lossHessianSqrt", hT);
  const y = cpu("lossHessianSqrt", yT);
  const out = cpu("lossHessianSqrt", outT);
  requireLossOperands("lossHessianSqrt", kind, h, y);
  requireShape("lossHessianSqrt", "out", out, lossSqrtRows(kind, h.rows), h.cols);
  const o = out.storage;
  if (kind === "sse") {
    fill(out, 1);
    return;
  }
  if (kind === "softmax") {
    const k = h.rows;
    softmaxCells(k);
    for (let n = 0; n < h.cols; n++) {
      softmaxHessianSqrt(readColumn(h, n, column), probs, result);
      for (let c = 0; c < k; c++) {
        for (let i = 0; i < k; i++) o[out.offset + (i + k * c) * out.stride + n] = result[k * i + c];
      }
    }
    return;
  }
  if (kind === "mixture") {
    for (let n = 0; n < h.cols; n++) {
      mixtureRoot(at(h, 0, n), at(h, 1, n), at(h, 2, n), at(y, 0, n));
      for (let k = 0; k < 3; k++) {
        for (let i = 0; i < 3; i++) o[out.offset + (i + 3 * k) * out.stride + n] = root9[3 * i + k];
      }
    }
    return;
  }
  const w = planWalk(h, out);
  const hs = h.storage;
  for (let r = 0; r < w.rows; r++) {
    const ph = h.offset + r * h.stride;
    const po = out.offset + r * out.stride;
    for (let j = 0; j < w.cols; j++) {
      const s = sigmoid(hs[ph + j]);
      o[po + j] = Math.sqrt(s * (1 - s));
    }
  }
}

// ŷ ~ p(y | h) from the stream (seed, counter), element index = row-major index in out:
// bce 1 if u(x0) < σ(h) else 0; sse h + z(x0, x1); mixture component 2 if u(x0) < σ(h₁) else 3,
// then 1 if u(x1) < σ(h_component) else 0; softmax the class k of u(x0) by inversion of p's cumulative sum.
export function lossSample(kind: LossKind, hT: Tensor, seed: number, counter: number, outT: Tensor): void {
  const h = cpu("lossSample", hT);
  const out = cpu("lossSample", outT);
  if (kind === "mixture" && h.rows !== 3) throw new ShapeError(`lossSample: the mixture loss needs 3 outputs, got h ${shapeOf(h)}`);
  requireShape("lossSample", "out", out, lossTargetRows(kind, h.rows), h.cols);
  if (kind !== "bce" && kind !== "sse" && kind !== "mixture" && kind !== "softmax") throw new RangeError(`lossSample: unknown loss '${kind as string}'`);
  setKey(seed);
  const c1 = counter >>> 0;
  const o = out.storage;
  if (kind === "softmax") {
    softmaxCells(h.rows);
    for (let n = 0; n < h.cols; n++) {
      threefry(n >>> 0, c1);
      softmaxInto(readColumn(h, n, column), probs);
      o[out.offset + n] = softmaxSample(probs.subarray(0, h.rows), uniformOf(words[0]));
    }
    return;
  }
  const hs = h.storage;
  const N = out.cols;
  for (let i = 0; i < out.rows; i++) {
    const ph = h.offset + i * h.stride;
    const po = out.offset + i * out.stride;
    const base = i * N;
    for (let n = 0; n < N; n++) {
      threefry((base + n) >>> 0, c1);
      if (kind === "bce") {
        o[po + n] = uniformOf(words[0]) < sigmoid(hs[ph + n]) ? 1 : 0;
      } else if (kind === "sse") {
        o[po + n] = hs[ph + n] + normalOf(words[0], words[1]);
      } else {
        const component = uniformOf(words[0]) < sigmoid(at(h, 0, n)) ? 1 : 2;
        o[po + n] = uniformOf(words[1]) < sigmoid(at(h, component, n)) ? 1 : 0;
      }
    }
  }
}
