// Binds a kernel's operands to storage bindings. Operands that share a GPUBuffer (an output that
// aliases an input, two views of one storage) share one binding: WebGPU forbids binding one buffer
// twice when one binding is writable. The kernel reads and writes through generated accessors
// `ld_<name>(i)` / `st_<name>(i, v)`, so the WGSL does not care which operands coincide.
import type { StorageBindingSpec } from "./device/pipelines.ts";
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

/**
 * `written` (default: every operand) names the operands the kernel stores to; a binding that no
 * written operand uses is declared read-only (cached on the way in on most GPUs) and gets no `st_`.
 */
export function bindOperands(names: string[], storages: GpuStorage[], written?: readonly string[]): BoundOperands {
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
  const writes = names.map((n) => written === undefined || written.includes(n));
  const writable = buffers.map((_, b) => slots.some((s, i) => s === b && writes[i]));
  const storage = writable.map((w) => ({ readOnly: !w }));
  const pattern = slots.join(".") + ":" + writable.map((w) => (w ? "w" : "r")).join("");
  return { buffers, storage, pattern, wgsl: operandWgsl(names, slots, writes, writable) };
}

const wgslCache = new Map<string, string>();

function operandWgsl(names: string[], slots: number[], writes: boolean[], writable: boolean[]): string {
  const key = names.join(",") + "|" + slots.join(".") + "|" + writes.map(Number).join("");
  let text = wgslCache.get(key);
  if (text !== undefined) return text;
  const lines: string[] = [];
  writable.forEach((w, b) => {
    lines.push(`@group(0) @binding(${b + 1}) var<storage, ${w ? "read_write" : "read"}> buf${b}: array<f32>;`);
  });
  names.forEach((name, i) => {
    lines.push(`fn ld_${name}(i: u32) -> f32 { return buf${slots[i]}[i]; }`);
    if (writes[i]) lines.push(`fn st_${name}(i: u32, v: f32) { buf${slots[i]}[i] = v; }`);
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
