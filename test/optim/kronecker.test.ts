// The Kronecker-factored optimiser against explicit dense computations on tiny networks (float64):
// the factored solve against a dense Kronecker solve, α* and M(α*) against the quadratic with the
// explicit Gauss–Newton matrix, and the adaptation rules on scripted sequences.
import { describe, expect, test } from "vitest";
import { createReferenceBackend } from "../../src/backend/reference.ts";
import { adaptTau, bestCandidate, gammaCandidates, optimalStep } from "../../src/optim/kronecker/adaptation.ts";
import { factorDecay, polyakDecay } from "../../src/optim/kronecker/averaging.ts";
import { dampingSplit } from "../../src/optim/kronecker/damping.ts";
import { KroneckerBlocks } from "../../src/optim/kronecker/block.ts";
import { createBackend, FLOAT32_BACKENDS } from "../../src/backend/index.ts";
import type { Backend } from "../../src/backend/types.ts";
import { KroneckerOptimizer, dampingPreset } from "../../src/optim/kronecker/optimizer.ts";
import { stepAndReport } from "../../src/optim/optimizer.ts";
import { gradient } from "../../src/nn/backward.ts";
import { forward } from "../../src/nn/forward.ts";
import { allocLayers, allocLayersTogether, downloadLayers, uploadLayers } from "../../src/nn/params.ts";
import type { LossKind } from "../../src/backend/types.ts";
import { tinyProblem, tinySpec, uniforms } from "../helpers/tinyNet.ts";
import { outputHessian, outputFrom, preActivations } from "../helpers/explicitNet.ts";

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
    const pis = blocks.splits(Qs.map(trace), Gs.map(trace));
    const directions = allocLayersTogether(be, spec);
    blocks.solve(grads, k, pis, directions);
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

  test("π is the square root of the ratio of average eigenvalues, and 1 for a zero factor", () => {
    expect(dampingSplit(8, 2, 2, 2)).toBeCloseTo(2, 15);
    expect(dampingSplit(1, 1, 0, 3)).toBe(1);
  });
});

describe.each(["bce", "sse", "mixture"] as LossKind[])("one update with loss %s (§5)", (loss) => {
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
    const labels = Array.from(uniforms(N, 9), (u) => (u < 0.5 ? 1 : 0));
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
  test("α* and M(α*) of the quadratic", () => {
    const { alpha, predicted } = optimalStep(-4, 2);
    expect(alpha).toBe(2);
    expect(predicted).toBe(-4);
    expect(alpha * -4 + 0.5 * alpha * alpha * 2).toBe(predicted);
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
