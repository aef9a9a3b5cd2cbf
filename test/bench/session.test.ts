// The benchmarks' train flags and session: the flags generated from the library's settings tables
// (defaults, the preset included, and refusals as train's), and a session of the library's Network
// and Optimizer with the engine and workspace a benchmark steps.
import { describe, expect, test } from "vitest";
import { createCpuBackend } from "../../src/backend/cpu/index.ts";
import { initialWeights } from "../../src/nn/params.ts";
import { OPTIMIZER_SETTINGS } from "../../src/optim/settings.ts";
import { createSession } from "../../bench/_session.ts";
import { parseTrainFlags, presetArgs } from "../../bench/_trainFlags.ts";
import { UsageError } from "../../src/errors.ts";

describe("parseTrainFlags", () => {
  test("defaults come from the settings tables: method kfra, preset fixed, train's batch, seed and steps", () => {
    const run = parseTrainFlags([]);
    expect(run.method).toBe("kfra");
    expect(run.optimizer).toEqual({ method: "kfra", batchSize: OPTIMIZER_SETTINGS.batchSize.default, seed: 0 });
    expect(run.spec.sizes).toEqual([784, 1000, 500, 250, 30, 250, 500, 1000, 784]);
    expect([run.batch, run.seed, run.steps, run.dataset, run.task]).toEqual([1000, 0, 200, "curves", "autoencoder"]);
  });

  test("settings given are passed on under the library's names; the network follows --arch, --task", () => {
    const run = parseTrainFlags(["--opt", "kfac", "--damping", "adaptive", "--tau0", "1", "--no-factor-momentum", "--batch", "7", "--seed", "3", "--arch", "784-6-784"]);
    expect(run.optimizer).toEqual({ method: "kfac", batchSize: 7, seed: 3, preset: "adaptive", tau0: 1, factorMomentum: false });
    expect(run.spec).toEqual({ sizes: [784, 6, 784], transfers: ["tanh"], loss: "bce" });
    expect(parseTrainFlags(["--dataset", "mnist", "--task", "odd-even"]).spec.loss).toBe("mixture");
  });

  test("refuses as train does, in one line naming the flag", () => {
    expect(() => parseTrainFlags(["--opt", "adam", "--tau0", "1"])).toThrow("--tau0: not read by adam; it is a setting of kfra, kflr, kfac");
    expect(() => parseTrainFlags(["--lr=-1", "--opt", "sgd"])).toThrow(/^--lr: /);
    expect(() => parseTrainFlags(["--preset", "fixed", "--damping", "adaptive"])).toThrow(/given twice/);
    expect(() => parseTrainFlags(["--task", "odd-even"])).toThrow("--task odd-even needs --dataset mnist");
  });
});

describe("presetArgs", () => {
  test("--preset, or --damping, its old name, or none (the table's default); both at once refused", () => {
    expect(presetArgs({ preset: "fixed" })).toEqual(["--preset", "fixed"]);
    expect(presetArgs({ damping: "adaptive" })).toEqual(["--damping", "adaptive"]);
    expect(presetArgs({})).toEqual([]);
    expect(() => presetArgs({ preset: "fixed", damping: "adaptive" })).toThrow(UsageError);
  });
});

describe("createSession", () => {
  test("the library's network with the seed's weights, its optimiser, the engine and a workspace of batchSize rows", async () => {
    const backend = createCpuBackend();
    try {
      const run = parseTrainFlags(["--arch", "784-6-784", "--batch", "7", "--seed", "3", "--opt", "kflr"]);
      const session = createSession(backend, run.spec, run.optimizer);
      expect(session.spec.sizes).toEqual([784, 6, 784]);
      expect(session.engine.name).toBe("kflr");
      expect(session.optimizer.settings.preset).toBe("fixed");
      expect(session.workspace.batchSize).toBe(7);
      // Bit for bit the seeded initial weights (float32 on both sides).
      const weights = await session.network.getWeights();
      expect(weights.map((w) => Array.from(w))).toEqual(initialWeights(session.spec, 3).map((w) => Array.from(Float32Array.from(w))));
      session.dispose();
    } finally {
      backend.dispose();
    }
  });
});
