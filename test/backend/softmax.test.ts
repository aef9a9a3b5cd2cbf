// The softmax cross-entropy of docs/algorithm.md §11 against its definitions, in float64: the
// gradient and Hessian against central differences of E = −log p_y written out by hand, the square
// root against C Cᵀ = diag(p) − ppᵀ, the Hessian–vector product against the explicit matrix, and
// KFAC's draws against p; then the reference backend's ops on a K × N batch against the same.
import { describe, expect, test } from "vitest";
import { createReferenceBackend } from "../../src/backend/reference.ts";
import {
  softmaxGrad,
  softmaxHessian,
  softmaxHessianSqrt,
  softmaxHessianVector,
  softmaxSample,
  softmaxValue,
} from "../../src/backend/softmax.ts";

/** E = −log(exp(h_y) / Σ exp(h)), straight from the definition (fine for the moderate h used here). */
function crossEntropy(h: number[], y: number): number {
  const total = h.reduce((s, v) => s + Math.exp(v), 0);
  return -Math.log(Math.exp(h[y]) / total);
}

function probabilities(h: number[]): number[] {
  const e = h.map(Math.exp);
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

const POINTS: [number[], number][] = [
  [[0.3, -1.2, 2.0], 1],
  [[-2.5, 0.7, -0.4, 1.1], 3],
  [[4.0, 3.0, -3.0, 0.5, -1.5], 0],
  [[0, 0], 1],
];

describe("softmax scalar maths (float64)", () => {
  // Central differences with step 1e-5: truncation O(h²·E‴) ≈ 1e-10, rounding ≈ 1e-16/1e-5 = 1e-11;
  // agreement to 1e-8 leaves two orders of margin.
  const step = 1e-5;

  test.each(POINTS)("value, and the gradient p − e_y against central differences at %j, y = %i", (h, y) => {
    const k = h.length;
    const p = new Float64Array(k);
    expect(softmaxValue(h, y, p)).toBeCloseTo(crossEntropy(h, y), 12);
    const g = new Float64Array(k);
    softmaxGrad(h, y, g);
    for (let i = 0; i < k; i++) {
      const plus = [...h];
      const minus = [...h];
      plus[i] += step;
      minus[i] -= step;
      expect(g[i]).toBeCloseTo((crossEntropy(plus, y) - crossEntropy(minus, y)) / (2 * step), 8);
    }
  });

  test.each(POINTS)("the Hessian diag(p) − ppᵀ against differences of the gradient; Hv, C Cᵀ = H at %j", (h, y) => {
    const k = h.length;
    const p = new Float64Array(k);
    const hess = new Float64Array(k * k);
    softmaxHessian(h, p, hess);
    const gp = new Float64Array(k);
    const gm = new Float64Array(k);
    for (let j = 0; j < k; j++) {
      const plus = [...h];
      const minus = [...h];
      plus[j] += step;
      minus[j] -= step;
      softmaxGrad(plus, y, gp);
      softmaxGrad(minus, y, gm);
      for (let i = 0; i < k; i++) expect(hess[i * k + j]).toBeCloseTo((gp[i] - gm[i]) / (2 * step), 8);
    }
    // H v for an arbitrary v, against the explicit matrix.
    const v = h.map((_, i) => Math.sin(3 * i + 1));
    const hv = new Float64Array(k);
    softmaxHessianVector(h, v, p, hv);
    for (let i = 0; i < k; i++) expect(hv[i]).toBeCloseTo(v.reduce((s, vj, j) => s + hess[i * k + j] * vj, 0), 14);
    // C Cᵀ = H exactly up to rounding, and C's columns are √p_k (e_k − p).
    const c = new Float64Array(k * k);
    softmaxHessianSqrt(h, p, c);
    const want = probabilities(h);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        let cct = 0;
        for (let m = 0; m < k; m++) cct += c[i * k + m] * c[j * k + m];
        expect(cct).toBeCloseTo(hess[i * k + j], 14);
        expect(c[i * k + j]).toBeCloseTo(Math.sqrt(want[j]) * ((i === j ? 1 : 0) - want[i]), 14);
      }
    }
    // H 1 = 0: the Hessian is singular.
    for (let i = 0; i < k; i++) expect(Math.abs(hess.slice(i * k, i * k + k).reduce((a, b) => a + b, 0))).toBeLessThan(1e-15);
  });

  test("extreme logits stay finite: E ≈ the margin, p one-hot, C Cᵀ ≈ 0", () => {
    const h = [1000, -1000, 0];
    const p = new Float64Array(3);
    expect(softmaxValue(h, 1, p)).toBeCloseTo(2000, 9);
    expect(softmaxValue(h, 0, p)).toBeCloseTo(0, 12);
    const g = new Float64Array(3);
    softmaxGrad(h, 2, g);
    expect(Array.from(g)).toEqual([1, 0, -1]);
    const c = new Float64Array(9);
    softmaxHessianSqrt(h, p, c);
    for (const v of c) expect(Number.isFinite(v) && Math.abs(v) < 1e-100).toBe(true);
  });

  test("the inverse-CDF draw picks the class whose cumulative interval holds u, never one with p = 0", () => {
    const p = [0.2, 0, 0.5, 0.3];
    expect(softmaxSample(p, 0.1)).toBe(0);
    expect(softmaxSample(p, 0.2)).toBe(2); // the boundary belongs to the next class with mass
    expect(softmaxSample(p, 0.69)).toBe(2);
    expect(softmaxSample(p, 0.71)).toBe(3);
    expect(softmaxSample(p, 1 - 2 ** -25)).toBe(3);
    // A sum rounded below 1 still covers every u < 1.
    expect(softmaxSample([0.3, 0.3, 0.3], 0.999999)).toBe(2);
  });
});

describe("softmax on the reference backend", () => {
  const backend = createReferenceBackend();
  const K = 4;
  const N = 3;
  // h is K × N (one sample per column), y one label per sample.
  const hv = [0.5, -1, 2, 1.5, 0.2, -0.3, -2, 0.7, 1, 0.1, -0.5, 0];
  const labels = [3, 0, 2];
  const columnOf = (n: number) => Array.from({ length: K }, (_, i) => hv[i * N + n]);

  test("value, gradient, Hv and √H per column match the definitions", async () => {
    const h = backend.alloc(K, N);
    const y = backend.alloc(1, N);
    const v = backend.alloc(K, N);
    backend.upload(h, hv);
    backend.upload(y, labels);
    const vv = hv.map((_, i) => Math.cos(i));
    backend.upload(v, vv);
    const value = backend.alloc(1, N);
    const grad = backend.alloc(K, N);
    const hvOut = backend.alloc(K, N);
    const root = backend.alloc(K * K, N);
    backend.lossValue("softmax", h, y, value);
    backend.lossGrad("softmax", h, y, grad);
    backend.lossHessianVector("softmax", h, y, v, hvOut);
    backend.lossHessianSqrt("softmax", h, y, root);
    const [e, g, hvGot, c] = await Promise.all([value, grad, hvOut, root].map((t) => backend.download(t)));
    for (let n = 0; n < N; n++) {
      const col = columnOf(n);
      const p = probabilities(col);
      expect(e[n]).toBeCloseTo(crossEntropy(col, labels[n]), 12);
      for (let i = 0; i < K; i++) {
        expect(g[i * N + n]).toBeCloseTo(p[i] - (i === labels[n] ? 1 : 0), 14);
        const pv = p.reduce((s, pj, j) => s + pj * vv[j * N + n], 0);
        expect(hvGot[i * N + n]).toBeCloseTo(p[i] * vv[i * N + n] - p[i] * pv, 14);
        for (let k = 0; k < K; k++) expect(c[(i + K * k) * N + n]).toBeCloseTo((i === k ? Math.sqrt(p[i]) : 0) - p[i] * Math.sqrt(p[k]), 14);
      }
    }
  });

  test("lossSample's draws follow p: frequencies over 4,000 columns within 4 standard errors", async () => {
    const count = 4000;
    const column = [1.2, -0.5, 0.3, 0];
    const p = probabilities(column);
    const h = backend.alloc(K, count);
    backend.upload(h, Array.from({ length: K * count }, (_, e) => column[Math.floor(e / count)]));
    const out = backend.alloc(1, count);
    backend.lossSample("softmax", h, 17, 5, out);
    const draws = await backend.download(out);
    const seen = new Array(K).fill(0);
    for (const d of draws) seen[d] += 1;
    for (let k = 0; k < K; k++) {
      const se = Math.sqrt((p[k] * (1 - p[k])) / count);
      expect(Math.abs(seen[k] / count - p[k])).toBeLessThan(4 * se);
    }
  });
});
