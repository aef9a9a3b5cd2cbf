// Triangular solves on hardware GPUs as products with explicit inverses (docs/algorithm.md §4.3).
// A substitution walks the rows one after the other, and even a blocked one is a chain of small
// dispatches (one per 64-row block); here the inverses L_i⁻¹ of every factor of a batch are built
// in a number of dispatches that grows with log₂ n, and each solve is then one batched gemm.
//
// Inverse, by recursive doubling over diagonal blocks:
//   inv([A 0; C D]) = [A⁻¹ 0; −D⁻¹ C A⁻¹  D⁻¹];
// the 64×64 diagonal blocks are inverted in one dispatch (shaders/trinv.wgsl); then, for
// s = 64, 128, 256, …, every pair of s-blocks of every matrix is joined by two batched gemms,
// T = C A⁻¹ and C ← −D⁻¹ T (products with triangular matrices, by panels as below).
// Products, skipping the zero triangle of L⁻¹: the result is cut into 64-row panels (left) or
// 64-column panels (right), each one gemm entry over the part of L⁻¹ that is not zero:
//   L⁻¹ B:   rows P of the result need columns k < end(P) of L⁻¹;   L⁻ᵀ B: rows k ≥ start(P);
//   B L⁻ᵀ:   columns P need k < end(P);                               B L⁻¹: k ≥ start(P).
import { subView as sub } from "../shapes.ts";
import type { Tensor } from "../types.ts";
import { type KernelContext, SCRATCH } from "./context.ts";
import { fillTemplate, shaderFile } from "./device/pipelines.ts";
import { copy } from "./elementwise.ts";
import { type GemmEntry, gemmBatch } from "./gemmBatch.ts";
import { bindOperands } from "./operands.ts";
import type { GpuStorage } from "./storage.ts";
import { storageOf } from "./storage.ts";
import { tableKernel } from "./tableKernel.ts";

const NB = 64;

/** Tensors of the given shapes end to end (row-major, packed) in scratch `slot`. */
function packedScratch(ctx: KernelContext, slot: number, shapes: readonly [number, number][]): Tensor[] {
  let used = 0;
  const offsets = shapes.map(([r, c]) => {
    const at = used;
    used += r * c;
    return at;
  });
  const storage: GpuStorage = ctx.scratch(slot, Math.max(1, used));
  return shapes.map(([rows, cols], i) => ({ rows, cols, stride: cols, offset: offsets[i], storage }));
}

/** L_KK⁻¹ of every 64×64 diagonal block of every L into the matching block of `inverses` (one dispatch). */
function invertDiagonalBlocks(ctx: KernelContext, ls: readonly Tensor[], inverses: readonly Tensor[]): void {
  const bound = bindOperands(["l", "out"], [storageOf("triangularSolve", ls[0]), storageOf("triangularSolve", inverses[0])], ["out"]);
  const kernel = tableKernel(ctx, `trinv:${bound.pattern}`, "triangular diagonal-block inverse", bound, (tableBinding) =>
    fillTemplate("trinv", shaderFile("trinv.wgsl"), {
      OPERANDS: bound.wgsl,
      TABLE_BINDING: tableBinding,
      TRIANGLE: shaderFile("triangle_block.wgsl"),
      TRI_INVERSE: shaderFile("tri_inverse.wgsl"),
    }),
  );
  const rows: { u: number[] }[] = [];
  ls.forEach((l, i) => {
    const inv = inverses[i];
    for (let k0 = 0; k0 < l.rows; k0 += NB) {
      rows.push({ u: [l.offset + k0 * l.stride + k0, l.stride, Math.min(NB, l.rows - k0), inv.offset + k0 * inv.stride + k0, inv.stride, 0, 0, 0] });
    }
  });
  kernel.dispatch("triangularSolve", [1, 1, rows.length], { words: 8, rows });
}

/**
 * L_i⁻¹ of every lower-triangular L_i (all in one storage), n_i × n_i each, packed in scratch
 * storage; valid until the next call. Only the lower triangle is written: the products here and
 * in multiplyByLowerBatch never read above the diagonal's 64×64 tiles.
 */
export function invertLowerBatch(ctx: KernelContext, ls: readonly Tensor[]): Tensor[] {
  const inverses = packedScratch(ctx, SCRATCH.lowerInverses, ls.map((l): [number, number] => [l.rows, l.rows]));
  invertDiagonalBlocks(ctx, ls, inverses);
  const largest = Math.max(...ls.map((l) => l.rows));
  for (let s = NB; s < largest; s *= 2) {
    // Pairs (A = rows b0 … b0+s, D = the next ≤ s rows) of every matrix at this level.
    const pairs: { i: number; b0: number; d: number }[] = [];
    ls.forEach((l, i) => {
      for (let b0 = 0; b0 + s < l.rows; b0 += 2 * s) pairs.push({ i, b0, d: Math.min(s, l.rows - b0 - s) });
    });
    const ts = packedScratch(ctx, SCRATCH.inverseProducts, pairs.map(({ d }): [number, number] => [d, s]));
    const blockOf = ({ i, b0 }: { i: number; b0: number }, row: number, size: number) => sub(inverses[i], b0 + row, b0 + row, size, size);
    // T = C A⁻¹, then C ← −D⁻¹ T: products with lower-triangular inverses, so by panels.
    multiplyByLowerBatch(ctx, pairs.map((q) => blockOf(q, 0, s)), pairs.map(({ i, b0, d }) => sub(ls[i], b0 + s, b0, d, s)), ts, false, false);
    multiplyByLowerBatch(ctx, pairs.map((q) => blockOf(q, s, q.d)), ts, pairs.map(({ i, b0, d }) => sub(inverses[i], b0 + s, b0, d, s)), true, false, -1);
  }
  return inverses;
}

/**
 * c_i = op(inv_i) b_i (left) or b_i op(inv_i) (right) for lower-triangular inv_i, op(X) = Xᵀ when
 * `transpose`; one batched gemm whose entries are panels of c (see the header).
 */
export function multiplyByLowerBatch(
  ctx: KernelContext,
  inverses: readonly Tensor[],
  bs: readonly Tensor[],
  cs: readonly Tensor[],
  left: boolean,
  transpose: boolean,
  alpha = 1,
): void {
  const entries: GemmEntry[] = [];
  inverses.forEach((inv, i) => {
    const n = inv.rows;
    const b = bs[i];
    const c = cs[i];
    const m = left ? b.cols : b.rows;
    for (let p0 = 0; p0 < n; p0 += NB) {
      const size = Math.min(NB, n - p0);
      const end = p0 + size;
      const rest = n - p0;
      if (left && !transpose) entries.push({ a: sub(inv, p0, 0, size, end), b: sub(b, 0, 0, end, m), c: sub(c, p0, 0, size, m), alpha, beta: 0 });
      if (left && transpose) entries.push({ a: sub(inv, p0, p0, rest, size), b: sub(b, p0, 0, rest, m), c: sub(c, p0, 0, size, m), alpha, beta: 0 });
      if (!left && transpose) entries.push({ a: sub(b, 0, 0, m, end), b: sub(inv, p0, 0, size, end), c: sub(c, 0, p0, m, size), alpha, beta: 0 });
      if (!left && !transpose) entries.push({ a: sub(b, 0, p0, m, rest), b: sub(inv, p0, p0, rest, size), c: sub(c, 0, p0, m, size), alpha, beta: 0 });
    }
  });
  gemmBatch(ctx, entries, { transA: left && transpose, transB: !left && transpose });
}

/** The copies of `bs` in shape, packed in scratch (the products' intermediate results). */
function solutionScratch(ctx: KernelContext, bs: readonly Tensor[]): Tensor[] {
  return packedScratch(ctx, SCRATCH.solution, bs.map((b): [number, number] => [b.rows, b.cols]));
}

/** b_i ← op(L_i)⁻¹ b_i (left) or b_i op(L_i)⁻¹ (right), through L_i⁻¹. */
export function triangularSolveByInverse(ctx: KernelContext, ls: readonly Tensor[], bs: readonly Tensor[], left: boolean, transpose: boolean): void {
  const inverses = invertLowerBatch(ctx, ls);
  const ys = solutionScratch(ctx, bs);
  multiplyByLowerBatch(ctx, inverses, bs, ys, left, transpose);
  bs.forEach((b, i) => copy(ctx, ys[i], b));
}

/**
 * b_i ← (L_i L_iᵀ)⁻¹ b_i (R_i R_iᵀ)⁻¹ = L_i⁻ᵀ L_i⁻¹ b_i R_i⁻ᵀ R_i⁻¹, every L_i and R_i inverted in one
 * batch; the four products alternate between b and a scratch copy, so nothing is copied back.
 */
export function kroneckerSolveByInverse(ctx: KernelContext, lefts: readonly Tensor[], rights: readonly Tensor[], bs: readonly Tensor[]): void {
  const inverses = invertLowerBatch(ctx, [...lefts, ...rights]);
  const leftInv = inverses.slice(0, lefts.length);
  const rightInv = inverses.slice(lefts.length);
  const ys = solutionScratch(ctx, bs);
  multiplyByLowerBatch(ctx, leftInv, bs, ys, true, false);
  multiplyByLowerBatch(ctx, leftInv, ys, bs, true, true);
  multiplyByLowerBatch(ctx, rightInv, bs, ys, false, true);
  multiplyByLowerBatch(ctx, rightInv, ys, bs, false, false);
}
