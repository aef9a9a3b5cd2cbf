// A DawnTogglesDescriptor to chain into requestDevice (bun-webgpu passes `nextInChain` through as a
// pointer but has no helper for it). Used to turn off Dawn's timestamp quantisation, which clears
// the low 16 bits (65.5 µs) of every timestamp query, when profiling kernels.
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
export function dawnToggles(disabled: string[]): ChainedToggles {
  const names = disabled.map((n) => new TextEncoder().encode(`${n}\0`));
  const table = new BigUint64Array(names.map((n) => BigInt(ptr(n))));
  const desc = new Uint8Array(48);
  const view = new DataView(desc.buffer);
  view.setBigUint64(0, 0n, true);
  view.setUint32(8, S_TYPE_DAWN_TOGGLES, true);
  view.setBigUint64(16, 0n, true);
  view.setBigUint64(24, 0n, true);
  view.setBigUint64(32, BigInt(names.length), true);
  view.setBigUint64(40, names.length > 0 ? BigInt(ptr(table)) : 0n, true);
  return { pointer: ptr(desc), keepAlive: [names, table, desc] };
}
