// What `train` prints: a line per whole-set evaluation (training and held-out error, the Polyak
// average's, its seconds), an ETA that says "estimating…" first, and under --quiet only the final line.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { evalLine } from "../../src/run/evalLine.ts";
import { type Workspace, quick, trainCli, workspace } from "../faults/helpers.ts";

describe("evalLine", () => {
  it("names every measurement in words and prints fields it does not know under their key", () => {
    const line = evalLine({ type: "eval", step: 50, time: 3, train: 12.3456789, heldOut: 13.5, trainAverage: 11, trainAccuracy: 0.975, heldOutAccuracy: 0.9625, topFive: 0.5 }, 200, 2.25);
    expect(line).toBe("evaluation at update 50/200:  training error 12.346  held-out error 13.500  averaged training error 11.000  training accuracy 97.50%  held-out accuracy 96.25%  topFive 0.50000  (2.3 s)");
  });
});

describe("train's terminal output", () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await workspace("terminal");
  });
  afterAll(() => ws?.remove());

  it("prints one line per evaluation with the errors of metrics.ndjson, and an ETA, and draws the run's chart", () => {
    const run = join(ws.root, "shown");
    const result = trainCli(["--steps", "12", "--out", run, ...quick(ws.dataDir, "--eval-every", "4")], { env: { KFRA_NO_RUN_CHART: "" } });
    expect(result.code, result.stderr).toBe(0);
    const evals = readFileSync(join(run, "metrics.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.type === "eval");
    const lines = result.stderr.split("\n").filter((l) => l.startsWith("evaluation at update"));
    expect(evals.map((r) => r.step)).toEqual([0, 4, 8, 12]);
    expect(lines).toHaveLength(evals.length);
    evals.forEach((r, i) => {
      expect(lines[i]).toContain(`update ${r.step}/12:`);
      expect(lines[i]).toContain(`training error ${r.train.toPrecision(5)}`);
      expect(lines[i]).toContain(`held-out error ${r.heldOut.toPrecision(5)}`);
      expect(lines[i]).toContain(`averaged training error ${r.trainAverage.toPrecision(5)}`);
      expect(lines[i]).toMatch(/\(\d+\.\d s\)$/);
    });
    expect(result.stderr).toContain("ETA estimating…");
    expect(result.stderr).toMatch(/ETA \d+ s/);
    // The chart of the whole-set errors, as SVG and PNG.
    expect(readFileSync(join(run, "training-error.svg"), "utf8")).toMatch(/<svg[\s\S]*[Tt]raining error/);
    expect([...readFileSync(join(run, "training-error.png")).subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(result.stderr).not.toContain("could not draw");
  });

  it("--quiet prints the final line only (not --device auto's choice either)", () => {
    const result = trainCli(["--steps", "4", "--out", join(ws.root, "quiet"), "--quiet", ...quick(ws.dataDir, "--eval-every", "2", "--device", "auto")]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^train: 4 steps, final minibatch loss .*, final training error .*, held-out .*; metrics and checkpoint in /);
  });
});
