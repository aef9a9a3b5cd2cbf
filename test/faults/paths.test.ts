// Where files go: data in one documented place for prep and train (--data-dir, else KFRA_DATA_DIR,
// else the repository's data/), paths resolved against the working directory, a sweep's runs kept
// under its --out from any directory and stopped by SIGTERM with a checkpoint, and temporaries of a
// killed prep removed by the next one.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BUN, REPO, type Workspace, cli, range, stepsLogged, trainCli, waitFor, workspace } from "./helpers.ts";

let ws: Workspace;
let elsewhere: string;
beforeAll(async () => {
  ws = await workspace("paths");
  elsewhere = join(ws.root, "elsewhere");
  mkdirSync(elsewhere);
});
afterAll(() => ws.remove());

const tiny = ["--arch", "784-8-784", "--batch", "20", "--device", "cpu", "--quiet"];

test("train from another directory reads KFRA_DATA_DIR and writes a relative --out there", () => {
  const result = trainCli(["--opt", "adam", "--steps", "2", "--eval-every", "0", "--out", "rel-run", ...tiny], { cwd: elsewhere, env: { KFRA_DATA_DIR: ws.dataDir } });
  expect(result.code, result.stderr).toBe(0);
  expect(existsSync(join(elsewhere, "data"))).toBe(false);
  const config = JSON.parse(readFileSync(join(elsewhere, "rel-run", "config.json"), "utf8"));
  expect(config.dataDir).toBe(ws.dataDir);
  expect(config.out).toBe(join(elsewhere, "rel-run"));
});

test("prep from another directory writes to KFRA_DATA_DIR too, and removes its own temporaries of killed runs, nothing else", () => {
  const target = join(ws.root, "prep-target");
  mkdirSync(target);
  const dead = Bun.spawnSync(["true"]).pid;
  const stale = join(target, `curves-train.arrow.kfra-${dead}-0123abcd.tmp`);
  const live = `curves-test.arrow.kfra-${process.pid}-89abcdef.tmp`;
  writeFileSync(stale, new Uint8Array(1000));
  writeFileSync(join(target, live), new Uint8Array(10));
  // A user's files whose names merely end in .<number>.tmp.
  mkdirSync(join(target, "thesis.2023.tmp"));
  writeFileSync(join(target, "thesis.2023.tmp", "chapter1.tex"), "\\chapter{One}");
  writeFileSync(join(target, `notes.${dead}.tmp`), "mine");
  const result = cli("data-prep/cli.ts", ["curves", "--count", "20"], { cwd: elsewhere, env: { KFRA_DATA_DIR: target } });
  expect(result.code, result.stderr).toBe(0);
  expect(readdirSync(target).sort()).toEqual(["curves-test.arrow", live, "curves-train.arrow", `notes.${dead}.tmp`, "thesis.2023.tmp"].sort());
  expect(readFileSync(join(target, "thesis.2023.tmp", "chapter1.tex"), "utf8")).toBe("\\chapter{One}");
});

test("prep never replaces a file of the dataset's name that is no Arrow file", () => {
  const target = join(ws.root, "prep-foreign");
  mkdirSync(target);
  writeFileSync(join(target, "curves-test.arrow"), "my own table");
  const result = cli("data-prep/cli.ts", ["curves", "--count", "20", "--data-dir", target]);
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toMatch(/^prep: .*prep-foreign\/curves-test\.arrow exists and is not an Arrow file this program could have written; it is left as it is/);
  expect(readdirSync(target)).toEqual(["curves-test.arrow"]);
  expect(readFileSync(join(target, "curves-test.arrow"), "utf8")).toBe("my own table");
});

test("train into a folder of the user's keeps their *.<number>.tmp files and folders", () => {
  const out = join(ws.root, "user-folder");
  mkdirSync(join(out, "results.2024.tmp"), { recursive: true });
  writeFileSync(join(out, "results.2024.tmp", "table.csv"), "a,b\n");
  const dead = Bun.spawnSync(["true"]).pid;
  writeFileSync(join(out, `draft.${dead}.tmp`), "mine");
  const result = trainCli(["--opt", "adam", "--steps", "2", "--eval-every", "0", "--out", out, "--data-dir", ws.dataDir, ...tiny]);
  expect(result.code, result.stderr).toBe(0);
  expect(readFileSync(join(out, "results.2024.tmp", "table.csv"), "utf8")).toBe("a,b\n");
  expect(readFileSync(join(out, `draft.${dead}.tmp`), "utf8")).toBe("mine");
});

describe("bench sweep --out RELATIVE from another directory", () => {
  const spec = (steps: number) => ({
    name: "tiny",
    description: "one short Adam run",
    dataset: "curves",
    task: "autoencoder",
    seeds: [0],
    evaluations: 1,
    groups: [{ name: "adam", opt: ["adam"], steps, lr: [0.001], flags: ["--arch", "784-8-784", "--batch", "20", "--data-dir", ws.dataDir] }],
  });

  test("keeps every file of the sweep under --out", () => {
    writeFileSync(join(elsewhere, "tiny.json"), JSON.stringify(spec(3)));
    const result = cli("bench/cli.ts", ["sweep", "tiny.json", "--out", "sweep-out", "--device", "cpu"], { cwd: elsewhere });
    expect(result.code, result.stderr).toBe(0);
    const out = join(elsewhere, "sweep-out");
    const runs = readdirSync(join(out, "runs", "adam"));
    expect(runs).toHaveLength(1);
    const run = join(out, "runs", "adam", runs[0]);
    expect(JSON.parse(readFileSync(join(run, "result.json"), "utf8")).status).toBe("done");
    const steps = stepsLogged(run);
    expect(steps.length).toBeGreaterThanOrEqual(3);
    expect(steps).toEqual(range(1, steps.length));
    expect(existsSync(join(REPO, "sweep-out"))).toBe(false);
  });

  test("SIGTERM stops the running train, which saves a checkpoint; the sweep exits 143", async () => {
    writeFileSync(join(elsewhere, "long.json"), JSON.stringify({ ...spec(100_000_000), name: "long" }));
    const sweep = Bun.spawn([BUN, join(REPO, "bench/cli.ts"), "sweep", "long.json", "--out", "long-out", "--device", "cpu"], { cwd: elsewhere, stdout: "pipe", stderr: "pipe" });
    const runsDir = join(elsewhere, "long-out", "runs", "adam");
    const run = () => join(runsDir, readdirSync(runsDir)[0]);
    await waitFor("the run's fifth update", () => existsSync(runsDir) && readdirSync(runsDir).length > 0 && stepsLogged(run()).length >= 5);
    sweep.kill("SIGTERM");
    const [code, stderr] = await Promise.all([sweep.exited, new Response(sweep.stderr).text()]);
    expect(code, stderr).toBe(143);
    const steps = stepsLogged(run()).length;
    expect(readdirSync(join(run(), "checkpoints"))).toEqual([`step-${String(steps).padStart(9, "0")}`]);
    expect(existsSync(join(run(), "result.json"))).toBe(false);
    const resumed = trainCli(["--resume", run(), "--steps", String(steps + 2), "--quiet"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(stepsLogged(run())).toEqual(range(1, steps + 2));
  });
});
