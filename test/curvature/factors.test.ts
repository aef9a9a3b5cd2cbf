// KFRA, KFLR and KFAC against the definitions of docs/algorithm.md §3, on tiny networks in float64:
// explicit per-sample Jacobians (finite differences) and explicit expectations over the samples.
import { describe, expect, test } from "vitest";
import { createReferenceBackend } from "../../src/backend/reference.ts";
import type { LossKind, TransferKind } from "../../src/backend/types.ts";
import { allocInputFactors, allocOutputFactors, createEstimator, gradientAndCurvature, type CurvatureKind } from "../../src/curvature/index.ts";
import { forward } from "../../src/nn/forward.ts";
import { allocLayers } from "../../src/nn/params.ts";
import { tinyLabels, tinyProblem, tinySpec, uniforms } from "../helpers/tinyNet.ts";
import {
  addInto, fPrime, jacobian, matmul, outputHessian, preActivations, relativeDifference, transpose, zeros, type Matrix,
} from "../helpers/explicitNet.ts";

const backend = createReferenceBackend();

async function factorsOf(kind: CurvatureKind, loss: LossKind, transfer: TransferKind, batch: number, counter = 0, sizes?: number[]) {
  const spec = tinySpec(loss, transfer, sizes);
  const problem = tinyProblem(backend, spec, batch);
  forward(backend, spec, problem.weights, problem.ws);
  const estimator = createEstimator(kind, backend, spec, batch, 99);
  const out = { grads: allocLayers(backend, spec), inputFactors: allocInputFactors(backend, spec), outputFactors: allocOutputFactors(backend, spec) };
  gradientAndCurvature(backend, spec, problem.weights, problem.ws, estimator, counter, 0, out);
  const G = await Promise.all(out.outputFactors.map((t) => backend.download(t)));
  const Q = await Promise.all(out.inputFactors.map((t) => backend.download(t)));
  // The samples, as the explicit model sees them.
  const x = uniforms(batch * spec.sizes[0], 8);
  const labels = tinyLabels(spec, batch, 9);
  const samples = Array.from({ length: batch }, (_, n) => Array.from(x.subarray(n * spec.sizes[0], (n + 1) * spec.sizes[0])));
  return { spec, problem, G, Q, samples, labels };
}

/** Per-sample exact pre-activation Gauss–Newton blocks Jᵀ H_L J for every layer. */
function exactBlocks(spec: ReturnType<typeof tinySpec>, w: Float64Array[], x: number[], label: number): Matrix[] {
  const hs = preActivations(spec, w, x);
  const L = hs.length;
  const H = outputHessian(spec.loss, hs[L - 1], label);
  return hs.map((h, l) => {
    const J = jacobian(spec, w, l + 1, h);
    return matmul(matmul(transpose(J), H), J);
  });
}

// Finite-difference Jacobians with step 1e-6 carry ~1e-9 relative error; 1e-6 leaves margin.
const EXACT_TOLERANCE = 1e-6;
const LOSSES: LossKind[] = ["bce", "sse", "mixture", "softmax"];
const TRANSFERS: TransferKind[] = ["tanh", "sigmoid", "leaky_relu"];

describe.each(LOSSES)("loss %s", (loss) => {
  test.each(TRANSFERS)("KFRA with N = 1 equals the exact block Gauss–Newton pre-activation matrix (%s)", async (transfer) => {
    const { spec, problem, G, samples, labels } = await factorsOf("kfra", loss, transfer, 1);
    const exact = exactBlocks(spec, problem.w0, samples[0], labels[0]);
    exact.forEach((block, l) => expect(relativeDifference(G[l], block)).toBeLessThan(EXACT_TOLERANCE));
  });

  test.each(TRANSFERS)("KFRA with N > 1 equals the nested expectation of eq. 26 (%s)", async (transfer) => {
    const N = 5;
    const { spec, problem, G, samples, labels } = await factorsOf("kfra", loss, transfer, N);
    const L = spec.sizes.length - 1;
    const perSample = samples.map((x) => preActivations(spec, problem.w0, x));
    let expected = zeros(spec.sizes[L], spec.sizes[L]);
    perSample.forEach((hs, n) => addInto(expected, outputHessian(loss, hs[L - 1], labels[n]), 1 / N));
    expect(relativeDifference(G[L - 1], expected)).toBeLessThan(1e-12);
    for (let l = L; l > 1; l--) {
      const dIn = spec.sizes[l - 1];
      const wt: Matrix = Array.from({ length: spec.sizes[l] }, (_, i) => Array.from({ length: dIn }, (_, j) => problem.w0[l - 1][i * (dIn + 1) + j]));
      const inner = matmul(matmul(transpose(wt), expected), wt);
      const next = zeros(dIn, dIn);
      perSample.forEach((hs) => {
        const b = hs[l - 2].map((v) => fPrime(spec.transfers[l - 2], v));
        addInto(next, inner.map((row, i) => row.map((v, j) => v * b[i] * b[j])), 1 / N);
      });
      expected = next;
      expect(relativeDifference(G[l - 2], expected)).toBeLessThan(EXACT_TOLERANCE);
    }
  });

  test("KFLR's G_λ equals E[Jᵀ H_L J] from explicit per-sample Jacobians", async () => {
    const N = 4;
    const { spec, problem, G, samples, labels } = await factorsOf("kflr", loss, "tanh", N);
    const expected = spec.sizes.slice(1).map((d) => zeros(d, d));
    samples.forEach((x, n) => exactBlocks(spec, problem.w0, x, labels[n]).forEach((b, l) => addInto(expected[l], b, 1 / N)));
    expected.forEach((e, l) => expect(relativeDifference(G[l], e)).toBeLessThan(EXACT_TOLERANCE));
  });

  test("Q_λ is the uncentred second moment of the layer input with the bias row", async () => {
    const N = 3;
    const { spec, problem, Q, samples } = await factorsOf("kfra", loss, "tanh", N);
    const perSample = samples.map((x) => preActivations(spec, problem.w0, x));
    for (let l = 1; l < spec.sizes.length; l++) {
      const expected = zeros(spec.sizes[l - 1] + 1, spec.sizes[l - 1] + 1);
      samples.forEach((x, n) => {
        const a = l === 1 ? x : perSample[n][l - 2].map(Math.tanh);
        const abar = [...a, 1];
        addInto(expected, abar.map((u) => abar.map((v) => u * v)), 1 / N);
      });
      expect(relativeDifference(Q[l - 1], expected)).toBeLessThan(1e-12);
    }
  });
});

describe("KFAC", () => {
  // KFAC's G_λ is an unbiased Monte-Carlo estimate of KFLR's: averaging R independent draws shrinks
  // the error like 1/√R. With R = 400 draws on N = 4 samples the relative error of the average is a
  // few per cent; 0.08 is about four standard errors for this seed.
  test.each(["bce", "mixture", "softmax"] as LossKind[])("the average of sampled factors converges to KFLR's (%s)", async (loss) => {
    const N = 4;
    const draws = 400;
    const kflr = await factorsOf("kflr", loss, "tanh", N);
    const sums = kflr.G.map((g) => new Float64Array(g.length));
    let firstError = 0;
    for (let r = 0; r < draws; r++) {
      const { G } = await factorsOf("kfac", loss, "tanh", N, r);
      G.forEach((g, l) => g.forEach((v, i) => (sums[l][i] += v / draws)));
      if (r === 0) firstError = relErr(G[0], kflr.G[0]);
    }
    sums.forEach((s, l) => expect(relErr(s, kflr.G[l])).toBeLessThan(0.08));
    expect(firstError).toBeGreaterThan(relErr(sums[0], kflr.G[0]));
  });
});

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i] - b[i]) ** 2;
    s += b[i] ** 2;
  }
  return Math.sqrt(d / s);
}

describe("KFLR memory", () => {
  test("is refused with a clear message for the 784-output autoencoder at batch 1000", () => {
    const spec = { sizes: [784, 1000, 500, 250, 30, 250, 500, 1000, 784], transfers: Array(7).fill("tanh"), loss: "bce" as const };
    expect(() => createEstimator("kflr", backend, spec, 1000, 0)).toThrow(/kflr: the per-sample factors need .* 784 × 1000 .*use kfra or kfac/);
  });
  test("the refusal says which minibatch would fit, and that one does (one more does not)", () => {
    const spec = { sizes: [784, 1000, 500, 250, 30, 250, 500, 1000, 784], transfers: Array(7).fill("tanh"), loss: "bce" as const };
    let message = "";
    try {
      createEstimator("kflr", backend, spec, 1000, 0);
    } catch (error) {
      message = (error as Error).message;
    }
    const fits = Number(/a minibatch of at most (\d+) fits \(--batch \1, batchSize: \1\)/.exec(message)?.[1]);
    expect(fits).toBeGreaterThanOrEqual(1);
    expect(() => createEstimator("kflr", backend, spec, fits + 1, 0)).toThrow(/kflr: the per-sample factors need/);
    const estimator = createEstimator("kflr", backend, spec, fits, 0);
    estimator.dispose();
  });
});
