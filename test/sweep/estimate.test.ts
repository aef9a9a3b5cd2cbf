// --dry-run's estimate: the cost model on explicit numbers, and on a small spec the estimate (two
// short probe runs per kind of run) within a factor of 2 of the time the sweep then takes. The
// factor: the probes and the sweep are separate processes on a machine shared with other work, and
// most of a small run's time is its process start, which varies by tens of percent from run to run.
import { afterAll, beforeAll, expect, test } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { costKey, evaluationsOf, runSeconds } from "../../src/sweep/estimate.ts";
import { describePosition, runPosition } from "../../src/sweep/progress.ts";
import { type OwnData, ownData, sweep, writeSpec } from "./helpers.ts";

let data: OwnData;
beforeAll(async () => {
  data = await ownData("sweep-estimate");
});
afterAll(() => data.remove());

test("the cost model: evaluations at 0, every N and off-schedule at the end; runs differing in seed or rate cost alike", () => {
  expect([evaluationsOf(100, 10), evaluationsOf(105, 10), evaluationsOf(5, 0)]).toEqual([11, 12, 1]);
  expect(runSeconds({ start: 2, first: 0.5, perUpdate: 0.01, perEvaluation: 0.1, source: "" }, 101, 11)).toBeCloseTo(2 + 0.5 + 100 * 0.01 + 11 * 0.1, 12);
  const a = ["--opt", "adam", "--steps", "10", "--seed", "0", "--lr", "0.1", "--batch", "20"];
  const b = ["--opt", "adam", "--steps", "99", "--seed", "3", "--lr", "0.5", "--batch", "20"];
  expect(costKey(a)).toBe("--opt adam --batch 20");
  expect(costKey(b)).toBe(costKey(a));
  expect(costKey([...a.slice(0, -1), "50"])).not.toBe(costKey(a));
});

test("on a small spec the estimate is within a factor of 2 of the measured time", async () => {
  const spec = writeSpec(data, "estimate", {}, [
    { name: "kfac", opt: "kfac", steps: 150 },
    { name: "adam", opt: "adam", steps: 600, lr: [0.01] },
  ]);
  const out = join(data.root, "estimate-out");
  const dry = await sweep([spec, "--out", out, "--device", "cpu", "--dry-run"]);
  expect(dry.code, dry.stderr).toBe(0);
  expect(dry.stdout).toMatch(/^kfac\/kfac-seed0: 150 updates, about \d+ s\n/m);
  const estimate = Number(/2 runs, 750 updates; estimated time on this machine: (\d+) s/.exec(dry.stdout)?.[1]);
  const run = await sweep([spec, "--out", out, "--device", "cpu"]);
  expect(run.code, run.stderr).toBe(0);
  const ratio = estimate / run.seconds;
  expect(ratio, `estimated ${estimate} s, took ${run.seconds.toFixed(1)} s`).toBeGreaterThan(0.5);
  expect(ratio, `estimated ${estimate} s, took ${run.seconds.toFixed(1)} s`).toBeLessThan(2);
  // Per-run progress: each run's start and end, with its last training error.
  expect(run.stderr).toMatch(/\[1\/2\] kfac\/kfac-seed0: started\n/);
  expect(run.stderr).toMatch(/\[2\/2\] adam\/adam-lr0\.01-seed0: done in \d+ s, train error \d\.\d+(e-\d+)? at update 600/);
  // sweep status DIR: a local sweep's runs.
  const status = await sweep(["status", out]);
  expect(status.stdout).toMatch(/^sweep estimate in .*: 2 runs; 2 done$/m);
  // Finished runs in DIR count as measured: nothing is left to run.
  const again = await sweep([spec, "--out", out, "--device", "cpu", "--dry-run"]);
  expect(again.stdout).toMatch(/\(finished in DIR\)/);
  expect(again.stdout).toMatch(/estimated time on this machine: 0 s/);
  expect(again.stderr).not.toMatch(/probe/);
}, 180_000);

test("a running run's progress line: its last update of all, loss and last whole-set error, a torn last line skipped", () => {
  const dir = join(data.root, "progress");
  mkdirSync(dir);
  const lines = [
    { type: "eval", step: 0, time: 0, train: 0.5 },
    { type: "step", step: 1, time: 0.1, loss: 0.4, dataWaitMs: 0 },
    { type: "step", step: 2, time: 0.2, loss: 0.3, dataWaitMs: 0 },
    { type: "eval", step: 2, time: 0.2, train: 0.25 },
    { type: "step", step: 3, time: 0.3, loss: 0.123456, dataWaitMs: 0 },
  ].map((r) => JSON.stringify(r));
  writeFileSync(join(dir, "metrics.ndjson"), `${lines.join("\n")}\n{"type":"step","st`);
  expect(describePosition(runPosition(dir), 40)).toBe("update 3 of 40, loss 0.1235, train error 0.2500 at update 2");
  expect(describePosition(runPosition(join(dir, "none")), 40)).toBe("update 0 of 40");
});
