// Elementwise ops of the CPU backend: tight loops over Float32Array views, walked row by row (or
// as one row when every operand is contiguous). Each reads an element before writing it, so an
// output may alias any input. Arithmetic is float64, rounded to float32 on store.
import type { AdamOptions, QuotientOptions, Tensor, TransferKind } from "../types.ts";
import { quotientValue } from "../quotient.ts";
import { requireAddIdentityBatch, requireAddScaledIfFinite, requireSameShape, requireShape, requireSquare, requireVector } from "../shapes.ts";
import { sigmoid, tanh } from "./scalar.ts";
import { cpu, planWalk } from "./tensor.ts";

// out = value.
export function fill(outT: Tensor, value: number): void {
  const out = cpu("fill", outT);
  const w = planWalk(out);
  const o = out.storage;
  for (let i = 0; i < w.rows; i++) {
    const start = out.offset + i * out.stride;
    o.fill(value, start, start + w.cols);
  }
}

// out = src (same shape), or out = srcᵀ.
export function copy(srcT: Tensor, outT: Tensor, transpose = false): void {
  const src = cpu("copy", srcT);
  const out = cpu("copy", outT);
  if (transpose) {
    requireShape("copy", "out", out, src.cols, src.rows);
    transposeInto(src.storage, src.offset, src.stride, src.rows, src.cols, out.storage, out.offset, out.stride);
    return;
  }
  requireSameShape("copy", ["src", src], ["out", out]);
  const w = planWalk(src, out);
  const s = src.storage;
  const o = out.storage;
  if (w.flat) {
    o.set(s.subarray(src.offset, src.offset + w.cols), out.offset);
    return;
  }
  for (let i = 0; i < w.rows; i++) {
    const ps = src.offset + i * src.stride;
    const po = out.offset + i * out.stride;
    for (let j = 0; j < w.cols; j++) o[po + j] = s[ps + j];
  }
}

const TRANSPOSE_TILE = 32;

// out[j][i] = src[i][j], in 32×32 tiles so both sides stay in cache.
function transposeInto(
  s: Float32Array, sOff: number, sStride: number, rows: number, cols: number,
  o: Float32Array, oOff: number, oStride: number,
): void {
  for (let i0 = 0; i0 < rows; i0 += TRANSPOSE_TILE) {
    const i1 = Math.min(i0 + TRANSPOSE_TILE, rows);
    for (let j0 = 0; j0 < cols; j0 += TRANSPOSE_TILE) {
      const j1 = Math.min(j0 + TRANSPOSE_TILE, cols);
      for (let i = i0; i < i1; i++) {
        const sRow = sOff + i * sStride;
        for (let j = j0; j < j1; j++) o[oOff + j * oStride + i] = s[sRow + j];
      }
    }
  }
}

// f, f′, f″ of each transfer function (docs/algorithm.md §1):
//   sigmoid σ: σ, σ(1−σ), σ(1−σ)(1−2σ);   tanh t: t, 1−t², −2t(1−t²);
//   relu: max(x,0), [x>0], 0;   leaky_relu: max(0.1x,x), x>0 ? 1 : 0.1, 0;   linear: x, 1, 0.
export function transfer(kind: TransferKind, hT: Tensor, outT: Tensor, order: 0 | 1 | 2): void {
  const h = cpu("transfer", hT);
  const out = cpu("transfer", outT);
  requireSameShape("transfer", ["h", h], ["out", out]);
  if (order !== 0 && order !== 1 && order !== 2) throw new RangeError(`transfer: order must be 0, 1 or 2, got ${order}`);
  const w = planWalk(h, out);
  const x = h.storage;
  const o = out.storage;
  const n = w.cols;
  for (let r = 0; r < w.rows; r++) {
    const a = h.offset + r * h.stride;
    const b = out.offset + r * out.stride;
    switch (kind) {
      case "sigmoid":
        if (order === 0) for (let j = 0; j < n; j++) o[b + j] = sigmoid(x[a + j]);
        else if (order === 1) for (let j = 0; j < n; j++) { const s = sigmoid(x[a + j]); o[b + j] = s * (1 - s); }
        else for (let j = 0; j < n; j++) { const s = sigmoid(x[a + j]); o[b + j] = s * (1 - s) * (1 - 2 * s); }
        break;
      case "tanh":
        if (order === 0) for (let j = 0; j < n; j++) o[b + j] = tanh(x[a + j]);
        else if (order === 1) for (let j = 0; j < n; j++) { const t = tanh(x[a + j]); o[b + j] = 1 - t * t; }
        else for (let j = 0; j < n; j++) { const t = tanh(x[a + j]); o[b + j] = -2 * t * (1 - t * t); }
        break;
      // Branch-free (a branch on the sign of random data mispredicts half the time):
      // max(v, 0) = (v + |v|)/2 exactly; max(0.1v, v) = 0.55v + 0.45|v|; [v > 0] as +(v > 0).
      // An input of −∞ gives NaN here (0 or −∞ in the reference): the network has diverged anyway.
      case "relu":
        if (order === 0) for (let j = 0; j < n; j++) { const v = x[a + j]; o[b + j] = 0.5 * (v + Math.abs(v)); }
        else if (order === 1) for (let j = 0; j < n; j++) o[b + j] = +(x[a + j] > 0);
        else o.fill(0, b, b + n);
        break;
      case "leaky_relu":
        if (order === 0) for (let j = 0; j < n; j++) { const v = x[a + j]; o[b + j] = 0.55 * v + 0.45 * Math.abs(v); }
        else if (order === 1) for (let j = 0; j < n; j++) o[b + j] = 0.1 + 0.9 * +(x[a + j] > 0);
        else o.fill(0, b, b + n);
        break;
      case "linear":
        if (order === 0) { if (a !== b || x !== o) o.set(x.subarray(a, a + n), b); }
        else o.fill(order === 1 ? 1 : 0, b, b + n);
        break;
      default:
        throw new RangeError(`transfer: unknown transfer function '${kind as string}'`);
    }
  }
}

// out = a ⊙ b.
export function hadamard(aT: Tensor, bT: Tensor, outT: Tensor): void {
  const a = cpu("hadamard", aT);
  const b = cpu("hadamard", bT);
  const out = cpu("hadamard", outT);
  requireSameShape("hadamard", ["a", a], ["b", b], ["out", out]);
  const w = planWalk(a, b, out);
  const x = a.storage;
  const y = b.storage;
  const o = out.storage;
  for (let r = 0; r < w.rows; r++) {
    const pa = a.offset + r * a.stride;
    const pb = b.offset + r * b.stride;
    const po = out.offset + r * out.stride;
    for (let j = 0; j < w.cols; j++) o[po + j] = x[pa + j] * y[pb + j];
  }
}

// y = αx + βy (β = 0 ignores y's old contents, NaN included).
export function axpby(alpha: number, xT: Tensor, beta: number, yT: Tensor): void {
  const x = cpu("axpby", xT);
  const y = cpu("axpby", yT);
  requireSameShape("axpby", ["x", x], ["y", y]);
  const w = planWalk(x, y);
  const xs = x.storage;
  const ys = y.storage;
  for (let r = 0; r < w.rows; r++) {
    const px = x.offset + r * x.stride;
    const py = y.offset + r * y.stride;
    if (beta === 0) for (let j = 0; j < w.cols; j++) ys[py + j] = alpha * xs[px + j];
    else if (beta === 1) for (let j = 0; j < w.cols; j++) ys[py + j] += alpha * xs[px + j];
    else for (let j = 0; j < w.cols; j++) ys[py + j] = alpha * xs[px + j] + beta * ys[py + j];
  }
}

// x = αx.
export function scale(alpha: number, xT: Tensor): void {
  const x = cpu("scale", xT);
  const w = planWalk(x);
  const s = x.storage;
  for (let r = 0; r < w.rows; r++) {
    const p = x.offset + r * x.stride;
    for (let j = 0; j < w.cols; j++) s[p + j] *= alpha;
  }
}

// a = a + αI.
export function addIdentity(alpha: number, aT: Tensor): void {
  const a = cpu("addIdentity", aT);
  requireSquare("addIdentity", "a", a);
  const s = a.storage;
  const step = a.stride + 1;
  for (let i = 0, p = a.offset; i < a.rows; i++, p += step) s[p] += alpha;
}

// aₖ = aₖ + αₖ sₖ I for every k (sₖ = 1 without scales).
export function addIdentityBatch(alphas: readonly number[], as: readonly Tensor[], scalesT?: Tensor): void {
  requireAddIdentityBatch(alphas, as, scalesT);
  const scales = scalesT ? cpu("addIdentityBatch", scalesT) : null;
  const step = scales ? (scales.cols === 1 ? scales.stride : 1) : 0;
  as.forEach((a, k) => addIdentity(scales ? Math.fround(alphas[k] * scales.storage[scales.offset + k * step]) : alphas[k], a));
}

// out = diag(v).
export function diag(vT: Tensor, outT: Tensor): void {
  const v = cpu("diag", vT);
  const out = cpu("diag", outT);
  requireSquare("diag", "out", out);
  requireVector("diag", "v", v, out.rows);
  const n = out.rows;
  const vStep = v.cols === 1 ? v.stride : 1;
  const o = out.storage;
  // Read v first: it may live inside out's storage.
  for (let i = 0; i < n; i++) {
    const value = v.storage[v.offset + i * vStep];
    const row = out.offset + i * out.stride;
    o.fill(0, row, row + n);
    o[row + i] = value;
  }
}

// out = √max(x, 0).
export function sqrt(xT: Tensor, outT: Tensor): void {
  const x = cpu("sqrt", xT);
  const out = cpu("sqrt", outT);
  requireSameShape("sqrt", ["x", x], ["out", out]);
  const w = planWalk(x, out);
  const xs = x.storage;
  const o = out.storage;
  for (let r = 0; r < w.rows; r++) {
    const px = x.offset + r * x.stride;
    const po = out.offset + r * out.stride;
    for (let j = 0; j < w.cols; j++) {
      const v = xs[px + j];
      o[po + j] = v > 0 ? Math.sqrt(v) : v === v ? 0 : v;
    }
  }
}

// out = s·q or s·√q, q = num / den, with quotient.ts's rule for q that is not finite (or not positive, with a fallback).
export function quotient(numT: Tensor, denT: Tensor, outT: Tensor, opts: QuotientOptions = {}): void {
  const num = cpu("quotient", numT);
  const den = cpu("quotient", denT);
  const out = cpu("quotient", outT);
  requireSameShape("quotient", ["num", num], ["den", den], ["out", out]);
  const w = planWalk(num, den, out);
  for (let r = 0; r < w.rows; r++) {
    const pn = num.offset + r * num.stride;
    const pd = den.offset + r * den.stride;
    const po = out.offset + r * out.stride;
    for (let j = 0; j < w.cols; j++) out.storage[po + j] = quotientValue(num.storage[pn + j], den.storage[pd + j], opts, Math.fround);
  }
}

// y = y + αx with α read from a 1×1 tensor; y unchanged when α is not finite.
export function addScaledIfFinite(alphaT: Tensor, xT: Tensor, yT: Tensor): void {
  const alpha = cpu("addScaledIfFinite", alphaT);
  requireAddScaledIfFinite(alphaT, xT, yT);
  const a = alpha.storage[alpha.offset];
  if (Number.isFinite(a)) axpby(a, xT, 1, yT);
}

// Adam (Kingma & Ba): m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; θ = θ − lr·(m/(1−β₁ᵗ))/(√(v/(1−β₂ᵗ)) + ε).
export function adamStep(thetaT: Tensor, gT: Tensor, mT: Tensor, vT: Tensor, opts: AdamOptions): void {
  const theta = cpu("adamStep", thetaT);
  const g = cpu("adamStep", gT);
  const m = cpu("adamStep", mT);
  const v = cpu("adamStep", vT);
  requireSameShape("adamStep", ["theta", theta], ["g", g], ["m", m], ["v", v]);
  const { lr, beta1, beta2, eps, step } = opts;
  const c1 = 1 - beta1 ** step;
  const c2 = 1 - beta2 ** step;
  const w = planWalk(theta, g, m, v);
  const ts = theta.storage;
  const gs = g.storage;
  const ms = m.storage;
  const vs = v.storage;
  for (let r = 0; r < w.rows; r++) {
    const pt = theta.offset + r * theta.stride;
    const pg = g.offset + r * g.stride;
    const pm = m.offset + r * m.stride;
    const pv = v.offset + r * v.stride;
    for (let j = 0; j < w.cols; j++) {
      const gj = gs[pg + j];
      const mj = beta1 * ms[pm + j] + (1 - beta1) * gj;
      const vj = beta2 * vs[pv + j] + (1 - beta2) * gj * gj;
      ms[pm + j] = mj;
      vs[pv + j] = vj;
      ts[pt + j] -= (lr * (mj / c1)) / (Math.sqrt(vj / c2) + eps);
    }
  }
}
