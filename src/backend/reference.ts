// The float64 reference backend: every op of the interface written as plainly as possible, in
// double precision, with no attempt at speed. Tests hold the float32 backends to it, and the maths
// (nn, curvature, optim) runs on it to be checked against finite differences.
import { refusingAfterDispose } from "./disposal.ts";
import { batchedByLoop } from "./batch.ts";
import {
  type AdamOptions,
  type Backend,
  type GemmOptions,
  type LossKind,
  NotPositiveDefiniteError,
  type RandomKind,
  ShapeError,
  type Tensor,
  type TransferKind,
  type TriangularSolveOptions,
  DeviceLimitError,
} from "./types.ts";
import {
  gemmDims,
  requireAddIdentityBatch,
  requireAddScaledIfFinite,
  requireDotMany,
  lossSqrtRows,
  lossTargetRows,
  requireLossOperands,
  requireSameShape,
  requireShape,
  requireSquare,
  requireTraceBatch,
  requireVector,
  requireWindow,
  shapeOf,
  vectorEntry,
} from "./shapes.ts";
import { quotientValue } from "./quotient.ts";
import { seedKey, threefry2x32, wordToUniform, wordsToNormal } from "./random.ts";
import {
  mixtureGaussNewton,
  mixtureGrad,
  mixtureHessianSqrt,
  mixtureValue,
  sigmoid,
  softplus,
} from "./mixture.ts";
import { softmaxGrad, softmaxHessianSqrt, softmaxHessianVector, softmaxInto, softmaxSample, softmaxValue } from "./softmax.ts";

class HostTensor implements Tensor {
  constructor(
    readonly storage: Float64Array,
    readonly rows: number,
    readonly cols: number,
    readonly stride: number,
    readonly offset: number,
  ) {}
}

function host(t: Tensor): HostTensor {
  if (!(t instanceof HostTensor)) throw new TypeError("reference backend: tensor belongs to another backend");
  return t;
}

function get(t: Tensor, i: number, j: number): number {
  const h = host(t);
  return h.storage[h.offset + i * h.stride + j];
}

function set(t: Tensor, i: number, j: number, value: number): void {
  const h = host(t);
  h.storage[h.offset + i * h.stride + j] = value;
}

/** Applies value = fn(i, j) over every element of `out` (reading everything first, so out may alias). */
function mapInto(out: Tensor, fn: (i: number, j: number) => number): void {
  const values = new Float64Array(out.rows * out.cols);
  for (let i = 0; i < out.rows; i++) for (let j = 0; j < out.cols; j++) values[i * out.cols + j] = fn(i, j);
  for (let i = 0; i < out.rows; i++) for (let j = 0; j < out.cols; j++) set(out, i, j, values[i * out.cols + j]);
}

// f, f′, f″ of each transfer function (docs/algorithm.md §1).
function transferValue(kind: TransferKind, x: number, order: 0 | 1 | 2): number {
  switch (kind) {
    case "sigmoid": {
      const s = sigmoid(x);
      return order === 0 ? s : order === 1 ? s * (1 - s) : s * (1 - s) * (1 - 2 * s);
    }
    case "tanh": {
      const t = Math.tanh(x);
      return order === 0 ? t : order === 1 ? 1 - t * t : -2 * t * (1 - t * t);
    }
    case "relu":
      return order === 0 ? Math.max(x, 0) : order === 1 ? (x > 0 ? 1 : 0) : 0;
    case "leaky_relu":
      return order === 0 ? Math.max(0.1 * x, x) : order === 1 ? (x > 0 ? 1 : 0.1) : 0;
    case "linear":
      return order === 0 ? x : order === 1 ? 1 : 0;
  }
}

/** Column n of t as a float64 array. */
function column(t: Tensor, n: number): Float64Array {
  const out = new Float64Array(t.rows);
  for (let i = 0; i < t.rows; i++) out[i] = get(t, i, n);
  return out;
}

function threefryWords(seed: number, counter: number, index: number): [number, number] {
  const [k0, k1] = seedKey(seed);
  return threefry2x32(k0, k1, index >>> 0, counter >>> 0);
}

export function createReferenceBackend(): Backend {
  const backend: Backend = {
    info: { name: "reference", device: "float64 TypeScript", dtype: "float64", maxElements: 2 ** 28 },

    alloc(rows, cols) {
      if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
        throw new ShapeError(`alloc: shape must be positive integers, got ${rows}×${cols}`);
      }
      if (rows * cols > backend.info.maxElements) {
        throw new DeviceLimitError(`alloc: ${rows}×${cols} exceeds the reference backend's limit of ${backend.info.maxElements} elements`);
      }
      return new HostTensor(new Float64Array(rows * cols), rows, cols, cols, 0);
    },
    view(t, row, col, rows, cols) {
      requireWindow(t, row, col, rows, cols);
      const h = host(t);
      return new HostTensor(h.storage, rows, cols, h.stride, h.offset + row * h.stride + col);
    },
    free() {},
    upload(t, data) {
      if (data.length !== t.rows * t.cols) {
        throw new ShapeError(`upload: ${data.length} values do not fill a ${shapeOf(t)} tensor`);
      }
      mapInto(t, (i, j) => data[i * t.cols + j]);
    },
    async download(t) {
      const out = new Float64Array(t.rows * t.cols);
      for (let i = 0; i < t.rows; i++) for (let j = 0; j < t.cols; j++) out[i * t.cols + j] = get(t, i, j);
      return out;
    },
    async flush() {},
    dispose() {},

    fill(out, value) {
      mapInto(out, () => value);
    },
    copy(src, out, transpose = false) {
      if (transpose) {
        requireShape("copy", "out", out, src.cols, src.rows);
        mapInto(out, (i, j) => get(src, j, i));
      } else {
        requireSameShape("copy", ["src", src], ["out", out]);
        mapInto(out, (i, j) => get(src, i, j));
      }
    },
    transfer(kind, h, out, order) {
      requireSameShape("transfer", ["h", h], ["out", out]);
      mapInto(out, (i, j) => transferValue(kind, get(h, i, j), order));
    },
    hadamard(a, b, out) {
      requireSameShape("hadamard", ["a", a], ["b", b], ["out", out]);
      mapInto(out, (i, j) => get(a, i, j) * get(b, i, j));
    },
    axpby(alpha, x, beta, y) {
      requireSameShape("axpby", ["x", x], ["y", y]);
      mapInto(y, (i, j) => alpha * get(x, i, j) + (beta === 0 ? 0 : beta * get(y, i, j)));
    },
    scale(alpha, x) {
      mapInto(x, (i, j) => alpha * get(x, i, j));
    },
    addIdentity(alpha, a) {
      requireSquare("addIdentity", "a", a);
      for (let i = 0; i < a.rows; i++) set(a, i, i, get(a, i, i) + alpha);
    },
    addIdentityBatch(alphas, as, scales) {
      requireAddIdentityBatch(alphas, as, scales);
      as.forEach((a, k) => backend.addIdentity(alphas[k] * (scales ? get(scales, ...vectorEntry(scales, k)) : 1), a));
    },
    diag(v, out) {
      requireSquare("diag", "out", out);
      requireVector("diag", "v", v, out.rows);
      mapInto(out, (i, j) => (i === j ? (v.cols === 1 ? get(v, i, 0) : get(v, 0, i)) : 0));
    },
    sqrt(x, out) {
      requireSameShape("sqrt", ["x", x], ["out", out]);
      mapInto(out, (i, j) => Math.sqrt(Math.max(get(x, i, j), 0)));
    },
    quotient(num, den, out, opts = {}) {
      requireSameShape("quotient", ["num", num], ["den", den], ["out", out]);
      mapInto(out, (i, j) => quotientValue(get(num, i, j), get(den, i, j), opts, (x) => x));
    },
    addScaledIfFinite(alpha, x, y) {
      requireAddScaledIfFinite(alpha, x, y);
      const a = get(alpha, 0, 0);
      if (Number.isFinite(a)) mapInto(y, (i, j) => get(y, i, j) + a * get(x, i, j));
    },
    adamStep(theta, g, m, v, opts: AdamOptions) {
      requireSameShape("adamStep", ["theta", theta], ["g", g], ["m", m], ["v", v]);
      const { lr, beta1, beta2, eps, step } = opts;
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      for (let i = 0; i < theta.rows; i++) {
        for (let j = 0; j < theta.cols; j++) {
          const gij = get(g, i, j);
          const mij = beta1 * get(m, i, j) + (1 - beta1) * gij;
          const vij = beta2 * get(v, i, j) + (1 - beta2) * gij * gij;
          set(m, i, j, mij);
          set(v, i, j, vij);
          set(theta, i, j, get(theta, i, j) - (lr * (mij / c1)) / (Math.sqrt(vij / c2) + eps));
        }
      }
    },

    sum(a, out, alpha = 1) {
      requireShape("sum", "out", out, 1, 1);
      let total = 0;
      for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) total += get(a, i, j);
      set(out, 0, 0, alpha * total);
    },
    dot(a, b, out, alpha = 1) {
      requireSameShape("dot", ["a", a], ["b", b]);
      requireShape("dot", "out", out, 1, 1);
      let total = 0;
      for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) total += get(a, i, j) * get(b, i, j);
      set(out, 0, 0, alpha * total);
    },
    trace(a, out, alpha = 1) {
      requireSquare("trace", "a", a);
      requireShape("trace", "out", out, 1, 1);
      let total = 0;
      for (let i = 0; i < a.rows; i++) total += get(a, i, i);
      set(out, 0, 0, alpha * total);
    },
    dotMany(xs, ys, out, alpha = 1) {
      requireDotMany(xs, ys, out);
      let total = 0;
      xs.forEach((x, k) => {
        for (let i = 0; i < x.rows; i++) for (let j = 0; j < x.cols; j++) total += get(x, i, j) * get(ys[k], i, j);
      });
      set(out, 0, 0, alpha * total);
    },
    traceBatch(as, outs, alpha = 1) {
      requireTraceBatch(as, outs);
      const traces = as.map((a) => {
        let total = 0;
        for (let i = 0; i < a.rows; i++) total += get(a, i, i);
        return total;
      });
      outs.forEach((o, k) => set(o, 0, 0, alpha * traces[k]));
    },
    rowSums(a, out, alpha = 1) {
      requireShape("rowSums", "out", out, a.rows, 1);
      mapInto(out, (i) => {
        let total = 0;
        for (let j = 0; j < a.cols; j++) total += get(a, i, j);
        return alpha * total;
      });
    },
    colSums(a, out, alpha = 1) {
      requireShape("colSums", "out", out, 1, a.cols);
      mapInto(out, (_, j) => {
        let total = 0;
        for (let i = 0; i < a.rows; i++) total += get(a, i, j);
        return alpha * total;
      });
    },

    // C = α op(A) op(B) + β C.
    gemm(a, b, c, opts: GemmOptions = {}) {
      const { transA = false, transB = false, alpha = 1, beta = 0 } = opts;
      const [m, n, k] = gemmDims(a, b, c, transA, transB);
      const opA = (i: number, p: number) => (transA ? get(a, p, i) : get(a, i, p));
      const opB = (p: number, j: number) => (transB ? get(b, j, p) : get(b, p, j));
      const product = new Float64Array(m * n);
      for (let i = 0; i < m; i++) {
        for (let p = 0; p < k; p++) {
          const aip = opA(i, p);
          for (let j = 0; j < n; j++) product[i * n + j] += aip * opB(p, j);
        }
      }
      mapInto(c, (i, j) => alpha * product[i * n + j] + (beta === 0 ? 0 : beta * get(c, i, j)));
    },
    // a = L Lᵀ by the Cholesky–Banachiewicz recurrence, reading the lower triangle.
    cholesky(a) {
      requireSquare("cholesky", "a", a);
      const n = a.rows;
      for (let j = 0; j < n; j++) {
        let pivot = get(a, j, j);
        for (let p = 0; p < j; p++) pivot -= get(a, j, p) ** 2;
        if (!(pivot > 0)) throw new NotPositiveDefiniteError("cholesky", n, pivot);
        const ljj = Math.sqrt(pivot);
        set(a, j, j, ljj);
        for (let i = j + 1; i < n; i++) {
          let s = get(a, i, j);
          for (let p = 0; p < j; p++) s -= get(a, i, p) * get(a, j, p);
          set(a, i, j, s / ljj);
        }
        for (let i = 0; i < j; i++) set(a, i, j, 0);
      }
    },
    // Forward/back substitution: left solves op(L) X = B, right solves X op(L) = B.
    triangularSolve(l, b, opts: TriangularSolveOptions) {
      requireSquare("triangularSolve", "L", l);
      const n = l.rows;
      const { side, transpose } = opts;
      if (side === "left" && b.rows !== n) throw new ShapeError(`triangularSolve: L (${shapeOf(l)}) cannot left-solve B (${shapeOf(b)})`);
      if (side === "right" && b.cols !== n) throw new ShapeError(`triangularSolve: L (${shapeOf(l)}) cannot right-solve B (${shapeOf(b)})`);
      // op(L)[i][p] for the matrix that multiplies X.
      const opL = (i: number, p: number) => (transpose ? get(l, p, i) : get(l, i, p));
      // Left: op(L) X = B column by column. op(L) is lower when !transpose (solve i ascending).
      // Right: X op(L) = B  ⇔  op(L)ᵀ Xᵀ = Bᵀ, row by row of B.
      const lowerSystem = side === "left" ? !transpose : transpose;
      const systemCoeff = side === "left" ? opL : (i: number, p: number) => opL(p, i);
      const vectors = side === "left" ? b.cols : b.rows;
      for (let v = 0; v < vectors; v++) {
        const read = (i: number) => (side === "left" ? get(b, i, v) : get(b, v, i));
        const write = (i: number, x: number) => (side === "left" ? set(b, i, v, x) : set(b, v, i, x));
        const x = new Float64Array(n);
        const order = lowerSystem ? [...Array(n).keys()] : [...Array(n).keys()].reverse();
        for (const i of order) {
          let s = read(i);
          for (let p = 0; p < n; p++) if (p !== i && (lowerSystem ? p < i : p > i)) s -= systemCoeff(i, p) * x[p];
          x[i] = s / systemCoeff(i, i);
        }
        for (let i = 0; i < n; i++) write(i, x[i]);
      }
    },

    lossValue(kind: LossKind, h, y, out) {
      requireLossOperands("lossValue", kind, h, y);
      requireShape("lossValue", "out", out, 1, h.cols);
      mapInto(out, (_, n) => {
        if (kind === "mixture") return mixtureValue(get(h, 0, n), get(h, 1, n), get(h, 2, n), get(y, 0, n));
        if (kind === "softmax") return softmaxValue(column(h, n), get(y, 0, n), new Float64Array(h.rows));
        let total = 0;
        for (let i = 0; i < h.rows; i++) {
          const hi = get(h, i, n);
          const yi = get(y, i, n);
          total += kind === "bce" ? softplus(hi) - yi * hi : 0.5 * (hi - yi) ** 2;
        }
        return total;
      });
    },
    lossGrad(kind, h, y, out) {
      requireLossOperands("lossGrad", kind, h, y);
      requireSameShape("lossGrad", ["h", h], ["out", out]);
      const g = new Float64Array(Math.max(3, h.rows));
      mapInto(out, (i, n) => {
        if (kind === "softmax") {
          softmaxGrad(column(h, n), get(y, 0, n), g);
          return g[i];
        }
        if (kind === "mixture") {
          mixtureGrad(get(h, 0, n), get(h, 1, n), get(h, 2, n), get(y, 0, n), g);
          return g[i];
        }
        return kind === "bce" ? sigmoid(get(h, i, n)) - get(y, i, n) : get(h, i, n) - get(y, i, n);
      });
    },
    lossHessianVector(kind, h, y, v, out) {
      requireLossOperands("lossHessianVector", kind, h, y);
      requireSameShape("lossHessianVector", ["h", h], ["v", v], ["out", out]);
      const gn = new Float64Array(9);
      const p = new Float64Array(h.rows);
      const hv = new Float64Array(h.rows);
      mapInto(out, (i, n) => {
        if (kind === "softmax") {
          softmaxHessianVector(column(h, n), column(v, n), p, hv);
          return hv[i];
        }
        if (kind === "mixture") {
          mixtureGaussNewton(get(h, 0, n), get(h, 1, n), get(h, 2, n), get(y, 0, n), gn);
          return gn[3 * i] * get(v, 0, n) + gn[3 * i + 1] * get(v, 1, n) + gn[3 * i + 2] * get(v, 2, n);
        }
        if (kind === "sse") return get(v, i, n);
        const s = sigmoid(get(h, i, n));
        return s * (1 - s) * get(v, i, n);
      });
    },
    lossHessianSqrt(kind, h, y, out) {
      requireLossOperands("lossHessianSqrt", kind, h, y);
      requireShape("lossHessianSqrt", "out", out, lossSqrtRows(kind, h.rows), h.cols);
      const c = new Float64Array(9);
      const p = new Float64Array(h.rows);
      const roots = kind === "softmax" ? Array.from({ length: h.cols }, () => new Float64Array(h.rows * h.rows)) : [];
      roots.forEach((root, n) => softmaxHessianSqrt(column(h, n), p, root));
      mapInto(out, (i, n) => {
        if (kind === "softmax") {
          // out[i' + Kk] = C[i'][k] = roots[n][K i' + k].
          const k = h.rows;
          return roots[n][k * (i % k) + Math.floor(i / k)];
        }
        if (kind === "mixture") {
          mixtureHessianSqrt(get(h, 0, n), get(h, 1, n), get(h, 2, n), get(y, 0, n), c);
          // out[i' + 3k] = C[i'][k]: row index i = i' + 3k.
          return c[3 * (i % 3) + Math.floor(i / 3)];
        }
        if (kind === "sse") return 1;
        const s = sigmoid(get(h, i, n));
        return Math.sqrt(s * (1 - s));
      });
    },
    lossSample(kind, h, seed, counter, out) {
      requireShape("lossSample", "out", out, lossTargetRows(kind, h.rows), h.cols);
      if (kind === "mixture" && h.rows !== 3) throw new ShapeError(`lossSample: the mixture loss needs 3 outputs, got h ${shapeOf(h)}`);
      const p = new Float64Array(h.rows);
      mapInto(out, (i, n) => {
        const [x0, x1] = threefryWords(seed, counter, i * out.cols + n);
        if (kind === "softmax") {
          softmaxInto(column(h, n), p);
          return softmaxSample(p, wordToUniform(x0));
        }
        if (kind === "bce") return wordToUniform(x0) < sigmoid(get(h, i, n)) ? 1 : 0;
        if (kind === "sse") return get(h, i, n) + wordsToNormal(x0, x1);
        const component = wordToUniform(x0) < sigmoid(get(h, 0, n)) ? 1 : 2;
        return wordToUniform(x1) < sigmoid(get(h, component, n)) ? 1 : 0;
      });
    },

    random(kind: RandomKind, out, seed, counter) {
      mapInto(out, (i, j) => {
        const [x0, x1] = threefryWords(seed, counter, i * out.cols + j);
        return kind === "uniform" ? wordToUniform(x0) : wordsToNormal(x0, x1);
      });
    },
    bernoulli(p, out, seed, counter) {
      requireSameShape("bernoulli", ["p", p], ["out", out]);
      mapInto(out, (i, j) => {
        const [x0] = threefryWords(seed, counter, i * out.cols + j);
        return wordToUniform(x0) < get(p, i, j) ? 1 : 0;
      });
    },
    choleskyBatch: (as) => batchedByLoop(backend).choleskyBatch(as),
    triangularSolveBatch: (ls, bs, opts) => batchedByLoop(backend).triangularSolveBatch(ls, bs, opts),
    kroneckerSolveBatch: (ls, rs, bs) => batchedByLoop(backend).kroneckerSolveBatch(ls, rs, bs),
  };
  return refusingAfterDispose(backend);
}
