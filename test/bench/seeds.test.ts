// Seeds and spread in `bench report`: runs that differ only in seed form one method, whose error at
// each evaluation is the mean and min–max over the seeds evaluated there, and whose updates and
// seconds to a target are mean and min–max over the seeds that reach it, counting those that do
// and those cut short before it. Synthetic sweep directories with known numbers.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatSpread, groupBySeed, methodKey, seedBand, spread, toTarget } from "../../src/sweep/seeds.ts";
import { loadSweepRuns } from "../../src/sweep/runs.ts";
import type { EvalRecord } from "../../src/run/metrics.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const root = mkdtempSync(join(tmpdir(), "kfra-seeds-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Evaluations at updates 0, 10, 20, … with these training errors; time = update / 10 + offset. */
function evals(errors: number[], offset = 0): EvalRecord[] {
  return errors.map((train, i) => ({ type: "eval", step: 10 * i, time: i + offset, train, trainAverage: train + 1, heldOut: train + 2 }));
}

interface FakeRun {
  id: string;
  settings: Record<string, unknown>;
  errors: number[];
  /** No result.json: the run was stopped (cut short). */
  cut?: boolean;
  status?: string;
  offset?: number;
  /** τ and γ logged by the update at each evaluation after the first. */
  damping?: [number, number][];
}

function writeSweep(dir: string, runs: FakeRun[], planned = runs.map((r) => r.id)): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "sweep.json"), JSON.stringify({ spec: { name: "fake", description: "synthetic", seeds: [0, 1, 2], groups: [] }, scale: 1, runs: planned.map((id) => ({ id })) }));
  for (const run of runs) {
    const runDir = join(dir, "runs", run.id);
    mkdirSync(runDir, { recursive: true });
    const steps = (run.damping ?? []).map(([tau, gamma], i) => ({ type: "step", step: 10 * (i + 1), time: i + 1, loss: 1, dataWaitMs: 0, tau, gamma }));
    writeFileSync(join(runDir, "metrics.ndjson"), [...evals(run.errors, run.offset), ...steps].sort((a, b) => a.step - b.step).map((e) => `${JSON.stringify(e)}\n`).join(""));
    writeFileSync(join(runDir, "config.json"), JSON.stringify({ ...run.settings, steps: 10 * (run.errors.length - 1), factorMomentum: run.settings.factorMomentum ?? true }));
    if (!run.cut) writeFileSync(join(runDir, "result.json"), JSON.stringify({ id: run.id, status: run.status ?? "done", settings: run.settings }));
  }
}

// kfra: three seeds, all done. kfac: seed 0 done and reaching 45, seed 1 cut short after update 10
// above 45, seed 2 done and never reaching 45.
const RUNS: FakeRun[] = [
  { id: "kfra/kfra-seed0", settings: { opt: "kfra", seed: 0 }, errors: [100, 50, 20], offset: 0, damping: [[1, 5], [0.5, 5]] },
  { id: "kfra/kfra-seed1", settings: { opt: "kfra", seed: 1 }, errors: [100, 40, 30], offset: 0.5, damping: [[2, 5], [0.5, 5]] },
  { id: "kfra/kfra-seed2", settings: { opt: "kfra", seed: 2 }, errors: [100, 60, 25], offset: 1, damping: [[3, 5], [0.5, 5]] },
  { id: "kfac/kfac-seed0", settings: { opt: "kfac", seed: 0 }, errors: [100, 44, 10] },
  { id: "kfac/kfac-seed1", settings: { opt: "kfac", seed: 1 }, errors: [100, 46], cut: true },
  { id: "kfac/kfac-seed2", settings: { opt: "kfac", seed: 2 }, errors: [100, 47, 46] },
];

describe("seed aggregation", () => {
  it("a method is its runs' ids without the seed, in order of first appearance", () => {
    expect(methodKey("kfra/kfra-dampingfixed-seed12")).toBe("kfra/kfra-dampingfixed");
    expect(methodKey("adam/adam-lr0.001-seed0")).toBe("adam/adam-lr0.001");
    const groups = groupBySeed([{ id: "b/x-seed1" }, { id: "a/y-seed0" }, { id: "b/x-seed0" }]);
    expect([...groups.keys()]).toEqual(["b/x", "a/y"]);
    expect(groups.get("b/x")!.map((r) => r.id)).toEqual(["b/x-seed1", "b/x-seed0"]);
  });

  it("spread: mean, min and max of the finite values only", () => {
    expect(spread([3, 1, 2])).toEqual({ n: 3, mean: 2, min: 1, max: 3 });
    expect(spread([4, NaN, null, undefined, 6])).toEqual({ n: 2, mean: 5, min: 4, max: 6 });
    expect(spread([NaN])).toBeUndefined();
    expect(formatSpread({ n: 3, mean: 16.6667, min: 10, max: 20 }, (x) => x.toFixed(0))).toBe("17 (10–20)");
    expect(formatSpread({ n: 1, mean: 28.15, min: 28.15, max: 28.15 })).toBe("28.15");
    expect(formatSpread(undefined)).toBe("–");
  });

  it("the band at each evaluation is over the seeds evaluated there", () => {
    const band = seedBand(RUNS.filter((r) => r.id.startsWith("kfac")).map((r) => evals(r.errors)));
    expect(band.map((p) => p.step)).toEqual([0, 10, 20]);
    expect(band[1].errors.train).toEqual({ n: 3, mean: 137 / 3, min: 44, max: 47 });
    // The cut seed is absent at update 20.
    expect(band[2].errors.train).toEqual({ n: 2, mean: 28, min: 10, max: 46 });
    expect(band[2].errors.trainAverage!.mean).toBe(29);
    expect(band[2].seconds).toEqual({ n: 2, mean: 2, min: 2, max: 2 });
  });

  it("to target: mean and min–max over the seeds that reach it; seeds cut short before it are told apart from seeds that never reach it", () => {
    const kfra = toTarget(RUNS.slice(0, 3).map((r) => ({ evals: evals(r.errors, r.offset), finished: true })), 45);
    expect(kfra).toMatchObject({ seeds: 3, reached: 3, cut: 0 });
    expect(kfra.updates!.mean).toBeCloseTo(50 / 3, 12);
    expect([kfra.updates!.min, kfra.updates!.max]).toEqual([10, 20]);
    // Seconds of the hits: seed 0 at 2 + 0, seed 1 at 1 + 0.5, seed 2 at 2 + 1.
    expect(kfra.seconds).toEqual({ n: 3, mean: 6.5 / 3, min: 1.5, max: 3 });
    const kfac = toTarget(RUNS.slice(3).map((r) => ({ evals: evals(r.errors), finished: !r.cut })), 45);
    expect(kfac).toMatchObject({ seeds: 3, reached: 1, cut: 1, updates: { n: 1, mean: 10, min: 10, max: 10 } });
    // A seed cut short after reaching the target reached it.
    expect(toTarget([{ evals: evals([100, 40]), finished: false }], 45)).toMatchObject({ reached: 1, cut: 0 });
    // At or below: a seed exactly at the target reaches it.
    expect(toTarget([{ evals: evals([100, 45]), finished: true }], 45).reached).toBe(1);
    expect(toTarget(RUNS.slice(3).map((r) => ({ evals: evals(r.errors), finished: true })), 5)).toMatchObject({ reached: 0, cut: 0, updates: undefined });
  });

  it("loading a sweep finds runs that sweep.json does not list, and calls a run without a result cut short", () => {
    const dir = join(root, "load");
    // sweep.json from the last piece (seed 2 only), as a sweep run one seed at a time leaves it.
    writeSweep(dir, RUNS, ["kfra/kfra-seed2", "kfac/kfac-seed2", "kfac/kfac-seed9"]);
    const { runs } = loadSweepRuns(dir);
    expect(runs.map((r) => [r.id, r.status])).toEqual([
      ["kfra/kfra-seed0", "done"], ["kfra/kfra-seed1", "done"], ["kfra/kfra-seed2", "done"],
      ["kfac/kfac-seed0", "done"], ["kfac/kfac-seed1", "cut"], ["kfac/kfac-seed2", "done"], ["kfac/kfac-seed9", "not run"],
    ]);
    // The cut run's settings come from its config.json.
    expect(runs[4].settings).toMatchObject({ opt: "kfac", seed: 1, factorMomentum: true });
  });

  it("bench report writes the spread per method, to-target counts and a table per method", () => {
    const dir = join(root, "report");
    writeSweep(dir, RUNS);
    const run = Bun.spawnSync([process.execPath, "bench/cli.ts", "report", dir, "--target", "45"], { cwd: ROOT });
    expect(run.exitCode, run.stderr.toString()).toBe(0);
    const text = readFileSync(join(dir, "report.md"), "utf8");
    expect(text).toContain("| kfra | 45.00 | 3 of 3 | 17 (10–20) | 2.17 (1.50–3.00) | 3 of 3 |");
    expect(text).toContain("| kfac | 45.00 | 1 of 3 (1 cut short before it) | 10 | 1.00 |");
    // Last evaluation: kfra over 3 seeds, kfac over the 2 that reached update 20.
    expect(text).toContain("| kfra | 3 done | 20 | 2.500 (2.000–3.000) | 25.00 (20.00–30.00) | 26.00 (21.00–31.00) | 27.00 (22.00–32.00) |");
    expect(text).toContain("| kfac | 2 done, 1 cut | 20 | 2.000 (2.000–2.000) | 28.00 (10.00–46.00) |");
    expect(text).toContain("kfac: from update 20 on, over 2 of its 3 seeds (kfac/kfac-seed1 cut short, last evaluated at update 10)");
    // kfra adapts τ: its table shows τ and γ as the update at each evaluation left them; kfac's does not.
    expect(text).toContain("### kfra\n\n| update | seeds | seconds | train error θ | θ̂ | held-out θ | τ | γ |");
    expect(text).toContain("| 10 | 3 | 1.500 (1.000–2.000) | 50.00 (40.00–60.00) | 51.00 (41.00–61.00) | 52.00 (42.00–62.00) | 2.00 (1.00–3.00) | 5.00 (5.00–5.00) |");
    expect(text).toContain("| 0 | 3 | 0.5000 (0.000–1.000) | 100.0 (100.0–100.0) | 101.0 (101.0–101.0) | 102.0 (102.0–102.0) | – | – |");
    expect(text).toContain("### kfac\n\n| update | seeds | seconds | train error θ | θ̂ | held-out θ |\n");
    expect(existsSync(join(dir, "training-error.png"))).toBe(true);
  });

  it("methods told apart only by their groups' flags are all named by their group", () => {
    const dir = join(root, "groups");
    const run = (group: string, seed: number, errors: number[]): FakeRun => ({ id: `${group}/kfra-dampingadaptive-seed${seed}`, settings: { opt: "kfra", damping: "adaptive", seed }, errors });
    writeSweep(dir, [run("small", 0, [100, 50]), run("large", 0, [100, 90]), run("middle", 0, [100, 70])]);
    const proc = Bun.spawnSync([process.execPath, "bench/cli.ts", "report", dir, "--target", "60"], { cwd: ROOT });
    expect(proc.exitCode, proc.stderr.toString()).toBe(0);
    const text = readFileSync(join(dir, "report.md"), "utf8");
    for (const group of ["small", "large", "middle"]) expect(text).toContain(`| ${group}: kfra (adaptive damping) | 1 done |`);
  });

  it("without --target the target is the final error of the Adam setting with the lowest mean over its seeds", () => {
    const dir = join(root, "adam");
    const adam = (lr: number, seed: number, errors: number[]): FakeRun => ({ id: `adam/adam-lr${lr}-seed${seed}`, settings: { opt: "adam", lr, seed }, errors });
    // lr 0.01: final 30 and 50 (mean 40); lr 0.001: final 35 and 39 (mean 37, the best); lr 0.1: 20 alone on seed 0 but 90 on seed 1.
    writeSweep(dir, [...RUNS.slice(0, 3), adam(0.01, 0, [100, 60, 30]), adam(0.01, 1, [100, 70, 50]), adam(0.001, 0, [100, 80, 35]), adam(0.001, 1, [100, 80, 39]), adam(0.1, 0, [100, 20, 20]), adam(0.1, 1, [100, 95, 90])]);
    const run = Bun.spawnSync([process.execPath, "bench/cli.ts", "report", dir], { cwd: ROOT });
    expect(run.exitCode, run.stderr.toString()).toBe(0);
    const text = readFileSync(join(dir, "report.md"), "utf8");
    expect(text).toContain("Target: the best Adam setting's final training error, **37.00** (adam lr 0.00100, 37.00 (35.00–39.00) after 20 updates");
    // kfra's seeds reach 37 at updates 20, 20 and 20 (40 at update 10 is above it).
    expect(text).toContain("| kfra | 37.00 | 3 of 3 | 20 (20–20) |");
    // The target is the setting's mean, so one of its own seeds (final 39) does not reach it.
    expect(text).toContain("| adam lr 0.00100 | 37.00 | 1 of 2 | 20 | ");
  });
});
