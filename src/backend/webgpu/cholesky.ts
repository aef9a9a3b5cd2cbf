// Cholesky factorisation and triangular solves on WebGPU, blocked by NB = 64 so that the bulk of
// the work is gemm (shaders/gemm.wgsl); the small pieces are shaders/cholesky.wgsl (diagonal
// block factor, upper-triangle clear) and shaders/trsm.wgsl (solve with one diagonal block).
//
// Cholesky, right-looking, for each block column k (rows/cols K = k0 .. k0+b):
//   A_KK ← L_KK = chol(A_KK);  A_RK ← A_RK L_KK⁻ᵀ (R: rows below);  A_RR ← A_RR − A_RK A_RKᵀ (lower part).
// Triangular solves, block substitution over the blocks of L (X overwrites B):
//   left,  L X = B:    forward;  X_K = L_KK⁻¹ B_K,   B_R −= L_RK X_K
//   left,  Lᵀ X = B:   backward; X_K = L_KK⁻ᵀ B_K,   B_U −= L_KUᵀ X_K   (U: rows above)
//   right, X L = B:    backward; X_K = B_K L_KK⁻¹,   B_U −= X_K L_KU
//   right, X Lᵀ = B:   forward;  X_K = B_K L_KK⁻ᵀ,   B_R −= X_K L_RKᵀ
import { fillTemplate, shaderFile } from "../../gpu/pipelines.ts";
import { requireSquare, shapeOf } from "../shapes.ts";
import { ShapeError, type Tensor, type TriangularSolveOptions } from "../types.ts";
import type { KernelContext } from "./context.ts";
import { gemm } from "./gemm.ts";
import { bindOperands, grid1d } from "./operands.ts";
import { storageOf } from "./storage.ts";

const NB = 64;

function sub(t: Tensor, row: number, col: number, rows: number, cols: number): Tensor {
  return { rows, cols, stride: t.stride, offset: t.offset + row * t.stride + col, storage: t.storage };
}

function choleskyKernel(ctx: KernelContext, mode: 0 | 1, a: Tensor, n: number, offset: number, b: number, k0: number): void {
  const bound = bindOperands(["a", "status"], [storageOf("cholesky", a), ctx.status]);
  const key = `cholesky:${mode}:${bound.pattern}`;
  const pipeline = ctx.pipelines.get(key, mode === 0 ? "cholesky diagonal block" : "cholesky clear upper", bound.storage, () =>
    fillTemplate("cholesky", shaderFile("cholesky.wgsl"), { MODE: mode, OPERANDS: bound.wgsl }),
  );
  const { groups, gridX } = mode === 0 ? { groups: [1, 1] as [number, number], gridX: 64 } : grid1d(n * n, 64);
  ctx.recorder.dispatch({
    kernel: "cholesky",
    pipeline,
    storage: bound.storage,
    buffers: bound.buffers,
    u32: [n, offset, a.stride, b, k0, gridX],
    groups,
  });
}

/** Solves with the diagonal block L_KK (size ≤ NB) for `lines` right-hand sides in `rhs`. */
function blockSolve(ctx: KernelContext, l: Tensor, k0: number, size: number, rhs: Tensor, left: boolean, upper: boolean): void {
  const bound = bindOperands(["l", "b"], [storageOf("triangularSolve", l), storageOf("triangularSolve", rhs)]);
  const key = `trsm:${+upper}:${bound.pattern}`;
  const pipeline = ctx.pipelines.get(key, `triangular block solve (${upper ? "backward" : "forward"})`, bound.storage, () =>
    fillTemplate("trsm", shaderFile("trsm.wgsl"), { UPPER: String(upper), OPERANDS: bound.wgsl }),
  );
  const lines = left ? rhs.cols : rhs.rows;
  const { groups, gridX } = grid1d(lines, 64);
  ctx.recorder.dispatch({
    kernel: "triangularSolve",
    pipeline,
    storage: bound.storage,
    buffers: bound.buffers,
    u32: [size, lines, gridX, l.offset + k0 * l.stride + k0, l.stride, rhs.offset, left ? 1 : rhs.stride, left ? rhs.stride : 1],
    groups,
  });
}

export function cholesky(ctx: KernelContext, a: Tensor): void {
  requireSquare("cholesky", "a", a);
  const n = a.rows;
  if (n === 0) return;
  ctx.recorder.statusPending = true;
  for (let k0 = 0; k0 < n; k0 += NB) {
    const b = Math.min(NB, n - k0);
    choleskyKernel(ctx, 0, a, n, a.offset + k0 * a.stride + k0, b, k0);
    const rest = n - k0 - b;
    if (rest === 0) break;
    const panel = sub(a, k0 + b, k0, rest, b);
    // A_RK ← A_RK L_KK⁻ᵀ: each row x of the panel solves x L_KKᵀ = a, i.e. L_KK xᵀ = aᵀ (forward).
    blockSolve(ctx, a, k0, b, panel, false, false);
    gemm(ctx, panel, panel, sub(a, k0 + b, k0 + b, rest, rest), { transB: true, alpha: -1, beta: 1, lowerOnly: true });
  }
  choleskyKernel(ctx, 1, a, n, a.offset, 0, 0);
}

export function triangularSolve(ctx: KernelContext, l: Tensor, b: Tensor, opts: TriangularSolveOptions): void {
  requireSquare("triangularSolve", "l", l);
  const n = l.rows;
  const left = opts.side === "left";
  if (opts.side !== "left" && opts.side !== "right") throw new ShapeError(`triangularSolve: side must be "left" or "right", got ${opts.side}`);
  if (left && b.rows !== n) throw new ShapeError(`triangularSolve: left solve needs b with ${n} rows (l is ${shapeOf(l)}), got ${shapeOf(b)}`);
  if (!left && b.cols !== n) throw new ShapeError(`triangularSolve: right solve needs b with ${n} columns (l is ${shapeOf(l)}), got ${shapeOf(b)}`);
  if (storageOf("triangularSolve", l) === storageOf("triangularSolve", b)) {
    throw new ShapeError("triangularSolve: b may not share storage with l");
  }
  const m = left ? b.cols : b.rows;
  if (n === 0 || m === 0) return;
  // Forward over blocks when the effective triangle is lower (left & !T, right & T), else backward.
  const forward = left !== opts.transpose;
  const upper = !forward;
  const starts: number[] = [];
  for (let k0 = 0; k0 < n; k0 += NB) starts.push(k0);
  if (!forward) starts.reverse();
  for (const k0 of starts) {
    const size = Math.min(NB, n - k0);
    const bk = left ? sub(b, k0, 0, size, m) : sub(b, 0, k0, m, size);
    blockSolve(ctx, l, k0, size, bk, left, upper);
    if (forward) {
      const r0 = k0 + size;
      const rest = n - r0;
      if (rest === 0) continue;
      if (left) gemm(ctx, sub(l, r0, k0, rest, size), bk, sub(b, r0, 0, rest, m), { alpha: -1, beta: 1 });
      else gemm(ctx, bk, sub(l, r0, k0, rest, size), sub(b, 0, r0, m, rest), { transB: true, alpha: -1, beta: 1 });
    } else {
      if (k0 === 0) continue;
      if (left) gemm(ctx, sub(l, k0, 0, size, k0), bk, sub(b, 0, 0, k0, m), { transA: true, alpha: -1, beta: 1 });
      else gemm(ctx, bk, sub(l, k0, 0, size, k0), sub(b, 0, 0, m, k0), { alpha: -1, beta: 1 });
    }
  }
}
