// Accuracy (docs/algorithm.md §12.1) against a hand count on explicit outputs: the class rule of each
// kind of classifier, the labels of each kind of target, and the Evaluator's whole-set accuracy
// (chunked, on each float32 backend there is) against the same count made from Network.predict.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Backend, Network, createBackend, openDataset } from "kfra-webgpu";
import { availableBackends } from "../../src/backend/index.ts";
import { classLabels, predictClasses } from "../../src/nn/accuracy.ts";

const backends = new Map<string, Backend>();
beforeAll(async () => {
  for (const name of await availableBackends()) backends.set(name, await createBackend({ device: name }));
});
afterAll(() => backends.forEach((b) => b.dispose()));
const names = await availableBackends();

describe("the class of an output and the label of a target", () => {
  test("K > 1 outputs: argmax, the first of equal maxima", () => {
    const h = [0.1, 2, -1, /**/ 5, 5, 1, /**/ -3, -2, -1];
    expect([...predictClasses("bce", 3, h)]).toEqual([1, 0, 2]);
  });

  test("one output: class 1 when σ(h) ≥ ½, i.e. h ≥ 0; labels of soft targets at ½", () => {
    expect([...predictClasses("bce", 1, [-0.01, 0, 3])]).toEqual([0, 1, 1]);
    expect([...classLabels("bce", 1, [0, 0.49, 0.5, 1], 1)!]).toEqual([0, 0, 1, 1]);
  });

  test("mixture: class 1 when σ(h₁)σ(h₂) + σ(−h₁)σ(h₃) ≥ ½", () => {
    // h = (0, 1, −2): ½σ(1) + ½σ(−2) ≈ 0.42 → 0; h = (5, −3, 4): ≈ σ(−3) → 0; h = (−5, −3, 4): ≈ σ(4) → 1; h = (0, 3, 1): ≈ 0.84 → 1.
    expect([...predictClasses("mixture", 3, [0, 1, -2, 5, -3, 4, -5, -3, 4, 0, 3, 1])]).toEqual([0, 0, 1, 1]);
  });

  test("integer labels 0…K−1 and one-hot rows are classes; anything else has no accuracy", () => {
    expect([...classLabels("softmax", 3, [2, 0, 1], 1)!]).toEqual([2, 0, 1]);
    expect([...classLabels("bce", 3, [0, 0, 1, 1, 0, 0], 3)!]).toEqual([2, 0]);
    expect(classLabels("bce", 3, [3, 0], 1)).toBeUndefined(); // a label past K − 1
    expect(classLabels("bce", 3, [0.5, 0], 1)).toBeUndefined();
    expect(classLabels("bce", 2, [1, 1, 0, 1], 2)).toBeUndefined(); // multi-label
    expect(classLabels("bce", 2, [0, 0, 0, 1], 2)).toBeUndefined(); // a row of no class
    expect(classLabels("sse", 1, [0, 1], 1)).toBeUndefined();
    expect(classLabels("bce", 4, undefined, 0)).toBeUndefined(); // the autoencoder
  });
});

describe("whole-set accuracy", () => {
  // 2,300 rows evaluated in chunks of 1,000 and a remainder of 300; 3 classes as one-hot bce targets.
  const rows = 2300, dim = 4, k = 3;
  const x = Float32Array.from({ length: rows * dim }, (_, i) => Math.sin(0.37 * i) + 0.3 * Math.cos(1.1 * i));
  const label = (r: number) => (x[r * dim] + x[r * dim + 1] > 0.4 ? 2 : x[r * dim + 2] > 0 ? 1 : 0);
  const y = Float32Array.from({ length: rows * k }, (_, i) => (label(Math.floor(i / k)) === i % k ? 1 : 0));

  test.each(names)("%s: network.evaluate's accuracy is the hand count of argmax(predict(x)) == label (one-hot targets)", async (name) => {
    const network = new Network(backends.get(name)!, { sizes: [dim, 5, k], loss: "bce", seed: 4 });
    try {
      const h = await network.predict(x);
      let correct = 0;
      for (let r = 0; r < rows; r++) {
        const row = [...h.subarray(r * k, r * k + k)];
        if (row.indexOf(Math.max(...row)) === label(r)) correct++;
      }
      expect(correct).toBeGreaterThan(0);
      expect(correct).toBeLessThan(rows);
      // Exact: a count of the same float32 outputs, divided by the same row count.
      const result = await network.evaluate(openDataset({ x, dim, y, name: "three classes" }));
      expect(result.accuracy).toBe(correct / rows);
      expect(Number.isFinite(result.loss)).toBe(true);
      expect([...(await network.predictClasses(x))].filter((c, r) => c === label(r))).toHaveLength(correct);
    } finally {
      network.dispose();
    }
  });

  test("regression and the autoencoder report no accuracy", async () => {
    const network = new Network(backends.get("cpu") ?? backends.values().next().value!, { sizes: [dim, 3, dim], loss: "sse", seed: 1 });
    try {
      expect((await network.evaluate(openDataset({ x, dim }))).accuracy).toBeUndefined();
      await expect(network.predictClasses(x)).rejects.toThrow(/sse, a regression/);
    } finally {
      network.dispose();
    }
  });
});
