// The WebGPU backend: every op of `Backend` (src/backend/types.ts) as WGSL kernels (shaders/*.wgsl)
// on a Dawn device from bun-webgpu. Tensors are views into GPU buffers; ops are recorded into one
// command encoder and submitted when something is read back (`download`, `flush`).
import { refusingAfterDispose } from "../disposal.ts";
import { acquireGpu, type AcquireOptions, type GpuAdapterDescription } from "./device/adapter.ts";
import { PipelineCache } from "./device/pipelines.ts";
import { isContiguous, requireWindow } from "../shapes.ts";
import { UsageError } from "../../errors.ts";
import { type Backend, ShapeError, type Tensor, DeviceLimitError } from "../types.ts";
import { cholesky, choleskyBatch, kroneckerSolveBatch, triangularSolve, triangularSolveBatch } from "./cholesky.ts";
import { createStorage, GEMM_TILES, type GemmInner, type GemmKernel, type KernelContext, ScratchPool, type SplitK } from "./context.ts";
import * as ew from "./elementwise.ts";
import { gemm } from "./gemm.ts";
import * as loss from "./loss.ts";
import { type ProfilingControl, profilingControl } from "./profiler.ts";
import { bernoulli, random, threefryWords } from "./random.ts";
import { Recorder, STATUS_WORDS } from "./recorder.ts";
import * as red from "./reduce.ts";
import { type GpuTensor, storageOf, viewEnd } from "./storage.ts";

/**
 * Kernel choices. Defaults depend on the adapter (software rasterisers such as lavapipe run
 * barrier-heavy kernels slowly and dispatch cheaply relative to their arithmetic); each may be
 * forced by option, or for experiments by an environment variable (named beside it).
 */
export interface WebGpuBackendOptions extends AcquireOptions {
  /**
   * Batched gemms as one shared-memory-tiled dispatch (default on hardware adapters) or one
   * register-tiled gemm per entry (default on software adapters). KFRA_WEBGPU_TILED_BATCHES=0|1.
   */
  tiledBatches?: boolean;
  /**
   * Kernel of single gemms: "tiled" (shared memory; default on hardware adapters: 4,675 against
   * 3,216 GFLOP/s over the autoencoder's gemm shapes on an H200) or "register" (default on software
   * adapters, where workgroup barriers are slow). KFRA_WEBGPU_GEMM=register|tiled.
   */
  gemm?: GemmKernel;
  /** Tile of the shared-memory gemm, a key of GEMM_TILES (default "4x4x16", the fastest on an H200). KFRA_WEBGPU_TILE. */
  tile?: string;
  /**
   * Inner loop of the shared-memory gemm (single and batched): "scalar" (default on software
   * adapters) or "vec4" (vec4 workgroup arrays, next k-slice fetched during the FMAs; see
   * context.ts; default on hardware adapters, docs/results.md "Kernel choices"). KFRA_WEBGPU_GEMM_INNER.
   */
  gemmInner?: GemmInner;
  /**
   * Split-K of the shared-memory gemm (gemmBatch.ts): "off" (default on software adapters), "auto"
   * (k-slices when C has fewer tiles than 4 workgroups per SM of a 132-SM GPU; default on hardware
   * adapters), or a number N (at most N k-slices whenever k allows). KFRA_WEBGPU_SPLIT_K=off|auto|N.
   */
  splitK?: SplitK;
  /**
   * Submit the recorded work every this many dispatches, so the GPU starts while the CPU is still
   * recording (default 64 on hardware adapters, 0 = only when reading back, on software ones).
   * KFRA_WEBGPU_SUBMIT_EVERY.
   */
  submitEvery?: number;
  /**
   * Also submit once this many dispatches follow a read-back (a download or flush, awaited or not),
   * so the device starts on a fresh command stream before `submitEvery` dispatches are recorded:
   * e.g. 8–16, against Adam's 63 dispatches per update and the KFRA update's chunks after each of
   * its reads (default 16 on hardware adapters, 0 = off on software ones). KFRA_WEBGPU_FIRST_SUBMIT.
   */
  firstSubmit?: number;
}

/** The kernel choices in force, from options, then the environment, then the adapter's defaults. */
export function kernelChoices(opts: WebGpuBackendOptions, software: boolean, env = process.env) {
  const flag = (v: string | undefined) => (v === undefined || v === "" ? undefined : v === "1" || v === "true");
  const gemm = opts.gemm ?? (env.KFRA_WEBGPU_GEMM as GemmKernel | undefined) ?? (software ? "register" : "tiled");
  if (gemm !== "register" && gemm !== "tiled") throw new UsageError(`webgpu: gemm kernel (KFRA_WEBGPU_GEMM) must be register or tiled, got ${gemm}`);
  const tileName = opts.tile ?? env.KFRA_WEBGPU_TILE ?? "4x4x16";
  const tile = GEMM_TILES[tileName];
  if (!tile) throw new UsageError(`webgpu: tile (KFRA_WEBGPU_TILE) must be one of ${Object.keys(GEMM_TILES).join(", ")}, got ${tileName}`);
  const gemmInner = opts.gemmInner ?? (env.KFRA_WEBGPU_GEMM_INNER as GemmInner | undefined) ?? (software ? "scalar" : "vec4");
  if (gemmInner !== "scalar" && gemmInner !== "vec4") throw new UsageError(`webgpu: gemm inner loop (KFRA_WEBGPU_GEMM_INNER) must be scalar or vec4, got ${gemmInner}`);
  const splitK = opts.splitK ?? parseSplitK(env.KFRA_WEBGPU_SPLIT_K) ?? (software ? "off" : "auto");
  if (splitK !== "auto" && splitK !== "off" && !(Number.isInteger(splitK) && splitK >= 1)) {
    throw new UsageError(`webgpu: split-K (KFRA_WEBGPU_SPLIT_K) must be auto, off or a positive integer, got ${splitK}`);
  }
  const submitEvery = opts.submitEvery ?? (env.KFRA_WEBGPU_SUBMIT_EVERY ? Number(env.KFRA_WEBGPU_SUBMIT_EVERY) : software ? 0 : 64);
  if (!Number.isInteger(submitEvery) || submitEvery < 0) throw new UsageError(`webgpu: submitEvery (KFRA_WEBGPU_SUBMIT_EVERY) must be a non-negative integer, got ${submitEvery}`);
  const firstSubmit = opts.firstSubmit ?? (env.KFRA_WEBGPU_FIRST_SUBMIT ? Number(env.KFRA_WEBGPU_FIRST_SUBMIT) : software ? 0 : 16);
  if (!Number.isInteger(firstSubmit) || firstSubmit < 0) throw new UsageError(`webgpu: firstSubmit (KFRA_WEBGPU_FIRST_SUBMIT) must be a non-negative integer, got ${firstSubmit}`);
  return {
    tiledBatches: opts.tiledBatches ?? flag(env.KFRA_WEBGPU_TILED_BATCHES) ?? !software,
    gemmKernel: gemm,
    gemmTile: tile,
    tileName,
    gemmInner,
    splitK,
    submitEvery,
    firstSubmit,
  };
}

function parseSplitK(v: string | undefined): SplitK | undefined {
  if (v === undefined || v === "") return undefined;
  if (v === "off") return "off";
  if (v === "auto") return "auto";
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`webgpu: split-K (KFRA_WEBGPU_SPLIT_K) must be auto, off or a positive integer, got ${v}`);
  return n;
}

export interface WebGpuBackend extends Backend {
  readonly adapter: GpuAdapterDescription;
  readonly device: GPUDevice;
  /** Raw Threefry words into `out` (element e: word e mod 2 of counter ⌊e/2⌋), bits unchanged; for tests. */
  threefryWords(out: Tensor, seed: number, counter: number): void;
  /** Dispatches, submits and read-backs (downloads, flushes) so far (for overhead measurements). */
  readonly stats: { dispatches: number; submits: number; readBacks: number };
  /** Per-kernel GPU time; null unless created with `timestampQuery` on an adapter that offers it. */
  readonly profiling: ProfilingControl | null;
  /** The Dawn toggles the device was asked for, and whether skip_validation (when asked for) took effect. */
  readonly dawnToggles: { enabled: string[]; validationSkipped: boolean | null };
  /** The kernel choices in force (see WebGpuBackendOptions). */
  readonly kernels: { tiledBatches: boolean; gemm: GemmKernel; tile: string; gemmInner: GemmInner; splitK: SplitK; submitEvery: number; firstSubmit: number };
}

export async function createWebGpuBackend(opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const { device, adapterInfo, timestampQuery, dawnToggles } = await acquireGpu(opts);
  const limits = device.limits;
  const maxBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const limitName = limits.maxStorageBufferBindingSize <= limits.maxBufferSize ? "maxStorageBufferBindingSize" : "maxBufferSize";
  const maxElements = Math.floor(maxBytes / 4);
  const pipelines = new PipelineCache(device);
  const status = createStorage(device, STATUS_WORDS, "status words");
  const choices = kernelChoices(opts, adapterInfo.software);
  const recorder = new Recorder(device, pipelines, status, choices.submitEvery, choices.firstSubmit);
  const scratch = new ScratchPool(device, (s) => {
    recorder.submit();
    recorder.forget(s);
  });
  const ctx: KernelContext = {
    device,
    pipelines,
    recorder,
    status,
    tiledBatches: choices.tiledBatches,
    gemmKernel: choices.gemmKernel,
    gemmTile: choices.gemmTile,
    gemmInner: choices.gemmInner,
    splitK: choices.splitK,
    scratch: (slot, elements) => scratch.get(slot, elements),
  };
  let disposed = false;

  const live = () => {
    if (disposed) throw new Error("webgpu backend: used after dispose()");
  };

  const backend: WebGpuBackend = {
    info: {
      name: "webgpu",
      device: `${adapterInfo.name} (${adapterInfo.backend}${adapterInfo.software ? ", software" : ""})`,
      dtype: "float32",
      maxElements,
    },
    adapter: adapterInfo,
    device,
    dawnToggles,
    kernels: {
      tiledBatches: choices.tiledBatches,
      gemm: choices.gemmKernel,
      tile: choices.tileName,
      gemmInner: choices.gemmInner,
      splitK: choices.splitK,
      submitEvery: choices.submitEvery,
      firstSubmit: choices.firstSubmit,
    },
    get stats() {
      return { dispatches: recorder.dispatchCount, submits: recorder.submitCount, readBacks: recorder.readBackCount };
    },
    profiling: timestampQuery ? profilingControl(device, recorder) : null,

    alloc(rows, cols) {
      live();
      if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
        throw new ShapeError(`alloc: rows and cols must be non-negative integers, got ${rows}×${cols}`);
      }
      const elements = rows * cols;
      if (elements > maxElements) {
        throw new DeviceLimitError(
          `alloc: a ${rows}×${cols} float32 tensor needs ${elements * 4} bytes, over the device limit ${limitName} = ${maxBytes} bytes (${maxElements} elements)`,
        );
      }
      const storage = createStorage(device, elements, `tensor ${rows}×${cols}`);
      return { rows, cols, stride: cols, offset: 0, storage } satisfies GpuTensor;
    },
    view(t, row, col, rows, cols) {
      storageOf("view", t);
      requireWindow(t, row, col, rows, cols);
      return { rows, cols, stride: t.stride, offset: t.offset + row * t.stride + col, storage: t.storage };
    },
    free(t) {
      const s = storageOf("free", t);
      if (t.offset !== 0 || t.stride !== t.cols || t.rows * t.cols !== s.elements) {
        throw new ShapeError(`free: a ${t.rows}×${t.cols} view is not a tensor returned by alloc; free its parent`);
      }
      recorder.submit();
      recorder.forget(s);
      s.freed = true;
      s.buffer.destroy();
    },
    upload(t, data) {
      live();
      const s = storageOf("upload", t);
      if (data.length !== t.rows * t.cols) {
        throw new ShapeError(`upload: data has ${data.length} values, the ${t.rows}×${t.cols} tensor needs ${t.rows * t.cols}`);
      }
      if (data.length === 0) return;
      // Queue writes run at submit order: recorded ops that precede this upload must go first.
      recorder.submit();
      const values = data instanceof Float32Array ? data : Float32Array.from(data);
      if (isContiguous(t)) {
        device.queue.writeBuffer(s.buffer, t.offset * 4, values.buffer, values.byteOffset, values.byteLength);
      } else {
        for (let i = 0; i < t.rows; i++) {
          device.queue.writeBuffer(s.buffer, (t.offset + i * t.stride) * 4, values.buffer, values.byteOffset + i * t.cols * 4, t.cols * 4);
        }
      }
    },
    async download(t) {
      live();
      const s = storageOf("download", t);
      const count = t.rows * t.cols;
      const span = viewEnd(t) - t.offset;
      const bytes = await recorder.readBack(count === 0 ? null : s.buffer, t.offset * 4, span * 4);
      const raw = new Float32Array(bytes);
      if (isContiguous(t)) return raw.length === count ? raw : raw.slice(0, count);
      const out = new Float32Array(count);
      for (let i = 0; i < t.rows; i++) out.set(raw.subarray(i * t.stride, i * t.stride + t.cols), i * t.cols);
      return out;
    },
    async flush() {
      live();
      await recorder.readBack(null, 0, 0);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      recorder.destroy();
      scratch.destroy();
      status.buffer.destroy();
      device.destroy();
    },

    fill: (out, value) => ew.fill(ctx, out, value),
    copy: (src, out, transpose) => ew.copy(ctx, src, out, transpose),
    transfer: (kind, h, out, order) => ew.transfer(ctx, kind, h, out, order),
    hadamard: (a, b, out) => ew.hadamard(ctx, a, b, out),
    axpby: (alpha, x, beta, y) => ew.axpby(ctx, alpha, x, beta, y),
    scale: (alpha, x) => ew.scale(ctx, alpha, x),
    addIdentity: (alpha, a) => ew.addIdentity(ctx, alpha, a),
    addIdentityBatch: (alphas, as, scales) => ew.addIdentityBatch(ctx, alphas, as, scales),
    diag: (v, out) => ew.diag(ctx, v, out),
    sqrt: (x, out) => ew.sqrt(ctx, x, out),
    quotient: (num, den, out, o) => ew.quotient(ctx, num, den, out, o),
    addScaledIfFinite: (alpha, x, y) => ew.addScaledIfFinite(ctx, alpha, x, y),
    adamStep: (theta, g, m, v, o) => ew.adamStep(ctx, theta, g, m, v, o),

    sum: (a, out, alpha) => red.sum(ctx, a, out, alpha),
    dot: (a, b, out, alpha) => red.dot(ctx, a, b, out, alpha),
    trace: (a, out, alpha) => red.trace(ctx, a, out, alpha),
    dotMany: (xs, ys, out, alpha) => red.dotMany(ctx, xs, ys, out, alpha),
    traceBatch: (as, outs, alpha) => red.traceBatch(ctx, as, outs, alpha),
    rowSums: (a, out, alpha) => red.rowSums(ctx, a, out, alpha),
    colSums: (a, out, alpha) => red.colSums(ctx, a, out, alpha),

    gemm: (a, b, c, o) => gemm(ctx, a, b, c, o),
    cholesky: (a) => cholesky(ctx, a),
    triangularSolve: (l, b, o) => triangularSolve(ctx, l, b, o),
    choleskyBatch: (as) => choleskyBatch(ctx, as),
    triangularSolveBatch: (ls, bs, o) => triangularSolveBatch(ctx, ls, bs, o),
    kroneckerSolveBatch: (ls, rs, bs) => kroneckerSolveBatch(ctx, ls, rs, bs),

    lossValue: (kind, h, y, out) => loss.lossValue(ctx, kind, h, y, out),
    lossGrad: (kind, h, y, out) => loss.lossGrad(ctx, kind, h, y, out),
    lossHessianVector: (kind, h, y, v, out) => loss.lossHessianVector(ctx, kind, h, y, v, out),
    lossHessianSqrt: (kind, h, y, out) => loss.lossHessianSqrt(ctx, kind, h, y, out),
    lossSample: (kind, h, seed, counter, out) => loss.lossSample(ctx, kind, h, seed, counter, out),

    random: (kind, out, seed, counter) => random(ctx, kind, out, seed, counter),
    bernoulli: (p, out, seed, counter) => bernoulli(ctx, p, out, seed, counter),
    threefryWords: (out, seed, counter) => threefryWords(ctx, out, seed, counter),
  };
  return refusingAfterDispose(backend);
}

