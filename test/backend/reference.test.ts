// The float64 reference is what every other backend is held to, so it is itself checked against
// definitions: published Threefry answers, finite differences, and reconstruction identities.
import { describe, expect, test } from "vitest";
import { threefry2x32 } from "../../src/backend/random.ts";
import {
  mixtureGaussNewton,
  mixtureGrad,
  mixtureHessian,
  mixtureHessianSqrt,
  mixtureValue,
  symmetricEigen3,
} from "../../src/backend/mixture.ts";
import { createReferenceBackend } from "../../src/backend/reference.ts";
import { NotPositiveDefiniteError, ShapeError } from "../../src/backend/types.ts";

describe("threefry2x32-20", () => {
  // Known-answer vectors of Random123 (kat_vectors, threefry2x32 with 20 rounds).
  test.each([
    [[0, 0], [0, 0], [0x6b200159, 0x99ba4efe]],
    [[0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x1cb996fc, 0xbb002be7]],
    [[0x13198a2e, 0x03707344], [0x243f6a88, 0x85a308d3], [0xc4923a9c, 0x483df7a0]],
  ])("key %j counter %j", (key, counter, expected) => {
    expect(threefry2x32(key[0], key[1], counter[0], counter[1])).toEqual(expected);
  });
});

describe("mixture loss (eq. 27)", () => {
  const points: [number, number, number, number][] = [
    [0.3, -1.2, 2.0, 1],
    [-2.5, 0.7, -0.4, 0],
    [4.0, 3.0, -3.0, 1],
    [0, 0, 0, 0],
  ];
  // Central differences in float64 with step 1e-5: truncation O(h²) ≈ 1e-10, rounding ≈ 1e-11.
  const step = 1e-5;
  test.each(points)("gradient matches finite differences at (%f, %f, %f), y=%i", (h1, h2, h3, y) => {
    const g = new Float64Array(3);
    mixtureGrad(h1, h2, h3, y, g);
    const h = [h1, h2, h3];
    for (let k = 0; k < 3; k++) {
      const plus = [...h];
      const minus = [...h];
      plus[k] += step;
      minus[k] -= step;
      const fd = (mixtureValue(plus[0], plus[1], plus[2], y) - mixtureValue(minus[0], minus[1], minus[2], y)) / (2 * step);
      expect(g[k]).toBeCloseTo(fd, 8);
    }
  });
  test.each(points)("Hessian matches finite differences of the gradient at (%f, %f, %f), y=%i", (h1, h2, h3, y) => {
    const hess = new Float64Array(9);
    mixtureHessian(h1, h2, h3, y, hess);
    const h = [h1, h2, h3];
    const gp = new Float64Array(3);
    const gm = new Float64Array(3);
    for (let k = 0; k < 3; k++) {
      const plus = [...h];
      const minus = [...h];
      plus[k] += step;
      minus[k] -= step;
      mixtureGrad(plus[0], plus[1], plus[2], y, gp);
      mixtureGrad(minus[0], minus[1], minus[2], y, gm);
      for (let i = 0; i < 3; i++) expect(hess[3 * i + k]).toBeCloseTo((gp[i] - gm[i]) / (2 * step), 7);
    }
  });
  test("Jacobi eigen-decomposition reconstructs a symmetric matrix", () => {
    const m = [4, 1, -2, 1, 2, 0.5, -2, 0.5, -3];
    const values = new Float64Array(3);
    const vectors = new Float64Array(9);
    symmetricEigen3(m, values, vectors);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let r = 0;
        for (let k = 0; k < 3; k++) r += vectors[3 * i + k] * values[k] * vectors[3 * j + k];
        expect(r).toBeCloseTo(m[3 * i + j], 12);
      }
    }
  });
  test("the Gauss–Newton matrix is the PSD projection: equal to ∇²E where ∇²E is PSD, never indefinite", () => {
    let sawIndefinite = false;
    for (let t = 0; t < 200; t++) {
      const h = [Math.sin(t) * 4, Math.cos(1.7 * t) * 4, Math.sin(0.3 * t + 1) * 4];
      const y = t % 2;
      const exact = new Float64Array(9);
      const gn = new Float64Array(9);
      const values = new Float64Array(3);
      const vectors = new Float64Array(9);
      mixtureHessian(h[0], h[1], h[2], y, exact);
      mixtureGaussNewton(h[0], h[1], h[2], y, gn);
      symmetricEigen3(exact, values, vectors);
      const gnValues = new Float64Array(3);
      symmetricEigen3(gn, gnValues, new Float64Array(9));
      for (const v of gnValues) expect(v).toBeGreaterThan(-1e-12);
      if (Math.min(...values) < -1e-9) sawIndefinite = true;
      else for (let i = 0; i < 9; i++) expect(gn[i]).toBeCloseTo(exact[i], 10);
      const c = new Float64Array(9);
      mixtureHessianSqrt(h[0], h[1], h[2], y, c);
    }
    expect(sawIndefinite).toBe(true);
  });
});

describe("reference linear algebra", () => {
  const ref = createReferenceBackend();
  test("gemm with all transposes on strided views", async () => {
    const big = ref.alloc(5, 6);
    ref.upload(big, Array.from({ length: 30 }, (_, i) => Math.sin(i)));
    const a = ref.view(big, 1, 1, 3, 4); // 3×4, stride 6
    const at = ref.alloc(4, 3);
    ref.copy(a, at, true);
    const b = ref.alloc(4, 2);
    ref.upload(b, [1, 2, 3, 4, 5, 6, 7, 8]);
    const bt = ref.alloc(2, 4);
    ref.copy(b, bt, true);
    const expected = new Float64Array(6);
    const av = await ref.download(a);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) for (let k = 0; k < 4; k++) expected[i * 2 + j] += av[i * 4 + k] * (1 + k * 2 + j);
    for (const [x, y, transA, transB] of [[a, b, false, false], [at, b, true, false], [a, bt, false, true], [at, bt, true, true]] as const) {
      const c = ref.alloc(3, 2);
      ref.fill(c, 1);
      ref.gemm(x, y, c, { transA, transB, alpha: 2, beta: 0.5 });
      const got = await ref.download(c);
      got.forEach((v, i) => expect(v).toBeCloseTo(2 * expected[i] + 0.5, 12));
    }
    expect(() => ref.gemm(a, a, ref.alloc(3, 3))).toThrow(ShapeError);
  });
  test("cholesky and the four triangular solves invert an SPD matrix", async () => {
    const n = 6;
    const m = ref.alloc(n, n);
    const base = Array.from({ length: n * n }, (_, i) => Math.cos(i * 1.3));
    const spd = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) spd[i * n + j] += base[i * n + k] * base[j * n + k];
    for (let i = 0; i < n; i++) spd[i * n + i] += 0.5;
    ref.upload(m, spd);
    ref.cholesky(m);
    const rhs = Array.from({ length: n * 3 }, (_, i) => i - 4);
    // Left: A X = B via L (Lᵀ X) = B.
    const x = ref.alloc(n, 3);
    ref.upload(x, rhs);
    ref.triangularSolve(m, x, { side: "left", transpose: false });
    ref.triangularSolve(m, x, { side: "left", transpose: true });
    const xv = await ref.download(x);
    for (let i = 0; i < n; i++) for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += spd[i * n + k] * xv[k * 3 + j];
      expect(s).toBeCloseTo(rhs[i * 3 + j], 10);
    }
    // Right: X A = B via (X L) Lᵀ = B.
    const rhsRight = Array.from({ length: 3 * n }, (_, i) => Math.sin(i));
    const z = ref.alloc(3, n);
    ref.upload(z, rhsRight);
    ref.triangularSolve(m, z, { side: "right", transpose: true });
    ref.triangularSolve(m, z, { side: "right", transpose: false });
    const zv = await ref.download(z);
    for (let i = 0; i < 3; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += zv[i * n + k] * spd[k * n + j];
      expect(s).toBeCloseTo(rhsRight[i * n + j], 10);
    }
    const notPd = ref.alloc(2, 2);
    ref.upload(notPd, [1, 2, 2, 1]);
    expect(() => ref.cholesky(notPd)).toThrow(NotPositiveDefiniteError);
  });
});
