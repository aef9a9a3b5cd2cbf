// Binds a kernel's operands to storage bindings. Operands that share a GPUBuffer (an output that
// aliases an input, two views of one storage) share one binding: WebGPU forbids binding one buffer
// twice when one binding is writable. The kernel reads and writes through generated accessors
// `ld_<name>(i)` / `st_<name>(i, v)`, so the WGSL does not care which operands coincide.
import type { StorageBindingSpec } from "../../gpu/pipelines.ts";
import type { GpuStorage } from "./storage.ts";

export interface BoundOperands {
  /** Distinct buffers in binding order (binding 1, 2, ...). */
  buffers: GpuStorage[];
  storage: StorageBindingSpec[];
  /** Which binding each operand uses, e.g. "0.1.0"; part of the pipeline key. */
  pattern: string;
  /** WGSL binding declarations and accessors. */
  wgsl: string;
}

export function bindOperands(names: string[], storages: GpuStorage[]): BoundOperands {
  const buffers: GpuStorage[] = [];
  const slots: number[] = [];
  for (const s of storages) {
    let slot = buffers.indexOf(s);
    if (slot < 0) {
      slot = buffers.length;
      buffers.push(s);
    }
    slots.push(slot);
  }
  return { buffers, storage: buffers.map(() => ({ readOnly: false })), pattern: slots.join("."), wgsl: operandWgsl(names, slots) };
}

const wgslCache = new Map<string, string>();

function operandWgsl(names: string[], slots: number[]): string {
  const key = names.join(",") + "|" + slots.join(".");
  let text = wgslCache.get(key);
  if (text !== undefined) return text;
  const bindings = Math.max(...slots) + 1;
  const lines: string[] = [];
  for (let b = 0; b < bindings; b++) {
    lines.push(`@group(0) @binding(${b + 1}) var<storage, read_write> buf${b}: array<f32>;`);
  }
  names.forEach((name, i) => {
    lines.push(`fn ld_${name}(i: u32) -> f32 { return buf${slots[i]}[i]; }`);
    lines.push(`fn st_${name}(i: u32, v: f32) { buf${slots[i]}[i] = v; }`);
  });
  text = lines.join("\n");
  wgslCache.set(key, text);
  return text;
}

/** Workgroup counts for `threads` invocations of a 1-D kernel, split over x and y past 65535 groups. */
export function grid1d(threads: number, workgroupSize: number): { groups: [number, number]; gridX: number } {
  const groups = Math.max(1, Math.ceil(threads / workgroupSize));
  const gx = Math.min(groups, 65535);
  const gy = Math.ceil(groups / gx);
  return { groups: [gx, gy], gridX: gx * workgroupSize };
}
