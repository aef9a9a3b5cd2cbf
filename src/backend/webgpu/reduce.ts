// Reductions on WebGPU (shaders/reduce.wgsl) with a fixed summation order: one workgroup of 64
// per output value, strided per-invocation partial sums, then a fixed binary tree.
import { fillTemplate, shaderFile } from "../../gpu/pipelines.ts";
import { requireSameShape, requireShape, requireSquare } from "../shapes.ts";
import type { Tensor } from "../types.ts";
import type { KernelContext } from "./context.ts";
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
}

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
    u32: [r.count, r.len, Math.max(r.inner, 1), gx, wa.off, wa.line, wa.row, wa.col, wb.off, wb.line, wb.row, wb.col, r.out.offset, r.outStep],
    f32: [r.alpha],
    groups: [gx, gy],
  });
}

export function sum(ctx: KernelContext, a: Tensor, out: Tensor, alpha = 1): void {
  requireShape("sum", "out", out, 1, 1);
  reduce(ctx, { name: "sum", a, walkA: walkMatrix(a), count: 1, len: a.rows * a.cols, inner: a.cols, out, outStep: 0, alpha });
}

export function dot(ctx: KernelContext, a: Tensor, b: Tensor, out: Tensor, alpha = 1): void {
  requireSameShape("dot", ["a", a], ["b", b]);
  requireShape("dot", "out", out, 1, 1);
  reduce(ctx, {
    name: "dot",
    a,
    b,
    walkA: walkMatrix(a),
    walkB: walkMatrix(b),
    count: 1,
    len: a.rows * a.cols,
    inner: a.cols,
    out,
    outStep: 0,
    alpha,
  });
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
