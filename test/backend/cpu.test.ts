// CPU-backend specifics that the shared conformance suite does not reach: loading OpenBLAS (and
// failing clearly without it), BLAS calls on strided views, Cholesky failing at once, and the
// allocation-free Threefry copy agreeing word for word with the definition.
//
// Tolerances: float32 results against the float64 reference. gemm/trsm sums of k ≤ 300 products of
// O(1) values carry a relative error of about k·2⁻²⁴ ≈ 2e-5 at worst; Cholesky and triangular
// solves of well-conditioned (diagonally dominant) matrices stay within ~1e-5 relative. We allow
// 1e-4 relative to the largest magnitude, well above rounding and far below any indexing mistake.
import { describe, expect, test } from "vitest";
import { createCpuBackend, MissingBlasError, OPENBLAS_PATH_ENV } from "../../src/backend/cpu/index.ts";
import { defaultThreadCount, loadOpenBlas } from "../../src/backend/cpu/openblas.ts";
import { setKey, threefry, words } from "../../src/backend/cpu/threefry.ts";
import { seedKey, threefry2x32 } from "../../src/backend/random.ts";
import { createReferenceBackend } from "../../src/backend/reference.ts";
import { type Backend, NotPositiveDefiniteError, type Tensor } from "../../src/backend/types.ts";
import { nonZeroAboveDiagonal } from "../../src/backend/backward-error.ts";

const cpu = createCpuBackend();
const ref = createReferenceBackend();
const TOL = 1e-4;

/** Deterministic values in [−1, 1). */
function values(n: number, salt: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + 0.37 * salt) * 0.999);
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = TOL): void {
  expect(actual.length).toBe(expected.length);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst / scale).toBeLessThanOrEqual(tol);
}

/** The same matrix on both backends. */
function pair(rows: number, cols: number, data: number[]): [Tensor, Tensor] {
  const a = cpu.alloc(rows, cols);
  const b = ref.alloc(rows, cols);
  cpu.upload(a, data);
  ref.upload(b, data);
  return [a, b];
}

describe("loading OpenBLAS", () => {
  test("a bogus library path raises MissingBlasError with exit code 2 and one actionable line", () => {
    let caught: unknown;
    try {
      createCpuBackend({ libraryPath: "/nonexistent/libopenblas.so.0" });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MissingBlasError);
    const err = caught as MissingBlasError;
    expect(err.exitCode).toBe(2);
    expect(err.message).not.toContain("\n");
    expect(err.message).toContain("/nonexistent/libopenblas.so.0");
    expect(err.message).toContain("bash scripts/setup.sh");
    expect(err.message).toContain("apt-get install libopenblas0-pthread");
  });

  test(`${OPENBLAS_PATH_ENV} overrides the default search`, () => {
    const saved = process.env[OPENBLAS_PATH_ENV];
    process.env[OPENBLAS_PATH_ENV] = "/nonexistent/from-env.so";
    try {
      expect(() => loadOpenBlas()).toThrow(/from-env\.so/);
    } finally {
      if (saved === undefined) delete process.env[OPENBLAS_PATH_ENV];
      else process.env[OPENBLAS_PATH_ENV] = saved;
    }
  });

  test("a library without the BLAS symbols is refused as missing, naming the symbol", () => {
    expect(() => loadOpenBlas({ path: "libm.so.6" })).toThrow(MissingBlasError);
    expect(() => loadOpenBlas({ path: "libm.so.6" })).toThrow(/cblas_sgemm/);
  });

  test("the backend describes its library and thread count", () => {
    expect(cpu.info.name).toBe("cpu");
    expect(cpu.info.dtype).toBe("float32");
    expect(cpu.info.device).toMatch(/OpenBLAS .*threads/);
  });
});

test("the thread count follows OPENBLAS_NUM_THREADS when set (a whole number), else every core", () => {
  expect(defaultThreadCount({ OPENBLAS_NUM_THREADS: "1" })).toBe(1);
  expect(defaultThreadCount({ OPENBLAS_NUM_THREADS: "3" })).toBe(3);
  expect(defaultThreadCount({})).toBeGreaterThanOrEqual(1);
  for (const bad of ["0", "two", "1.5", "-1", "0x2"]) expect(() => defaultThreadCount({ OPENBLAS_NUM_THREADS: bad })).toThrow(`OPENBLAS_NUM_THREADS='${bad}': expected a number of threads, 1 or more`);
});

describe("gemm on strided views", () => {
  // W is D×(P+1) with its bias in the last column; W̃ = W without it has stride P+1 ≠ P.
  const D = 7;
  const P = 5;
  const N = 9;
  test.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])("W̃ (stride P+1) · X, transA=%s transB=%s, into a window of a larger C", (transA, transB) => {
    const [wc, wr] = pair(D, P + 1, values(D * (P + 1), 1));
    const wtc = cpu.view(wc, 0, 0, D, P);
    const wtr = ref.view(wr, 0, 0, D, P);
    expect(wtc.stride).toBe(P + 1);
    expect(wtc.storage).toBe(wc.storage);
    // op(W̃) op(X) with op(W̃) = W̃ (D×P) or W̃ᵀ (P×D): X must supply the other factor.
    const m = transA ? P : D;
    const k = transA ? D : P;
    const [xRows, xCols] = transB ? [N, k] : [k, N];
    // X itself is a window (rows 1.., cols 2..) of a wider matrix.
    const [xc, xr] = pair(xRows + 1, xCols + 3, values((xRows + 1) * (xCols + 3), 2));
    const xvc = cpu.view(xc, 1, 2, xRows, xCols);
    const xvr = ref.view(xr, 1, 2, xRows, xCols);
    const cData = values((m + 2) * (N + 4), 3);
    const [cc, cr] = pair(m + 2, N + 4, cData);
    const cvc = cpu.view(cc, 1, 1, m, N);
    const cvr = ref.view(cr, 1, 1, m, N);
    const opts = { transA, transB, alpha: 0.75, beta: -0.5 };
    cpu.gemm(wtc, xvc, cvc, opts);
    ref.gemm(wtr, xvr, cvr, opts);
    return Promise.all([cpu.download(cc), ref.download(cr)]).then(([a, b]) => {
      expectClose(a, b);
      // Outside the window C is untouched (bit for bit).
      for (let i = 0; i < m + 2; i++) {
        for (let j = 0; j < N + 4; j++) {
          if (i >= 1 && i <= m && j >= 1 && j <= N) continue;
          expect(a[i * (N + 4) + j]).toBe(Math.fround(cData[i * (N + 4) + j]));
        }
      }
    });
  });

  test("beta = 0 ignores NaN already in C", async () => {
    const [a] = pair(3, 4, values(12, 4));
    const [b] = pair(4, 2, values(8, 5));
    const c = cpu.alloc(3, 2);
    cpu.fill(c, Number.NaN);
    cpu.gemm(a, b, c);
    expect(Array.from(await cpu.download(c)).every(Number.isFinite)).toBe(true);
  });

  test("autoencoder-sized product (1000×784 · 784×257 window) matches the reference", async () => {
    const [ac, ar] = pair(40, 785, values(40 * 785, 6));
    const [bc, br] = pair(785, 300, values(785 * 300, 7));
    const avc = cpu.view(ac, 0, 0, 40, 784);
    const avr = ref.view(ar, 0, 0, 40, 784);
    const bvc = cpu.view(bc, 0, 10, 784, 257);
    const bvr = ref.view(br, 0, 10, 784, 257);
    const cc = cpu.alloc(40, 257);
    const cr = ref.alloc(40, 257);
    cpu.gemm(avc, bvc, cc);
    ref.gemm(avr, bvr, cr);
    // k = 784: worst-case float32 accumulation ≈ 784·2⁻²⁴ ≈ 5e-5 relative, within TOL.
    expectClose(await cpu.download(cc), await ref.download(cr));
  });
});

/** An n×n SPD matrix: M Mᵀ/n + I, diagonally dominant enough to be well conditioned. */
function spd(n: number, salt: number): number[] {
  const m = values(n * n, salt);
  const out = new Array<number>(n * n).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < n; p++) s += m[i * n + p] * m[j * n + p];
      out[i * n + j] = s / n + (i === j ? 1 : 0);
    }
  }
  return out;
}

describe("Cholesky and triangular solves", () => {
  test.each([1, 7, 31, 150])("n = %i, on a strided window, lower factor with zeroed upper triangle", async (n) => {
    const big = n + 3;
    const data = values(big * big, 8);
    const inner = spd(n, 9);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[(i + 2) * big + (j + 1)] = inner[i * n + j];
    const [ac, ar] = pair(big, big, data);
    const vc = cpu.view(ac, 2, 1, n, n);
    const vr = ref.view(ar, 2, 1, n, n);
    cpu.cholesky(vc);
    ref.cholesky(vr);
    expectClose(await cpu.download(ac), await ref.download(ar));
    const l = await cpu.download(vc);
    expect(nonZeroAboveDiagonal(l, n)).toBeUndefined();
  });

  test("a matrix that is not positive definite raises at once, naming the op, size and pivot", () => {
    const a = cpu.alloc(2, 2);
    cpu.upload(a, [1, 2, 2, 1]);
    let caught: unknown;
    try {
      cpu.cholesky(a);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NotPositiveDefiniteError);
    const err = caught as NotPositiveDefiniteError;
    expect(err.op).toBe("cholesky");
    expect(err.size).toBe(2);
    expect(err.pivot).toBeCloseTo(-3, 5);
  });

  test("a large indefinite matrix (past OpenBLAS's blocking) and a NaN matrix both raise", () => {
    const n = 300;
    const data = spd(n, 10);
    data[250 * n + 250] = -1000;
    const a = cpu.alloc(n, n);
    cpu.upload(a, data);
    expect(() => cpu.cholesky(a)).toThrow(NotPositiveDefiniteError);
    const b = cpu.alloc(n, n);
    const withNan = spd(n, 11);
    withNan[200 * n + 100] = Number.NaN;
    cpu.upload(b, withNan);
    expect(() => cpu.cholesky(b)).toThrow(NotPositiveDefiniteError);
  });

  test.each([
    ["left", false],
    ["left", true],
    ["right", false],
    ["right", true],
  ] as const)("side %s, transpose %s, on strided views", async (side, transpose) => {
    const n = 33;
    const other = 12;
    const [lc, lr] = pair(n, n + 2, new Array(n * (n + 2)).fill(0));
    const lvc = cpu.view(lc, 0, 1, n, n);
    const lvr = ref.view(lr, 0, 1, n, n);
    const s = spd(n, 12);
    cpu.upload(lvc, s);
    ref.upload(lvr, s);
    cpu.cholesky(lvc);
    ref.cholesky(lvr);
    const [bRows, bCols] = side === "left" ? [n, other] : [other, n];
    const [bc, br] = pair(bRows + 1, bCols + 5, values((bRows + 1) * (bCols + 5), 13));
    const bvc = cpu.view(bc, 1, 3, bRows, bCols);
    const bvr = ref.view(br, 1, 3, bRows, bCols);
    cpu.triangularSolve(lvc, bvc, { side, transpose });
    ref.triangularSolve(lvr, bvr, { side, transpose });
    expectClose(await cpu.download(bc), await ref.download(br));
  });
});

describe("Threefry", () => {
  test("the allocation-free copy gives the words of src/backend/random.ts", () => {
    for (const seed of [0, 1, 0xffffffff, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]) {
      setKey(seed);
      const [k0, k1] = seedKey(seed);
      for (const counter of [0, 1, 0xffffffff]) {
        for (let i = 0; i < 2000; i += 7) {
          threefry(i, counter);
          expect([words[0], words[1]]).toEqual(threefry2x32(k0, k1, i, counter));
        }
      }
    }
  });

  test("random and bernoulli are bit-identical to the reference after rounding to float32", async () => {
    const backends: Backend[] = [cpu, ref];
    const outs = backends.map((b) => {
      const u = b.alloc(5, 13);
      const z = b.alloc(5, 13);
      const p = b.alloc(5, 13);
      const s = b.alloc(5, 13);
      b.random("uniform", u, 42, 7);
      b.random("normal", z, 42, 8);
      b.upload(p, values(65, 14).map((v) => (v + 1) / 2));
      b.bernoulli(p, s, 42, 9);
      return Promise.all([u, z, s].map((t) => b.download(t)));
    });
    const [c, r] = await Promise.all(outs);
    for (let k = 0; k < 3; k++) expect(Array.from(c[k])).toEqual(Array.from(r[k], Math.fround));
  });
});

describe("memory", () => {
  test("free accepts allocations once and refuses views", () => {
    const a = cpu.alloc(3, 3);
    expect(() => cpu.free(cpu.view(a, 0, 0, 2, 2))).toThrow(/not returned by alloc/);
    cpu.free(a);
    expect(() => cpu.free(a)).toThrow(/not returned by alloc/);
  });

  test("upload and download round-trip a strided view without touching its neighbours", async () => {
    const a = cpu.alloc(4, 6);
    cpu.fill(a, 9);
    const v = cpu.view(a, 1, 2, 2, 3);
    cpu.upload(v, [1, 2, 3, 4, 5, 6]);
    expect(Array.from(await cpu.download(v))).toEqual([1, 2, 3, 4, 5, 6]);
    const all = await cpu.download(a);
    expect(Array.from(all).reduce((s, x) => s + x, 0)).toBe(21 + 9 * 18);
  });
});

describe("symmetric products (A·Aᵀ and Aᵀ·A go to ssyrk)", () => {
  test.each([false, true])("C = α op(A) op(A)ᵀ on a strided view, transA=%s, matches the reference in both triangles", async (transA) => {
    const [bigCpu, bigRef] = pair(40, 33, values(40 * 33, 17));
    const a = cpu.view(bigCpu, 2, 1, 31, 30);
    const aRef = ref.view(bigRef, 2, 1, 31, 30);
    const n = transA ? 30 : 31;
    const c = cpu.alloc(n, n);
    const cRef = ref.alloc(n, n);
    cpu.fill(c, Number.NaN);
    cpu.gemm(a, a, c, { transA, transB: !transA, alpha: 0.5 });
    ref.gemm(aRef, aRef, cRef, { transA, transB: !transA, alpha: 0.5 });
    expectClose(await cpu.download(c), await ref.download(cRef));
  });
});
