// Dawn device toggles (KFRA_WEBGPU_DAWN_TOGGLES): the device opens with the ones worth trying on a
// GPU, skip_validation demonstrably takes effect (Dawn ignores unknown names silently, so the probe
// is how a run can tell), and the tiled gemm still matches a float64 product with the conformance
// bound (k+2)·u·Σ|a||b| without robustness clamps or workgroup-memory zeroing.
import { describe, expect, it } from "vitest";
import { probeAdapter } from "../../src/backend/index.ts";
import { parseToggleList, validationSkipped } from "../../src/backend/webgpu/device/dawnToggles.ts";

const U = 2 ** -24;
const hasAdapter = (await probeAdapter()).kind !== "none";

describe("Dawn toggle lists", () => {
  it("splits a comma list and names the first bad entry", () => {
    expect(parseToggleList(" skip_validation, disable_robustness ,")).toEqual({ names: ["skip_validation", "disable_robustness"], bad: null });
    expect(parseToggleList(undefined)).toEqual({ names: [], bad: null });
    expect(parseToggleList("skip_validation,Bad-Name").bad).toBe("Bad-Name");
  });
});

describe.skipIf(!hasAdapter)("webgpu with Dawn toggles", async () => {
  const { createWebGpuBackend } = await import("../../src/backend/webgpu/index.ts");

  it("without toggles, validation is on", async () => {
    const b = await createWebGpuBackend();
    try {
      expect(b.dawnToggles).toEqual({ enabled: [], validationSkipped: null });
      expect(await validationSkipped(b.device)).toBe(false);
    } finally {
      b.dispose();
    }
  });

  it("skip_validation, disable_robustness and disable_workgroup_init: validation skipped, tiled gemm still right", async () => {
    const toggles = ["skip_validation", "disable_robustness", "disable_workgroup_init"];
    const b = await createWebGpuBackend({ dawnToggles: toggles, gemm: "tiled", tiledBatches: true, gemmInner: "vec4", splitK: "auto" });
    try {
      expect(b.dawnToggles).toEqual({ enabled: toggles, validationSkipped: true });
      const [m, n, k] = [45, 70, 300];
      let s = 7;
      const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5);
      const av = Float32Array.from({ length: m * k }, next);
      const bv = Float32Array.from({ length: k * n }, next);
      const [A, B, C] = [b.alloc(m, k), b.alloc(k, n), b.alloc(m, n)];
      b.upload(A, av);
      b.upload(B, bv);
      b.gemm(A, B, C);
      const got = await b.download(C);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let want = 0;
          let mag = 0;
          for (let p = 0; p < k; p++) {
            want += av[i * k + p] * bv[p * n + j];
            mag += Math.abs(av[i * k + p] * bv[p * n + j]);
          }
          expect(Math.abs(got[i * n + j] - want), `C[${i},${j}]`).toBeLessThanOrEqual((k + 2) * U * mag);
        }
      }
    } finally {
      b.dispose();
    }
  });
});
