// createSession: the one place a config becomes a network, weights, an optimiser and a workspace
// (used by the trainer and the step, direction and crosscheck benchmarks).
import { describe, expect, test } from "vitest";
import { createCpuBackend } from "../../src/backend/cpu/index.ts";
import { downloadLayers, initialWeights } from "../../src/nn/params.ts";
import { parseTrainArgs } from "../../src/train/config.ts";
import { createSession } from "../../src/train/session.ts";

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

      const bare = createSession(config, backend, { initialize: false, spec: { sizes: [784, 4, 784], transfers: ["tanh"], loss: "bce" } });
      expect(bare.spec.sizes).toEqual([784, 4, 784]);
      expect((await downloadLayers(backend, bare.weights)).every((w) => w.every((v) => v === 0))).toBe(true);
      bare.dispose();
    } finally {
      backend.dispose();
    }
  });
});
