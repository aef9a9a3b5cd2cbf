// Sweep specs: any train setting, in the spec or a group, as a value or a grid axis; a value given
// twice in one list, and two runs of one id, refused in one line naming the file, the key and the
// value; --scale on groups with and without scaled.steps; older specs plan the same command lines.
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { EXIT, ExpectedError } from "../../src/errors.ts";
import { queueModule } from "../../src/sweep/optional.ts";
import { SPEC_SETTINGS, SweepSpecError, TRAIN_KEYS, planSweep, scaleNotes, scaledSteps, specHelp, validateRunResult, validateSweepSpec } from "../../src/sweep/spec.ts";

const REPO = resolve(import.meta.dirname, "..", "..");

const base = { name: "t", description: "d", dataset: "curves", seeds: [0] };
const refusal = (raw: object) => {
  try {
    validateSweepSpec(raw, "t.json");
  } catch (error) {
    expect(error).toBeInstanceOf(SweepSpecError);
    return (error as Error).message;
  }
  throw new Error("not refused");
};

describe("duplicate grid values", () => {
  test.each([
    [{ ...base, seeds: [0, 1, 0], groups: [{ name: "a", opt: "adam", steps: 10 }] }, /^t\.json: seeds: 0 is given twice; give each value once/],
    [{ ...base, groups: [{ name: "a", opt: "adam", steps: 10, lr: [0.1, 0.01, 0.1] }] }, /^t\.json: groups\[0\]\.lr: 0\.1 is given twice/],
    [{ ...base, groups: [{ name: "a", opt: ["kfra", "kfra"], steps: 10 }] }, /^t\.json: groups\[0\]\.opt: "kfra" is given twice/],
    [{ ...base, hidden: ["8-8", "8-8"], groups: [{ name: "a", opt: "adam", steps: 10 }] }, /^t\.json: hidden: "8-8" is given twice/],
    [{ ...base, groups: [{ name: "a", opt: "adam", steps: 10, scaled: { lr: [0.5, 0.5] } }] }, /^t\.json: groups\[0\]\.scaled\.lr: 0\.5 is given twice/],
  ])("refused in one line: %#", (raw, message) => {
    const text = refusal(raw);
    expect(text).toMatch(message);
    expect(text.split("\n")).toHaveLength(1);
  });

  test("values that differ but read alike in a run id make two runs of one id: refused", () => {
    const spec = validateSweepSpec({ name: "t", description: "d", targets: "y", seeds: [0], data: ["a/x.arrow", "b/x.arrow"], groups: [{ name: "a", opt: "adam", steps: 10 }] }, "t.json");
    expect(() => planSweep(spec, 1)).toThrow(/two runs would share the id a\/adam-datax-seed0/);
  });
});

describe("any train setting", () => {
  test("own data, network, loss and batch in the spec; a grid over hidden sizes and a method list in a group", () => {
    const spec = validateSweepSpec(
      {
        name: "own",
        description: "d",
        data: "data/own/train.arrow",
        valid: "data/own/valid.arrow",
        targets: "targets",
        loss: "sse",
        batch: 50,
        seeds: [0, 1],
        evaluations: 5,
        groups: [{ name: "g", opt: ["kfac", "adam"], steps: 20, hidden: ["16-16", "32"] }],
      },
      "own.json",
    );
    const runs = planSweep(spec, 1);
    expect(runs.map((r) => r.id)).toEqual([
      "g/kfac-hidden16-16-seed0", "g/kfac-hidden16-16-seed1", "g/kfac-hidden32-seed0", "g/kfac-hidden32-seed1",
      "g/adam-hidden16-16-seed0", "g/adam-hidden16-16-seed1", "g/adam-hidden32-seed0", "g/adam-hidden32-seed1",
    ]);
    expect(runs[2].argv).toEqual([
      "--opt", "kfac", "--steps", "20", "--seed", "0", "--eval-every", "4", "--save-every", "0",
      "--data", "data/own/train.arrow", "--valid", "data/own/valid.arrow", "--targets", "targets", "--loss", "sse", "--batch", "50", "--hidden", "32",
    ]);
    expect(runs[2].settings).toEqual({ opt: "kfac", hidden: "32", seed: 0 });
  });

  test("switches are written as train writes them; a bad value, a key the sweep sets and an unknown key are refused", () => {
    const spec = validateSweepSpec({ ...base, task: "autoencoder", groups: [{ name: "a", opt: "kfra", steps: 10, adapt: [true, false], shuffle: false }] }, "t.json");
    expect(planSweep(spec, 1).map((r) => r.argv.slice(14))).toEqual([["--no-shuffle"], ["--no-adapt", "--no-shuffle"]]);
    expect(refusal({ ...base, groups: [{ name: "a", opt: "adam", steps: 10, batch: 0 }] })).toMatch(/^t\.json: groups\[0\]\.batch: must be an integer ≥ 1, got 0$/);
    expect(refusal({ ...base, seed: 3, groups: [{ name: "a", opt: "adam", steps: 10 }] })).toMatch(/^t\.json: seed: set by the sweep for every run \(use seeds\)/);
    expect(refusal({ ...base, groups: [{ name: "a", opt: "adam", steps: 10, lrr: 1 }] })).toMatch(/^t\.json: groups\[0\]\.lrr: unknown key/);
    expect(refusal({ name: "t", description: "d", seeds: [0], groups: [{ name: "a", opt: "adam", steps: 10 }] })).toMatch(/^t\.json: dataset: missing; name the training set with "dataset" .* or "data"/);
  });

  test("--help names every train setting a spec may hold", () => {
    for (const key of ["data", "targets", "valid", "features", "hidden", "arch", "loss", "task", "batch", "lr", "preset"]) expect(TRAIN_KEYS.has(key), key).toBe(true);
    for (const key of ["out", "resume", "device", "steps", "seed", "evalEvery"]) expect(TRAIN_KEYS.has(key), key).toBe(false);
    expect(specHelp()).toContain("hidden, act, loss");
  });
});

describe("older specs and --scale", () => {
  const legacy = validateSweepSpec(
    { ...base, evaluations: 6, groups: [{ name: "adam", opt: ["adam"], steps: 240, lr: [0.0078125], decayFraction: [0.5], flags: ["--arch", "784-64-16-64-784", "--batch", "250"] }] },
    "legacy.json",
  );

  test("a spec of the older keys (dataset, lr, decayFraction, flags) plans the command line it always did", () => {
    expect(planSweep(legacy, 1)).toEqual([
      {
        id: "adam/adam-lr0.0078125-decayFraction0.5-seed0",
        group: "adam",
        opt: "adam",
        seed: 0,
        steps: 240,
        settings: { opt: "adam", lr: 0.0078125, decayFraction: 0.5, seed: 0 },
        argv: ["--opt", "adam", "--dataset", "curves", "--task", "autoencoder", "--steps", "240", "--seed", "0", "--eval-every", "40", "--save-every", "0", "--lr", "0.0078125", "--decay-period", "120", "--arch", "784-64-16-64-784", "--batch", "250"],
      },
    ]);
  });

  test("--scale scales every group: steps × F, and scaled.steps (its count at 0.05) × F / 0.05, at most steps", () => {
    const group = { name: "g", opt: "kfra", steps: 5000, scaled: { steps: 500 } };
    expect([1, 0.5, 0.05, 0.01, 0.001].map((f) => scaledSteps(group, f))).toEqual([5000, 5000, 500, 100, 10]);
    expect([1, 0.5, 0.05, 0.001].map((f) => scaledSteps({ name: "g", opt: "kfra", steps: 5000 }, f))).toEqual([5000, 2500, 250, 10]);
    expect(planSweep(legacy, 0.5)[0].argv).toContain("120");
  });
});

test("the queue's packages, when missing, are named in one line with exit code 2", async () => {
  const error = await queueModule(() => Promise.reject(new Error("Cannot find package 'ioredis' imported from /x/bullmq/dist/index.js"))).catch((e) => e);
  expect(error).toBeInstanceOf(ExpectedError);
  expect(error.exitCode).toBe(EXIT.missingDependency);
  expect(error.message).toMatch(/^the sweep queue needs the optional packages bullmq and ioredis, and ioredis is not installed: npm install bullmq ioredis/);
  await expect(queueModule(() => Promise.reject(new Error("something else")))).rejects.toThrow("something else");
});

test("sweep --help lists every spec of bench/sweeps/ with its runs and updates, marks the quick one, and prints the spec's keys", () => {
  const help = Bun.spawnSync([process.execPath, "src/sweep/cli.ts", "--help"], { cwd: REPO });
  expect(help.exitCode).toBe(0);
  const text = help.stdout.toString();
  const specs = readdirSync(join(REPO, "bench/sweeps")).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
  expect(specs.length).toBeGreaterThan(10);
  for (const name of specs) expect(text).toMatch(new RegExp(`^ +${name} +\\d+ runs, +[\\d,]+ updates`, "m"));
  expect(text).toMatch(/^ +curves-small +6 runs, +1,080 updates +<- the quick one/m);
  for (const key of Object.keys(SPEC_SETTINGS)) expect(text).toMatch(new RegExp(`^  ${key} `, "m"));
});

test("a grid over datasets and tasks: one run per value, each named by it", () => {
  const spec = validateSweepSpec({ name: "t", description: "d", dataset: ["curves", "mnist"], seeds: [0], groups: [{ name: "a", opt: "kfra", steps: 10, hidden: "8" }] }, "t.json");
  const runs = planSweep(spec, 1);
  expect(runs.map((r) => r.id)).toEqual(["a/kfra-datasetcurves-seed0", "a/kfra-datasetmnist-seed0"]);
  expect(runs.map((r) => r.argv.slice(0, 6))).toEqual([
    ["--opt", "kfra", "--dataset", "curves", "--task", "autoencoder"],
    ["--opt", "kfra", "--dataset", "mnist", "--task", "autoencoder"],
  ]);
});

test("sweep --device with an unknown device is refused before anything is planned or run", () => {
  const run = Bun.spawnSync([process.execPath, "src/sweep/cli.ts", "curves-small", "--device", "bogus", "--dry-run"], { cwd: REPO });
  expect(run.exitCode).toBe(EXIT.expected);
  expect(run.stderr.toString().trim()).toBe("sweep: --device 'bogus': expected one of auto, webgpu, cpu, reference");
});

test("--scale that would take a group below the fewest updates says so, naming the group", () => {
  const spec = validateSweepSpec({ ...base, groups: [{ name: "short", opt: "adam", steps: 40 }, { name: "long", opt: "adam", steps: 4000 }] }, "t.json");
  expect(scaleNotes(spec, 0.1)).toEqual(["sweep: group 'short': --scale 0.1 gives 4 updates; its runs take 10, the fewest a sweep run takes"]);
  expect(planSweep(spec, 0.1).map((r) => r.argv[r.argv.indexOf("--steps") + 1])).toEqual(["10", "400"]);
  expect(scaleNotes(spec, 1)).toEqual([]);
});

test("a result.json whose settings are not settings' values is refused in one line naming the field", () => {
  expect(() => validateRunResult({ status: "done", settings: { opt: 5 } }, "r.json")).toThrow(/^r\.json: 'settings\.opt' is 5, not a method's name; not a run result/);
  expect(() => validateRunResult({ status: "done", settings: { lr: { x: 1 } } }, "r.json")).toThrow(/^r\.json: 'settings\.lr' is \{"x":1\}, not a setting's value/);
  expect(validateRunResult({ status: "done", settings: { opt: "kfra", lr: 0.1, factorMomentum: false } }, "r.json").settings.opt).toBe("kfra");
});
