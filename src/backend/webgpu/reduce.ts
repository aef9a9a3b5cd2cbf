// Reductions on WebGPU (shaders/reduce.wgsl) with a fixed summation order: one workgroup of 64
// per output value, strided per-invocation partial sums, then a fixed binary tree.
import { fillTemplate, shaderFile } from "./device/pipelines.ts";
import { requireSameShape, requireShape, requireSquare } from "../shapes.ts";
import type { Tensor } from "../types.ts";
import { type KernelContext, SCRATCH } from "./context.ts";
import { bindOperands } from "./operands.ts";
import { storageOf } from "./storage.ts";

/** Walk of a reduction: element t of line o at off + o·line + ⌊t/inner⌋·row + (t mod inner)·col. */
interface Walk {
  off: number;
  line: number;
  row: number;
  col: number;
}

function walkMatrix(t: Tensor): Walk {
  return { off: t.offset, line: 0, row: t.stride, col: 1 };
}

interface Reduction {
  name: string;
  a: Tensor;
  b?: Tensor;
  walkA: Walk;
  walkB?: Walk;
  count: number;
  len: number;
  inner: number;
  out: Tensor;
  outStep: number;
  alpha: number;
  /** Two-pass sums only: line o covers rows o·rowsPerLine … of at most rowLimit rows in all. */
  rowsPerLine?: number;
  rowLimit?: number;
}

/** A sum or dot of more elements than this runs in two passes (one workgroup's share: ~TWO_PASS_CHUNK). */
const TWO_PASS_MIN = 16384;
const TWO_PASS_CHUNK = 4096;

function reduce(ctx: KernelContext, r: Reduction): void {
  const product = r.b !== undefined;
  const bound = bindOperands(
    ["a", "b", "out"],
    [storageOf(r.name, r.a), storageOf(r.name, r.b ?? r.a), storageOf(r.name, r.out)],
  );
  const key = `reduce:${+product}:${bound.pattern}`;
  const pipeline = ctx.pipelines.get(key, `reduce (${product ? "dot" : "sum"})`, bound.storage, () =>
    fillTemplate("reduce", shaderFile("reduce.wgsl"), { PRODUCT: String(product), OPERANDS: bound.wgsl }),
  );
  const gx = Math.min(Math.max(r.count, 1), 65535);
  const gy = Math.ceil(Math.max(r.count, 1) / gx);
  const wa = r.walkA;
  const wb = r.walkB ?? wa;
  ctx.recorder.dispatch({
    kernel: r.name,
    pipeline,
    storage: bound.storage,
    buffers: bound.buffers,
    u32: [
      r.count, r.len, Math.max(r.inner, 1), gx, wa.off, wa.line, wa.row, wa.col, wb.off, wb.line, wb.row, wb.col,
      r.out.offset, r.outStep, r.rowsPerLine ?? 0, r.rowLimit ?? 0xffffffff,
    ],
    f32: [r.alpha],
    groups: [gx, gy],
  });
}

/**
 * α Σᵢⱼ aᵢⱼ [bᵢⱼ] into out (1×1). One workgroup walks a small matrix; a large one is cut into lines
 * of whole rows, one workgroup each (a lone workgroup would walk a million elements one
 * dependent load at a time), whose partial sums a second pass adds: still a fixed order.
 */
function sumOrDot(ctx: KernelContext, name: string, a: Tensor, b: Tensor | undefined, out: Tensor, alpha: number): void {
  const len = a.rows * a.cols;
  const whole = { name, a, b, walkA: walkMatrix(a), walkB: b && walkMatrix(b), inner: a.cols, outStep: 0 };
  if (len <= TWO_PASS_MIN || a.rows < 2) {
    reduce(ctx, { ...whole, count: 1, len, out, alpha });
    return;
  }
  const rowsPerLine = Math.max(1, Math.round(TWO_PASS_CHUNK / a.cols));
  const lines = Math.ceil(a.rows / rowsPerLine);
  const partials: Tensor = { rows: 1, cols: lines, stride: lines, offset: 0, storage: ctx.scratch(SCRATCH.partialSums, lines) };
  const lineOf = (w: Walk): Walk => ({ ...w, line: rowsPerLine * w.row });
  reduce(ctx, {
    ...whole,
    walkA: lineOf(whole.walkA),
    walkB: whole.walkB && lineOf(whole.walkB),
    count: lines,
    len: rowsPerLine * a.cols,
    out: partials,
    outStep: 1,
    alpha: 1,
    rowsPerLine,
    rowLimit: a.rows,
  });
  reduce(ctx, { name, a: partials, walkA: walkMatrix(partials), count: 1, len: lines, inner: lines, out, outStep: 0, alpha });
}

export function sum(ctx: KernelContext, a: Tensor, out: Tensor, alpha = 1): void {
  requireShape("sum", "out", out, 1, 1);
  sumOrDot(ctx, "sum", a, undefined, out, alpha);
}

export function dot(ctx: KernelContext, a: Tensor, b: Tensor, out: Tensor, alpha = 1): void {
  requireSameShape("dot", ["a", a], ["b", b]);
  requireShape("dot", "out", out, 1, 1);
  sumOrDot(ctx, "dot", a, b, out, alpha);
}

export function trace(ctx: KernelContext, a: Tensor, out: Tensor, alpha = 1): void {
  requireSquare("trace", "a", a);
  requireShape("trace", "out", out, 1, 1);
  reduce(ctx, { name: "trace", a, walkA: { off: a.offset, line: 0, row: a.stride + 1, col: 0 }, count: 1, len: a.rows, inner: 1, out, outStep: 0, alpha });
}

export function rowSums(ctx: KernelContext, a: Tensor, out: Tensor, alpha = 1): void {
  requireShape("rowSums", "out", out, a.rows, 1);
  reduce(ctx, { name: "rowSums", a, walkA: { off: a.offset, line: a.stride, row: 0, col: 1 }, count: a.rows, len: a.cols, inner: a.cols, out, outStep: out.stride, alpha });
}

export function colSums(ctx: KernelContext, a: Tensor, out: Tensor, alpha = 1): void {
  requireShape("colSums", "out", out, 1, a.cols);
  reduce(ctx, { name: "colSums", a, walkA: { off: a.offset, line: 1, row: a.stride, col: 0 }, count: a.cols, len: a.rows, inner: 1, out, outStep: 1, alpha });
}
