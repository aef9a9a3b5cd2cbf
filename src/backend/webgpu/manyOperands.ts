// Operands of batched small ops (dotMany, traceBatch, addIdentityBatch) that may lie in several
// storages: the entries are cut into consecutive groups whose storages fit one dispatch's bindings,
// and the kernel picks an entry's storage by number through a generated `ld_in(b, i)` / `st_in(b, i, v)`.
import { bindOperands, type BoundOperands } from "./operands.ts";
import type { GpuStorage } from "./storage.ts";

/**
 * WebGPU's default maxStorageBuffersPerShaderStage is 8 (the backend requests no higher limits):
 * one goes to the parameter table, one to a separate output, the rest to the entries' storages.
 */
const STORAGE_BINDINGS = 8;
export const MAX_INPUT_STORAGES = STORAGE_BINDINGS - 2;
export const MAX_INOUT_STORAGES = STORAGE_BINDINGS - 1;

export interface StorageGroup<E> {
  entries: E[];
  /** The distinct storages of the group's entries, in first-use order; an entry names one by its index here. */
  storages: GpuStorage[];
}

/** Consecutive entries grouped so that each group uses at most `max` distinct storages. */
export function groupByStorage<E>(entries: readonly E[], storagesOf: (e: E) => GpuStorage[], max: number): StorageGroup<E>[] {
  const groups: StorageGroup<E>[] = [];
  let current: StorageGroup<E> | null = null;
  for (const e of entries) {
    const needed = [...new Set(storagesOf(e))];
    const fresh = current ? needed.filter((s) => !current!.storages.includes(s)) : needed;
    if (!current || current.storages.length + fresh.length > max) {
      current = { entries: [], storages: [] };
      groups.push(current);
    }
    for (const s of needed) if (!current.storages.includes(s)) current.storages.push(s);
    current.entries.push(e);
  }
  return groups;
}

/**
 * Binds `storages` as in0 … in(k−1) (read-only unless `writeInputs`) and, when given, `out`
 * (written; it may be one of the inputs), with `ld_in(b, i)` (and `st_in(b, i, v)`) on storage number b.
 */
export function bindMany(storages: readonly GpuStorage[], out: GpuStorage | null, writeInputs: boolean): BoundOperands {
  const names = storages.map((_, b) => `in${b}`);
  const written = writeInputs ? [...names] : [];
  if (out) written.push("out");
  const bound = bindOperands(out ? [...names, "out"] : names, out ? [...storages, out] : [...storages], written);
  const key = `${bound.pattern}:${+writeInputs}`;
  let wgsl = wgslCache.get(key);
  if (wgsl === undefined) {
    const cases = (body: (b: number) => string) =>
      names.map((_, b) => (b === names.length - 1 ? `    default: { ${body(b)} }` : `    case ${b}u: { ${body(b)} }`)).join("\n");
    wgsl = `${bound.wgsl}\nfn ld_in(b: u32, i: u32) -> f32 {\n  switch b {\n${cases((b) => `return ld_in${b}(i);`)}\n  }\n}`;
    if (writeInputs) wgsl += `\nfn st_in(b: u32, i: u32, v: f32) {\n  switch b {\n${cases((b) => `st_in${b}(i, v);`)}\n  }\n}`;
    wgslCache.set(key, wgsl);
  }
  return { ...bound, wgsl };
}

/** bindMany's WGSL by binding pattern: the batched small ops bind the same storages every update. */
const wgslCache = new Map<string, string>();
