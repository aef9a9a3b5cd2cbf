// Dense linear algebra of the CPU backend, handed to OpenBLAS. Tensors are row-major views, passed
// as (pointer to element (0, 0), leading dimension = stride), so strided views such as W̃ (W
// without its bias column) go to BLAS without a copy.
import { ptr } from "bun:ffi";
import { type GemmOptions, NotPositiveDefiniteError, ShapeError, type Tensor, type TriangularSolveOptions } from "../types.ts";
import { gemmDims, requireSquare, shapeOf } from "../shapes.ts";
import {
  CBLAS_LEFT,
  CBLAS_LOWER,
  CBLAS_NO_TRANS,
  CBLAS_NON_UNIT,
  CBLAS_RIGHT,
  CBLAS_ROW_MAJOR,
  CBLAS_TRANS,
  type OpenBlas,
} from "./openblas.ts";
import { scale, fill } from "./elementwise.ts";
import { cpu, type CpuTensor } from "./tensor.ts";

/** Address of element (0, 0) of a view. */
function address(t: CpuTensor) {
  return ptr(t.storage, t.offset * 4);
}

// C = α op(A) op(B) + β C by cblas_sgemm (row-major, lda/ldb/ldc = the views' strides).
export function gemm(blas: OpenBlas, aT: Tensor, bT: Tensor, cT: Tensor, opts: GemmOptions = {}): void {
  const a = cpu("gemm", aT);
  const b = cpu("gemm", bT);
  const c = cpu("gemm", cT);
  const { transA = false, transB = false, alpha = 1, beta = 0 } = opts;
  const [m, n, k] = gemmDims(a, b, c, transA, transB);
  if (m === 0 || n === 0) return;
  if (k === 0) {
    // An empty product: C = β C, with β = 0 discarding C's old contents.
    if (beta === 0) fill(c, 0);
    else scale(beta, c);
    return;
  }
  if (beta === 0 && transA !== transB && sameView(a, b)) {
    symmetricProduct(blas, a, c, transA, k, alpha);
    return;
  }
  blas.sgemm(
    CBLAS_ROW_MAJOR,
    transA ? CBLAS_TRANS : CBLAS_NO_TRANS,
    transB ? CBLAS_TRANS : CBLAS_NO_TRANS,
    m, n, k,
    alpha, address(a), a.stride,
    address(b), b.stride,
    beta, address(c), c.stride,
  );
}

function sameView(a: CpuTensor, b: CpuTensor): boolean {
  return a.storage === b.storage && a.offset === b.offset && a.stride === b.stride && a.rows === b.rows && a.cols === b.cols;
}

// C = α A Aᵀ (or α Aᵀ A) by cblas_ssyrk on the lower triangle — half the flops of sgemm — then
// the strict upper triangle mirrored from the lower. Used for the factors Q = ĀĀᵀ/N and BBᵀ/N.
function symmetricProduct(blas: OpenBlas, a: CpuTensor, c: CpuTensor, transA: boolean, k: number, alpha: number): void {
  const n = c.rows;
  blas.ssyrk(CBLAS_ROW_MAJOR, CBLAS_LOWER, transA ? CBLAS_TRANS : CBLAS_NO_TRANS, n, k, alpha, address(a), a.stride, 0, address(c), c.stride);
  const s = c.storage;
  for (let i = 0; i < n; i++) {
    const row = c.offset + i * c.stride;
    for (let j = i + 1; j < n; j++) s[row + j] = s[c.offset + j * c.stride + i];
  }
}

// a = L Lᵀ by LAPACK spotrf. Row-major storage of a is column-major storage of aᵀ, so the row-major
// lower triangle is LAPACK's upper one: factor with uplo = 'U' (a = UᵀU, U = Lᵀ) and the result
// lands in the row-major lower triangle. A pivot that is not > 0 (or NaN) raises at once.
export function cholesky(blas: OpenBlas, aT: Tensor): void {
  const a = cpu("cholesky", aT);
  requireSquare("cholesky", "a", a);
  const n = a.rows;
  if (n === 0) return;
  const s = a.storage;
  const diagStep = a.stride + 1;
  const info = blas.spotrf("U", n, address(a), a.stride);
  if (info < 0) throw new Error(`cholesky: spotrf rejected argument ${-info} (n=${n}, lda=${a.stride})`);
  // On failure spotrf leaves the offending pivot (before its square root) on the diagonal.
  if (info > 0) throw new NotPositiveDefiniteError("cholesky", n, s[a.offset + (info - 1) * diagStep]);
  // spotrf lets NaN through (NaN ≤ 0 is false); any NaN input reaches a diagonal entry of L.
  for (let i = 0, p = a.offset; i < n; i++, p += diagStep) {
    if (!(s[p] > 0)) throw new NotPositiveDefiniteError("cholesky", n, s[p]);
  }
  for (let i = 0; i < n - 1; i++) {
    const row = a.offset + i * a.stride;
    s.fill(0, row + i + 1, row + n);
  }
}

// B ← op(L)⁻¹ B (side "left") or B ← B op(L)⁻¹ (side "right") by cblas_strsm, L lower triangular.
export function triangularSolve(blas: OpenBlas, lT: Tensor, bT: Tensor, opts: TriangularSolveOptions): void {
  const l = cpu("triangularSolve", lT);
  const b = cpu("triangularSolve", bT);
  requireSquare("triangularSolve", "L", l);
  const { side, transpose } = opts;
  if (side !== "left" && side !== "right") throw new RangeError(`triangularSolve: side must be "left" or "right", got ${String(side)}`);
  const n = l.rows;
  if (side === "left" && b.rows !== n) throw new ShapeError(`triangularSolve: L (${shapeOf(l)}) cannot left-solve B (${shapeOf(b)})`);
  if (side === "right" && b.cols !== n) throw new ShapeError(`triangularSolve: L (${shapeOf(l)}) cannot right-solve B (${shapeOf(b)})`);
  if (b.rows === 0 || b.cols === 0) return;
  blas.strsm(
    CBLAS_ROW_MAJOR,
    side === "left" ? CBLAS_LEFT : CBLAS_RIGHT,
    CBLAS_LOWER,
    transpose ? CBLAS_TRANS : CBLAS_NO_TRANS,
    CBLAS_NON_UNIT,
    b.rows, b.cols,
    1, address(l), l.stride,
    address(b), b.stride,
  );
}
