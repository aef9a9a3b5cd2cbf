// Backward errors of a Cholesky factor and of triangular solves, computed in float64 from the
// float32 results: the measures the conformance and batched suites, and `bench gemm-check` on a
// GPU, bound by 4nu (u = 2⁻²⁴). Also the test matrices they are measured on.

export const frob = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));

/** ‖L Lᵀ − A‖_F / ‖A‖_F for n×n row-major L (lower) and A. */
export function choleskyResidual(L: ArrayLike<number>, A: ArrayLike<number>, n: number): number {
  const diff = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c <= r; c++) {
      let s = 0;
      for (let k = 0; k <= c; k++) s += L[r * n + k] * L[c * n + k];
      diff[r * n + c] = diff[c * n + r] = s - A[r * n + c];
    }
  }
  return frob(diff) / frob(A);
}

/**
 * ‖op(L) X − B‖_F / (‖L‖_F ‖X‖_F) (side "left") or ‖X op(L) − B‖_F / (‖L‖_F ‖X‖_F) ("right"), with
 * op(L) = Lᵀ when `transpose`; X and B are rows × cols, L is n×n.
 */
export function solveResidual(
  L: ArrayLike<number>,
  n: number,
  X: ArrayLike<number>,
  B: ArrayLike<number>,
  rows: number,
  cols: number,
  side: "left" | "right",
  transpose: boolean,
): number {
  const opL = (i: number, j: number) => (transpose ? L[j * n + i] : L[i * n + j]);
  const res = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      if (side === "left") for (let k = 0; k < n; k++) s += opL(i, k) * X[k * cols + j];
      else for (let k = 0; k < n; k++) s += X[i * cols + k] * opL(k, j);
      res[i * cols + j] = s - B[i * cols + j];
    }
  }
  return frob(res) / (frob(L) * frob(X));
}

/** Row-major (r×k)·(k×c) in float64; `transB` takes b as c×k. */
function product(a: ArrayLike<number>, b: ArrayLike<number>, r: number, k: number, c: number, transB = false): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let p = 0; p < k; p++) {
      const x = a[i * k + p];
      if (x === 0) continue;
      for (let j = 0; j < c; j++) out[i * c + j] += x * (transB ? b[j * k + p] : b[p * c + j]);
    }
  }
  return out;
}

/**
 * ‖L Lᵀ X R Rᵀ − B‖_F / (‖L‖²_F ‖R‖²_F ‖X‖_F) for X, B rows × cols, L rows × rows and R cols × cols
 * (lower): the backward error of the four triangular solves of a Kronecker-factored solve.
 */
export function kroneckerSolveResidual(L: ArrayLike<number>, R: ArrayLike<number>, X: ArrayLike<number>, B: ArrayLike<number>, rows: number, cols: number): number {
  const transpose = (m: ArrayLike<number>, n: number) => Float64Array.from({ length: n * n }, (_, q) => m[(q % n) * n + Math.floor(q / n)]);
  const lt = transpose(L, rows);
  const left = product(L, product(lt, X, rows, rows, cols), rows, rows, cols);
  const right = product(product(left, R, rows, cols, cols), R, rows, cols, cols, true);
  const res = right.map((v, i) => v - B[i]);
  return frob(res) / (frob(L) ** 2 * frob(R) ** 2 * frob(X));
}

/** The first entry above the diagonal of n×n row-major L that is not 0, as "L[i,j] = v", or undefined (one assertion instead of n²/2). */
export function nonZeroAboveDiagonal(L: ArrayLike<number>, n: number): string | undefined {
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (!Object.is(L[i * n + j], 0)) return `L[${i},${j}] = ${L[i * n + j]}`;
  return undefined;
}

/**
 * A symmetric positive definite n×n matrix (row-major, float32 values) with eigenvalues spread
 * geometrically from 1 down to 1/cond: diag(λ) turned by one Householder reflection
 * H = I − 2vvᵀ/‖v‖² per vector of `reflections` (A ← H A H), plus 10⁻³/cond on the diagonal.
 */
export function spdMatrix(n: number, cond: number, reflections: Float64Array[]): Float64Array {
  const lam = Array.from({ length: n }, (_, i) => (n === 1 ? 1 : cond ** (-i / (n - 1))));
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) a[i * n + i] = lam[i];
  for (const v of reflections) {
    const norm2 = v.reduce((acc, x) => acc + x * x, 0);
    const av = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let t = 0;
      for (let j = 0; j < n; j++) t += a[i * n + j] * v[j];
      av[i] = t;
    }
    const vav = v.reduce((acc, x, i) => acc + x * av[i], 0);
    const f = 2 / norm2;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        a[i * n + j] += -f * (av[i] * v[j] + v[i] * av[j]) + f * f * vav * v[i] * v[j];
      }
    }
  }
  const damp = 1e-3 / cond;
  for (let i = 0; i < n; i++) a[i * n + i] += damp;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = Math.fround(a[i * n + j]);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j];
  return a;
}
