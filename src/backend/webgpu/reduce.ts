// Reductions on WebGPU (shaders/reduce.wgsl) with a fixed summation order: one workgroup of 64
// per output value, strided per-invocation partial sums, then a fixed binary tree.
import { fillTemplate, shaderFile } from "./device/pipelines.ts";
import { requireDotMany, requireSameShape, requireShape, requireSquare, requireTraceBatch } from "../shapes.ts";
import type { Tensor } from "../types.ts";
import { type KernelContext, SCRATCH } from "./context.ts";
import { fill } from "./elementwise.ts";
import { bindMany, groupByStorage, MAX_INPUT_STORAGES } from "./manyOperands.ts";
import { bindOperands } from "./operands.ts";
import { type GpuStorage, storageOf } from "./storage.ts";
import { tableKernel } from "./tableKernel.ts";

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
    fillTemplate("reduce", shaderFile("reduce.wgsl"), { PRODUCT: String(product), OPERANDS: bound.wgsl, WORKGROUP_SUM: shaderFile("workgroup_sum.wgsl") }),
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

/** One entry of a batched reduction (shaders/reduce_table.wgsl): `lines` lines of whole rows. */
interface TableEntry {
  a: Tensor;
  b?: Tensor;
  /** Elements between consecutive rows of the walk (stride; stride + 1 for a diagonal). */
  stepA: number;
  stepB: number;
  rows: number;
  cols: number;
  rowsPerLine: number;
  lines: number;
  /** Where line 0's result goes in the output storage. */
  outAt: number;
  alpha: number;
}

const MAX_GROUPS = 65535;

/** One dispatch per group of entries whose operands fit the bindings; every group writes into `out`. */
function reduceTable(ctx: KernelContext, name: string, entries: readonly TableEntry[], out: GpuStorage): void {
  const product = entries.some((e) => e.b !== undefined);
  const storagesOf = (e: TableEntry) => [storageOf(name, e.a), storageOf(name, e.b ?? e.a)];
  for (const group of groupByStorage(entries, storagesOf, MAX_INPUT_STORAGES)) {
    const bound = bindMany(group.storages, out, false);
    const key = `reduceTable:${+product}:${bound.pattern}`;
    const kernel = tableKernel(ctx, key, `batched ${product ? "dot" : "sum"}`, bound, (tableBinding) =>
      fillTemplate("reduce_table", shaderFile("reduce_table.wgsl"), {
        PRODUCT: String(product),
        OPERANDS: bound.wgsl,
        TABLE_BINDING: tableBinding,
        WORKGROUP_SUM: shaderFile("workgroup_sum.wgsl"),
      }),
    );
    const at = (t: Tensor) => group.storages.indexOf(storageOf(name, t));
    const lines = Math.max(...group.entries.map((e) => e.lines));
    if (lines > MAX_GROUPS || group.entries.length > MAX_GROUPS) {
      throw new RangeError(`${name}: ${lines}×${group.entries.length} workgroups exceed maxComputeWorkgroupsPerDimension = ${MAX_GROUPS}`);
    }
    const b = (e: TableEntry) => e.b ?? e.a;
    const rows = group.entries.map((e) => ({
      u: [at(e.a), e.a.offset, e.stepA, at(b(e)), b(e).offset, e.stepB, e.rows, e.cols, e.rowsPerLine, e.lines, e.outAt],
      f: [e.alpha],
    }));
    kernel.dispatch(name, [lines, group.entries.length, 1], { words: 12, rows });
  }
}

/**
 * α Σₖ ⟨xₖ, yₖ⟩ into out (1×1): every pair cut into lines of whole rows (~TWO_PASS_CHUNK elements),
 * one workgroup each, in one dispatch per six storages; a second pass adds the lines' partial sums
 * in order. A single line (one small pair) is written straight into out.
 */
export function dotMany(ctx: KernelContext, xs: readonly Tensor[], ys: readonly Tensor[], out: Tensor, alpha = 1): void {
  requireDotMany(xs, ys, out);
  let total = 0;
  const entries: TableEntry[] = [];
  xs.forEach((x, k) => {
    if (x.rows * x.cols === 0) return;
    const rowsPerLine = Math.max(1, Math.round(TWO_PASS_CHUNK / x.cols));
    const lines = Math.ceil(x.rows / rowsPerLine);
    entries.push({ a: x, b: ys[k], stepA: x.stride, stepB: ys[k].stride, rows: x.rows, cols: x.cols, rowsPerLine, lines, outAt: total, alpha: 1 });
    total += lines;
  });
  if (total === 0) {
    fill(ctx, out, 0);
    return;
  }
  if (total === 1) {
    reduceTable(ctx, "dotMany", [{ ...entries[0], outAt: out.offset, alpha }], storageOf("dotMany", out));
    return;
  }
  const partialStorage = ctx.scratch(SCRATCH.partialSums, total);
  reduceTable(ctx, "dotMany", entries, partialStorage);
  const partials: Tensor = { rows: 1, cols: total, stride: total, offset: 0, storage: partialStorage };
  reduce(ctx, { name: "dotMany", a: partials, walkA: walkMatrix(partials), count: 1, len: total, inner: total, out, outStep: 0, alpha });
}

/** outs[k] = α tr aₖ: one workgroup per matrix, one dispatch per six storages of matrices and per storage of outs. */
export function traceBatch(ctx: KernelContext, as: readonly Tensor[], outs: readonly Tensor[], alpha = 1): void {
  requireTraceBatch(as, outs);
  let start = 0;
  while (start < as.length) {
    const out = storageOf("traceBatch", outs[start]);
    let end = start + 1;
    while (end < as.length && storageOf("traceBatch", outs[end]) === out) end++;
    const entries = as.slice(start, end).map((a, k): TableEntry => ({
      a, stepA: a.stride + 1, stepB: 0, rows: a.rows, cols: 1, rowsPerLine: Math.max(a.rows, 1), lines: 1, outAt: outs[start + k].offset, alpha,
    }));
    reduceTable(ctx, "traceBatch", entries, out);
    start = end;
  }
}
