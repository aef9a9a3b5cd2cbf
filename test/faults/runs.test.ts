// Run directories shared, abandoned or resumed with other flags, with real `train` processes: the
// lock, a run that never reached its first checkpoint, torn metrics lines, and --resume's checks.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Workspace, cli, quick, range, spawnTrain, stepsLogged, trainCli, waitFor, workspace } from "./helpers.ts";

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace("runs");
});
afterAll(() => ws.remove());

test("a second train on a run directory in use is refused; a lock left by a killed process is taken over", async () => {
  const run = join(ws.root, "locked");
  const first = spawnTrain(["--opt", "adam", "--steps", "100000000", "--save-every", "3", "--out", run, "--quiet", ...quick(ws.dataDir)]);
  await waitFor("a checkpoint", () => existsSync(join(run, "checkpoints")));
  const second = trainCli(["--resume", run, "--steps", "100000000", "--quiet"]);
  expect(second.code).toBe(1);
  expect(second.stderr).toMatch(new RegExp(`^train: ${run} is in use by process ${first.pid} on .*; wait for it to finish or stop it\\n$`));
  const sameOut = trainCli(["--opt", "adam", "--steps", "3", "--out", run, "--quiet", ...quick(ws.dataDir)]);
  expect(sameOut.code).toBe(1);
  expect(sameOut.stderr).toMatch(/is in use by process/);
  first.kill("SIGKILL");
  await first.exited;
  const steps = stepsLogged(run).length;
  const resumed = trainCli(["--resume", run, "--steps", String(steps + 2), "--quiet"]);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(resumed.stderr).toMatch(new RegExp(`took over the lock of ${run} from process ${first.pid}, which is no longer running`));
  expect(existsSync(join(run, "lock"))).toBe(false);
});

describe("a run killed before its first checkpoint", () => {
  const run = () => join(ws.root, "early");
  beforeAll(async () => {
    const child = spawnTrain(["--opt", "adam", "--steps", "100000000", "--save-every", "0", "--out", run(), "--quiet", ...quick(ws.dataDir)]);
    await waitFor("5 updates", () => stepsLogged(run()).length >= 5);
    child.kill("SIGKILL");
    await child.exited;
  });

  test("--out on it says how to start it again", () => {
    const again = trainCli(["--opt", "adam", "--steps", "3", "--out", run(), "--quiet", ...quick(ws.dataDir)]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds a run \(it stopped before its first checkpoint; start it again from update 0 with --resume/);
  });

  test("--resume starts it again from update 0 with its own settings", () => {
    const resumed = trainCli(["--resume", run(), "--steps", "4", "--quiet"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/has no checkpoint yet \(it stopped before its first\); starting it again from update 0/);
    expect(stepsLogged(run())).toEqual(range(1, 4));
  });
});

describe("a torn last line of metrics.ndjson", () => {
  const run = () => join(ws.root, "torn");
  beforeAll(() => {
    const made = trainCli(["--opt", "adam", "--steps", "4", "--eval-every", "2", "--save-every", "2", "--out", run(), "--quiet", ...quick(ws.dataDir).filter((f, i, all) => f !== "--eval-every" && all[i - 1] !== "--eval-every")]);
    expect(made.code, made.stderr).toBe(0);
    appendFileSync(join(run(), "metrics.ndjson"), '{"type":"step","step":5,"ti');
  });

  test("plot draws the rest, with a warning", () => {
    const plot = cli("src/cli/plot.ts", [run(), "--out", join(ws.root, "torn-chart")]);
    expect(plot.code, plot.stderr).toBe(0);
    expect(plot.stderr).toMatch(/metrics\.ndjson: dropped a torn last line/);
    expect(existsSync(join(ws.root, "torn-chart.svg"))).toBe(true);
  });

  test("bench report reads the sweep, with a warning", () => {
    const sweep = join(ws.root, "sweep");
    mkdirSync(join(sweep, "runs", "adam"), { recursive: true });
    writeFileSync(join(sweep, "sweep.json"), JSON.stringify({ spec: { name: "torn", description: "a torn log" }, scale: 1, runs: [{ id: "adam/one" }] }));
    mkdirSync(join(sweep, "runs", "adam", "one"));
    writeFileSync(join(sweep, "runs", "adam", "one", "result.json"), JSON.stringify({ status: "done", settings: { opt: "adam", lr: 0.001 } }));
    writeFileSync(join(sweep, "runs", "adam", "one", "metrics.ndjson"), readFileSync(join(run(), "metrics.ndjson")));
    const report = cli("bench/cli.ts", ["report", sweep]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stderr).toMatch(/metrics\.ndjson: dropped a torn last line/);
    expect(readFileSync(join(sweep, "report.md"), "utf8")).toMatch(/adam\/one \| done \| 4 \|/);
  });

  test("--resume drops it with a warning and truncates the log to the checkpoint", () => {
    const resumed = trainCli(["--resume", run(), "--steps", "6", "--quiet"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/dropped a torn last line/);
    expect(stepsLogged(run())).toEqual(range(1, 6));
    const lines = readFileSync(join(run(), "metrics.ndjson"), "utf8").trim().split("\n");
    expect(lines.every((l) => JSON.parse(l))).toBe(true);
  });
});

describe("--resume with other flags", () => {
  const run = () => join(ws.root, "settings");
  beforeAll(() => {
    const made = trainCli(["--opt", "adam", "--steps", "2", "--device", "reference", "--out", run(), "--quiet", ...quick(ws.dataDir).filter((f, i, all) => f !== "--device" && all[i - 1] !== "--device")]);
    expect(made.code, made.stderr).toBe(0);
  });

  test("refuses settings that differ, listing each", () => {
    const result = trainCli(["--resume", run(), "--opt", "sgd", "--batch", "32", "--lr", "0.1", "--steps", "9"]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/--opt: "sgd" here, "adam" in the run; --batch: 32 here, 20 in the run; --lr: 0.1 here, 0.001953125 in the run\. A resumed run keeps its settings; only --steps, --eval-every, --save-every, --device, --workers, --data-dir may change/);
    expect(stepsLogged(run())).toEqual(range(1, 2));
  });

  test("accepts and records --steps and --save-every, and keeps the run's device", () => {
    const result = trainCli(["--resume", run(), "--steps", "3", "--save-every", "7", "--opt", "adam"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/reference backend/);
    const config = JSON.parse(readFileSync(join(run(), "config.json"), "utf8"));
    expect(config.steps).toBe(3);
    expect(config.saveEvery).toBe(7);
    expect(config.device).toBe("reference");
    expect(config.history).toEqual([expect.objectContaining({ resumedAtStep: 2, changed: { steps: { from: 2, to: 3 }, saveEvery: { from: 100, to: 7 } } })]);
  });
});
