// The trainer records each update before it reads the previous update's report (the loss comes back
// one update late, so the device need not idle while the CPU records): its metrics file must hold
// exactly what a loop that waits for every report gives, evaluations after the updates they follow.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { availableBackends, createBackend } from "../../src/backend/index.ts";
import { datasetFiles } from "../../src/data/dataset.ts";
import { MinibatchStream } from "../../src/data/stream.ts";
import { stepAndReport } from "../../src/optim/optimizer.ts";
import { optimizerOptions, parseTrainArgs } from "../../src/run/config.ts";
import { networkFor } from "../../src/run/network.ts";
import { readMetrics } from "../../src/run/metrics.ts";
import { createSession } from "../../bench/_session.ts";
import { trainFromConfig as train } from "../../src/cli/plan.ts";

const root = mkdtempSync(join(tmpdir(), "kfra-pipelined-"));
const dataDir = join(root, "data");
beforeAll(async () => {
  await prepareDataset("curves", { out: dataDir, count: 300, quiet: true });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const STEPS = 5;
const devices = await availableBackends();

describe.each(devices)("%s", (device) => {
  test.each([
    ["adam", []],
    ["kfra", ["--damping", "adaptive", "--tau0", "1", "--gamma0", "1", "--gamma-period", "2"]],
  ] as const)("%s: the trainer's step records equal those of a loop that waits for every report", async (opt, flags) => {
    const out = join(root, `${device}-${opt}`);
    const args = ["--data-dir", dataDir, "--arch", "784-16-784", "--batch", "50", "--device", device, "--opt", opt, ...flags];
    await train(parseTrainArgs([...args, "--steps", String(STEPS), "--eval-every", "2", "--save-every", "0", "--quiet", "--out", out]));
    const logged = readMetrics(join(out, "metrics.ndjson"));
    expect(logged.map((r) => `${r.type} ${r.step}`)).toEqual(["eval 0", "step 1", "step 2", "eval 2", "step 3", "step 4", "eval 4", "step 5", "eval 5"]);

    const config = parseTrainArgs(args);
    const backend = await createBackend({ device });
    const session = createSession(backend, networkFor(config), { ...optimizerOptions(config), batchSize: config.batch, seed: config.seed });
    const stream = await MinibatchStream.open({ file: datasetFiles("curves", dataDir).train, batchSize: config.batch, seed: config.seed, workers: config.workers, shuffle: config.shuffle });
    const waited = [];
    for (let t = 1; t <= STEPS; t++) {
      session.workspace.loadBatch((await stream.next()).x);
      waited.push({ type: "step", step: t, ...(await stepAndReport(session.engine, session.workspace, t)) });
    }
    await stream.close();
    session.dispose();
    backend.dispose();
    const steps = logged.filter((r) => r.type === "step").map((r) => {
      const { time, dataWaitMs, seconds, ...rest } = r as Record<string, unknown>;
      return rest;
    });
    // As the metrics file holds them (a NaN, e.g. ρ between τ adaptations, is written as null).
    expect(steps).toEqual(JSON.parse(JSON.stringify(waited)));
  });
});
