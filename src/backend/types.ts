// The op interface that all of the maths (src/nn, src/curvature, src/optim) is written against.
//
// Every backend implements it: `webgpu` (WGSL kernels on Dawn), `cpu` (OpenBLAS through bun:ffi
// plus Float32Array loops) and `reference` (plain float64 TypeScript, used by tests only). Backends
// know nothing of networks: they see row-major matrices and a fixed list of ops.
//
// Conventions
// - A Tensor is a row-major matrix *view*: element (i, j) lives at storage[offset + i*stride + j].
//   Views share storage (`view`), so W̃ (W without its bias column) or the rows of a batch of
//   scalars cost nothing. Every op accepts strided views unless it says otherwise.
// - Ops write into a caller-provided output and return nothing: buffers are allocated once, outside
//   the training loop. An output may alias an input only where the op says so.
// - Ops are *enqueued*: on WebGPU they run later, in order. Only `download` (and `flush`) wait.
//   An error found on the device (a matrix that is not positive definite) is thrown by the next
//   `download`/`flush`, naming the op that failed; shape errors are thrown at once, before dispatch.
// - Reductions write into a caller-provided tensor (often a 1×1 view into one "scalars" vector, so
//   that all of a step's scalars come back in one `download`). Their summation order is fixed, so
//   results are bit-for-bit repeatable on the same backend.
import { ExpectedError } from "../errors.ts";

export type TransferKind = "sigmoid" | "tanh" | "relu" | "leaky_relu" | "linear";
export const TRANSFER_KINDS: readonly TransferKind[] = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"];

export type LossKind = "bce" | "sse" | "mixture" | "softmax";
export const LOSS_KINDS: readonly LossKind[] = ["bce", "sse", "mixture", "softmax"];

export type RandomKind = "uniform" | "normal";

/** A row-major matrix view into a backend's storage. Treat as opaque outside backends. */
export interface Tensor {
  readonly rows: number;
  readonly cols: number;
  /** Elements between the starts of consecutive rows (>= cols). */
  readonly stride: number;
  /** Elements from the start of the storage to element (0, 0). */
  readonly offset: number;
  /** Backend-owned storage (a Float32Array, Float64Array or GPUBuffer wrapper). */
  readonly storage: unknown;
}

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  /** Default 1. */
  alpha?: number;
  /** Default 0. With beta = 0, C's old contents are ignored (NaN in C does not propagate). */
  beta?: number;
}

export interface TriangularSolveOptions {
  /** "left": B ← op(L)⁻¹ B.  "right": B ← B op(L)⁻¹. */
  side: "left" | "right";
  /** op(L) = Lᵀ when true, L when false. */
  transpose: boolean;
}

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step count t, for the bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ. */
  step: number;
}

export interface QuotientOptions {
  /** Take the square root of the quotient (default false). */
  root?: boolean;
  /** Multiplies the result (default 1). */
  scale?: number;
  /** The result wherever the quotient is not a finite positive number (default: NaN where it is not finite). */
  fallback?: number;
}

export interface BackendInfo {
  /** "webgpu" | "cpu" | "reference". */
  name: string;
  /** What actually computes: adapter name and Vulkan backend, or the BLAS library. */
  device: string;
  /** Element type of storage. */
  dtype: "float32" | "float64";
  /** Largest tensor (in elements) that `alloc` accepts. */
  maxElements: number;
}

export interface Backend {
  readonly info: BackendInfo;

  // ---- memory ----
  /** A new zero-filled contiguous rows×cols tensor. Throws, naming the limit, past `info.maxElements`. */
  alloc(rows: number, cols: number): Tensor;
  /** A rows×cols window of `t` starting at (row, col); shares storage. */
  view(t: Tensor, row: number, col: number, rows: number, cols: number): Tensor;
  /** Releases the storage of a tensor returned by `alloc` (not of a view). */
  free(t: Tensor): void;
  /** Writes row-major `data` (rows*cols values) into `t`. */
  upload(t: Tensor, data: ArrayLike<number>): void;
  /**
   * Reads `t` back as a contiguous row-major array; waits for queued work. The values are those
   * of the ops enqueued before the call, even when ops enqueued after it (before the promise is
   * awaited) write `t` again: a download may be started and awaited later.
   */
  download(t: Tensor): Promise<Float32Array | Float64Array>;
  /** Waits until all queued work is done (benchmarks and error checks only). */
  flush(): Promise<void>;
  /** Releases every resource (device, pools). */
  dispose(): void;

  // ---- elementwise (all operands the same shape unless said; out may alias any input) ----
  /** out = value everywhere. */
  fill(out: Tensor, value: number): void;
  /** out = src, or out = srcᵀ when transpose (out must then be src.cols × src.rows; no aliasing). */
  copy(src: Tensor, out: Tensor, transpose?: boolean): void;
  /** out = f(h) (order 0), f′(h) (order 1) or f″(h) (order 2) for the transfer function `kind`. */
  transfer(kind: TransferKind, h: Tensor, out: Tensor, order: 0 | 1 | 2): void;
  /** out = a ⊙ b. */
  hadamard(a: Tensor, b: Tensor, out: Tensor): void;
  /** y = αx + βy. */
  axpby(alpha: number, x: Tensor, beta: number, y: Tensor): void;
  /** x = αx. */
  scale(alpha: number, x: Tensor): void;
  /** a = a + αI (a square). */
  addIdentity(alpha: number, a: Tensor): void;
  /**
   * aᵢ = aᵢ + αᵢ sᵢ I for every i (each aᵢ square), sᵢ element i of the device vector `scales`
   * (n×1 or 1×n; every sᵢ = 1 without it), so that shifts computed on the device need no read-back.
   * On WebGPU one dispatch per few storages: keep the matrices in one storage (views of one tensor)
   * for one dispatch in all.
   */
  addIdentityBatch(alphas: readonly number[], as: readonly Tensor[], scales?: Tensor): void;
  /** out = diag(v): v is n×1 or 1×n, out is n×n, off-diagonal set to zero. */
  diag(v: Tensor, out: Tensor): void;
  /** out = √max(x, 0). */
  sqrt(x: Tensor, out: Tensor): void;
  /**
   * out = s · q, or s · √q, with q = num / den elementwise and s = opts.scale. A q that is not
   * finite (a zero or non-finite operand, an overflow) gives NaN; with opts.fallback, every q that
   * is not a finite positive number gives the fallback instead. For the few scalars of an update
   * that the host need not wait for (ratios of traces, the step size); out may alias an input.
   */
  quotient(num: Tensor, den: Tensor, out: Tensor, opts?: QuotientOptions): void;
  /**
   * y = y + αx with α the 1×1 tensor `alpha`, read on the device; where α is not finite, y is left
   * as it is (x is not read), so that a step whose size came out NaN is skipped without a read-back.
   */
  addScaledIfFinite(alpha: Tensor, x: Tensor, y: Tensor): void;
  /**
   * Adam (Kingma & Ba): m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²;
   * θ = θ − lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε).
   */
  adamStep(theta: Tensor, g: Tensor, m: Tensor, v: Tensor, opts: AdamOptions): void;

  // ---- reductions (fixed summation order) ----
  /** out (1×1) = α Σᵢⱼ aᵢⱼ. */
  sum(a: Tensor, out: Tensor, alpha?: number): void;
  /** out (1×1) = α Σᵢⱼ aᵢⱼ bᵢⱼ. */
  dot(a: Tensor, b: Tensor, out: Tensor, alpha?: number): void;
  /** out (1×1) = α Σᵢ aᵢᵢ (a square). */
  trace(a: Tensor, out: Tensor, alpha?: number): void;
  /**
   * out (1×1) = α Σₖ ⟨xₖ, yₖ⟩ = α Σₖ Σᵢⱼ (xₖ)ᵢⱼ (yₖ)ᵢⱼ (xₖ, yₖ the same shape): many dot products
   * summed into one value, e.g. over every layer of a network. On WebGPU two dispatches when the
   * operands lie in at most six storages (one more per further six).
   */
  dotMany(xs: readonly Tensor[], ys: readonly Tensor[], out: Tensor, alpha?: number): void;
  /**
   * outs[k] (1×1) = α tr aₖ for every k (aₖ square; no out inside a matrix). On WebGPU one dispatch
   * when the matrices lie in at most six storages and the outs in one.
   */
  traceBatch(as: readonly Tensor[], outs: readonly Tensor[], alpha?: number): void;
  /** out (rows×1) = α Σⱼ aᵢⱼ. */
  rowSums(a: Tensor, out: Tensor, alpha?: number): void;
  /** out (1×cols) = α Σᵢ aᵢⱼ. */
  colSums(a: Tensor, out: Tensor, alpha?: number): void;

  // ---- dense linear algebra ----
  /** C = α op(A) op(B) + β C. */
  gemm(a: Tensor, b: Tensor, c: Tensor, opts?: GemmOptions): void;
  /**
   * In place, a (square, symmetric positive definite; only its lower triangle is read) ← L with
   * a = L Lᵀ, L lower triangular; the strict upper triangle is set to zero. A matrix that is not
   * positive definite raises NotPositiveDefiniteError (at once on CPU, at the next download on GPU).
   */
  cholesky(a: Tensor): void;
  /** In place triangular solve with lower-triangular L (see TriangularSolveOptions). */
  triangularSolve(l: Tensor, b: Tensor, opts: TriangularSolveOptions): void;
  /**
   * `cholesky` of every matrix, sizes free. On WebGPU each stage of the blocked factorisation is
   * one dispatch for all matrices that share a storage, so factor many matrices through one call
   * (views of one tensor) rather than one by one.
   */
  choleskyBatch(a: readonly Tensor[]): void;
  /** `triangularSolve(l[i], b[i], opts)` for every i; batched like `choleskyBatch` (all l in one storage, all b in another). */
  triangularSolveBatch(l: readonly Tensor[], b: readonly Tensor[], opts: TriangularSolveOptions): void;
  /**
   * b_i ← (L_i L_iᵀ)⁻¹ b_i (R_i R_iᵀ)⁻¹ for Cholesky factors L_i (rows of b_i) and R_i (columns),
   * i.e. the solve of (R_i R_iᵀ ⊗ L_i L_iᵀ) vec(x) = vec(b_i): four triangular solves, batched
   * like `triangularSolveBatch` (all factors in one storage, all b in another, for one batch).
   */
  kroneckerSolveBatch(l: readonly Tensor[], r: readonly Tensor[], b: readonly Tensor[]): void;

  // ---- losses: the network output h is D×N, one sample per column; the target y is D×N too,
  //      except for mixture (D = 3) and softmax (D = K classes), whose target and sample are one
  //      row of labels (1×N): 0 or 1 for mixture, class indices 0 … K−1 for softmax ----
  /** out (1×N): per-sample loss E⁽ⁿ⁾, summed over output units (docs/algorithm.md §1.2). */
  lossValue(kind: LossKind, h: Tensor, y: Tensor, out: Tensor): void;
  /** out (D×N) = ∂E⁽ⁿ⁾/∂h (docs/algorithm.md §2). */
  lossGrad(kind: LossKind, h: Tensor, y: Tensor, out: Tensor): void;
  /** out (D×N) = H_L⁽ⁿ⁾ v⁽ⁿ⁾ per sample (the Gauss–Newton output Hessian, PSD-projected for mixture; diag(p) − ppᵀ for softmax). */
  lossHessianVector(kind: LossKind, h: Tensor, y: Tensor, v: Tensor, out: Tensor): void;
  /**
   * A per-sample square root C⁽ⁿ⁾ of H_L⁽ⁿ⁾ = C⁽ⁿ⁾C⁽ⁿ⁾ᵀ (docs/algorithm.md §1.2; KFLR §3.3).
   * bce, sse: H_L is diagonal, out is D×N holding the diagonal of C⁽ⁿ⁾.
   * mixture: out is 9×N, out[i + 3k, n] = C⁽ⁿ⁾[i, k] (eigenvectors scaled by √max(λ, 0)).
   * softmax: out is K²×N, out[i + Kk, n] = C⁽ⁿ⁾[i, k] = δᵢₖ√pᵢ − pᵢ√pₖ (docs/algorithm.md §11).
   */
  lossHessianSqrt(kind: LossKind, h: Tensor, y: Tensor, out: Tensor): void;
  /**
   * out (shaped like y) = a sample ŷ ~ p(y | h) of the model's predictive distribution (KFAC), from
   * the stream (seed, counter); softmax: one class index per sample, ŷ ~ Categorical(softmax(h)).
   */
  lossSample(kind: LossKind, h: Tensor, seed: number, counter: number, out: Tensor): void;

  // ---- random numbers (counter-based: see src/backend/random.ts for the exact definition) ----
  /** out = uniform (0,1) or standard normal values from the stream (seed, counter). */
  random(kind: RandomKind, out: Tensor, seed: number, counter: number): void;
  /** out = 1 where u < p else 0, u the uniform values of the stream (seed, counter); p same shape as out. */
  bernoulli(p: Tensor, out: Tensor, seed: number, counter: number): void;
}

/** Raised when a Cholesky factorisation meets a non-positive pivot. */
export class NotPositiveDefiniteError extends ExpectedError {
  constructor(
    readonly op: string,
    readonly size: number,
    readonly pivot: number,
  ) {
    super(`${op}: the ${size}×${size} matrix is not positive definite (pivot ${pivot} ≤ 0)`);
  }
}

/** Raised before dispatch when operand shapes do not fit an op. */
export class ShapeError extends ExpectedError {
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

/** Raised by `alloc` for a tensor larger than the backend or device allows (the message names the limit). */
export class DeviceLimitError extends ExpectedError {}
