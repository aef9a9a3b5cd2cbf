// Early stopping and the best model (docs/algorithm.md §12.2). The rule on scripted held-out errors:
// a one-weight network whose "updates" set the weight from a script, so that each evaluation's
// held-out error ½w² is known in advance; then a real run (CPU backend, a tiny classifier) through
// the run directory: best/model.safetensors reloads into the held-out error it was chosen by,
// Network.load needs no options, --early-stop is refused without a held-out set, and a resumed run
// keeps the best so far.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Backend, Network, SettingError, createBackend, openDataset, Optimizer, train } from "kfra-webgpu";
import { encodeTable } from "../../data-prep/table-writer.ts";
import { parseTrainArgs } from "../../src/run/config.ts";
import { trainFromConfig } from "../../src/cli/plan.ts";
import { UsageError } from "../../src/errors.ts";
import { readSafetensors } from "../../src/io/safetensors.ts";
import { allocLayers, freeLayers, uploadLayers } from "../../src/nn/params.ts";
import type { NetworkSpec } from "../../src/nn/spec.ts";
import { reported } from "../../src/optim/optimizer.ts";
import { type EvalRecord, type MetricsRecord, bestEvaluation, readMetrics } from "../../src/run/metrics.ts";
import { type BestInfo, type BestState, type EvalInfo, runLoop } from "../../src/train/loop.ts";

const root = mkdtempSync(join(tmpdir(), "kfra-best-"));
let backend: Backend;
beforeAll(async () => {
  backend = await createBackend({ device: "cpu" });
});
afterAll(() => {
  backend.dispose();
  rmSync(root, { recursive: true, force: true });
});

describe("early stopping on scripted held-out errors", () => {
  // h = w·x + b with x = 1, y = 0 and b = 0: E = ½w², so the held-out error of weight w is w²/2.
  const spec: NetworkSpec = { sizes: [1, 1], transfers: [], loss: "sse" };
  const one = { x: new Float32Array([1]), targets: new Float32Array([0]), targetWidth: 1, count: 1, dim: 1 };

  /** Runs the loop with θ (and θ̂) set to script[step] before each evaluation; evaluations every update. */
  async function scripted(script: number[], averageScript: number[] | undefined, earlyStop: number, startStep = 0, best?: BestState) {
    const weights = allocLayers(backend, spec);
    const averaged = averageScript ? allocLayers(backend, spec) : undefined;
    const set = (step: number) => {
      uploadLayers(backend, weights, [[script[step], 0]]);
      if (averaged) uploadLayers(backend, averaged, [[averageScript![step], 0]]);
    };
    set(startStep);
    const evals: EvalInfo[] = [];
    const bests: Omit<BestInfo, "weights" | "eval">[] = [];
    const trainee = {
      backend,
      spec,
      weights,
      averagedWeights: averaged,
      record: async (_: unknown, step: number) => {
        set(step);
        return reported({ loss: 0 });
      },
    };
    try {
      const result = await runLoop(trainee, { next: () => ({ x: [1], y: [0], epoch: 0, batch: 0 }) }, {
        startStep,
        steps: script.length - 1 - startStep,
        evalEvery: 1,
        evalAtStart: startStep === 0,
        trainSet: one,
        validationSet: one,
        earlyStop,
        best,
        hooks: {
          onEval: (e) => void evals.push(e),
          onBest: async ({ weights: w, eval: _e, ...info }) => {
            // The weights handed over are the best's own: θ or θ̂ as it says.
            expect((await backend.download(w[0]))[0]).toBe(info.at === "average" ? averageScript![info.step] : script[info.step]);
            bests.push(info);
          },
        },
      });
      return { result, evals, bests };
    } finally {
      freeLayers(backend, weights);
      if (averaged) freeLayers(backend, averaged);
    }
  }

  test("stops at the N-th evaluation in a row that does not beat the best (ties do not)", async () => {
    // Held-out errors ½w²: 12.5, 8, 4.5 (best), 6.125, 2 (best at 4), 3.125, 2 (a tie), 2.205 → stop at update 7 with N = 3.
    const { result, evals, bests } = await scripted([5, 4, 3, 3.5, 2, 2.5, -2, 2.1, 1, 0.5], undefined, 3);
    expect(result.stoppedEarly).toBe(true);
    expect(result.step).toBe(7);
    expect(evals.map((e) => e.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(bests.map((b) => b.step)).toEqual([0, 1, 2, 4]);
    expect(result.best).toEqual({ step: 4, at: "weights", heldOut: 2, evaluationsSince: 3 });
  });

  test("without earlyStop the same script runs to the end and the best is the last", async () => {
    const { result } = await scripted([5, 4, 3, 3.5, 2, 2.5, -2, 2.1, 1, 0.5], undefined, 0);
    expect(result.stoppedEarly).toBe(false);
    expect(result.step).toBe(9);
    expect(result.best).toMatchObject({ step: 9, heldOut: 0.125, evaluationsSince: 0 });
  });

  test("the held-out error is the smaller of θ's and θ̂'s, and the best says which", async () => {
    // θ: 12.5, 8, 8, 8; θ̂: 18, 4.5, 2, 3.125 → best θ at 0, θ̂ at 1, θ̂ at 2; stop at 4 with N = 2.
    const { result, bests } = await scripted([5, 4, 4, 4, 4.5], [6, 3, 2, 2.5, 3], 2);
    expect(bests.map((b) => [b.step, b.at, b.heldOut])).toEqual([[0, "weights", 12.5], [1, "average", 4.5], [2, "average", 2]]);
    expect(result).toMatchObject({ step: 4, stoppedEarly: true, best: { step: 2, at: "average", evaluationsSince: 2 } });
  });

  test("a resumed loop keeps the best so far: its first evaluation must beat it, and a spent count stops it before any update", async () => {
    const script = [5, 4, 3, 3.5, 2, 2.5, 2.2, 2.1, 1, 0.5];
    const kept = await scripted(script, undefined, 3, 6, { step: 4, at: "weights", heldOut: 2, evaluationsSince: 2 });
    expect(kept.result).toMatchObject({ step: 7, stoppedEarly: true, best: { step: 4, evaluationsSince: 3 } });
    expect(kept.bests).toEqual([]);
    const spent = await scripted(script, undefined, 3, 7, { step: 4, at: "weights", heldOut: 2, evaluationsSince: 3 });
    expect(spent.result).toMatchObject({ step: 7, stoppedEarly: true });
    expect(spent.evals).toEqual([]);
  });
});

describe("the best model of a real run", () => {
  // Two classes from the sign of x₀ + x₁ − x₂ with a few labels flipped, 6 features; 400 training and 200 held-out rows.
  const D = 6;
  const rows = (n: number, phase: number) => {
    const x = Float32Array.from({ length: n * D }, (_, i) => Math.sin(phase + 1.3 * i) * Math.cos(0.7 * i));
    const y = Float32Array.from({ length: n }, (_, r) => ((x[r * D] + x[r * D + 1] - x[r * D + 2] > 0) !== (r % 17 === 0) ? 1 : 0));
    return { x, y };
  };
  const file = (name: string, n: number, phase: number) => {
    const { x, y } = rows(n, phase);
    const path = join(root, name);
    writeFileSync(path, encodeTable({ values: x, width: D }, { values: y, width: 1, classNames: ["no", "yes"] }));
    return path;
  };
  const trainFile = file("train.arrow", 400, 0);
  const heldOutFile = file("held-out.arrow", 200, 2);
  const flags = (out: string, ...extra: string[]) =>
    parseTrainArgs(["--data", trainFile, "--targets", "targets", "--loss", "mixture", "--hidden", "8", "--batch", "50", "--device", "cpu", "--quiet", "--eval-every", "5", "--save-every", "10", "--out", join(root, out), ...extra]);

  test("best/model.safetensors reloads, without options, into the held-out error and accuracy it was chosen by", async () => {
    const result = await trainFromConfig(flags("run", "--valid", heldOutFile, "--opt", "adam", "--lr", "0.02", "--steps", "60"));
    expect(result.steps).toBe(60);
    const evals = readMetrics(join(root, "run", "metrics.ndjson")).filter((r): r is EvalRecord => r.type === "eval");
    expect(evals.every((e) => typeof e.heldOutAccuracy === "number" && typeof e.trainAccuracy === "number")).toBe(true);
    expect(evals.at(-1)!.heldOutAccuracy).toBeGreaterThan(0.75);
    const best = JSON.parse(readFileSync(join(root, "run", "best", "best.json"), "utf8"));
    const lowest = evals.reduce((a, b) => (b.heldOut! < a.heldOut! ? b : a));
    expect(best).toMatchObject({ step: lowest.step, at: "weights", heldOut: lowest.heldOut, heldOutAccuracy: lowest.heldOutAccuracy });
    const file = join(root, "run", "best", "model.safetensors");
    expect(readSafetensors(file).metadata).toMatchObject({ arch: "6-8-3", loss: "mixture", best_step: String(best.step), best_at: "weights", classes: '["no","yes"]' });
    const network = Network.load(backend, file);
    try {
      expect(network.spec).toEqual({ sizes: [6, 8, 3], transfers: ["tanh"], loss: "mixture" });
      expect(network.classNames).toEqual(["no", "yes"]); // the imported labels' names, carried from the data to the model
      const again = await network.evaluate(openDataset(heldOutFile, { targets: "targets" }));
      // The same float32 weights through the same chunks on the same backend: equal up to the
      // rounding of the JSON record (17 significant digits), so 1e-12 relative.
      expect(again.loss).toBeCloseTo(best.heldOut, 12);
      expect(again.accuracy).toBe(best.heldOutAccuracy);
    } finally {
      network.dispose();
    }
    // --init takes it too.
    const init = await trainFromConfig(flags("from-best", "--valid", heldOutFile, "--opt", "adam", "--lr", "0.02", "--steps", "5", "--init", file));
    expect(init.steps).toBe(5);
  });

  test("--early-stop stops a run whose held-out error has stopped falling, and a resumed run stays stopped", async () => {
    // Adam at a large rate on 400 rows: the held-out error stops improving well before 400 updates.
    const run = flags("early", "--valid", heldOutFile, "--opt", "adam", "--lr", "0.1", "--steps", "400", "--early-stop", "3");
    const result = await trainFromConfig(run);
    expect(result.stoppedEarly).toBe(true);
    expect(result.steps).toBeLessThan(400);
    const evals = readMetrics(join(root, "early", "metrics.ndjson")).filter((r): r is EvalRecord => r.type === "eval");
    const errors = evals.map((e) => Math.min(e.heldOut!, e.heldOutAverage ?? Infinity));
    const bestAt = errors.indexOf(Math.min(...errors));
    // Stopped at the third evaluation after the best, and not before: every earlier run of three had a new best.
    expect(evals.length - 1 - bestAt).toBe(3);
    expect(evals.at(-1)!.step).toBe(result.steps);
    expect(JSON.parse(readFileSync(join(root, "early", "best", "best.json"), "utf8")).step).toBe(evals[bestAt].step);
    const resumed = await trainFromConfig({ ...run, resume: join(root, "early") });
    expect(resumed).toMatchObject({ steps: result.steps, stoppedEarly: true });
  });

  test("a resumed run keeps the best so far, even one from an end-of-run evaluation its log drops", async () => {
    // 27 updates, evaluations every 5: the last, at 27, is off the schedule and leaves the log on --resume.
    const first = flags("kept", "--valid", heldOutFile, "--opt", "adam", "--lr", "0.02", "--steps", "27");
    await trainFromConfig(first);
    const recordFile = join(root, "kept", "best", "best.json"), modelFile = join(root, "kept", "best", "model.safetensors");
    const evals = readMetrics(join(root, "kept", "metrics.ndjson")).filter((r): r is EvalRecord => r.type === "eval");
    expect(evals.at(-1)!.step).toBe(27);
    const record = JSON.parse(readFileSync(recordFile, "utf8"));
    expect(record.heldOut).toBe(Math.min(...evals.map((e) => e.heldOut!)));
    // Make the recorded best one no later evaluation can beat: the resumed run must keep it, file and record.
    record.step = 27;
    record.heldOut /= 100;
    writeFileSync(recordFile, JSON.stringify(record));
    const model = readFileSync(modelFile);
    await trainFromConfig({ ...first, steps: 45, resume: join(root, "kept") });
    const resumed = readMetrics(join(root, "kept", "metrics.ndjson")).filter((r): r is EvalRecord => r.type === "eval");
    expect(resumed.map((e) => e.step)).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45]);
    expect(Math.min(...resumed.map((e) => e.heldOut!))).toBeGreaterThan(record.heldOut);
    expect(JSON.parse(readFileSync(recordFile, "utf8"))).toEqual(record);
    expect(readFileSync(modelFile).equals(model)).toBe(true);
  });

  test("the early-stopping state of a log: the best (θ or θ̂, the first of equals), the evaluations since, and a better recorded best", () => {
    const e = (step: number, heldOut: number, heldOutAverage?: number): MetricsRecord => ({ type: "eval", step, time: step, train: 1, heldOut, heldOutAverage });
    const log = [e(0, 5), e(10, 3, 4), e(20, 4, 2.5), e(30, 2.5), e(40, 3), { type: "eval", step: 50, time: 50, train: 1 } as MetricsRecord];
    expect(bestEvaluation(log)).toEqual({ step: 20, at: "average", heldOut: 2.5, evaluationsSince: 2 });
    expect(bestEvaluation(log, { step: 35, at: "weights", heldOut: 2 })).toEqual({ step: 35, at: "weights", heldOut: 2, evaluationsSince: 1 });
    expect(bestEvaluation(log, { step: 35, at: "weights", heldOut: 2.5 })).toEqual({ step: 20, at: "average", heldOut: 2.5, evaluationsSince: 2 });
    expect(bestEvaluation([])).toBeUndefined();
  });

  test("--early-stop without a held-out set is refused by the CLI and by train()", async () => {
    expect(() => flags("none", "--early-stop", "3")).toThrow(UsageError);
    expect(() => flags("none", "--early-stop", "3")).toThrow(/--early-stop needs a held-out set.*--valid FILE/);
    expect(existsSync(join(root, "none"))).toBe(false);
    expect(() => parseTrainArgs(["--data", trainFile, "--targets", "targets", "--valid", heldOutFile, "--early-stop", "3", "--eval-every", "0"])).toThrow(/--early-stop needs evaluations along the way; --eval-every 0 evaluates only at the end/);
    const network = new Network(backend, { sizes: [D, 3], loss: "mixture" });
    const optimizer = new Optimizer(network, { method: "adam", batchSize: 50 });
    try {
      await expect(train(network, optimizer, openDataset(trainFile, { targets: "targets" }), { earlyStop: 2 })).rejects.toThrow(SettingError);
      await expect(train(network, optimizer, openDataset(trainFile, { targets: "targets" }), { earlyStop: -1 })).rejects.toThrow(/earlyStop: must be an integer ≥ 0/);
      const validation = openDataset(heldOutFile, { targets: "targets" });
      await expect(train(network, optimizer, validation, { validation, earlyStop: 2, evalEvery: 0 })).rejects.toThrow(/^earlyStop: needs evaluations along the way/);
      await expect(train(network, optimizer, validation, { saveBest: join(root, "b.safetensors") })).rejects.toThrow(/^saveBest: needs a held-out set/);
      expect(optimizer.steps).toBe(0);
    } finally {
      optimizer.dispose();
      network.dispose();
    }
  });

  test("Network.load checks the options given against the file, naming the one that differs", async () => {
    const file = join(root, "saved.safetensors");
    const network = new Network(backend, { sizes: [D, 4, 3], activation: "relu", loss: "mixture", seed: 2 });
    await network.save(file);
    const weights = await network.getWeights();
    network.dispose();
    const loaded = Network.load(backend, file, { loss: "mixture", activation: "relu" });
    expect(await loaded.getWeights()).toEqual(weights);
    loaded.dispose();
    expect(() => Network.load(backend, file, { sizes: [D, 5, 3] })).toThrow(/^sizes: \[6,5,3\] here, but .* holds a 6-4-3 network$/);
    expect(() => Network.load(backend, file, { activation: "tanh" })).toThrow(/^activation: "tanh" here, but .* was trained with relu$/);
    expect(() => Network.load(backend, file, { loss: "bce" })).toThrow(/^loss: 'bce' here, but .* was trained with the mixture loss$/);
  });

  test("class names: checked against the network, saved in its model file, read back and checked by Network.load", async () => {
    expect(() => new Network(backend, { sizes: [D, 4], loss: "bce", classNames: ["a", "b"] })).toThrow(/^classNames: the network has 4 classes, got 2 names$/);
    expect(() => new Network(backend, { sizes: [D, 1], loss: "bce", classNames: ["no", "no"] })).toThrow(/^classNames: must be a list of distinct strings/);
    expect(() => new Network(backend, { sizes: [D, 2], loss: "sse", classNames: ["a", "b"] })).toThrow(/^classNames: the sse loss is a regression/);
    const file = join(root, "named.safetensors");
    const network = new Network(backend, { sizes: [D, 3], loss: "mixture", classNames: ["even", "odd"] });
    await network.save(file);
    network.dispose();
    const loaded = Network.load(backend, file);
    expect(loaded.classNames).toEqual(["even", "odd"]);
    loaded.dispose();
    expect(() => Network.load(backend, file, { classNames: ["odd", "even"] })).toThrow(/^classNames: \["odd","even"\] here, but .* names its classes even, odd$/);
  });
});
