// The benchmarks' createSession: a command line's network, seeded weights, optimiser engine (from the
// one factory and settings table) and workspace.
import { describe, expect, test } from "vitest";
import { createCpuBackend } from "../../src/backend/cpu/index.ts";
import { downloadLayers, initialWeights } from "../../src/nn/params.ts";
import { parseTrainArgs } from "../../src/cli/config.ts";
import { createSession, presetFlag } from "../../bench/session.ts";
import { UsageError } from "../../src/errors.ts";

describe("createSession", () => {
  test("builds the config's network, seeded weights, optimiser and a workspace of --batch rows", async () => {
    const backend = createCpuBackend();
    try {
      const config = parseTrainArgs(["--arch", "784-6-784", "--batch", "7", "--seed", "3", "--opt", "kflr"]);
      const session = createSession(config, backend);
      expect(session.spec.sizes).toEqual([784, 6, 784]);
      expect(session.optimizer.name).toBe("kflr");
      expect(session.workspace.batchSize).toBe(7);
      const weights = await downloadLayers(backend, session.weights);
      // Bit for bit the seeded initial weights (float32 on both sides).
      expect(weights.map((w) => Array.from(w))).toEqual(initialWeights(session.spec, 3).map((w) => Array.from(w)));
      session.dispose();

      const other = createSession(config, backend, { spec: { sizes: [784, 4, 784], transfers: ["tanh"], loss: "bce" } });
      expect(other.spec.sizes).toEqual([784, 4, 784]);
      expect(other.optimizer.name).toBe("kflr");
      other.dispose();
    } finally {
      backend.dispose();
    }
  });
});

describe("presetFlag", () => {
  test("--preset, or --damping, its old name, or the tool's default; both at once refused", () => {
    expect(presetFlag({ preset: "fixed" }, "adaptive")).toBe("fixed");
    expect(presetFlag({ damping: "fixed" }, "adaptive")).toBe("fixed");
    expect(presetFlag({}, "adaptive")).toBe("adaptive");
    expect(() => presetFlag({ preset: "fixed", damping: "adaptive" }, "fixed")).toThrow(UsageError);
  });
});
