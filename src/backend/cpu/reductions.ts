// Reductions of the CPU backend. Sums run in a fixed order (row-major, one float64 accumulator per
// output), so results repeat bit for bit and lose no precision to float32 partial sums.
import type { Tensor } from "../types.ts";
import { requireDotMany, requireSameShape, requireShape, requireSquare, requireTraceBatch } from "../shapes.ts";
import { scratch } from "./scratch.ts";
import { type CpuTensor, cpu, planWalk } from "./tensor.ts";

// out = α Σᵢⱼ aᵢⱼ.
export function sum(aT: Tensor, outT: Tensor, alpha = 1): void {
  const a = cpu("sum", aT);
  const out = cpu("sum", outT);
  requireShape("sum", "out", out, 1, 1);
  const w = planWalk(a);
  const s = a.storage;
  let total = 0;
  for (let r = 0; r < w.rows; r++) {
    const p = a.offset + r * a.stride;
    for (let j = 0; j < w.cols; j++) total += s[p + j];
  }
  out.storage[out.offset] = alpha * total;
}

/** Σᵢⱼ aᵢⱼ bᵢⱼ in float64, row-major (a, b already checked to have the same shape). */
function pairProduct(a: CpuTensor, b: CpuTensor): number {
  const w = planWalk(a, b);
  const x = a.storage;
  const y = b.storage;
  let total = 0;
  for (let r = 0; r < w.rows; r++) {
    const pa = a.offset + r * a.stride;
    const pb = b.offset + r * b.stride;
    for (let j = 0; j < w.cols; j++) total += x[pa + j] * y[pb + j];
  }
  return total;
}

/** Σᵢ aᵢᵢ in float64. */
function diagonalSum(a: CpuTensor): number {
  let total = 0;
  for (let i = 0, p = a.offset; i < a.rows; i++, p += a.stride + 1) total += a.storage[p];
  return total;
}

// out = α Σᵢⱼ aᵢⱼ bᵢⱼ.
export function dot(aT: Tensor, bT: Tensor, outT: Tensor, alpha = 1): void {
  const a = cpu("dot", aT);
  const b = cpu("dot", bT);
  const out = cpu("dot", outT);
  requireSameShape("dot", ["a", a], ["b", b]);
  requireShape("dot", "out", out, 1, 1);
  out.storage[out.offset] = alpha * pairProduct(a, b);
}

// out = α Σₖ Σᵢⱼ (xₖ)ᵢⱼ (yₖ)ᵢⱼ: each pair summed in float64, the pairs added in order.
export function dotMany(xs: readonly Tensor[], ys: readonly Tensor[], outT: Tensor, alpha = 1): void {
  const out = cpu("dotMany", outT);
  requireDotMany(xs, ys, out);
  let total = 0;
  xs.forEach((x, k) => (total += pairProduct(cpu("dotMany", x), cpu("dotMany", ys[k]))));
  out.storage[out.offset] = alpha * total;
}

// outsₖ = α tr aₖ, every trace summed before any is written (an out may lie on a diagonal).
export function traceBatch(as: readonly Tensor[], outs: readonly Tensor[], alpha = 1): void {
  requireTraceBatch(as, outs);
  const traces = as.map((a) => diagonalSum(cpu("traceBatch", a)));
  outs.forEach((oT, k) => {
    const o = cpu("traceBatch", oT);
    o.storage[o.offset] = alpha * traces[k];
  });
}

// out = α Σᵢ aᵢᵢ.
export function trace(aT: Tensor, outT: Tensor, alpha = 1): void {
  const a = cpu("trace", aT);
  const out = cpu("trace", outT);
  requireSquare("trace", "a", a);
  requireShape("trace", "out", out, 1, 1);
  out.storage[out.offset] = alpha * diagonalSum(a);
}

// outᵢ = α Σⱼ aᵢⱼ.
export function rowSums(aT: Tensor, outT: Tensor, alpha = 1): void {
  const a = cpu("rowSums", aT);
  const out = cpu("rowSums", outT);
  requireShape("rowSums", "out", out, a.rows, 1);
  const s = a.storage;
  // Sum every row before writing: out may be a column of a.
  const totals = scratch(a.rows);
  for (let i = 0; i < a.rows; i++) {
    const p = a.offset + i * a.stride;
    let total = 0;
    for (let j = 0; j < a.cols; j++) total += s[p + j];
    totals[i] = total;
  }
  for (let i = 0; i < a.rows; i++) out.storage[out.offset + i * out.stride] = alpha * totals[i];
}

// outⱼ = α Σᵢ aᵢⱼ, accumulated over i in ascending order while walking a row by row.
export function colSums(aT: Tensor, outT: Tensor, alpha = 1): void {
  const a = cpu("colSums", aT);
  const out = cpu("colSums", outT);
  requireShape("colSums", "out", out, 1, a.cols);
  const s = a.storage;
  const n = a.cols;
  const totals = scratch(n);
  for (let i = 0; i < a.rows; i++) {
    const p = a.offset + i * a.stride;
    for (let j = 0; j < n; j++) totals[j] += s[p + j];
  }
  const o = out.storage;
  for (let j = 0; j < n; j++) o[out.offset + j] = alpha * totals[j];
}
