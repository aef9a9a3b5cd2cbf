// Elementwise ops on WebGPU (shaders/elementwise.wgsl): one invocation per element of the output
// view; operands are strided views, and an output may alias any input (operands.ts).
import { fillTemplate, shaderFile } from "./device/pipelines.ts";
import { requireAddIdentityBatch, requireAddScaledIfFinite, requireSameShape, requireShape, requireSquare, requireVector } from "../shapes.ts";
import { type AdamOptions, type QuotientOptions, ShapeError, type Tensor, type TransferKind } from "../types.ts";
import type { KernelContext } from "./context.ts";
import { bindMany, groupByStorage, MAX_INOUT_STORAGES } from "./manyOperands.ts";
import { bindOperands, grid1d } from "./operands.ts";
import { storageOf } from "./storage.ts";
import { tableKernel } from "./tableKernel.ts";

const OP = { fill: 0, copy: 1, transfer: 2, hadamard: 3, axpby: 4, scale: 5, addScalar: 6, diag: 7, sqrt: 8, adam: 9, quotient: 10, addScaledIfFinite: 11 } as const;
type OpName = keyof typeof OP;
const KIND: Record<TransferKind, number> = { sigmoid: 0, tanh: 1, relu: 2, leaky_relu: 3, linear: 4 };
const WORKGROUP = 256;

interface Launch {
  op: OpName;
  /** x0 (output) then inputs x1..x3. */
  operands: Tensor[];
  rows: number;
  cols: number;
  scalars?: number[];
  transpose?: boolean;
  kind?: TransferKind;
  order?: number;
}

function launch(ctx: KernelContext, name: string, l: Launch): void {
  if (l.rows === 0 || l.cols === 0) return;
  const ts = [...l.operands];
  while (ts.length < 4) ts.push(ts[0]);
  const bound = bindOperands(
    ["x0", "x1", "x2", "x3"],
    ts.map((t) => storageOf(name, t)),
  );
  const kind = KIND[l.kind ?? "linear"];
  const order = l.order ?? 0;
  const key = `ew:${l.op}:${kind}:${order}:${bound.pattern}`;
  const pipeline = ctx.pipelines.get(key, `elementwise ${l.op}${l.kind ? ` ${l.kind} order ${order}` : ""}`, bound.storage, () =>
    fillTemplate("elementwise", shaderFile("elementwise.wgsl"), { OP: OP[l.op], KIND: kind, ORDER: order, OPERANDS: bound.wgsl }),
  );
  const { groups, gridX } = grid1d(l.rows * l.cols, WORKGROUP);
  const s = l.scalars ?? [];
  ctx.recorder.dispatch({
    kernel: name,
    pipeline,
    storage: bound.storage,
    buffers: bound.buffers,
    u32: [l.rows, l.cols, gridX, l.transpose ? 1 : 0, ...ts.flatMap((t) => [t.offset, t.stride])],
    f32: [s[0] ?? 0, s[1] ?? 0, s[2] ?? 0, s[3] ?? 0, s[4] ?? 0, s[5] ?? 0],
    groups,
  });
}

export function fill(ctx: KernelContext, out: Tensor, value: number): void {
  launch(ctx, "fill", { op: "fill", operands: [out], rows: out.rows, cols: out.cols, scalars: [value] });
}

export function copy(ctx: KernelContext, src: Tensor, out: Tensor, transpose = false): void {
  if (transpose) {
    requireShape("copy", "out", out, src.cols, src.rows);
  } else {
    requireSameShape("copy", ["src", src], ["out", out]);
  }
  launch(ctx, "copy", { op: "copy", operands: [out, src], rows: out.rows, cols: out.cols, transpose });
}

export function transfer(ctx: KernelContext, kind: TransferKind, h: Tensor, out: Tensor, order: 0 | 1 | 2): void {
  if (!(kind in KIND)) throw new ShapeError(`transfer: unknown transfer function '${kind}'`);
  if (order !== 0 && order !== 1 && order !== 2) throw new ShapeError(`transfer: order must be 0, 1 or 2, got ${order}`);
  requireSameShape("transfer", ["h", h], ["out", out]);
  launch(ctx, "transfer", { op: "transfer", operands: [out, h], rows: out.rows, cols: out.cols, kind, order });
}

export function hadamard(ctx: KernelContext, a: Tensor, b: Tensor, out: Tensor): void {
  requireSameShape("hadamard", ["a", a], ["b", b], ["out", out]);
  launch(ctx, "hadamard", { op: "hadamard", operands: [out, a, b], rows: out.rows, cols: out.cols });
}

/** y = αx + βy (β = 0 ignores y's old contents). */
export function axpby(ctx: KernelContext, alpha: number, x: Tensor, beta: number, y: Tensor): void {
  requireSameShape("axpby", ["x", x], ["y", y]);
  launch(ctx, "axpby", { op: "axpby", operands: [y, x], rows: y.rows, cols: y.cols, scalars: [alpha, beta] });
}

export function scale(ctx: KernelContext, alpha: number, x: Tensor): void {
  launch(ctx, "scale", { op: "scale", operands: [x], rows: x.rows, cols: x.cols, scalars: [alpha] });
}

/** a = a + αI: an add over the diagonal, seen as an n×1 view with stride + 1. */
export function addIdentity(ctx: KernelContext, alpha: number, a: Tensor): void {
  requireSquare("addIdentity", "a", a);
  const diagonal: Tensor = { rows: a.rows, cols: 1, stride: a.stride + 1, offset: a.offset, storage: a.storage };
  launch(ctx, "addIdentity", { op: "addScalar", operands: [diagonal], rows: a.rows, cols: 1, scalars: [alpha] });
}

/**
 * aₖ = aₖ + αₖ sₖ I (shaders/diagonal_table.wgsl): one dispatch per seven storages (the scales'
 * storage among them), one workgroup per 64 diagonal elements; sₖ = 1 without scales.
 */
export function addIdentityBatch(ctx: KernelContext, alphas: readonly number[], as: readonly Tensor[], scales?: Tensor): void {
  requireAddIdentityBatch(alphas, as, scales);
  const scaleStorage = scales ? storageOf("addIdentityBatch", scales) : null;
  const scaleStep = scales ? (scales.cols === 1 ? scales.stride : 1) : 0;
  const entries = as.map((a, k) => ({ a, alpha: alphas[k], k })).filter((e) => e.a.rows > 0);
  const storagesOf = (e: (typeof entries)[number]) => [storageOf("addIdentityBatch", e.a), ...(scaleStorage ? [scaleStorage] : [])];
  for (const group of groupByStorage(entries, storagesOf, MAX_INOUT_STORAGES)) {
    const bound = bindMany(group.storages, null, true);
    const kernel = tableKernel(ctx, `diagonalTable:${bound.pattern}`, "batched addIdentity", bound, (tableBinding) =>
      fillTemplate("diagonal_table", shaderFile("diagonal_table.wgsl"), { OPERANDS: bound.wgsl, TABLE_BINDING: tableBinding }),
    );
    const rows = group.entries.map((e) => ({
      u: [
        group.storages.indexOf(storageOf("addIdentityBatch", e.a)),
        e.a.offset,
        e.a.stride + 1,
        e.a.rows,
        scaleStorage ? group.storages.indexOf(scaleStorage) : NO_SCALE,
        scales ? scales.offset + e.k * scaleStep : 0,
      ],
      f: [e.alpha],
    }));
    const chunks = Math.ceil(Math.max(...group.entries.map((e) => e.a.rows)) / 64);
    kernel.dispatch("addIdentityBatch", [chunks, group.entries.length, 1], { words: 7, rows });
  }
}

/** The table's scale-storage number when the shifts have no device scales. */
const NO_SCALE = 0xffffffff;

export function diag(ctx: KernelContext, v: Tensor, out: Tensor): void {
  requireSquare("diag", "out", out);
  requireVector("diag", "v", v, out.rows);
  const step = v.cols === 1 ? v.stride : 1;
  const column: Tensor = { rows: out.rows, cols: 1, stride: step, offset: v.offset, storage: v.storage };
  launch(ctx, "diag", { op: "diag", operands: [out, column], rows: out.rows, cols: out.cols });
}

export function sqrt(ctx: KernelContext, x: Tensor, out: Tensor): void {
  requireSameShape("sqrt", ["x", x], ["out", out]);
  launch(ctx, "sqrt", { op: "sqrt", operands: [out, x], rows: out.rows, cols: out.cols });
}

/** out = s·q or s·√q, q = num / den; NaN or the fallback where q is not finite (positive) (Backend.quotient). */
export function quotient(ctx: KernelContext, num: Tensor, den: Tensor, out: Tensor, opts: QuotientOptions = {}): void {
  requireSameShape("quotient", ["num", num], ["den", den], ["out", out]);
  const positive = opts.fallback === undefined ? 0 : 1;
  const scalars = [opts.scale ?? 1, opts.root ? 1 : 0, positive, opts.fallback ?? Number.NaN];
  launch(ctx, "quotient", { op: "quotient", operands: [out, num, den], rows: out.rows, cols: out.cols, scalars });
}

/** y = y + αx with α read on the device, y unchanged where α is not finite. */
export function addScaledIfFinite(ctx: KernelContext, alpha: Tensor, x: Tensor, y: Tensor): void {
  requireAddScaledIfFinite(alpha, x, y);
  launch(ctx, "addScaledIfFinite", { op: "addScaledIfFinite", operands: [y, x, alpha], rows: y.rows, cols: y.cols });
}

export function adamStep(ctx: KernelContext, theta: Tensor, g: Tensor, m: Tensor, v: Tensor, o: AdamOptions): void {
  requireSameShape("adamStep", ["theta", theta], ["g", g], ["m", m], ["v", v]);
  if (!(o.step >= 1)) throw new ShapeError(`adamStep: step must be ≥ 1 (1-based), got ${o.step}`);
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  launch(ctx, "adamStep", {
    op: "adam",
    operands: [theta, g, m, v],
    rows: theta.rows,
    cols: theta.cols,
    scalars: [o.lr, o.beta1, o.beta2, o.eps, bc1, bc2],
  });
}
