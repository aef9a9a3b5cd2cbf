// When the WebGPU backend hands recorded work to the device: at read-backs, every `submitEvery`
// dispatches, and (KFRA_WEBGPU_FIRST_SUBMIT) once `firstSubmit` dispatches follow a read-back; and
// a first-order step, which starts its loss's read-back without waiting for it, leaves its work
// submitted when it returns.
import { afterAll, describe, expect, test } from "vitest";
import { probeAdapter } from "../../src/backend/index.ts";
import { UsageError } from "../../src/errors.ts";
import type { WebGpuBackend } from "../../src/backend/webgpu/index.ts";
import { FirstOrderOptimizer } from "../../src/optim/firstOrder.ts";
import { tinyProblem, tinySpec } from "../helpers/tinyNet.ts";
import { FIRST_ORDER_DEFAULTS } from "../helpers/settings.ts";

const hasAdapter = (await probeAdapter()).kind !== "none";

// The WebGPU module (bun-webgpu) is loaded only where an adapter is, as in batched.test.ts.
test.skipIf(!hasAdapter)("KFRA_WEBGPU_FIRST_SUBMIT: off by default, a count of dispatches when set, a usage error naming it otherwise", async () => {
  const { kernelChoices } = await import("../../src/backend/webgpu/index.ts");
  expect(kernelChoices({}, false, {}).firstSubmit).toBe(16);
  expect(kernelChoices({}, true, {}).firstSubmit).toBe(0);
  expect(kernelChoices({}, true, { KFRA_WEBGPU_FIRST_SUBMIT: "12" }).firstSubmit).toBe(12);
  expect(kernelChoices({ firstSubmit: 8 }, true, { KFRA_WEBGPU_FIRST_SUBMIT: "12" }).firstSubmit).toBe(8);
  expect(() => kernelChoices({}, false, { KFRA_WEBGPU_FIRST_SUBMIT: "soon" })).toThrow(UsageError);
  expect(() => kernelChoices({}, false, { KFRA_WEBGPU_FIRST_SUBMIT: "-1" })).toThrow(/KFRA_WEBGPU_FIRST_SUBMIT/);
});

const opened: WebGpuBackend[] = [];
async function open(options: { firstSubmit?: number; submitEvery?: number }): Promise<WebGpuBackend> {
  const { createWebGpuBackend } = await import("../../src/backend/webgpu/index.ts");
  const backend = await createWebGpuBackend(options);
  opened.push(backend);
  return backend;
}
afterAll(() => opened.forEach((b) => b.dispose()));

describe.skipIf(!hasAdapter)("webgpu submits", () => {
  /** Submits made while recording `n` fills right after a read-back. */
  async function submitsWhileRecording(backend: WebGpuBackend, n: number): Promise<number> {
    const t = backend.alloc(4, 4);
    await backend.flush();
    const before = backend.stats.submits;
    for (let i = 0; i < n; i++) backend.fill(t, i);
    const submits = backend.stats.submits - before;
    expect(Array.from(await backend.download(t))).toEqual(Array(16).fill(n - 1));
    backend.free(t);
    return submits;
  }

  test("firstSubmit: the first chunk after a read-back goes to the device early, once", async () => {
    expect(await submitsWhileRecording(await open({ submitEvery: 0, firstSubmit: 0 }), 20)).toBe(0);
    expect(await submitsWhileRecording(await open({ submitEvery: 0, firstSubmit: 4 }), 20)).toBe(1);
    expect(await submitsWhileRecording(await open({ submitEvery: 8, firstSubmit: 0 }), 20)).toBe(2);
    // 3 (first chunk), then every 8 of a fresh encoder: after dispatches 11 and 19.
    expect(await submitsWhileRecording(await open({ submitEvery: 8, firstSubmit: 3 }), 20)).toBe(3);
  });

  test("an Adam step returns with its work submitted and its loss's read-back started, not awaited", async () => {
    const backend = await open({ submitEvery: 0 });
    const spec = tinySpec("sse", "tanh", [13, 17, 5, 13]);
    const problem = tinyProblem(backend, spec, 31);
    const optimizer = new FirstOrderOptimizer("adam", backend, spec, problem.weights, { ...FIRST_ORDER_DEFAULTS, lr: 0.01, decayPeriod: 0, weightDecay: 0 });
    await backend.flush();
    const before = backend.stats;
    const update = await optimizer.step(problem.ws, 1);
    const after = backend.stats;
    expect(after.dispatches).toBeGreaterThan(before.dispatches);
    expect(after.submits - before.submits).toBe(1);
    expect(after.readBacks - before.readBacks).toBe(1);
    expect(Number.isFinite((await update.report()).loss)).toBe(true);
    optimizer.dispose();
    problem.ws.dispose();
  });
});
