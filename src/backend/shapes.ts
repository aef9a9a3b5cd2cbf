// Shape checks shared by every backend, so that a mismatch is caught before any dispatch and every
// backend words it the same way.
import { type LossKind, ShapeError, type Tensor } from "./types.ts";

/** True when the rows of `t` follow each other without gaps (stride = cols, or at most one row), so it can be walked as one row. */
export function isContiguous(t: Tensor): boolean {
  return t.rows <= 1 || t.stride === t.cols;
}

export function shapeOf(t: Tensor): string {
  return `${t.rows}×${t.cols}`;
}

export function requireShape(op: string, name: string, t: Tensor, rows: number, cols: number): void {
  if (t.rows !== rows || t.cols !== cols) {
    throw new ShapeError(`${op}: ${name} must be ${rows}×${cols}, got ${shapeOf(t)}`);
  }
}

export function requireSameShape(op: string, ...named: [string, Tensor][]): void {
  const [firstName, first] = named[0];
  for (const [name, t] of named.slice(1)) {
    if (t.rows !== first.rows || t.cols !== first.cols) {
      throw new ShapeError(`${op}: ${name} (${shapeOf(t)}) must have the shape of ${firstName} (${shapeOf(first)})`);
    }
  }
}

export function requireSquare(op: string, name: string, t: Tensor): void {
  if (t.rows !== t.cols) throw new ShapeError(`${op}: ${name} must be square, got ${shapeOf(t)}`);
}

export function requireVector(op: string, name: string, t: Tensor, length: number): void {
  if (!((t.rows === length && t.cols === 1) || (t.rows === 1 && t.cols === length))) {
    throw new ShapeError(`${op}: ${name} must be a vector of length ${length} (n×1 or 1×n), got ${shapeOf(t)}`);
  }
}

/** Checks C = α op(A) op(B) + β C and returns (m, n, k). */
export function gemmDims(a: Tensor, b: Tensor, c: Tensor, transA: boolean, transB: boolean): [number, number, number] {
  const m = transA ? a.cols : a.rows;
  const ka = transA ? a.rows : a.cols;
  const kb = transB ? b.cols : b.rows;
  const n = transB ? b.rows : b.cols;
  if (ka !== kb || c.rows !== m || c.cols !== n) {
    const opA = `${transA ? "Aᵀ" : "A"} (${m}×${ka})`;
    const opB = `${transB ? "Bᵀ" : "B"} (${kb}×${n})`;
    throw new ShapeError(`gemm: ${opA} · ${opB} does not fit C (${shapeOf(c)})`);
  }
  return [m, n, ka];
}

/** True for the losses whose target is one label per sample (mixture: 0 or 1; softmax: a class index). */
export function isLabelLoss(kind: LossKind): boolean {
  return kind === "mixture" || kind === "softmax";
}

/** Target rows of each loss for D network outputs: mixture's and softmax's target and sample are one label row. */
export function lossTargetRows(kind: LossKind, outputs: number): number {
  return isLabelLoss(kind) ? 1 : outputs;
}

/** Rows of lossHessianSqrt's output for D network outputs: D (a diagonal), 9 (mixture's 3×3 C), D² (softmax's D×D C). */
export function lossSqrtRows(kind: LossKind, outputs: number): number {
  return kind === "mixture" ? 9 : kind === "softmax" ? outputs * outputs : outputs;
}

export function requireLossOperands(op: string, kind: LossKind, h: Tensor, y: Tensor): void {
  if (kind === "mixture" && h.rows !== 3) throw new ShapeError(`${op}: the mixture loss needs 3 outputs, got h ${shapeOf(h)}`);
  requireShape(op, "y", y, lossTargetRows(kind, h.rows), h.cols);
}

/** Checks that a view lies inside its parent. */
export function requireWindow(t: Tensor, row: number, col: number, rows: number, cols: number): void {
  if (row < 0 || col < 0 || rows < 0 || cols < 0 || row + rows > t.rows || col + cols > t.cols) {
    throw new ShapeError(`view: window ${rows}×${cols} at (${row}, ${col}) does not fit inside ${shapeOf(t)}`);
  }
}

/** The rows × cols window of t at (row, col), sharing t's storage (unchecked: callers stay in bounds). */
export function subView(t: Tensor, row: number, col: number, rows: number, cols: number): Tensor {
  return { rows, cols, stride: t.stride, offset: t.offset + row * t.stride + col, storage: t.storage };
}

function requireSameLength(op: string, aName: string, a: readonly unknown[], bName: string, b: readonly unknown[]): void {
  if (a.length !== b.length) throw new ShapeError(`${op}: ${a.length} ${aName} for ${b.length} ${bName}`);
}

/** dotMany: xs and ys pair up (same count, each pair the same shape); out 1×1. */
export function requireDotMany(xs: readonly Tensor[], ys: readonly Tensor[], out: Tensor): void {
  requireSameLength("dotMany", "xs", xs, "ys", ys);
  xs.forEach((x, k) => requireSameShape("dotMany", [`xs[${k}]`, x], [`ys[${k}]`, ys[k]]));
  requireShape("dotMany", "out", out, 1, 1);
}

/** traceBatch: one 1×1 out per square matrix. */
export function requireTraceBatch(as: readonly Tensor[], outs: readonly Tensor[]): void {
  requireSameLength("traceBatch", "matrices", as, "outputs", outs);
  as.forEach((a, k) => requireSquare("traceBatch", `as[${k}]`, a));
  outs.forEach((o, k) => requireShape("traceBatch", `outs[${k}]`, o, 1, 1));
}

/** addIdentityBatch: one shift per square matrix, and one scale per matrix when scales are given. */
export function requireAddIdentityBatch(alphas: readonly number[], as: readonly Tensor[], scales?: Tensor): void {
  requireSameLength("addIdentityBatch", "shifts", alphas, "matrices", as);
  as.forEach((a, k) => requireSquare("addIdentityBatch", `as[${k}]`, a));
  if (scales) requireVector("addIdentityBatch", "scales", scales, as.length);
}

/** Element k of an n×1 or 1×n vector, as (row, col). */
export function vectorEntry(v: Tensor, k: number): [number, number] {
  return v.cols === 1 ? [k, 0] : [0, k];
}

/** addScaledIfFinite: a 1×1 α, x and y the same shape. */
export function requireAddScaledIfFinite(alpha: Tensor, x: Tensor, y: Tensor): void {
  requireShape("addScaledIfFinite", "alpha", alpha, 1, 1);
  requireSameShape("addScaledIfFinite", ["x", x], ["y", y]);
}

/** kroneckerSolveBatch: one left and one right factor per right-hand side, square, L_i rows = b_i rows, R_i rows = b_i cols. */
export function requireKroneckerSolveBatch(ls: readonly Tensor[], rs: readonly Tensor[], bs: readonly Tensor[]): void {
  if (ls.length !== bs.length || rs.length !== bs.length) {
    throw new ShapeError(`kroneckerSolve batch: ${ls.length} left and ${rs.length} right factors for ${bs.length} right-hand sides`);
  }
  bs.forEach((b, k) => {
    requireSquare("kroneckerSolve", `l[${k}]`, ls[k]);
    requireSquare("kroneckerSolve", `r[${k}]`, rs[k]);
    if (ls[k].rows !== b.rows || rs[k].rows !== b.cols) {
      throw new ShapeError(`kroneckerSolve: b[${k}] is ${shapeOf(b)}, but l[${k}] is ${shapeOf(ls[k])} and r[${k}] is ${shapeOf(rs[k])}`);
    }
  });
}
