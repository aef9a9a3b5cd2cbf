// Checkpoints under kill -9, mixed and torn files, and divergence, with real `train` processes.
import { copyFileSync, existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readSafetensors, writeSafetensors } from "../../src/io/safetensors.ts";
import { type Workspace, quick, range, spawnTrain, stepsLogged, trainCli, waitFor, workspace } from "./helpers.ts";

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace("checkpoints");
});
afterAll(() => ws.remove());

const checkpointDirs = (run: string) => (existsSync(join(run, "checkpoints")) ? readdirSync(join(run, "checkpoints")).sort() : []);

test("kill -9 at any moment, even mid-checkpoint, leaves a run that resumes into one unbroken log", async () => {
  const run = join(ws.root, "killed");
  // A checkpoint after every update, so kills land inside checkpoint writes too.
  const args = ["--opt", "kfac", "--steps", "100000000", "--save-every", "1", "--out", run, ...quick(ws.dataDir)];
  let target = 4;
  for (let round = 0; round < 3; round++) {
    const child = round === 0 ? spawnTrain(args) : spawnTrain(["--resume", run, "--steps", "100000000", "--quiet"]);
    await waitFor(`update ${target}`, () => stepsLogged(run).length >= target);
    await Bun.sleep(7 * round);
    child.kill("SIGKILL");
    await child.exited;
    target = stepsLogged(run).length + 3;
  }
  const finish = trainCli(["--resume", run, "--steps", String(target + 2), "--quiet"]);
  expect(finish.code, finish.stderr).toBe(0);
  expect(stepsLogged(run)).toEqual(range(1, target + 2));
  expect(checkpointDirs(run)).toHaveLength(2);
  expect(readdirSync(run).filter((f) => f.endsWith(".tmp"))).toEqual([]);
});

describe("a damaged latest checkpoint", () => {
  const run = () => join(ws.root, "damaged");
  beforeAll(() => {
    const made = trainCli(["--opt", "adam", "--steps", "6", "--save-every", "2", "--out", run(), "--quiet", ...quick(ws.dataDir)]);
    expect(made.code, made.stderr).toBe(0);
  });

  test("keeps the newest two checkpoints, the step in both files", () => {
    expect(checkpointDirs(run())).toEqual(["step-000000004", "step-000000006"]);
    const dir = join(run(), "checkpoints", "step-000000006");
    expect(readSafetensors(join(dir, "model.safetensors")).metadata.step).toBe("6");
    expect(JSON.parse(readSafetensors(join(dir, "optimizer.safetensors")).metadata.state).step).toBe(6);
  });

  test("a mixed checkpoint (model of step 4, optimiser state of step 6) is refused, naming both steps, and the one before is used", () => {
    const latest = join(run(), "checkpoints", "step-000000006");
    copyFileSync(join(run(), "checkpoints", "step-000000004", "model.safetensors"), join(latest, "model.safetensors"));
    const resumed = trainCli(["--resume", run(), "--steps", "8", "--quiet"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/mixed checkpoint: the model is from step 4, the optimiser state from step 6\); resuming from .*step-000000004/);
    expect(stepsLogged(run())).toEqual(range(1, 8));
  });

  test("a torn latest optimizer file falls back to the one before", () => {
    const latest = join(run(), "checkpoints", "step-000000008");
    truncateSync(join(latest, "optimizer.safetensors"), 1000);
    const resumed = trainCli(["--resume", run(), "--steps", "9", "--quiet"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/step-000000008\/optimizer.safetensors: .*truncated.*resuming from .*step-000000006/);
    expect(stepsLogged(run())).toEqual(range(1, 9));
  });

  test("with no usable checkpoint left, --resume refuses in one line naming the problem", () => {
    for (const name of checkpointDirs(run())) {
      const file = join(run(), "checkpoints", name, "model.safetensors");
      const model = readSafetensors(file);
      writeSafetensors(file, [...model.tensors].map(([n, t]) => ({ name: n, ...t })), { ...model.metadata, step: "1" });
    }
    const resumed = trainCli(["--resume", run(), "--steps", "12", "--quiet"]);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr.trim().split("\n")).toHaveLength(1);
    expect(resumed.stderr).toMatch(/^train: no usable checkpoint in .*damaged: .*mixed checkpoint: the model is from step 1/);
  });
});

describe("divergence", () => {
  test("non-finite weights are never saved; the message names the last finite checkpoint", () => {
    const run = join(ws.root, "diverged");
    const result = trainCli(["--opt", "sgd", "--lr", "1e30", "--steps", "40", "--save-every", "1", "--out", run, "--quiet", ...quick(ws.dataDir)]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    const named = /The last finite checkpoint is step (\d+), in (\S+)\.$/.exec(result.stderr.trim());
    expect(named, result.stderr).not.toBeNull();
    for (const name of checkpointDirs(run)) {
      for (const file of ["model.safetensors", "optimizer.safetensors"]) {
        for (const [tensor, { data }] of readSafetensors(join(run, "checkpoints", name, file)).tensors) {
          expect(data.every(Number.isFinite), `${name}/${file} ${tensor}`).toBe(true);
        }
      }
    }
    expect(existsSync(named![2])).toBe(true);
    // failure.json records the line and the update it stopped at (the dashboard shows the run as failed, saying why).
    const failure = JSON.parse(readFileSync(join(run, "failure.json"), "utf8"));
    expect(failure.message).toBe(result.stderr.trim().replace(/^train: /, ""));
    expect(failure.step).toBe(Number(/at step (\d+)/.exec(failure.message)![1]));
  });

  test("--resume removes the failure record of a run it continues", () => {
    const run = join(ws.root, "failed-then-resumed");
    expect(trainCli(["--opt", "sgd", "--steps", "2", "--save-every", "1", "--out", run, "--quiet", ...quick(ws.dataDir)]).code).toBe(0);
    writeFileSync(join(run, "failure.json"), JSON.stringify({ step: 2, message: "the data file changed while it was read" }));
    const resumed = trainCli(["--resume", run, "--steps", "3", "--quiet"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(existsSync(join(run, "failure.json"))).toBe(false);
  });

  test("before the first checkpoint it says that none was saved", () => {
    const run = join(ws.root, "diverged-early");
    const result = trainCli(["--opt", "sgd", "--lr", "1e30", "--steps", "40", "--save-every", "100", "--out", run, "--quiet", ...quick(ws.dataDir)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/non-finite .*at step \d+; stopped\. No checkpoint had been saved yet\.$/m);
    expect(result.stderr).not.toMatch(/last finite checkpoint/);
  });
});
