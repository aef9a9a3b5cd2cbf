// The storage behind a WebGPU tensor: one GPUBuffer of float32, bound whole to every kernel
// (views carry offset and stride in elements, passed as uniforms).
import type { Tensor } from "../types.ts";

let nextStorageId = 1;

export class GpuStorage {
  readonly id = nextStorageId++;
  freed = false;
  constructor(
    readonly buffer: GPUBuffer,
    readonly elements: number,
  ) {}
}

export interface GpuTensor extends Tensor {
  readonly storage: GpuStorage;
}

/** The storage of a tensor, refusing tensors of another backend or freed ones. */
export function storageOf(op: string, t: Tensor): GpuStorage {
  const s = t.storage;
  if (!(s instanceof GpuStorage)) throw new TypeError(`${op}: tensor does not belong to the webgpu backend`);
  if (s.freed) throw new Error(`${op}: tensor's storage was freed`);
  return s;
}

/** Index one past the last element the view touches. */
export function viewEnd(t: Tensor): number {
  if (t.rows === 0 || t.cols === 0) return t.offset;
  return t.offset + (t.rows - 1) * t.stride + t.cols;
}

