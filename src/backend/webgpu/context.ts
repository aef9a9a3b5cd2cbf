// What every kernel wrapper needs: the device, the pipeline cache and the recorder.
import type { PipelineCache } from "../../gpu/pipelines.ts";
import type { Recorder } from "./recorder.ts";
import { GpuStorage } from "./storage.ts";

export interface KernelContext {
  device: GPUDevice;
  pipelines: PipelineCache;
  recorder: Recorder;
  /** Device status words (NotPositiveDefinite reports), bound as an operand by Cholesky. */
  status: GpuStorage;
}

/** A zero-filled float32 storage buffer of `elements` (rounded up to whole vec4s). */
export function createStorage(device: GPUDevice, elements: number, label: string): GpuStorage {
  const bytes = Math.max(16, Math.ceil(elements / 4) * 16);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const buffer = device.createBuffer({ label, size: bytes, usage });
  return new GpuStorage(buffer, elements);
}
