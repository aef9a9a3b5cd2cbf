// Backward errors of a Cholesky factor and of triangular solves, computed in float64 from the
// float32 results (the measures the conformance and batched suites bound by 4nu).

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
