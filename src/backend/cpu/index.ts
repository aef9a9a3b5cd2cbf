// The CPU backend: OpenBLAS (through bun:ffi) for gemm, Cholesky and triangular solves, tight
// Float32Array loops for everything else. Ops run synchronously, so errors are thrown at once.
import { refusingAfterDispose } from "../disposal.ts";
import { batchedByLoop } from "../batch.ts";
import type { Backend, Tensor } from "../types.ts";
import { ShapeError, DeviceLimitError } from "../types.ts";
import { isContiguous, requireWindow, shapeOf } from "../shapes.ts";
import { defaultThreadCount, loadOpenBlas } from "./openblas.ts";
import { CpuTensor, cpu } from "./tensor.ts";
import * as elementwise from "./elementwise.ts";
import * as reductions from "./reductions.ts";
import * as linalg from "./linalg.ts";
import * as losses from "./losses.ts";
import * as sampling from "./sampling.ts";

export { MissingBlasError, OPENBLAS_PATH_ENV } from "./openblas.ts";

export interface CpuBackendOptions {
  /** OpenBLAS threads; default: the cores this process may use. */
  threads?: number;
  /** OpenBLAS library file; default: KFRA_OPENBLAS_PATH, else the usual names (see openblas.ts). */
  libraryPath?: string;
}

/** Largest tensor `alloc` accepts: 2³⁰ float32 values (4 GiB). */
const MAX_ELEMENTS = 2 ** 30;

/** Creates the CPU backend; throws MissingBlasError (exitCode 2) when OpenBLAS cannot be loaded. */
export function createCpuBackend(options: CpuBackendOptions = {}): Backend {
  const blas = loadOpenBlas({ path: options.libraryPath });
  const threads = options.threads ?? defaultThreadCount();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`cpu backend: threads must be a positive integer, got ${threads}`);
  blas.setThreads(threads);
  const allocated = new WeakSet<Tensor>();

  const backend: Backend = {
    info: {
      name: "cpu",
      device: `${blas.config} (${blas.getThreads()} threads, ${blas.path})`,
      dtype: "float32",
      maxElements: MAX_ELEMENTS,
    },

    alloc(rows, cols) {
      if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
        throw new ShapeError(`alloc: shape must be positive integers, got ${rows}×${cols}`);
      }
      if (rows * cols > MAX_ELEMENTS) {
        throw new DeviceLimitError(`alloc: ${rows}×${cols} exceeds the cpu backend's limit of ${MAX_ELEMENTS} elements`);
      }
      const t = new CpuTensor(new Float32Array(rows * cols), rows, cols, cols, 0);
      allocated.add(t);
      return t;
    },
    view(tT, row, col, rows, cols) {
      const t = cpu("view", tT);
      requireWindow(t, row, col, rows, cols);
      return new CpuTensor(t.storage, rows, cols, t.stride, t.offset + row * t.stride + col);
    },
    free(t) {
      if (!allocated.has(t)) throw new TypeError(`free: the ${shapeOf(t)} tensor was not returned by alloc (a view, freed twice, or another backend's)`);
      allocated.delete(t);
    },
    upload(tT, data) {
      const t = cpu("upload", tT);
      if (data.length !== t.rows * t.cols) throw new ShapeError(`upload: ${data.length} values do not fill a ${shapeOf(t)} tensor`);
      const s = t.storage;
      if (isContiguous(t) && ArrayBuffer.isView(data)) {
        s.set(data as unknown as ArrayLike<number>, t.offset);
        return;
      }
      for (let i = 0; i < t.rows; i++) {
        const p = t.offset + i * t.stride;
        const q = i * t.cols;
        for (let j = 0; j < t.cols; j++) s[p + j] = data[q + j];
      }
    },
    async download(tT) {
      const t = cpu("download", tT);
      const out = new Float32Array(t.rows * t.cols);
      if (isContiguous(t)) {
        out.set(t.storage.subarray(t.offset, t.offset + out.length));
        return out;
      }
      for (let i = 0; i < t.rows; i++) {
        const p = t.offset + i * t.stride;
        out.set(t.storage.subarray(p, p + t.cols), i * t.cols);
      }
      return out;
    },
    async flush() {},
    dispose() {},

    fill: elementwise.fill,
    copy: elementwise.copy,
    transfer: elementwise.transfer,
    hadamard: elementwise.hadamard,
    axpby: elementwise.axpby,
    scale: elementwise.scale,
    addIdentity: elementwise.addIdentity,
    addIdentityBatch: elementwise.addIdentityBatch,
    diag: elementwise.diag,
    sqrt: elementwise.sqrt,
    quotient: elementwise.quotient,
    addScaledIfFinite: elementwise.addScaledIfFinite,
    adamStep: elementwise.adamStep,

    sum: reductions.sum,
    dot: reductions.dot,
    trace: reductions.trace,
    dotMany: reductions.dotMany,
    traceBatch: reductions.traceBatch,
    rowSums: reductions.rowSums,
    colSums: reductions.colSums,

    gemm: (a, b, c, opts) => linalg.gemm(blas, a, b, c, opts),
    cholesky: (a) => linalg.cholesky(blas, a),
    triangularSolve: (l, b, opts) => linalg.triangularSolve(blas, l, b, opts),
    ...batchedByLoop({
      cholesky: (a) => linalg.cholesky(blas, a),
      triangularSolve: (l, b, opts) => linalg.triangularSolve(blas, l, b, opts),
    }),

    lossValue: losses.lossValue,
    lossGrad: losses.lossGrad,
    lossHessianVector: losses.lossHessianVector,
    lossHessianSqrt: losses.lossHessianSqrt,
    lossSample: losses.lossSample,

    random: sampling.random,
    bernoulli: sampling.bernoulli,
  };
  return refusingAfterDispose(backend);
}
