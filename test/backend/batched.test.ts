// The WebGPU backend's two ways of running the batched Cholesky and triangular solves — one
// shared-memory-tiled gemm dispatch per block step for all matrices (the default on hardware GPUs)
// and one register-tiled gemm per matrix (the default on software adapters) — each held to the
// backward-error bounds of the conformance suite: ‖LLᵀ − A‖/‖A‖ ≤ 4nu and
// ‖op(L)X − B‖/(‖L‖‖X‖) ≤ 4nu (u = 2⁻²⁴), on sizes around the 64-column block edges, as views of
// one storage. Both modes must also agree with each other to rounding.
import { afterAll, describe, expect, it } from "vitest";
import { probeAdapter } from "../../src/backend/index.ts";
import { type Backend, NotPositiveDefiniteError, type Tensor } from "../../src/backend/types.ts";
import { choleskyResidual, kroneckerSolveResidual, solveResidual } from "../helpers/residuals.ts";

const U = 2 ** -24;
const SIZES = [1, 31, 64, 65, 129, 300];
const RHS = 45;

function rng(seed: number): () => number {
  let s = seed * 2654435761 >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32 - 0.5;
  };
}

/**
 * An SPD matrix B Bᵀ/n + I/4, rounded to float32; `graded` scales row and column i by
 * 10^(−2i/n), which raises the condition number to ~1e5 (as damped factors with small damping are).
 */
function spd(n: number, seed: number, graded = false): Float64Array {
  const r = rng(seed);
  const b = Float64Array.from({ length: n * n }, r);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += b[i * n + k] * b[j * n + k];
      const scale = graded ? 10 ** (-2 * (i + j) / n) : 1;
      a[i * n + j] = a[j * n + i] = Math.fround(scale * (s / n + (i === j ? 0.25 : 0)));
    }
  }
  return a;
}


/** Views of one tensor, stacked down its rows. */
function stacked(b: Backend, shapes: [number, number][]): { parent: Tensor; views: Tensor[] } {
  const parent = b.alloc(shapes.reduce((s, [r]) => s + r, 0), Math.max(...shapes.map(([, c]) => c)) + 2);
  b.fill(parent, Number.NaN);
  let row = 0;
  const views = shapes.map(([r, c]) => {
    const v = b.view(parent, row, 1, r, c);
    row += r;
    return v;
  });
  return { parent, views };
}

const hasAdapter = (await probeAdapter()).kind !== "none";
const modes = [true, false];
const backends = new Map<boolean, Backend>();
if (hasAdapter) {
  const { createWebGpuBackend } = await import("../../src/backend/webgpu/index.ts");
  for (const tiled of modes) backends.set(tiled, await createWebGpuBackend({ tiledBatches: tiled }));
}
afterAll(() => {
  for (const b of backends.values()) b.dispose();
});

describe.skipIf(!hasAdapter)("webgpu batched Cholesky and solves", () => {
  const results = new Map<string, Float32Array | Float64Array>();
  for (const [tiled, graded] of modes.flatMap((t) => [[t, false], [t, true]])) {
    it(`${tiled ? "solves by inverses, one tiled gemm dispatch per stage" : "substitution solves, one gemm per matrix"}${graded ? ", graded (cond ~1e5)" : ""}: residuals within 4nu`, async () => {
      const b = backends.get(tiled)!;
      const values = SIZES.map((n, i) => spd(n, i + 1, graded));
      const { parent, views } = stacked(
        b,
        SIZES.map((n) => [n, n]),
      );
      views.forEach((v, i) => b.upload(v, values[i]));
      b.choleskyBatch(views);
      const Ls = await Promise.all(views.map((v) => b.download(v)));
      SIZES.forEach((n, i) => {
        const L = Ls[i];
        for (let r = 0; r < n; r++) for (let c = r + 1; c < n; c++) expect(L[r * n + c]).toBe(0);
        expect(choleskyResidual(L, values[i], n), `cholesky n = ${n}`).toBeLessThanOrEqual(4 * n * U);
        if (!graded) results.set(`${tiled}:L${i}`, L);
      });
      for (const side of ["left", "right"] as const) {
        for (const transpose of [false, true]) {
          const shapes = SIZES.map((n): [number, number] => (side === "left" ? [n, RHS] : [RHS, n]));
          const rhsValues = shapes.map(([r, c], i) => Float64Array.from({ length: r * c }, rng(100 + i)).map(Math.fround));
          const rhs = stacked(b, shapes);
          rhs.views.forEach((v, i) => b.upload(v, rhsValues[i]));
          b.triangularSolveBatch(views, rhs.views, { side, transpose });
          for (let i = 0; i < SIZES.length; i++) {
            const n = SIZES[i];
            const L = Ls[i];
            const X = await b.download(rhs.views[i]);
            const [br, bc] = shapes[i];
            expect(solveResidual(L, n, X, rhsValues[i], br, bc, side, transpose), `${side}${transpose ? "ᵀ" : ""} n = ${n}`).toBeLessThanOrEqual(4 * n * U);
            if (!graded) results.set(`${tiled}:${side}${transpose}${i}`, X);
          }
          b.free(rhs.parent);
        }
      }
      // Kronecker-factored solves: b_i (n_i × n_j, j = the next size) ← (L_i L_iᵀ)⁻¹ b_i (L_j L_jᵀ)⁻¹;
      // four triangular solves, each within 4nu, so the whole within 8(n_i + n_j)u.
      const partner = (i: number) => (i + 1) % SIZES.length;
      const shapes = SIZES.map((n, i): [number, number] => [n, SIZES[partner(i)]]);
      const rhsValues = shapes.map(([r, c], i) => Float64Array.from({ length: r * c }, rng(200 + i)).map(Math.fround));
      const rhs = stacked(b, shapes);
      rhs.views.forEach((v, i) => b.upload(v, rhsValues[i]));
      b.kroneckerSolveBatch(views, views.map((_, i) => views[partner(i)]), rhs.views);
      for (let i = 0; i < SIZES.length; i++) {
        const X = await b.download(rhs.views[i]);
        const [r, c] = shapes[i];
        expect(kroneckerSolveResidual(Ls[i], Ls[partner(i)], X, rhsValues[i], r, c), `kronecker n = ${r}, ${c}`).toBeLessThanOrEqual(8 * (r + c) * U);
        if (!graded) results.set(`${tiled}:kronecker${i}`, X);
      }
      b.free(rhs.parent);
      b.free(parent);
    });
  }

  for (const tiled of modes) {
    it(`${tiled ? "gemm-only" : "substitution"} mode: a matrix that is not positive definite raises NotPositiveDefiniteError`, async () => {
      const b = backends.get(tiled)!;
      const n = 150;
      const v = spd(n, 7);
      v[100 * n + 100] = -1;
      const a = b.alloc(n, n);
      b.upload(a, v);
      b.choleskyBatch([a]);
      await expect(b.flush()).rejects.toBeInstanceOf(NotPositiveDefiniteError);
      b.free(a);
    });
  }

  it("the two modes agree to float32 rounding (relative 1e-4 of each result's largest entry)", () => {
    for (const [key, value] of results) {
      if (!key.startsWith("true:")) continue;
      const other = results.get(`false:${key.slice(5)}`);
      expect(other, key).toBeDefined();
      const scale = Math.max(...Array.from(value, Math.abs));
      for (let i = 0; i < value.length; i++) expect(Math.abs(value[i] - other![i])).toBeLessThanOrEqual(1e-4 * scale);
    }
  });
});

// The shared-memory-tiled gemm as the kernel of single gemms, for every tile shape: all four
// transpose cases on odd shapes and strided views, β = 0 (C's NaN ignored) and β ≠ 0, against a
// float64 product with the conformance suite's bound (k+2)·u·Σ|a||b| + 4u|βC|.
describe.skipIf(!hasAdapter)("webgpu shared-memory-tiled gemm", async () => {
  const { createWebGpuBackend } = await import("../../src/backend/webgpu/index.ts");
  const { GEMM_TILES } = await import("../../src/backend/webgpu/context.ts");
  for (const tile of Object.keys(GEMM_TILES)) {
    it(`tile ${tile}`, async () => {
      const b = await createWebGpuBackend({ gemm: "tiled", tile });
      try {
        for (const [m, n, k] of [
          [1, 1, 1],
          [7, 31, 5],
          [65, 129, 33],
          [130, 67, 200],
        ]) {
          for (const transA of [false, true]) {
            for (const transB of [false, true]) {
              for (const beta of [0, 0.5]) {
                const r = rng(m * 7 + n * 13 + k);
                const av = Float64Array.from({ length: m * k }, r).map(Math.fround);
                const bv = Float64Array.from({ length: k * n }, r).map(Math.fround);
                const cv = Float64Array.from({ length: m * n }, r).map(Math.fround);
                const [ar, ac] = transA ? [k, m] : [m, k];
                const [br, bc] = transB ? [n, k] : [k, n];
                const { views } = stacked(b, [
                  [ar, ac],
                  [br, bc],
                  [m, n],
                ]);
                const [A, B, C] = views;
                b.upload(A, av);
                b.upload(B, bv);
                if (beta !== 0) b.upload(C, cv);
                b.gemm(A, B, C, { transA, transB, alpha: 1.5, beta });
                const got = await b.download(C);
                const opA = (i: number, p: number) => (transA ? av[p * m + i] : av[i * k + p]);
                const opB = (p: number, j: number) => (transB ? bv[j * k + p] : bv[p * n + j]);
                for (let i = 0; i < m; i++) {
                  for (let j = 0; j < n; j++) {
                    let s = 0;
                    let mag = 0;
                    for (let p = 0; p < k; p++) {
                      s += opA(i, p) * opB(p, j);
                      mag += Math.abs(opA(i, p) * opB(p, j));
                    }
                    const want = 1.5 * s + beta * cv[i * n + j];
                    const bound = (k + 2) * U * 1.5 * mag + 4 * U * Math.abs(beta * cv[i * n + j]) + 1e-30;
                    const err = Math.abs(got[i * n + j] - want);
                    if (!(err <= bound)) throw new Error(`${m}×${n}×${k} transA=${transA} transB=${transB} β=${beta}: C[${i},${j}] = ${got[i * n + j]}, want ${want}`);
                  }
                }
              }
            }
          }
        }
      } finally {
        b.dispose();
      }
    });
  }
});
