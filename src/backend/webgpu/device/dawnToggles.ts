// A DawnTogglesDescriptor to chain into requestDevice (bun-webgpu passes `nextInChain` through as a
// pointer but has no helper for it). Used to turn off Dawn's timestamp quantisation, which clears
// the low 16 bits (65.5 µs) of every timestamp query, when profiling kernels, and to turn on the
// toggles named in KFRA_WEBGPU_DAWN_TOGGLES (adapter.ts). Dawn ignores a toggle name it does not
// know, or one of another stage (instance, adapter), without a word; `validationSkipped` tells
// whether skip_validation took effect.
import { ptr } from "bun:ffi";

/** WGPUSType_DawnTogglesDescriptor in bun-webgpu 0.1.7's Dawn (its WGPUSType table). */
const S_TYPE_DAWN_TOGGLES = 327690;

export interface ChainedToggles {
  /** The pointer to pass as the device descriptor's nextInChain. */
  pointer: number;
  /** The memory the pointer refers to: keep it referenced until requestDevice has resolved. */
  keepAlive: unknown[];
}

/**
 * struct WGPUDawnTogglesDescriptor { WGPUChainedStruct chain {next, sType}; size_t enabledToggleCount;
 * const char* const* enabledToggles; size_t disabledToggleCount; const char* const* disabledToggles; }
 */
export function dawnToggles(toggles: { enabled?: string[]; disabled?: string[] }): ChainedToggles {
  const keepAlive: unknown[] = [];
  const list = (names: string[]): [bigint, bigint] => {
    if (names.length === 0) return [0n, 0n];
    const strings = names.map((n) => new TextEncoder().encode(`${n}\0`));
    const table = new BigUint64Array(strings.map((s) => BigInt(ptr(s))));
    keepAlive.push(strings, table);
    return [BigInt(names.length), BigInt(ptr(table))];
  };
  const [enabledCount, enabled] = list(toggles.enabled ?? []);
  const [disabledCount, disabled] = list(toggles.disabled ?? []);
  const desc = new Uint8Array(48);
  const view = new DataView(desc.buffer);
  view.setBigUint64(0, 0n, true);
  view.setUint32(8, S_TYPE_DAWN_TOGGLES, true);
  view.setBigUint64(16, enabledCount, true);
  view.setBigUint64(24, enabled, true);
  view.setBigUint64(32, disabledCount, true);
  view.setBigUint64(40, disabled, true);
  keepAlive.push(desc);
  return { pointer: ptr(desc), keepAlive };
}

/** Toggle names from a comma list (KFRA_WEBGPU_DAWN_TOGGLES); null names the first bad one. */
export function parseToggleList(text: string | undefined): { names: string[]; bad: string | null } {
  const names = (text ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  return { names, bad: names.find((n) => !/^[a-z0-9_]+$/.test(n)) ?? null };
}

/**
 * Whether the device skips validation: a sampler whose lodMinClamp exceeds its lodMaxClamp is
 * invalid in WebGPU (bun-webgpu does not check it itself), so with validation on Dawn reports it.
 */
export async function validationSkipped(device: GPUDevice): Promise<boolean> {
  device.pushErrorScope("validation");
  device.createSampler({ label: "skip_validation probe", lodMinClamp: 4, lodMaxClamp: 1 });
  return (await device.popErrorScope()) === null;
}
