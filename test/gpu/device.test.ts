// The WebGPU device module: adapter refusal (forced, since this machine has a real Vulkan driver),
// software detection, kernel-named compile errors, the alloc limit, lazy submission and ordering.
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { createWebGpuBackend, type WebGpuBackend } from "../../src/backend/webgpu/index.ts";
import { installCalmPolling } from "../../src/backend/webgpu/device/calmPolling.ts";
import { isSoftwareAdapter, NoGpuAdapterError, NULL_ADAPTER_INFO, requireUsableAdapter } from "../../src/backend/webgpu/device/adapter.ts";
import { KernelCompileError, PipelineCache } from "../../src/backend/webgpu/device/pipelines.ts";
import { seedKey, threefry2x32 } from "../../src/backend/random.ts";

const backend: WebGpuBackend = await createWebGpuBackend();
afterAll(() => backend.dispose());

describe("adapter acquisition", () => {
  it("refuses Dawn's null backend with NoGpuAdapterError (exit code 2) naming the setup script", async () => {
    const err = await createWebGpuBackend({ forceNullAdapter: true }).catch((e) => e);
    expect(err).toBeInstanceOf(NoGpuAdapterError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain("bash scripts/setup.sh");
    expect(err.message.split("\n")).toHaveLength(1);
  });

  it("refuses a missing adapter and a fake null-backend adapter", () => {
    expect(() => requireUsableAdapter(null)).toThrow(NoGpuAdapterError);
    expect(() => requireUsableAdapter({ info: { device: "null-backend" } })).toThrow(/null backend/);
    expect(() => requireUsableAdapter({ info: NULL_ADAPTER_INFO })).toThrow(NoGpuAdapterError);
    const real = { info: { device: "NVIDIA H100", vendor: "nvidia", backendType: 6, adapterType: 1 } };
    expect(requireUsableAdapter(real)).toBe(real);
  });

  it("the smoke CLI prints one line and exits 2 when KFRA_FORCE_NULL_ADAPTER=1", () => {
    const run = spawnSync(process.execPath, ["src/cli/smoke.ts"], {
      env: { ...process.env, KFRA_FORCE_NULL_ADAPTER: "1" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain("scripts/setup.sh");
  });

  it("classifies lavapipe/llvmpipe and SwiftShader as software, a discrete GPU as hardware", () => {
    expect(isSoftwareAdapter({ vendor: "mesa", architecture: "software", device: "llvmpipe-llvm-15-0-6-256-bits", adapterType: 3 })).toBe(true);
    expect(isSoftwareAdapter({ vendor: "google", device: "SwiftShader Device (Subzero)" })).toBe(true);
    expect(isSoftwareAdapter({ vendor: "nvidia", architecture: "hopper", device: "NVIDIA H100 80GB HBM3", adapterType: 1 })).toBe(false);
    expect(backend.adapter.software).toBe(isSoftwareAdapter({ device: backend.adapter.name, adapterType: backend.adapter.software ? 3 : 1 }));
    expect(backend.info.device).toContain(backend.adapter.name);
  });

  it("the polling fix finds bun-webgpu's ticker (fails loudly if bun-webgpu's internals change)", () => {
    const fakeGpu = { _ticker: { _ticking: false, hasWaiting: () => false, processEvents: () => {}, scheduleTick: () => {} } };
    expect(installCalmPolling(fakeGpu)).toBe(true);
    expect(installCalmPolling({})).toBe(false);
  });
});

describe("pipelines", () => {
  it("a WGSL compile error becomes KernelCompileError naming the kernel", async () => {
    const cache = new PipelineCache(backend.device);
    cache.get("broken", "my broken kernel", [{ readOnly: false }], () => "@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }");
    const err = await cache.checkCompiled().catch((e) => e);
    expect(err).toBeInstanceOf(KernelCompileError);
    expect(err.message).toContain("my broken kernel");
  });
});

describe("random", () => {
  it("the WGSL Threefry-2x32-20 gives bit-identical words to src/backend/random.ts", async () => {
    for (const [seed, counter] of [
      [0, 0],
      [12345, 7],
      [2 ** 40 + 99, 2 ** 32 - 1],
    ]) {
      const out = backend.alloc(3, 2002);
      backend.threefryWords(out, seed, counter);
      const got = new Uint32Array((await backend.download(out)).buffer);
      const [k0, k1] = seedKey(seed);
      let wrong = 0;
      for (let e = 0; e < 3 * 2002; e++) {
        if (got[e] !== threefry2x32(k0, k1, e >> 1, counter)[e & 1]) wrong++;
      }
      expect(wrong).toBe(0);
    }
  });
});

describe("memory and ordering", () => {
  it("alloc past maxStorageBufferBindingSize names the limit", () => {
    expect(() => backend.alloc(backend.info.maxElements + 1, 1)).toThrow(/maxStorageBufferBindingSize|maxBufferSize/);
  });

  it("uploads and recorded ops stay in program order; ops between downloads share one submit", async () => {
    const t = backend.alloc(5, 9);
    const v = backend.view(t, 1, 2, 3, 4);
    backend.fill(t, 1);
    backend.upload(v, Array.from({ length: 12 }, (_, i) => i));
    backend.scale(2, v);
    const before = backend.stats.submits;
    for (let i = 0; i < 10; i++) backend.scale(1, t);
    const got = await backend.download(t);
    expect(backend.stats.submits - before).toBe(1);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 9; j++) {
        const inside = i >= 1 && i < 4 && j >= 2 && j < 6;
        expect(got[i * 9 + j]).toBe(inside ? 2 * ((i - 1) * 4 + (j - 2)) : 1);
      }
    }
    expect(Array.from(await backend.download(v))).toEqual(Array.from({ length: 12 }, (_, i) => 2 * i));
  });

  it("free releases a tensor; using it afterwards is an error", () => {
    const t = backend.alloc(3, 3);
    backend.free(t);
    expect(() => backend.fill(t, 0)).toThrow(/freed/);
  });
});
