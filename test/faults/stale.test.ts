// Stale state is never reused: a run is known by its full settings and the bytes of its data.
// --resume refuses a run whose checkpoints were removed by hand (rather than start it over and
// overwrite its metrics and model) and a run whose data changed; a local sweep refuses an --out
// holding runs of other settings or data (rather than report them under the new spec), runs its
// failed runs again and exits 1 while any fails, and a second sweep on a busy --out is refused
// (rather than delete the first's live run). Spec flags train would refuse never pass --dry-run
// or reach the queue.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { BUN, REPO, type Workspace, cli, quick, range, stepsLogged, trainCli, waitFor, workspace, expectOneLine } from "./helpers.ts";

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace("stale");
});
afterAll(() => ws.remove());


/** Every file under `dir` with its size and modification time, to tell that nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const stat = statSync(join(dir, name));
    if (stat.isFile()) out[name] = `${stat.size}:${stat.mtimeMs}`;
  }
  return out;
}

describe("--resume", () => {
  test("after checkpoints/ was removed by hand: refused, keeping the metrics and the model", () => {
    const run = join(ws.root, "no-checkpoints");
    const made = trainCli(["--opt", "adam", "--steps", "4", "--save-every", "2", "--out", run, "--quiet", ...quick(ws.dataDir)]);
    expect(made.code, made.stderr).toBe(0);
    rmSync(join(run, "checkpoints"), { recursive: true });
    const before = snapshot(run);
    expectOneLine(trainCli(["--resume", run, "--steps", "6", "--quiet"]), "train", /no-checkpoints has no checkpoint in checkpoints\/, yet it saved one \(.*model\.safetensors is the model of step 4\); were they removed\? --resume would start it again from update 0/);
    expect(snapshot(run)).toEqual(before);
    // Without the model too, the metrics still tell that a checkpoint was saved.
    rmSync(join(run, "model.safetensors"));
    expectOneLine(trainCli(["--resume", run, "--steps", "6", "--quiet"]), "train", /yet it saved one \(metrics\.ndjson logs update 4, past the checkpoint at update 2\)/);
    expect(stepsLogged(run)).toEqual(range(1, 4));
  });

  test("on other data: refused naming the file; on a byte-identical copy in another folder: continued", async () => {
    const run = join(ws.root, "data-changed");
    const made = trainCli(["--opt", "adam", "--steps", "3", "--save-every", "3", "--out", run, "--quiet", ...quick(ws.dataDir)]);
    expect(made.code, made.stderr).toBe(0);
    const other = join(ws.root, "other-data");
    await prepareDataset("curves", { out: other, count: 200, seed: 7, quiet: true });
    expectOneLine(trainCli(["--resume", run, "--steps", "5", "--data-dir", other, "--quiet"]), "train", /the training file .*other-data\/curves-train\.arrow and the held-out file .*other-data\/curves-test\.arrow holds other bytes than when the checkpoint of step 3 was saved/);
    const copy = join(ws.root, "copied-data");
    cpSync(ws.dataDir, copy, { recursive: true });
    const resumed = trainCli(["--resume", run, "--steps", "5", "--data-dir", copy, "--quiet"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(stepsLogged(run)).toEqual(range(1, 5));
  });
});

describe("bench sweep", () => {
  // Sweeps run at least 10 updates a run.
  const spec = (name: string, dataDir: string, steps = 10, extra: object = {}) => ({
    name,
    description: "two short Adam runs",
    dataset: "curves",
    task: "autoencoder",
    seeds: [0],
    evaluations: 1,
    groups: [{ name: "adam", opt: ["adam"], steps, lr: [0.001, 0.002], flags: ["--arch", "784-8-784", "--batch", "20", "--data-dir", dataDir], ...extra }],
  });
  const writeSpec = (name: string, content: object) => {
    const path = join(ws.root, `${name}.json`);
    writeFileSync(path, JSON.stringify(content));
    return path;
  };
  const sweep = (specPath: string, out: string, ...extra: string[]) => cli("bench/cli.ts", ["sweep", specPath, "--out", out, "--device", "cpu", ...extra]);

  test("rerun after the spec changed: refused before anything runs or is removed; the same spec again skips its finished runs", () => {
    const out = join(ws.root, "sweep-changed");
    const first = sweep(writeSpec("changed", spec("changed", ws.dataDir, 10)), out);
    expect(first.code, first.stderr).toBe(0);
    const before = snapshot(out);
    const changed = sweep(writeSpec("changed", spec("changed", ws.dataDir, 12)), out);
    expectOneLine(changed, "bench sweep", /holds 2 runs that this spec would count as its own: runs\/adam\/adam-lr0\.001-seed0 was made with other settings \(.*--steps 10 .*\).*Nothing was run or removed: choose another --out/);
    expect(snapshot(out)).toEqual(before);
    const again = sweep(writeSpec("changed", spec("changed", ws.dataDir, 10)), out);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/2 runs, 2 already finished, 0 to run/);
  });

  test("rerun after its data changed: refused, naming the run", async () => {
    const data = join(ws.root, "sweep-data");
    cpSync(ws.dataDir, data, { recursive: true });
    const out = join(ws.root, "sweep-data-changed");
    const path = writeSpec("data", spec("data", data));
    const first = sweep(path, out);
    expect(first.code, first.stderr).toBe(0);
    await prepareDataset("curves", { out: data, count: 200, seed: 9, quiet: true });
    expectOneLine(sweep(path, out), "bench sweep", /runs\/adam\/adam-lr0\.001-seed0 was made from other data \(its train and heldOut file holds other bytes now\)/);
  });

  test("a failed run makes the sweep exit 1 and is run again by the next sweep", () => {
    const data = join(ws.root, "broken-data");
    mkdirSync(data);
    for (const split of ["train", "test"]) writeFileSync(join(data, `curves-${split}.arrow`), "not an Arrow file");
    const out = join(ws.root, "sweep-failed");
    const path = writeSpec("failed", spec("failed", data));
    const first = sweep(path, out);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr.trim().split("\n").at(-1)).toMatch(/^bench sweep: 2 of 2 runs failed \(adam\/adam-lr0\.001-seed0, adam\/adam-lr0\.002-seed0\); each one's stderr is in its result\.json; run the sweep again to retry them$/);
    cpSync(ws.dataDir, data, { recursive: true });
    const second = sweep(path, out);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/2 runs, 0 already finished, 2 to run/);
    for (const lr of ["0.001", "0.002"]) expect(JSON.parse(readFileSync(join(out, "runs", "adam", `adam-lr${lr}-seed0`, "result.json"), "utf8")).status).toBe("done");
  });

  test("a second sweep on a --out in use is refused; the first's live run is untouched", async () => {
    const out = join(ws.root, "sweep-busy");
    const path = writeSpec("busy", spec("busy", ws.dataDir, 100_000_000));
    const first = Bun.spawn([BUN, join(REPO, "bench/cli.ts"), "sweep", path, "--out", out, "--device", "cpu"], { stdout: "ignore", stderr: "pipe" });
    const runDir = join(out, "runs", "adam", "adam-lr0.001-seed0");
    try {
      await waitFor("the first run's third update", () => stepsLogged(runDir).length >= 3);
      expectOneLine(sweep(path, out), "bench sweep", new RegExp(`${out} is in use by process ${first.pid} on .*; wait for it to finish or stop it`));
      const steps = stepsLogged(runDir).length;
      await waitFor("the first run to go on", () => stepsLogged(runDir).length > steps);
      expect(existsSync(join(runDir, "config.json"))).toBe(true);
    } finally {
      first.kill("SIGTERM");
      await first.exited;
    }
  });

  test.each([
    ["a group's flag repeating the grid's", { flags: ["--arch", "784-8-784", "--lr", "0.5"] }, /run adam\/adam-lr0\.001-seed0: train would refuse it: --lr is given twice \('0\.001', then '0\.5'\)/],
    ["a flag the sweep sets itself", { flags: ["--device", "cpu"] }, /run adam\/adam-lr0\.001-seed0: --device is set by the sweep for every run/],
    ["an unknown flag", { flags: ["--momentun", "0.5"] }, /train would refuse it: unknown flag --momentun/],
    ["a network that does not fit the dataset", { flags: ["--arch", "625-10-625"] }, /train would refuse it: .*625/],
  ])("%s: refused by --dry-run and by --queue before any connection", (name, group, message) => {
    const path = writeSpec(`invalid-${name.replace(/\W+/g, "-")}`, spec("invalid", ws.dataDir, 10, group));
    expectOneLine(cli("bench/cli.ts", ["sweep", path, "--dry-run"]), "bench sweep", message);
    expectOneLine(cli("bench/cli.ts", ["sweep", path, "--queue", "redis://127.0.0.1:1"]), "bench sweep", message);
  });
});
