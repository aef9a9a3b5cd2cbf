// Wraps a backend so that the time spent inside each op is summed by op family. Exact for the CPU
// backend, whose ops run synchronously; for WebGPU it measures only the time to enqueue.
import { type Backend } from "../src/index.ts";

export const OP_FAMILY: Record<string, string> = {
  gemm: "gemm",
  cholesky: "cholesky + solves",
  triangularSolve: "cholesky + solves",
  choleskyBatch: "cholesky + solves",
  triangularSolveBatch: "cholesky + solves",
  kroneckerSolveBatch: "cholesky + solves",
};

export function timedBackend(backend: Backend): { backend: Backend; totals: Map<string, number> } {
  const totals = new Map<string, number>();
  const wrapped = new Proxy(backend, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || ["download", "flush", "dispose", "alloc", "view", "free"].includes(String(property))) {
        return typeof value === "function" ? value.bind(target) : value;
      }
      const family = OP_FAMILY[String(property)] ?? "other ops";
      return (...args: unknown[]) => {
        const start = performance.now();
        const result = value.apply(target, args);
        totals.set(family, (totals.get(family) ?? 0) + performance.now() - start);
        return result;
      };
    },
  });
  return { backend: wrapped, totals };
}
