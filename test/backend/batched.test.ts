// The WebGPU backend's two ways of running the batched Cholesky and triangular solves — one
// shared-memory-tiled gemm dispatch per block step for all matrices (the default on hardware GPUs)
// and one register-tiled gemm per matrix (the default on software adapters) — each held to the
// backward-error bounds of the conformance suite: ‖LLᵀ − A‖/‖A‖ ≤ 4nu and
// ‖op(L)X − B‖/(‖L‖‖X‖) ≤ 4nu (u = 2⁻²⁴), on sizes around the 64-column block edges, as views of
// one storage. Both modes must also agree with each other to rounding.
import { afterAll, describe, expect, it } from "vitest";
import { probeAdapter } from "../../src/backend/index.ts";
import { type Backend, NotPositiveDefiniteError, type Tensor } from "../../src/backend/types.ts";
import { choleskyResidual, kroneckerSolveResidual, nonZeroAboveDiagonal, solveResidual } from "../../src/backend/backward-error.ts";

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
/** The tiled mode again with the vec4 inner loop and every trailing update split into 2 k-slices (lowerOnly included). */
let splitBackend: Backend | undefined;
if (hasAdapter) {
  const { createWebGpuBackend } = await import("../../src/backend/webgpu/index.ts");
  for (const tiled of modes) backends.set(tiled, await createWebGpuBackend({ tiledBatches: tiled }));
  splitBackend = await createWebGpuBackend({ tiledBatches: true, gemmInner: "vec4", splitK: 2 });
}
afterAll(() => {
  for (const b of backends.values()) b.dispose();
  splitBackend?.dispose();
});

describe.skipIf(!hasAdapter)("webgpu batched Cholesky and solves", () => {
  const results = new Map<string, Float32Array | Float64Array>();
  const modeNames = new Map<boolean | "split", string>([
    [true, "solves by inverses, one tiled gemm dispatch per stage"],
    [false, "substitution solves, one gemm per matrix"],
    ["split", "solves by inverses, vec4 tiled gemm split into 2 k-slices"],
  ]);
  for (const [tiled, graded] of [...modeNames.keys()].flatMap((t) => [[t, false], [t, true]] as const)) {
    it(`${modeNames.get(tiled)}${graded ? ", graded (cond ~1e5)" : ""}: residuals within 4nu`, async () => {
      const b = tiled === "split" ? splitBackend! : backends.get(tiled)!;
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
        expect(nonZeroAboveDiagonal(L, n), `n = ${n}`).toBeUndefined();
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

  it("the tiled modes agree with the substitution mode to float32 rounding (relative 1e-4 of each result's largest entry)", () => {
    for (const [key, value] of results) {
      if (key.startsWith("false:")) continue;
      const other = results.get(`false:${key.slice(key.indexOf(":") + 1)}`);
      expect(other, key).toBeDefined();
      const scale = Math.max(...Array.from(value, Math.abs));
      const apart = Array.from(value).findIndex((v, i) => !(Math.abs(v - other![i]) <= 1e-4 * scale));
      expect(apart, `${key}: entry ${apart} is ${value[apart]} here, ${other![apart]} by substitution`).toBe(-1);
    }
  });
});

// The shared-memory-tiled gemm as the kernel of single gemms, against a float64 product within the
// conformance suite's bound (bench/gemm-check.ts): one of each kind of kernel variant — the scalar
// inner loop unsplit and split into 3, the vec4 inner loop with split-K auto (the hardware default:
// unsplit for short k, split for long), and the one-row tile with vec4 split into 5 — on shapes that
// cross the tile edges in m, n and k, with lowerOnly. The whole grid of tiles (none of them a
// default on a software adapter) is `bun run bench gemm-check`, run by scripts/device-check.sh.
describe.skipIf(!hasAdapter)("webgpu shared-memory-tiled gemm", async () => {
  const { checkVariant, variantName } = await import("../../bench/gemm-check.ts");
  const shapes = [
    [1, 1, 1, false],
    [65, 129, 33, false],
    [40, 50, 700, false],
    [97, 97, 300, true],
  ] as const;
  for (const variant of [
    { tile: "4x4x16", gemmInner: "scalar", splitK: "off" },
    { tile: "4x4x16", gemmInner: "scalar", splitK: 3 },
    { tile: "4x4x16", gemmInner: "vec4", splitK: "auto" },
    { tile: "1x4x16", gemmInner: "vec4", splitK: 5 },
  ] as const) {
    it(variantName(variant), async () => {
      const result = await checkVariant(variant, shapes);
      expect(result.failures).toEqual([]);
      expect(result.cases).toBe(variant.splitK === "off" ? 24 : 32);
    });
  }
});

// bench gemm-check's factorisation check, at a size crossing the 64-wide blocks (the paper's sizes run on a GPU).
describe.skipIf(!hasAdapter)("bench gemm-check's Cholesky check", async () => {
  const { checkCholesky } = await import("../../bench/gemm-check.ts");
  it("hardware kernel choices at n = 131: every backward error within 4nu", async () => {
    const result = await checkCholesky("hardware", [[131, 1e6]]);
    expect(result.failures).toEqual([]);
    expect(Object.keys(result.sizes[0].solves)).toEqual(["left", "leftᵀ", "right", "rightᵀ"]);
    expect(result.sizes[0].cholesky).toBeGreaterThan(0);
  });
});

describe("split-K slice counts", async () => {
  const { splitKSlices, SPLIT_K_TARGET_GROUPS, SPLIT_K_MIN_SLICE } = await import("../../src/backend/webgpu/gemmBatch.ts");
  it("off never splits; N splits into at most N whole multiples of bk, none empty", () => {
    expect(splitKSlices("off", 1, 10000, 16)).toBe(1);
    expect(splitKSlices(3, 1, 200, 16)).toBe(3);
    expect(splitKSlices(3, 1, 33, 16)).toBe(3);
    expect(splitKSlices(4, 1, 33, 16)).toBe(3);
    expect(splitKSlices(3, 1, 16, 16)).toBe(1);
    expect(splitKSlices(1, 1, 1000, 16)).toBe(1);
  });
  it("auto splits only below the target workgroup count, into slices of at least the minimum length", () => {
    expect(splitKSlices("auto", SPLIT_K_TARGET_GROUPS, 1000, 16)).toBe(1);
    expect(splitKSlices("auto", 256, 1000, 16)).toBe(Math.ceil(SPLIT_K_TARGET_GROUPS / 256));
    expect(splitKSlices("auto", 4, 1000, 16)).toBe(Math.floor(1000 / SPLIT_K_MIN_SLICE));
    expect(splitKSlices("auto", 4, SPLIT_K_MIN_SLICE * 2 - 1, 16)).toBe(1);
  });
});
