// The alignment bench along a training run (paper appendix F.2): its measuring points, the spread
// of the cosines over seeds and the paired comparison of its report, and one run end to end on a
// tiny autoencoder, where with a huge damping every direction and the exact solve are the gradient
// scaled, so every cosine must be 1.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { type AlignmentRun, cosineBands, pairedComparison, readAlignmentFile } from "../../bench/alignment-report.ts";
import { measurePoints } from "../../bench/alignment.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const root = mkdtempSync(join(tmpdir(), "kfra-alignment-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(seed: number, cosines: [number, number, number][]): AlignmentRun {
  return {
    settings: { type: "settings", trainFlags: [], sizes: [4, 2, 4], batch: 10, seed, damping: "fixed", methods: ["kfra", "kfac"], every: 5, tolerance: 1e-3, maxIterations: 10, weightDecay: 1e-5 },
    points: cosines.map(([kfra, kfac, gradient], i) => ({ step: 5 * i, seed, gamma: 1e-3, cg: { iterations: 10 + i + seed, relativeResidual: 1e-4 * (seed + 1), seconds: 1 }, cosine: { kfra, kfac, gradient }, perLayer: { kfra: [kfra, kfra], kfac: [kfac, kfac], gradient: [gradient, gradient] } })),
  };
}

describe("alignment report", () => {
  it("measures before update 1 and every `every` updates up to the last", () => {
    expect(measurePoints(100, 25)).toEqual([0, 25, 50, 75, 100]);
    expect(measurePoints(60, 25)).toEqual([0, 25, 50]);
  });

  it("spreads each series over the seeds at each update, with the CG iterations and residuals", () => {
    const runs = [run(0, [[0.5, 0.6, 0.2], [0.7, 0.6, 0.3]]), run(1, [[0.3, 0.4, 0.1], [0.9, 0.8, 0.1]]), run(2, [[0.4, 0.5, 0.3]])];
    const bands = cosineBands(runs, ["kfra", "kfac", "gradient"]);
    expect(bands.map((b) => b.step)).toEqual([0, 5]);
    expect(bands[0].cosine.kfra!.n).toBe(3);
    expect(bands[0].cosine.kfra!.mean).toBeCloseTo(0.4, 12);
    expect([bands[0].cosine.kfra!.min, bands[0].cosine.kfra!.max]).toEqual([0.3, 0.5]);
    // Seed 2 has no point at update 5.
    expect(bands[1].cosine.kfac).toEqual({ n: 2, mean: 0.7, min: 0.6, max: 0.8 });
    expect(bands[1].iterations).toEqual({ n: 2, mean: 11.5, min: 11, max: 12 });
    expect(bands[0].residual.max).toBeCloseTo(3e-4, 15);
  });

  it("compares two methods point by point", () => {
    const runs = [run(0, [[0.5, 0.6, 0], [0.7, 0.6, 0]]), run(1, [[0.3, 0.4, 0], [0.9, 0.8, 0]])];
    const c = pairedComparison(runs, "kfra", "kfac");
    expect(c.pairs).toBe(4);
    expect(c.aHigher).toBe(2);
    expect(c.meanDifference).toBeCloseTo(0, 12);
    expect(c.difference!.min).toBeCloseTo(-0.1, 12);
    expect(c.difference!.max).toBeCloseTo(0.1, 12);
  });
});

describe("bench alignment end to end", () => {
  const dataDir = join(root, "data");
  beforeAll(async () => {
    await prepareDataset("curves", { out: dataDir, count: 120, quiet: true });
  });

  it("with a huge damping every direction and the exact solve are the scaled gradient: all cosines 1, CG converged", () => {
    const out = join(root, "alignment.ndjson");
    const args = ["bench/cli.ts", "alignment", "--device", "cpu", "--data-dir", dataDir, "--arch", "784-6-3-6-784", "--batch", "20", "--steps", "4", "--every", "2", "--gamma0", "1e8", "--tau0", "1e8", "--out", out];
    const proc = Bun.spawnSync([process.execPath, ...args], { cwd: ROOT, env: { ...process.env, OPENBLAS_NUM_THREADS: "1" } });
    expect(proc.exitCode, proc.stderr.toString()).toBe(0);
    const result = readAlignmentFile(out);
    expect(result.settings.methods).toEqual(["kfra", "kflr", "kfac"]);
    expect(result.points.map((p) => p.step)).toEqual([0, 2, 4]);
    for (const p of result.points) {
      expect(p.cg.relativeResidual).toBeLessThan(1e-3);
      for (const name of ["kfra", "kflr", "kfac", "gradient"]) expect(p.cosine[name]).toBeGreaterThan(1 - 1e-3);
      expect(p.perLayer.kfra).toHaveLength(4);
      // Each layer's share of the length: they sum to 1, and every direction shares out like the exact
      // one, to within the factors' own eigenvalues over the shifts k·π and k/π (≈ 10⁻³ here).
      for (const name of ["kfra", "kflr", "kfac", "gradient", "exact"]) expect(p.normShare![name].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      p.normShare!.exact.forEach((share, l) => expect(Math.abs(p.normShare!.kfra[l] - share)).toBeLessThan(1e-2));
    }
    expect(readFileSync(out, "utf8").split("\n")[0]).toContain('"type":"settings"');
  });
});
