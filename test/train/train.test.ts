// The training loop end to end on a small prepared CURVES set and a small network (CPU backend):
// an interrupted-and-resumed run reproduces the uninterrupted one exactly; bad input stops with a
// clear error and loses nothing; plots render.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { parseTrainArgs } from "../../src/run/config.ts";
import { trainFromConfig as train } from "../../src/cli/plan.ts";
import { resumeConfig } from "../../src/run/resume.ts";
import { readMetrics } from "../../src/run/metrics.ts";
import { writeSafetensors } from "../../src/io/safetensors.ts";

const root = mkdtempSync(join(tmpdir(), "kfra-train-"));
const dataDir = join(root, "data");
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await prepareDataset("curves", { out: dataDir, count: 400, quiet: true });
});

const base = (out: string, ...extra: string[]) =>
  parseTrainArgs(["--data-dir", dataDir, ...(extra.includes("--arch") ? [] : ["--arch", "784-24-6-24-784"]), "--batch", "64", "--device", "cpu", "--quiet", "--eval-every", "4", "--save-every", "6", "--out", out, ...extra]);

/** Metrics without the wall-clock fields, which legitimately differ between runs. */
function comparable(dir: string) {
  return readMetrics(join(dir, "metrics.ndjson")).map((r) => {
    const { time, dataWaitMs, seconds, ...rest } = r as Record<string, unknown>;
    return rest;
  });
}

const ADAPTIVE = ["--damping", "adaptive", "--tau0", "1", "--gamma0", "1", "--gamma-period", "4"];

/** The uninterrupted 12-update run of `opt` (ADAPTIVE for the second-order methods) that several tests use, trained once. */
const wholeRuns = new Map<string, Promise<string>>();
function wholeRun(opt: "kfra" | "kfac" | "adam"): Promise<string> {
  const flags = opt === "adam" ? [] : ADAPTIVE;
  if (!wholeRuns.has(opt)) {
    const dir = join(root, `${opt}-whole`);
    wholeRuns.set(opt, train(base(dir, "--opt", opt, "--steps", "12", ...flags)).then(() => dir));
  }
  return wholeRuns.get(opt)!;
}

describe.each([
  ["kfra", ADAPTIVE],
  ["kfac", ADAPTIVE],
  ["adam", []],
] as const)("%s", (opt, flags) => {
  test("an interrupted and resumed run gives the same metrics as an uninterrupted one", async () => {
    const whole = await wholeRun(opt);
    const parts = join(root, `${opt}-parts`);
    await train(base(parts, "--opt", opt, "--steps", "7", ...flags));
    // The checkpoint of the first part is from step 7 (its end); resume to 12.
    await train(resumeConfig(parts, base(parts, "--steps", "12"), new Set(["steps"])));
    const a = comparable(whole);
    const b = comparable(parts);
    expect(b).toEqual(a);
    expect(a.filter((r) => r.type === "step")).toHaveLength(12);
    expect(a.filter((r) => r.type === "eval").map((r) => r.step)).toEqual([0, 4, 8, 12]);
    const last = a.at(-2) as Record<string, number>;
    expect(last.loss).toBeLessThan((a[1] as Record<string, number>).loss);
    expect(readdirSync(parts).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});

test("a run directory written before the settings tables (config.json with `damping`, without beta1/beta2/epsilon) resumes exactly", async () => {
  const whole = await wholeRun("kfra");
  const old = join(root, "old-layout");
  await train(base(old, "--opt", "kfra", ...ADAPTIVE, "--steps", "7"));
  // Rewrite config.json as the previous version wrote it.
  const path = join(old, "config.json");
  const { preset, beta1: _b1, beta2: _b2, epsilon: _e, ...rest } = JSON.parse(readFileSync(path, "utf8"));
  writeFileSync(path, JSON.stringify({ ...rest, damping: preset }, null, 2));
  await train(resumeConfig(old, base(old, "--steps", "12"), new Set(["steps"])));
  expect(comparable(old)).toEqual(comparable(whole));
  const saved = JSON.parse(readFileSync(path, "utf8"));
  expect(saved.preset).toBe("adaptive");
  expect(saved.damping).toBeUndefined();
});

test("a resumed run makes up the on-schedule evaluation its stop dropped, so its log equals an uninterrupted one", async () => {
  const whole = await wholeRun("adam");
  const cut = join(root, "evals-cut");
  await train(base(cut, "--opt", "adam", "--steps", "8"));
  // A stop during the evaluation at update 8 leaves the checkpoint of 8 and no evaluation record of it.
  const path = join(cut, "metrics.ndjson");
  const lines = readFileSync(path, "utf8").trim().split("\n").filter((l) => !(l.includes('"type":"eval"') && l.includes('"step":8,')));
  writeFileSync(path, `${lines.join("\n")}\n`);
  await train(resumeConfig(cut, base(cut, "--steps", "12"), new Set(["steps"])));
  expect(comparable(cut)).toEqual(comparable(whole));
});

test("a new run refuses a folder holding files it would write over, and leaves them", async () => {
  const dir = join(root, "users-folder");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(dir);
  writeFileSync(join(dir, "metrics.ndjson"), "my notes\n");
  writeFileSync(join(dir, "notes.txt"), "mine\n");
  await expect(train(base(dir, "--opt", "adam", "--steps", "2"))).rejects.toThrow(/holds metrics\.ndjson, which a run would write over; choose an empty or new folder/);
  expect(readFileSync(join(dir, "metrics.ndjson"), "utf8")).toBe("my notes\n");
  expect(readdirSync(dir).sort()).toEqual(["metrics.ndjson", "notes.txt"]);
});

describe("bad input", () => {
  test("a non-finite loss stops the run, names the step, and keeps the last finite checkpoint", async () => {
    const dir = join(root, "diverge");
    await expect(train(base(dir, "--opt", "sgd", "--lr", "1e30", "--steps", "20"))).rejects.toThrow(/non-finite at step \d+; stopped/);
    const steps = readMetrics(join(dir, "metrics.ndjson")).filter((r) => r.type === "step");
    expect(steps.every((r) => Number.isFinite((r as { loss: number }).loss))).toBe(true);
    expect(existsSync(join(dir, "model.safetensors"))).toBe(steps.length >= 6);
  });

  test("an --init file for another network is refused before training, naming the tensor", async () => {
    const file = join(root, "wrong.safetensors");
    writeSafetensors(file, [{ name: "layers.0.weight", shape: [3, 784], data: new Float32Array(3 * 784) }, { name: "layers.0.bias", shape: [3], data: new Float32Array(3) }]);
    await expect(train(base(join(root, "init"), "--init", file, "--steps", "2"))).rejects.toThrow(/layers.0.weight is 3×784, the network needs 24×784/);
  });

  test("an architecture that does not fit the data is refused", async () => {
    const config = { ...base(join(root, "arch")), arch: "625-10-625" };
    await expect(train(config)).rejects.toThrow(/input size 625 does not match the dataset's 784/);
  });

  test("a new run never overwrites an existing one", async () => {
    const existing = await wholeRun("adam");
    const before = readFileSync(join(existing, "metrics.ndjson"), "utf8");
    await expect(train(base(existing, "--opt", "adam", "--steps", "2"))).rejects.toThrow(/already holds a run \(continue it with --resume/);
    expect(readFileSync(join(existing, "metrics.ndjson"), "utf8")).toBe(before);
  });

  test("--resume of a directory that is not a run", () => {
    expect(() => resumeConfig(join(root, "nowhere"), base(root), new Set())).toThrow(/no config.json there/);
  });
});

describe("plot", () => {
  test("bun run plot renders the runs' training error to SVG and PNG", async () => {
    const out = join(root, "chart");
    const proc = Bun.spawnSync([process.execPath, "src/cli/plot.ts", await wholeRun("kfra"), await wholeRun("adam"), "--out", out]);
    expect(proc.exitCode, proc.stderr.toString()).toBe(0);
    expect(readFileSync(`${out}.svg`, "utf8")).toContain("<svg");
    expect([...readFileSync(`${out}.png`).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });
});
