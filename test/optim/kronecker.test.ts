// The Kronecker-factored optimiser against explicit dense computations on tiny networks (float64):
// the factored solve against a dense Kronecker solve, α* and M(α*) against the quadratic with the
// explicit Gauss–Newton matrix, and the adaptation rules on scripted sequences.
import { describe, expect, test } from "vitest";
import { createReferenceBackend } from "../../src/backend/reference.ts";
import { adaptTau, bestCandidate, gammaCandidates } from "../../src/optim/kronecker/adaptation.ts";
import { factorDecay, polyakDecay } from "../../src/optim/kronecker/averaging.ts";
import { predictedChange, recordOptimalStep } from "../../src/optim/kronecker/stepSize.ts";
import { KroneckerBlocks } from "../../src/optim/kronecker/block.ts";
import { createBackend, FLOAT32_BACKENDS } from "../../src/backend/index.ts";
import type { Backend } from "../../src/backend/types.ts";
import { KroneckerOptimizer } from "../../src/optim/kronecker/optimizer.ts";
import { stepAndReport } from "../../src/optim/optimizer.ts";
import { gradient } from "../../src/nn/backward.ts";
import { forward } from "../../src/nn/forward.ts";
import { allocLayers, allocLayersTogether, downloadLayers, uploadLayers } from "../../src/nn/params.ts";
import type { LossKind } from "../../src/backend/types.ts";
import { tinyLabels, tinyProblem, tinySpec, uniforms } from "../helpers/tinyNet.ts";
import { outputHessian, outputFrom, preActivations } from "../helpers/explicitNet.ts";
import { dampingPreset } from "../helpers/settings.ts";

const backend = createReferenceBackend();

/** Solves the dense system M x = b by Gaussian elimination with partial pivoting. */
function denseSolve(m: number[][], b: number[]): number[] {
  const n = b.length;
  const a = m.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    for (let r = c + 1; r < n; r++) {
      const factor = a[r][c] / a[c][c];
      for (let k = c; k <= n; k++) a[r][k] -= factor * a[c][k];
    }
  }
  const x = Array(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r][n];
    for (let k = r + 1; k < n; k++) s -= a[r][k] * x[k];
    x[r] = s / a[r][r];
  }
  return x;
}

function randomSpd(n: number, seed: number): number[][] {
  const u = uniforms(n * n, seed);
  const b = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => u[i * n + j] - 0.5));
  return b.map((row, i) => b.map((other, j) => row.reduce((s, v, k) => s + v * other[k], 0) + (i === j ? 0.01 : 0)));
}

describe("factored damped solve (§4)", () => {
  // δ_λ against a dense solve with the explicit (Q̄ + kπI) ⊗ (Ḡ + (k/π)I), for every layer of a
  // three-layer network at once (one batched Cholesky and four batched solves). Float64: 10
  // digits. Float32 backends: the damped factors here have condition numbers below 1e3, so the
  // solve's relative error stays below ~1e3 · 8u ≈ 5e-4 of the largest |δ|; 1e-4 is allowed.
  const sizes = [3, 5, 4, 2];
  const kroneckerDirections = (G: number[][], Q: number[][], g: number[], k: number, pi: number) => {
    const dOut = G.length;
    const dIn = Q.length;
    // vec stacks columns of the D_out × D_in matrix: index j·D_out + i; (A ⊗ B)[(j,i),(q,p)] = A[j][q]·B[i][p].
    const A = Q.map((r, i) => r.map((v, j) => v + (i === j ? k * pi : 0)));
    const B = G.map((r, i) => r.map((v, j) => v + (i === j ? k / pi : 0)));
    const n = dOut * dIn;
    const kron = Array.from({ length: n }, (_, row) =>
      Array.from({ length: n }, (_, col) => A[Math.floor(row / dOut)][Math.floor(col / dOut)] * B[row % dOut][col % dOut]));
    const vecG = Array.from({ length: n }, (_, idx) => g[(idx % dOut) * dIn + Math.floor(idx / dOut)]);
    const x = denseSolve(kron, vecG);
    const out = new Array<number>(n);
    for (let idx = 0; idx < n; idx++) out[(idx % dOut) * dIn + Math.floor(idx / dOut)] = x[idx];
    return out;
  };

  async function solveOn(be: Backend) {
    const spec = tinySpec("sse", "tanh", sizes);
    const blocks = new KroneckerBlocks(be, spec);
    const L = sizes.length - 1;
    const Gs = Array.from({ length: L }, (_, l) => randomSpd(sizes[l + 1], 10 + l));
    const Qs = Array.from({ length: L }, (_, l) => randomSpd(sizes[l] + 1, 20 + l));
    const gs = Array.from({ length: L }, (_, l) => Array.from(uniforms(sizes[l + 1] * (sizes[l] + 1), 30 + l), (v) => v - 0.5));
    blocks.blocks.forEach((b, l) => {
      be.upload(b.outputAverage, Gs[l].flat());
      be.upload(b.inputAverage, Qs[l].flat());
    });
    const grads = allocLayersTogether(be, spec);
    grads.layers.forEach((t, l) => be.upload(t, gs[l]));
    const k = 0.3;
    const trace = (m: number[][]) => m.reduce((s, r, i) => s + r[i], 0);
    // π_λ by its definition (§4), for the dense system; the solve uses the device's.
    const pis = Qs.map((Q, l) => Math.sqrt(trace(Q) / Q.length / (trace(Gs[l]) / Gs[l].length)));
    const directions = allocLayersTogether(be, spec);
    blocks.splitDamping();
    blocks.solve(grads, k, directions);
    const got = await downloadLayers(be, directions.layers);
    const want = Gs.map((G, l) => kroneckerDirections(G, Qs[l], gs[l], k, pis[l]));
    blocks.dispose();
    be.free(grads.parent);
    be.free(directions.parent);
    return { got, want };
  }

  test("every layer at once equals a dense solve with (Q̄ + kπI) ⊗ (Ḡ + k/π I) (float64 reference)", async () => {
    const { got, want } = await solveOn(backend);
    got.forEach((layer, l) => layer.forEach((v, i) => expect(v).toBeCloseTo(want[l][i], 10)));
  });

  for (const name of FLOAT32_BACKENDS) {
    test(`the same on the ${name} backend within 1e-4 of the largest |δ|`, async () => {
      const be = await createBackend({ device: name });
      try {
        const { got, want } = await solveOn(be);
        got.forEach((layer, l) => {
          const scale = Math.max(...want[l].map(Math.abs));
          layer.forEach((v, i) => expect(Math.abs(v - want[l][i])).toBeLessThanOrEqual(1e-4 * scale));
        });
      } finally {
        be.dispose();
      }
    });
  }

  // π_λ = √((tr Q̄/dim Q) / (tr Ḡ/dim G)) on the device, on every backend: layer 0 ratio 4 (π = 2),
  // layer 1 a zero Ḡ and layer 2 a zero Q̄ (π = 1 for both, not ∞ or 0).
  test.each(["reference", ...FLOAT32_BACKENDS])("π is the square root of the ratio of average eigenvalues, and 1 for a zero factor (%s)", async (name) => {
    const be = name === "reference" ? backend : await createBackend({ device: name as (typeof FLOAT32_BACKENDS)[number] });
    try {
      const spec = tinySpec("sse", "tanh", sizes);
      const blocks = new KroneckerBlocks(be, spec);
      const diagonal = (n: number, v: number) => Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? v : 0));
      const qDiag = [8, 1, 0];
      const gDiag = [2, 0, 5];
      blocks.blocks.forEach((b, l) => {
        be.upload(b.inputAverage, diagonal(b.inputAverage.rows, qDiag[l]));
        be.upload(b.outputAverage, diagonal(b.outputAverage.rows, gDiag[l]));
      });
      blocks.splitDamping();
      const pis = await blocks.pis();
      expect(pis[0]).toBeCloseTo(2, 6);
      expect(pis.slice(1)).toEqual([1, 1]);
      blocks.dispose();
    } finally {
      if (be !== backend) be.dispose();
    }
  });
});

describe.each(["bce", "sse", "mixture", "softmax"] as LossKind[])("one update with loss %s (§5)", (loss) => {
  test("α*δ minimises the quadratic with the explicit Gauss–Newton matrix, and M = ½ α* δᵀ∇f", async () => {
    const spec = tinySpec(loss, "tanh");
    const N = 4;
    const problem = tinyProblem(backend, spec, N);
    const eta = 1e-3;
    const tau = 0.5;
    const options = { ...dampingPreset("fixed"), tau0: tau, gamma0: 0.2, curvature: "kfra" as const, weightDecay: eta, seed: 1 };
    const optimizer = new KroneckerOptimizer(backend, spec, problem.weights, N, options);
    // ∇f at θ₀.
    forward(backend, spec, problem.weights, problem.ws);
    const grads = allocLayers(backend, spec);
    gradient(backend, spec, problem.weights, problem.ws, eta, grads);
    const g = (await downloadLayers(backend, grads)).flatMap((t) => [...t]);
    const report = await stepAndReport(optimizer, problem.ws, 1);
    const after = (await downloadLayers(backend, problem.weights)).flatMap((t) => [...t]);
    const before = problem.w0.flatMap((t) => [...t]);
    const step = after.map((v, i) => v - before[i]);
    // Explicit Gauss–Newton: (1/N) Σ_n J_nᵀ H_n J_n with J_n = ∂h_L/∂θ by central differences.
    const x = uniforms(N * spec.sizes[0], 8);
    const labels = tinyLabels(spec, N, 9);
    const sizes = problem.w0.map((w) => w.length);
    const unflatten = (flat: number[]) => {
      let o = 0;
      return sizes.map((s) => Float64Array.from(flat.slice(o, (o += s))));
    };
    let stepCurvature = 0;
    for (let n = 0; n < N; n++) {
      const xn = Array.from(x.subarray(n * spec.sizes[0], (n + 1) * spec.sizes[0]));
      const outputAt = (t: number) => {
        const w = unflatten(before.map((v, i) => v + t * step[i]));
        return outputFrom(spec, w, 1, preActivations(spec, w, xn)[0]);
      };
      const h = 1e-5;
      const plus = outputAt(h);
      const minus = outputAt(-h);
      const Jstep = plus.map((p, i) => (p - minus[i]) / (2 * h));
      const H = outputHessian(loss, outputAt(0), labels[n]);
      stepCurvature += Jstep.reduce((s, ji, i) => s + ji * H[i].reduce((t, hij, j) => t + hij * Jstep[j], 0), 0) / N;
    }
    const stepNormSq = step.reduce((s, v) => s + v * v, 0);
    const gradDotStep = g.reduce((s, v, i) => s + v * step[i], 0);
    const quadratic = stepCurvature + (tau + eta) * stepNormSq;
    // At the minimiser along δ: ∇fᵀΔ + ΔᵀC̄Δ = 0 and M = ½∇fᵀΔ. Finite-difference J·Δ is accurate to ~1e-9.
    expect(Math.abs(gradDotStep + quadratic)).toBeLessThan(1e-7 * Math.abs(gradDotStep));
    expect(report.predicted).toBeCloseTo(0.5 * gradDotStep, 10);
    expect(gradDotStep).toBeLessThan(0);
    optimizer.dispose();
  });
});

describe("adaptation (§6) on scripted sequences", () => {
  test("τ follows the Levenberg–Marquardt rule", () => {
    const omega = 0.95 ** 5;
    const rhos = [0.9, 0.9, 0.5, 0.1, -3, NaN, 0.8];
    const taus: number[] = [];
    let tau = 150;
    for (const rho of rhos) taus.push((tau = adaptTau(tau, rho, 5)));
    const expected = [150 * omega, 150 * omega ** 2, 150 * omega ** 2, 150 * omega, 150, 150 / omega, 150];
    taus.forEach((t, i) => expect(t).toBeCloseTo(expected[i], 9));
  });
  test("γ candidates and the greedy choice", () => {
    const omega = 0.95 ** 20;
    expect(gammaCandidates(10, 20)).toEqual([10 * omega, 10, 10 / omega]);
    expect(bestCandidate([-1, -3, -2])).toBe(1);
    expect(bestCandidate([NaN, -1, Infinity])).toBe(1);
    expect(bestCandidate([NaN, NaN, NaN])).toBe(-1);
  });
  test("α* and M(α*) of the quadratic, and NaN (a rejected step) where δᵀC̄δ = 0", async () => {
    const slots = backend.alloc(4, 1);
    const [gradientDot, normSq, curvature, alpha] = [0, 1, 2, 3].map((i) => backend.view(slots, i, 0, 1, 1));
    backend.upload(slots, [-4, 1, 1.5, 0]);
    recordOptimalStep(backend, { gradientDot, normSq, curvature, alpha }, 0.5);
    const [, , c, a] = await backend.download(slots);
    expect([c, a]).toEqual([2, 2]);
    expect(predictedChange(a, -4)).toBe(-4);
    expect(a * -4 + 0.5 * a * a * c).toBe(predictedChange(a, -4));
    backend.upload(slots, [-4, 0, 0, 0]);
    recordOptimalStep(backend, { gradientDot, normSq, curvature, alpha }, 0.5);
    expect((await backend.download(alpha))[0]).toBeNaN();
    backend.free(slots);
  });
  test("averaging constants: factors start from themselves; Polyak β_t = min(0.95, 1 − 1/t); ramps", () => {
    expect(factorDecay(1, 0.9, 0)).toBe(0);
    expect(factorDecay(2, 0.9, 0)).toBe(0.9);
    expect(factorDecay(50, 0.9, 100)).toBeCloseTo(0.45, 15);
    expect(polyakDecay(1, 0.95, 0)).toBe(0);
    expect(polyakDecay(10, 0.95, 0)).toBeCloseTo(0.9, 15);
    expect(polyakDecay(1000, 0.95, 0)).toBe(0.95);
    expect(polyakDecay(200, 0.9, 100)).toBe(0.9);
  });
});

describe("updates recorded without waiting for the device (§5, §6)", () => {
  /** The reference backend with every download held until `release()`, as a slow device would. */
  function heldDownloads() {
    const waiting: (() => void)[] = [];
    let held = true;
    const be = new Proxy(backend, {
      get(target, key, receiver) {
        if (key !== "download") return Reflect.get(target, key, receiver);
        return async (t: Parameters<Backend["download"]>[0]) => {
          const values = await target.download(t);
          if (held) await new Promise<void>((resolve) => waiting.push(resolve));
          return values;
        };
      },
    });
    const release = () => {
      held = false;
      for (const go of waiting.splice(0)) go();
    };
    return { be, release };
  }
  /** Whether `promise` settles while the event loop runs for a moment (nothing else is pending here). */
  async function settlesSoon(promise: Promise<unknown>): Promise<boolean> {
    let settled = false;
    promise.then(() => (settled = true), () => (settled = true));
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    return settled;
  }

  test("an ordinary update needs no read-back; the next one needs the previous report only for τ", async () => {
    const { be, release } = heldDownloads();
    const spec = tinySpec("sse", "tanh");
    const problem = tinyProblem(be, spec, 8);
    const optimizer = new KroneckerOptimizer(be, spec, problem.weights, 8, { ...dampingPreset("fixed"), curvature: "kfra", weightDecay: 1e-5, seed: 1 });
    const first = optimizer.step(problem.ws, 1);
    expect(await settlesSoon(first)).toBe(true);
    const second = optimizer.step(problem.ws, 2);
    expect(await settlesSoon(second)).toBe(false);
    release();
    const reports = [await (await first).report(), await (await second).report()];
    expect(reports.map((r) => r.rejected)).toEqual([0, 0]);
    expect(reports.every((r) => Number.isFinite(r.alpha) && r.predicted < 0)).toBe(true);
    optimizer.dispose();
  });

  test.each([
    [2, "a τ adaptation"],
    [3, "a γ search"],
  ])("update %i, %s, waits for its own scalars", async (t) => {
    const { be, release } = heldDownloads();
    const spec = tinySpec("sse", "tanh");
    const problem = tinyProblem(be, spec, 8);
    const options = { ...dampingPreset("adaptive"), tauPeriod: 2, gammaPeriod: 3, curvature: "kfra" as const, weightDecay: 1e-5, seed: 1 };
    const optimizer = new KroneckerOptimizer(be, spec, problem.weights, 8, options);
    const update = optimizer.step(problem.ws, t);
    expect(await settlesSoon(update)).toBe(false);
    release();
    expect((await (await update).report()).rejected).toBe(0);
    optimizer.dispose();
  });

  // A zero gradient (sse targets equal to the outputs, no weight decay) gives δ = 0 and α* = 0/0:
  // each step is rejected on the device, θ stays bit-for-bit, and τ rises by 1/ω once per update
  // (each report read after the next update was recorded, as the trainer reads them).
  test("a step whose α* is not finite leaves θ as it was and raises τ, read one update late", async () => {
    const spec = tinySpec("sse", "tanh");
    const problem = tinyProblem(backend, spec, 8);
    forward(backend, spec, problem.weights, problem.ws);
    backend.copy(problem.ws.output, problem.ws.target);
    const before = await downloadLayers(backend, problem.weights);
    const options = { ...dampingPreset("fixed"), tau0: 0.01, curvature: "kfra" as const, weightDecay: 0, seed: 1 };
    const optimizer = new KroneckerOptimizer(backend, spec, problem.weights, 8, options);
    const updates = [];
    for (let t = 1; t <= 3; t++) updates.push(await optimizer.step(problem.ws, t));
    const reports = await Promise.all(updates.map((u) => u.report()));
    const omega = 0.95 ** options.tauPeriod;
    expect(reports.map((r) => r.rejected)).toEqual([1, 1, 1]);
    expect(reports.every((r) => Number.isNaN(r.alpha) && Number.isNaN(r.predicted))).toBe(true);
    reports.forEach((r, i) => expect(r.tau).toBeCloseTo(0.01 / omega ** (i + 1), 12));
    expect(await downloadLayers(backend, problem.weights)).toEqual(before);
    // θ̂ averages the unchanged θ with itself: equal up to the average's rounding.
    const averaged = await downloadLayers(backend, optimizer.averagedWeights);
    averaged.forEach((layer, l) => layer.forEach((v, i) => expect(Math.abs(v - before[l][i])).toBeLessThanOrEqual(4e-16 * Math.abs(before[l][i]))));
    optimizer.dispose();
  });
});

describe("training a tiny autoencoder", () => {
  test.each(["kfra", "kflr", "kfac"] as const)("%s lowers the loss with adaptive damping", async (curvature) => {
    const spec = tinySpec("bce", "tanh", [6, 5, 2, 5, 6]);
    const N = 16;
    const problem = tinyProblem(backend, spec, N);
    const optimizer = new KroneckerOptimizer(backend, spec, problem.weights, N, { ...dampingPreset("adaptive"), tau0: 1, gamma0: 1, curvature, weightDecay: 1e-5, seed: 3 });
    const losses: number[] = [];
    for (let t = 1; t <= 40; t++) losses.push((await stepAndReport(optimizer, problem.ws, t)).loss);
    expect(losses[39]).toBeLessThan(0.9 * losses[0]);
  });
});

describe("exact Gauss–Newton reference (appendix F)", () => {
  test("the matrix-free product equals the explicit Gauss–Newton matrix, and CG solves the damped system", async () => {
    const { GaussNewtonOperator, conjugateGradient } = await import("../../src/curvature/gaussNewton.ts");
    const spec = tinySpec("bce", "tanh", [3, 4, 3]);
    const N = 3;
    const problem = tinyProblem(backend, spec, N);
    forward(backend, spec, problem.weights, problem.ws);
    const op = new GaussNewtonOperator(backend, spec, problem.weights, problem.ws);
    const sizes = problem.w0.map((w) => w.length);
    const total = sizes.reduce((a, b) => a + b, 0);
    // Columns of Ḡ + λI by applying the operator to unit vectors.
    const damping = 0.05;
    const columns: number[][] = [];
    const v = allocLayers(backend, spec);
    const out = allocLayers(backend, spec);
    for (let k = 0; k < total; k++) {
      let o = 0;
      uploadLayers(backend, v, sizes.map((s) => { const a = new Float64Array(s); if (k >= o && k < o + s) a[k - o] = 1; o += s; return a; }));
      op.apply(v, out, damping);
      columns.push((await downloadLayers(backend, out)).flatMap((t) => [...t]));
    }
    // Explicit (1/N) Σ J_nᵀ H_n J_n with J_n = ∂h_L/∂θ by central differences.
    const x = uniforms(N * spec.sizes[0], 8);
    const before = problem.w0.flatMap((w) => [...w]);
    const unflatten = (flat: number[]) => { let o = 0; return sizes.map((s) => Float64Array.from(flat.slice(o, (o += s)))); };
    for (let n = 0; n < N; n++) {
      const xn = Array.from(x.subarray(n * spec.sizes[0], (n + 1) * spec.sizes[0]));
      const out0 = (w: number[]) => { const ws = unflatten(w); return outputFrom(spec, ws, 1, preActivations(spec, ws, xn)[0]); };
      const H = outputHessian("bce", out0(before), 0);
      const J = Array.from({ length: total }, (_, k) => {
        const p = [...before]; const m = [...before]; p[k] += 1e-6; m[k] -= 1e-6;
        const op1 = out0(p); const om = out0(m);
        return op1.map((v1, i) => (v1 - om[i]) / 2e-6);
      });
      for (let a = 0; a < total; a++) for (let b = 0; b < total; b++) {
        let s = 0;
        for (let i = 0; i < H.length; i++) s += J[a][i] * H[i][i] * J[b][i];
        columns[b][a] -= s / N;
      }
    }
    for (let a = 0; a < total; a++) for (let b = 0; b < total; b++) expect(Math.abs(columns[b][a] - (a === b ? damping : 0))).toBeLessThan(1e-7);
    // CG on a right-hand side: residual below the tolerance asked for.
    const rhs = allocLayers(backend, spec);
    uploadLayers(backend, rhs, problem.w0.map((w, l) => uniforms(w.length, 21, l)));
    const solution = allocLayers(backend, spec);
    const result = await conjugateGradient(backend, spec, op, rhs, damping, solution, { maxIterations: 200, tolerance: 1e-10 });
    expect(result.relativeResidual).toBeLessThan(1e-10);
    op.apply(solution, out, damping);
    const lhs = (await downloadLayers(backend, out)).flatMap((t) => [...t]);
    const b = (await downloadLayers(backend, rhs)).flatMap((t) => [...t]);
    lhs.forEach((value, i) => expect(value).toBeCloseTo(b[i], 8));
    // The block-diagonal version solves each layer's block alone.
    const blockSolution = allocLayers(backend, spec);
    await conjugateGradient(backend, spec, op, rhs, damping, blockSolution, { maxIterations: 200, tolerance: 1e-10, layer: 1 });
    op.apply(blockSolution, out, damping, 1);
    const got = await backend.download(out[1]);
    const want = await backend.download(rhs[1]);
    got.forEach((value, i) => expect(value).toBeCloseTo(want[i], 8));
  });
});
