// Use after dispose(): every backend refuses it the same way. The backend's ops are wrapped so that
// once dispose() has run, any call (an op, alloc, upload, download, a second dispose excepted)
// throws a one-line error instead of computing on freed memory or silently on stale buffers.
import { UsageError } from "../errors.ts";
import type { Backend } from "./types.ts";

export function refusingAfterDispose<B extends Backend>(backend: B): B {
  let disposed = false;
  const guarded = Object.create(Object.getPrototypeOf(backend)) as B;
  for (const [key, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(backend))) {
    const value = descriptor.value;
    if (typeof value !== "function") {
      Object.defineProperty(guarded, key, descriptor);
      continue;
    }
    const op = value as (...args: unknown[]) => unknown;
    const wrapped =
      key === "dispose"
        ? () => {
            if (disposed) return;
            disposed = true;
            op.call(backend);
          }
        : (...args: unknown[]) => {
            if (disposed) throw new UsageError(`${backend.info.name} backend: ${key}() after dispose()`);
            return op.apply(backend, args);
          };
    Object.defineProperty(guarded, key, { ...descriptor, value: wrapped });
  }
  return guarded;
}
