// Kernel profiling by timestamp queries (bench step --profile) and the recorder's counts, on the
// adapter of this machine (lavapipe offers timestamp-query; a test skips where the adapter does not).
import { afterAll, describe, expect, it } from "vitest";
import { createWebGpuBackend, type WebGpuBackend } from "../../src/backend/webgpu/index.ts";
import { kernelLabel } from "../../src/backend/webgpu/profiler.ts";

const backend: WebGpuBackend = await createWebGpuBackend({ timestampQuery: true });
afterAll(() => backend.dispose());

describe("kernel labels", () => {
  it("name gemm by the power-of-two class of m, n, k and say when only the lower triangle is written", () => {
    expect(kernelLabel("gemm", [1000, 785, 1000, 0])).toBe("gemm m,n,k≤1024,1024,1024");
    expect(kernelLabel("gemm", [30, 1, 250, 1])).toBe("gemm m,n,k≤32,1,256 lower");
    expect(kernelLabel("axpby", [1, 2, 3])).toBe("axpby");
  });
});

describe("recorder counts", () => {
  it("counts a download as one read-back and its submit", async () => {
    const t = backend.alloc(4, 4);
    await backend.flush();
    const before = { ...backend.stats };
    backend.scale(2, t);
    backend.scale(3, t);
    await backend.download(t);
    const after = backend.stats;
    expect(after.dispatches - before.dispatches).toBe(2);
    expect(after.submits - before.submits).toBe(1);
    expect(after.readBacks - before.readBacks).toBe(1);
    backend.free(t);
  });
});

describe("profiling", () => {
  it.skipIf(backend.profiling === null)("times each dispatch under its label, scoped by the op that issued it, without changing results", async () => {
    const profiling = backend.profiling!;
    const n = 256;
    const a = backend.alloc(n, n);
    const b = backend.alloc(n, n);
    const c = backend.alloc(n, n);
    backend.upload(a, Float32Array.from({ length: n * n }, (_, i) => (i % 7) - 3));
    backend.upload(b, Float32Array.from({ length: n * n }, (_, i) => (i % 5) - 2));
    await backend.flush();
    profiling.start();
    profiling.setScope("gemm");
    backend.gemm(a, b, c);
    profiling.setScope("scale");
    for (let i = 0; i < 5; i++) backend.scale(1, c);
    profiling.setScope("cholesky");
    backend.scale(1, a); // a kernel issued inside another op is labelled "<op> › <kernel>"
    profiling.setScope(undefined);
    const got = await backend.download(c);
    const times = await profiling.stop();
    const byLabel = new Map(times.map((k) => [k.label, k]));
    expect(byLabel.get("gemm m,n,k≤256,256,256")?.count).toBe(1);
    expect(byLabel.get("scale")?.count).toBe(5);
    expect(byLabel.get("cholesky › scale")?.count).toBe(1);
    for (const k of times) expect(k.ms).toBeGreaterThanOrEqual(0);
    // 256³·2 = 33.5 MFLOP takes well over one 65.5 µs timestamp quantum on any adapter here.
    expect(byLabel.get("gemm m,n,k≤256,256,256")!.ms).toBeGreaterThan(0);
    // Largest first.
    expect(times.map((k) => k.ms)).toEqual([...times.map((k) => k.ms)].sort((x, y) => y - x));
    // Entries of C = AB are integers below 2²⁴: exact in float32.
    const av = Float32Array.from({ length: n * n }, (_, i) => (i % 7) - 3);
    const bv = Float32Array.from({ length: n * n }, (_, i) => (i % 5) - 2);
    for (const [i, j] of [[0, 0], [17, 200], [255, 255]]) {
      let s = 0;
      for (let q = 0; q < n; q++) s += av[i * n + q] * bv[q * n + j];
      expect(got[i * n + j]).toBe(s);
    }
    // After stop, dispatches are no longer timed.
    backend.scale(1, c);
    await backend.flush();
    expect(await profiling.stop()).toEqual([]);
    for (const t of [a, b, c]) backend.free(t);
  });
});
