// Which way the GPU is waited for: spinning on hardware adapters, calm polling on software ones.
// Pure logic with fake adapter infos and a fake bun-webgpu ticker (no GPU needed).
import { describe, expect, it } from "vitest";
import { choosePolling, describeAdapter } from "../../src/backend/webgpu/device/adapter.ts";
import { installPolling, pollingModeFor } from "../../src/backend/webgpu/device/calmPolling.ts";

const H200 = { vendor: "nvidia", architecture: "hopper", device: "NVIDIA H200", description: "", backendType: 6, adapterType: 1 };
const LAVAPIPE = { vendor: "mesa", architecture: "software", device: "llvmpipe-llvm-15-0-6-256-bits", description: "llvmpipe: Mesa 25.0.7", backendType: 6, adapterType: 3 };
const SWIFTSHADER = { vendor: "google", device: "SwiftShader Device (Subzero)", adapterType: 4 };

describe("polling mode selection", () => {
  it("spins on a hardware adapter and polls calmly on software ones", () => {
    expect(pollingModeFor(describeAdapter(H200))).toBe("spin");
    expect(pollingModeFor(describeAdapter(LAVAPIPE))).toBe("calm");
    expect(pollingModeFor(describeAdapter(SWIFTSHADER))).toBe("calm");
  });

  it("an explicit option wins over KFRA_POLLING, which wins over the adapter kind", () => {
    const hw = describeAdapter(H200);
    expect(choosePolling("calm", "spin", hw)).toBe("calm");
    expect(choosePolling("auto", "calm", hw)).toBe("calm");
    expect(choosePolling("auto", "spin", describeAdapter(LAVAPIPE))).toBe("spin");
    expect(choosePolling("auto", "", hw)).toBe("spin");
    expect(choosePolling("auto", undefined, describeAdapter(LAVAPIPE))).toBe("calm");
    expect(() => choosePolling("auto", "busy", hw)).toThrow(/KFRA_POLLING: unknown value 'busy'/);
  });
});

/** A fake bun-webgpu ticker with one pending wait for `ms`; counts processEvents calls after `from` ms. */
async function pollsDuringWait(mode: "spin" | "calm", ms: number, from: number): Promise<number> {
  const start = performance.now();
  let late = 0;
  const ticker = {
    _ticking: false,
    _waiting: 1,
    hasWaiting() {
      return this._waiting > 0;
    },
    processEvents() {
      const t = performance.now() - start;
      if (t >= from) late++;
      if (t >= ms) this._waiting = 0;
    },
    scheduleTick() {},
  };
  expect(installPolling({ _ticker: ticker }, mode)).toBe(true);
  ticker.scheduleTick();
  while (ticker._ticking || ticker.hasWaiting()) await new Promise((r) => setTimeout(r, 2));
  return late;
}

describe("polling behaviour", () => {
  it("spin keeps polling on setImmediate; calm falls back to a ~1 ms timer after a short spin", async () => {
    // Between 5 and 30 ms: a timer at ~1 ms gives at most ~25 polls, setImmediate thousands.
    const calm = await pollsDuringWait("calm", 30, 5);
    const spin = await pollsDuringWait("spin", 30, 5);
    expect(calm).toBeLessThanOrEqual(40);
    expect(spin).toBeGreaterThan(200);
  });

  it("refuses a GPU object without bun-webgpu's ticker", () => {
    expect(installPolling({}, "spin")).toBe(false);
  });
});
