// CURVES: the recipe's geometry, pixel range, stroke continuity, and the batched (sheet) renderer
// against rendering each curve alone.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { curveSpec, renderCurve, renderCurves } from "../../data-prep/curves.ts";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { loadDataset } from "../../src/data/dataset.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.remove());
const SIDE = 28;

/** Number of 8-connected components of the pixels > 0 of one 28×28 image. */
function inkComponents(image: Uint8Array): number {
  const label = new Int32Array(SIDE * SIDE).fill(-1);
  let components = 0;
  for (let start = 0; start < image.length; start++) {
    if (image[start] === 0 || label[start] >= 0) continue;
    const stack = [start];
    label[start] = components;
    while (stack.length > 0) {
      const p = stack.pop()!;
      const r = Math.floor(p / SIDE), c = p % SIDE;
      for (let dr = -1; dr <= 1; dr++) {
        for (let dc = -1; dc <= 1; dc++) {
          const rr = r + dr, cc = c + dc, q = rr * SIDE + cc;
          if (rr >= 0 && rr < SIDE && cc >= 0 && cc < SIDE && image[q] > 0 && label[q] < 0) {
            label[q] = components;
            stack.push(q);
          }
        }
      }
    }
    components++;
  }
  return components;
}

describe("CURVES", () => {
  it("the quadratic passes through its three points (P1 at the chord-length parameter τ) and stays inside the image", () => {
    for (let i = 0; i < 200; i++) {
      const { p0, p1, tau, c, p2, width } = curveSpec(3, 0, i);
      // B(τ) = P1 (tolerance 1e-9 px: a few float64 roundings of values ≤ 28).
      for (const d of [0, 1]) expect(Math.abs((1 - tau) ** 2 * p0[d] + 2 * tau * (1 - tau) * c[d] + tau * tau * p2[d] - p1[d])).toBeLessThan(1e-9);
      expect(width).toBeGreaterThanOrEqual(1.5);
      expect(width).toBeLessThanOrEqual(2.5);
      // Sample B(t) = (1−t)²P0 + 2t(1−t)C + t²P2 densely: every point within [w/2 + 0.5, 28 − w/2 − 0.5]
      // (tolerance 1e-9: the bound is computed analytically in float64).
      for (let k = 0; k <= 100; k++) {
        const t = k / 100;
        for (const d of [0, 1]) {
          const v = (1 - t) ** 2 * p0[d] + 2 * t * (1 - t) * c[d] + t * t * p2[d];
          expect(v).toBeGreaterThanOrEqual(width / 2 + 0.5 - 1e-9);
          expect(v).toBeLessThanOrEqual(SIDE - width / 2 - 0.5 + 1e-9);
        }
      }
      expect(Math.hypot(p2[0] - p0[0], p2[1] - p0[1])).toBeGreaterThanOrEqual(10);
    }
  });

  it("pixels are k/255 in [0, 1] (no subnormals) and the ink of every image is one 8-connected stroke", async () => {
    const out = join(tmp.dir, "curves");
    await prepareDataset("curves", { out, seed: 11, count: 2000, quiet: true });
    const { x, info } = loadDataset(join(out, "curves-train.arrow"));
    expect(info.count).toBe(2000);
    let max = 0, badLevel = 0, subnormal = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v !== 0 && v < 1.2e-38) subnormal++;
      // x = k/255 rounded to float32, so 255·x is within float32 rounding (~1e-5) of an integer.
      if (Math.abs(255 * v - Math.round(255 * v)) > 1e-4 || v < 0 || v > 1) badLevel++;
      if (v > max) max = v;
    }
    expect({ subnormal, badLevel, max }).toEqual({ subnormal: 0, badLevel: 0, max: 1 });
    const broken: number[] = [];
    for (let k = 0; k < info.count; k++) {
      const image = Uint8Array.from(x.subarray(k * 784, (k + 1) * 784), (v) => Math.round(255 * v));
      if (inkComponents(image) !== 1) broken.push(k);
    }
    expect(broken).toEqual([]);
  });

  it("a sheet of curves renders exactly as each curve alone (no bleeding between tiles)", async () => {
    const sheet = await renderCurves(5, 1, 40, { seed: 5 });
    for (const i of [0, 1, 31, 32, 33, 39]) {
      const alone = await renderCurve(curveSpec(5, 1, i));
      expect(Array.from(sheet.subarray(i * 784, (i + 1) * 784))).toEqual(Array.from(alone));
    }
  });

  it("train and test draw from different streams", () => {
    expect(curveSpec(1, 0, 0)).not.toEqual(curveSpec(1, 1, 0));
  });
});
