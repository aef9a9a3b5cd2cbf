// The maths (nn, curvature, optim) is written once against the op interface; here it runs on each
// float32 backend and must agree with the same computation on the float64 reference, which the
// other suites check against finite differences and explicit matrices.
import { afterAll, describe, expect, test } from "vitest";
import { availableBackends, createBackend } from "../src/backend/index.ts";
import { createReferenceBackend } from "../src/backend/reference.ts";
import type { Backend, LossKind, TransferKind } from "../src/backend/types.ts";
import { allocInputFactors, allocOutputFactors, createEstimator, gradientAndCurvature, type CurvatureKind } from "../src/curvature/index.ts";
import { gradient } from "../src/nn/backward.ts";
import { forward } from "../src/nn/forward.ts";
import { allocLayers, downloadLayers, uploadLayers } from "../src/nn/params.ts";
import { RopWorkspace, rop } from "../src/nn/rop.ts";
import { KroneckerOptimizer } from "../src/optim/kronecker/optimizer.ts";
import { FirstOrderOptimizer } from "../src/optim/firstOrder.ts";
import { stepAndReport } from "../src/optim/optimizer.ts";
import { tinyProblem, tinySpec, uniforms } from "./helpers/tinyNet.ts";
import type { FirstOrderMethod as FirstOrderName } from "../src/optim/settings.ts";
import { dampingPreset, FIRST_ORDER_DEFAULTS } from "./helpers/settings.ts";

const reference = createReferenceBackend();
const names = await availableBackends();
const backends = new Map<string, Backend>();
for (const name of names) backends.set(name, await createBackend({ device: name }));
afterAll(() => backends.forEach((b) => b.dispose()));

/** max |a − b| / max |b|: a scale-free error for whole tensors. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / (scale || 1);
}

// Odd sizes on purpose (strides that are not multiples of 4, a 1-wide layer would be too easy).
const SIZES: Record<LossKind, number[]> = { bce: [13, 17, 5, 13], sse: [13, 17, 5, 13], mixture: [13, 17, 5, 3], softmax: [13, 17, 5, 7] };
const BATCH = 31;
// float32 through three layers of products of length ≤ 31 with O(1) values: relative error of a
// few 1e-6 per op; 1e-4 allows for accumulation and for tanh/sigmoid implementations that differ
// in the last bits.
const F32_TOLERANCE = 1e-4;

async function both<T>(name: string, run: (backend: Backend) => Promise<T>): Promise<[T, T]> {
  return [await run(backends.get(name)!), await run(reference)];
}

describe.each(names)("backend %s", (name) => {
  const cases = (["bce", "sse", "mixture", "softmax"] as LossKind[]).flatMap((loss) => (["tanh", "leaky_relu", "sigmoid"] as TransferKind[]).map((t) => [loss, t] as const));

  test.each(cases)("gradient and R-op (%s, %s)", async (loss, transfer) => {
    const spec = tinySpec(loss, transfer, SIZES[loss]);
    const [got, want] = await both(name, async (backend) => {
      const p = tinyProblem(backend, spec, BATCH);
      forward(backend, spec, p.weights, p.ws);
      const grads = allocLayers(backend, spec);
      gradient(backend, spec, p.weights, p.ws, 1e-3, grads);
      const direction = allocLayers(backend, spec);
      uploadLayers(backend, direction, p.w0.map((w, l) => uniforms(w.length, 5, l).map((u) => u - 0.5)));
      const r = new RopWorkspace(backend, spec, BATCH);
      rop(backend, spec, p.weights, direction, p.ws, r);
      return { g: (await downloadLayers(backend, grads)).flatMap((t) => [...t]), v: [...(await backend.download(r.output))] };
    });
    expect(relativeError(got.g, want.g)).toBeLessThan(F32_TOLERANCE);
    expect(relativeError(got.v, want.v)).toBeLessThan(F32_TOLERANCE);
  });

  test.each(["kfra", "kflr", "kfac"] as CurvatureKind[])("curvature factors Q and G (%s)", async (kind) => {
    for (const loss of ["bce", "mixture", "softmax"] as LossKind[]) {
      const spec = tinySpec(loss, "tanh", SIZES[loss]);
      const [got, want] = await both(name, async (backend) => {
        const p = tinyProblem(backend, spec, BATCH);
        forward(backend, spec, p.weights, p.ws);
        const out = { grads: allocLayers(backend, spec), inputFactors: allocInputFactors(backend, spec), outputFactors: allocOutputFactors(backend, spec) };
        gradientAndCurvature(backend, spec, p.weights, p.ws, createEstimator(kind, backend, spec, BATCH, 4), 2, 0, out);
        return {
          G: (await Promise.all(out.outputFactors.map((t) => backend.download(t)))).flatMap((t) => [...t]),
          Q: (await Promise.all(out.inputFactors.map((t) => backend.download(t)))).flatMap((t) => [...t]),
        };
      });
      expect(relativeError(got.G, want.G)).toBeLessThan(F32_TOLERANCE);
      expect(relativeError(got.Q, want.Q)).toBeLessThan(F32_TOLERANCE);
    }
  });

  test("five KFRA updates with adaptive damping follow the reference", async () => {
    const spec = tinySpec("bce", "tanh", SIZES.bce);
    const [got, want] = await both(name, async (backend) => {
      const p = tinyProblem(backend, spec, BATCH);
      const opt = new KroneckerOptimizer(backend, spec, p.weights, BATCH, { ...dampingPreset("adaptive"), tau0: 1, gamma0: 1, curvature: "kfra", weightDecay: 1e-5, seed: 2 });
      const reports = [];
      for (let t = 1; t <= 5; t++) reports.push(await stepAndReport(opt, p.ws, t));
      opt.dispose();
      return { alphas: reports.map((r) => r.alpha), losses: reports.map((r) => r.loss), w: (await downloadLayers(backend, p.weights)).flatMap((t) => [...t]) };
    });
    // α* comes out of Cholesky solves of damped factors (condition ≲ 1e3 here) and a ratio of sums:
    // float32 relative error ~1e-4 per update, compounding over five.
    expect(relativeError(got.alphas, want.alphas)).toBeLessThan(2e-3);
    expect(relativeError(got.losses, want.losses)).toBeLessThan(1e-4);
    expect(relativeError(got.w, want.w)).toBeLessThan(2e-3);
  });

  test.each(["sgd", "momentum", "nesterov", "adam"] as FirstOrderName[])("three %s updates follow the reference", async (opt) => {
    const spec = tinySpec("sse", "tanh", SIZES.sse);
    const [got, want] = await both(name, async (backend) => {
      const p = tinyProblem(backend, spec, BATCH);
      const o = new FirstOrderOptimizer(opt, backend, spec, p.weights, { ...FIRST_ORDER_DEFAULTS, lr: 0.01, decayPeriod: 2, weightDecay: 1e-4 });
      for (let t = 1; t <= 3; t++) await o.step(p.ws, t);
      return (await downloadLayers(backend, p.weights)).flatMap((t) => [...t]);
    });
    expect(relativeError(got, want)).toBeLessThan(F32_TOLERANCE);
  });
});
