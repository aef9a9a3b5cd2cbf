// bench damping looks at the γ candidates the optimiser would form: for the γ the run holds, its α*
// and M(α*) must be the ones the training run itself logs for that update (same minibatch, same
// averaged factors, same τ), at the first update and at a later one whose factors are averages.
// bench tied-damping runs with γ following τ.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { modelAtOptimum } from "../../bench/damping.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const root = mkdtempSync(join(tmpdir(), "kfra-damping-"));
const dataDir = join(root, "data");
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await prepareDataset("curves", { out: dataDir, count: 120, quiet: true });
});

const spawn = (args: string[]) => Bun.spawnSync([process.execPath, ...args], { cwd: ROOT, env: { ...process.env, OPENBLAS_NUM_THREADS: "1" } });

describe("bench damping", () => {
  it("M(α*) = −½ (δᵀ∇f)² / (δᵀḠδ + λ‖δ‖²) at α* = −δᵀ∇f / (δᵀḠδ + λ‖δ‖²)", () => {
    const { alpha, predicted } = modelAtOptimum(-3, 2, 4, 0.25);
    expect(alpha).toBeCloseTo(1, 15);
    expect(predicted).toBeCloseTo(-1.5, 15);
    // The quadratic α δᵀ∇f + ½ α² (δᵀḠδ + λ‖δ‖²) is lowest there.
    const model = (a: number) => a * -3 + 0.5 * a * a * (2 + 0.25 * 4);
    expect(model(alpha)).toBeCloseTo(predicted, 15);
    expect(model(alpha + 1e-3)).toBeGreaterThan(predicted);
  });

  it("its held-γ candidate reproduces the training run's α* and M(α*) at updates 1 and 4", () => {
    const flags = ["--device", "cpu", "--data-dir", dataDir, "--arch", "784-6-3-6-784", "--batch", "20", "--opt", "kfra", "--damping", "adaptive", "--tau0", "150", "--gamma0", "150", "--seed", "3"];
    const out = join(root, "damping.json");
    const bench = spawn(["bench/cli.ts", "damping", ...flags, "--at", "0,3", "--gammas", "1,1000", "--out", out]);
    expect(bench.exitCode, bench.stderr.toString()).toBe(0);
    const train = spawn(["src/cli/train.ts", ...flags, "--steps", "4", "--eval-every", "0", "--save-every", "0", "--quiet", "--out", join(root, "run")]);
    expect(train.exitCode, train.stderr.toString()).toBe(0);
    const steps = readFileSync(join(root, "run", "metrics.ndjson"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.type === "step");
    const { points } = JSON.parse(readFileSync(out, "utf8"));
    expect(points.map((p: { step: number }) => p.step)).toEqual([0, 3]);
    for (const point of points) {
      const logged = steps[point.step];
      expect(point.gamma).toBe(logged.gamma);
      const held = point.rows.find((r: { gamma: number }) => r.gamma === point.gamma);
      // float32 on both sides, the same operations in the same order but for the reductions' grouping.
      expect(Math.abs(held.alpha / logged.alpha - 1)).toBeLessThan(1e-4);
      expect(Math.abs(held.predicted / logged.predicted - 1)).toBeLessThan(1e-4);
      // Candidates beyond the held γ were formed too.
      expect(point.rows.map((r: { gamma: number }) => r.gamma)).toEqual([1, 150, 1000]);
    }
  });

  it("bench tied-damping: every update's γ is the τ the update before left, and τ adapts", () => {
    const out = join(root, "tied", "group", "run");
    const flags = ["--device", "cpu", "--data-dir", dataDir, "--arch", "784-6-3-6-784", "--batch", "20", "--opt", "kfra", "--damping", "adaptive", "--tau0", "2", "--steps", "12"];
    const proc = spawn(["bench/cli.ts", "tied-damping", ...flags, "--out", out, "--eval-every", "6"]);
    expect(proc.exitCode, proc.stderr.toString()).toBe(0);
    const records = readFileSync(join(out, "metrics.ndjson"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const steps = records.filter((r) => r.type === "step");
    expect(steps.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(steps[0].gamma).toBe(2);
    for (let i = 1; i < steps.length; i++) expect(steps[i].gamma).toBe(steps[i - 1].tau);
    // τ adapted at updates 5 and 10 (T_τ = 5), and γ followed it.
    expect(steps[4].tau).not.toBe(2);
    expect(steps[5].gamma).toBe(steps[4].tau);
    expect(records.filter((r) => r.type === "eval").map((r) => r.step)).toEqual([0, 6, 12]);
    expect(JSON.parse(readFileSync(join(out, "result.json"), "utf8"))).toMatchObject({ id: "group/run", status: "done" });
  });
});
