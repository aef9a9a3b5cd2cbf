// What every kernel wrapper needs: the device, the pipeline cache and the recorder.
import type { PipelineCache } from "./device/pipelines.ts";
import type { Recorder } from "./recorder.ts";
import { GpuStorage } from "./storage.ts";

export type GemmKernel = "register" | "tiled";

/**
 * Inner loop of the shared-memory-tiled gemm: "scalar" (gemm_tiled.wgsl: one workgroup-memory
 * load per element of op(A) and op(B)) or "vec4" (gemm_tiled_vec4.wgsl: vec4 workgroup arrays, a
 * quarter of the loads, and the next k-slice fetched from global memory during the FMAs).
 */
export type GemmInner = "scalar" | "vec4";

/** Split-K of the tiled gemm: chosen from the shape ("auto"), never ("off"), or at most this many k-slices. */
export type SplitK = "auto" | "off" | number;

export interface GemmTile {
  tm: 1 | 2 | 4 | 8;
  tn: 4 | 8;
  bk: 8 | 16 | 32;
}

/**
 * The tile shapes (a workgroup computes a 16·TM × 16·TN tile of C) whose workgroup memory,
 * at most 4·BK·(16·TM + 16·TN + 8) bytes, fits WebGPU's default 16 KiB. The 1- and 2-row tiles
 * give 4 and 2 times the workgroups of 4x4x16 on the autoencoder's few-tile shapes.
 */
export const GEMM_TILES: Record<string, GemmTile> = {
  "4x4x16": { tm: 4, tn: 4, bk: 16 },
  "4x8x16": { tm: 4, tn: 8, bk: 16 },
  "8x4x16": { tm: 8, tn: 4, bk: 16 },
  "8x8x8": { tm: 8, tn: 8, bk: 8 },
  "2x4x16": { tm: 2, tn: 4, bk: 16 },
  "2x4x32": { tm: 2, tn: 4, bk: 32 },
  "1x4x16": { tm: 1, tn: 4, bk: 16 },
};

export interface KernelContext {
  device: GPUDevice;
  pipelines: PipelineCache;
  recorder: Recorder;
  /** Device status words (NotPositiveDefinite reports), bound as an operand by Cholesky. */
  status: GpuStorage;
  /**
   * Whether batched gemms run as one shared-memory-tiled dispatch (hardware GPUs) or one
   * register-tiled gemm per entry (software adapters, where workgroup barriers are expensive).
   */
  tiledBatches: boolean;
  /** The kernel of single gemms: register-tiled (gemm.wgsl) or shared-memory-tiled (gemm_tiled.wgsl). */
  gemmKernel: GemmKernel;
  /** Per-invocation tile TM × TN and k-slice BK of the shared-memory-tiled gemm. */
  gemmTile: GemmTile;
  /** Inner loop of the shared-memory-tiled gemm. */
  gemmInner: GemmInner;
  /** Split-K of the shared-memory-tiled gemm (gemmBatch.ts). */
  splitK: SplitK;
  /** Scratch storage `slot` of at least `elements` float32; its contents are the caller's until the next call for that slot. */
  scratch(slot: number, elements: number): GpuStorage;
}

/**
 * The scratch slots, one per use, so that no two uses that can be live at once share one: gemm's
 * packed operands, the first pass of a large sum, the Cholesky's inverted diagonal blocks, the
 * inverted triangular factors of the solves (lowerInverse.ts), their doubling steps' products,
 * the solves' intermediate results, the per-chunk sums of a loss value, and split-K gemm's
 * partial products.
 */
export const SCRATCH = { packedA: 0, packedB: 1, partialSums: 2, inverses: 3, solution: 4, lowerInverses: 5, inverseProducts: 6, lossPartials: 7, splitKPartials: 8 } as const;

/** Scratch buffers reused across ops (ops run in order, so reuse by a later op is safe). */
export class ScratchPool {
  private readonly slots: GpuStorage[] = [];
  constructor(
    private readonly device: GPUDevice,
    private readonly beforeRelease: (s: GpuStorage) => void,
  ) {}

  get(slot: number, elements: number): GpuStorage {
    const current = this.slots[slot];
    if (current && current.elements >= elements) return current;
    if (current) {
      this.beforeRelease(current);
      current.freed = true;
      current.buffer.destroy();
    }
    const grown = createStorage(this.device, Math.max(elements, Math.ceil((current?.elements ?? 0) * 1.5)), `scratch ${slot}`);
    this.slots[slot] = grown;
    return grown;
  }

  destroy(): void {
    for (const s of this.slots) if (s) s.buffer.destroy();
    this.slots.length = 0;
  }
}

/** A zero-filled float32 storage buffer of `elements` (rounded up to whole vec4s). */
export function createStorage(device: GPUDevice, elements: number, label: string): GpuStorage {
  const bytes = Math.max(16, Math.ceil(elements / 4) * 16);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const buffer = device.createBuffer({ label, size: bytes, usage });
  return new GpuStorage(buffer, elements);
}
