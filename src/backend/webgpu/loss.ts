// Losses on WebGPU (shaders/loss.wgsl): bce and sse one invocation per element of h (the value's
// column sums in two passes), mixture and softmax one per sample (column of h).
import { fillTemplate, shaderFile } from "./device/pipelines.ts";
import { seedKey } from "../random.ts";
import { isLabelLoss, lossSqrtRows, lossTargetRows, requireLossOperands, requireShape } from "../shapes.ts";
import { type LossKind, ShapeError, type Tensor } from "../types.ts";
import { type KernelContext, SCRATCH } from "./context.ts";
import { bindOperands, grid1d } from "./operands.ts";
import { colSums } from "./reduce.ts";
import { storageOf } from "./storage.ts";

const KIND: Record<LossKind, number> = { bce: 0, sse: 1, mixture: 2, softmax: 3 };
const WHAT = { value: 0, grad: 1, hessianVector: 2, hessianSqrt: 3, sample: 4 } as const;
type What = keyof typeof WHAT;

interface LossLaunch {
  op: string;
  kind: LossKind;
  what: What;
  h: Tensor;
  y?: Tensor;
  v?: Tensor;
  out: Tensor;
  seed?: number;
  counter?: number;
}

/** Rows of h per invocation of the value's first pass: D = 784 gives 49 partial sums per sample. */
const VALUE_CHUNK_ROWS = 16;

function launch(ctx: KernelContext, l: LossLaunch, chunks = 1): void {
  if (!(l.kind in KIND)) throw new ShapeError(`${l.op}: unknown loss '${l.kind}'`);
  const y = l.y ?? l.h;
  const v = l.v ?? l.h;
  const bound = bindOperands(
    ["h", "y", "v", "out"],
    [storageOf(l.op, l.h), storageOf(l.op, y), storageOf(l.op, v), storageOf(l.op, l.out)],
  );
  const key = `loss:${l.kind}:${l.what}:${bound.pattern}`;
  const pipeline = ctx.pipelines.get(key, `loss ${l.kind} ${l.what}`, bound.storage, () =>
    fillTemplate("loss", shaderFile("loss.wgsl"), {
      KIND: KIND[l.kind],
      WHAT: WHAT[l.what],
      RANDOM: shaderFile("random.wgsl"),
      OPERANDS: bound.wgsl,
    }),
  );
  const n = l.h.cols;
  if (n === 0) return;
  const [k0, k1] = l.seed === undefined ? [0, 0] : seedKey(l.seed);
  const threads = isLabelLoss(l.kind) ? n : l.what === "value" ? chunks * n : l.h.rows * n;
  const { groups, gridX } = grid1d(threads, 64);
  ctx.recorder.dispatch({
    kernel: l.op,
    pipeline,
    storage: bound.storage,
    buffers: bound.buffers,
    u32: [
      l.h.rows, n, gridX, k0, l.h.offset, l.h.stride, y.offset, y.stride, v.offset, v.stride, l.out.offset, l.out.stride, k1, (l.counter ?? 0) >>> 0,
      VALUE_CHUNK_ROWS, chunks,
    ],
    groups,
  });
}

function requireCounter(op: string, counter: number): void {
  if (!Number.isInteger(counter) || counter < 0 || counter >= 2 ** 32) {
    throw new RangeError(`${op}: counter must be an integer in [0, 2³²), got ${counter}`);
  }
}

export function lossValue(ctx: KernelContext, kind: LossKind, h: Tensor, y: Tensor, out: Tensor): void {
  requireLossOperands("lossValue", kind, h, y);
  requireShape("lossValue", "out", out, 1, h.cols);
  const chunks = Math.ceil(h.rows / VALUE_CHUNK_ROWS);
  if (isLabelLoss(kind) || chunks <= 1) {
    launch(ctx, { op: "lossValue", kind, what: "value", h, y, out });
    return;
  }
  const partials: Tensor = { rows: chunks, cols: h.cols, stride: h.cols, offset: 0, storage: ctx.scratch(SCRATCH.lossPartials, chunks * h.cols) };
  launch(ctx, { op: "lossValue", kind, what: "value", h, y, out: partials }, chunks);
  colSums(ctx, partials, out);
}

export function lossGrad(ctx: KernelContext, kind: LossKind, h: Tensor, y: Tensor, out: Tensor): void {
  requireLossOperands("lossGrad", kind, h, y);
  requireShape("lossGrad", "out", out, h.rows, h.cols);
  launch(ctx, { op: "lossGrad", kind, what: "grad", h, y, out });
}

export function lossHessianVector(ctx: KernelContext, kind: LossKind, h: Tensor, y: Tensor, v: Tensor, out: Tensor): void {
  requireLossOperands("lossHessianVector", kind, h, y);
  requireShape("lossHessianVector", "v", v, h.rows, h.cols);
  requireShape("lossHessianVector", "out", out, h.rows, h.cols);
  launch(ctx, { op: "lossHessianVector", kind, what: "hessianVector", h, y, v, out });
}

export function lossHessianSqrt(ctx: KernelContext, kind: LossKind, h: Tensor, y: Tensor, out: Tensor): void {
  requireLossOperands("lossHessianSqrt", kind, h, y);
  requireShape("lossHessianSqrt", "out", out, lossSqrtRows(kind, h.rows), h.cols);
  launch(ctx, { op: "lossHessianSqrt", kind, what: "hessianSqrt", h, y, out });
}

export function lossSample(ctx: KernelContext, kind: LossKind, h: Tensor, seed: number, counter: number, out: Tensor): void {
  if (kind === "mixture" && h.rows !== 3) throw new ShapeError(`lossSample: the mixture loss needs 3 outputs, got h ${h.rows}×${h.cols}`);
  requireShape("lossSample", "out", out, lossTargetRows(kind, h.rows), h.cols);
  requireCounter("lossSample", counter);
  seedKey(seed);
  launch(ctx, { op: "lossSample", kind, what: "sample", h, out, seed, counter });
}
