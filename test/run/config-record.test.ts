// config.json records the run's settings as used: every optimiser setting the method reads as the
// preset and the table resolve it (a fixed-preset KFRA run says adapt false, an Adam run its lr),
// none it does not read, the network, and the data by file and hash (`dataset` only when it trained
// on one). Resuming a run written this way, or the older layout, gives the same settings.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { parseTrainArgs, resolvedConfig } from "../../src/run/config.ts";
import { trainFromConfig as train } from "../../src/cli/plan.ts";
import { readRunConfig, resumeConfig } from "../../src/run/resume.ts";
import { datasetFiles } from "../../src/data/dataset.ts";
import { dataFingerprint } from "../../src/run/dataIdentity.ts";
import { IoUring } from "../../src/data/io-uring.ts";

const root = mkdtempSync(join(tmpdir(), "kfra-config-"));
const dataDir = join(root, "data");
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await prepareDataset("curves", { out: dataDir, count: 200, quiet: true });
});

const args = (out: string, ...extra: string[]) =>
  parseTrainArgs(["--data-dir", dataDir, "--arch", "784-8-784", "--batch", "20", "--device", "cpu", "--quiet", "--eval-every", "0", "--save-every", "2", ...(extra.includes("--steps") ? [] : ["--steps", "2"]), "--out", join(root, out), ...extra]);
const saved = (out: string) => JSON.parse(readFileSync(join(root, out, "config.json"), "utf8"));

describe("config.json", () => {
  test("a fixed-preset KFRA run records the preset's settings as used, and no first-order setting", async () => {
    await train(args("kfra-fixed", "--opt", "kfra"));
    const c = saved("kfra-fixed");
    expect(c).toMatchObject({ opt: "kfra", preset: "fixed", adapt: false, tau0: 1e-3, gamma0: 1e-3, factorMomentum: true, factorDecay: 0.9, polyakMax: 0.9, rampSteps: 100, batch: 20, seed: 0, weightDecay: 1e-5, dataset: "curves" });
    for (const key of ["lr", "decayPeriod", "momentum", "beta1", "beta2", "epsilon"]) expect(c).not.toHaveProperty(key);
    expect(c.network).toEqual({ sizes: [784, 8, 784], activation: ["tanh"], loss: "bce", seed: 0 });
    const files = datasetFiles("curves", dataDir);
    expect(c.dataFiles).toEqual({ train: files.train, heldOut: files.heldOut });
    expect(c.dataHash).toEqual(dataFingerprint({ dataset: "curves", dataDir }));
    expect(c.dataHash.train).toMatch(/^[0-9a-f]{16}$/);
    // environment.json says how the stream read its rows: by io_uring here, or by pread and why not.
    const environment = JSON.parse(readFileSync(join(root, "kfra-fixed", "environment.json"), "utf8"));
    expect(environment.dataReads).toBe(IoUring.unavailable === undefined ? "io_uring" : `pread (${IoUring.unavailable})`);
  });

  test("an adaptive run says adapt true and its preset's Polyak constant and ramp", async () => {
    await train(args("kfac-adaptive", "--opt", "kfac", "--preset", "adaptive", "--no-factor-momentum"));
    expect(saved("kfac-adaptive")).toMatchObject({ preset: "adaptive", adapt: true, polyakMax: 0.95, rampSteps: 0, factorMomentum: false });
  });

  test("an Adam run records its learning rate and Adam's constants, and no Kronecker setting", async () => {
    await train(args("adam", "--opt", "adam"));
    const c = saved("adam");
    expect(c).toMatchObject({ opt: "adam", lr: 2 ** -9, decayPeriod: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    for (const key of ["preset", "adapt", "tau0", "gamma0", "factorMomentum", "polyakMax", "momentum"]) expect(c).not.toHaveProperty(key);
  });

  test("a run on one's own file names the file and its hash, not a dataset", async () => {
    const files = datasetFiles("curves", dataDir);
    await train(args("own", "--opt", "sgd", "--data", files.train, "--valid", files.heldOut));
    const c = saved("own");
    expect(c).not.toHaveProperty("dataset");
    expect(c).toMatchObject({ data: files.train, valid: files.heldOut, lr: 2 ** -6 });
    expect(c.dataFiles).toEqual({ train: files.train, heldOut: files.heldOut });
    expect(c.dataHash).toEqual(dataFingerprint({ dataset: "curves", dataDir, data: files.train, valid: files.heldOut }));
  });

  test("a resumed run keeps its settings as used; resuming the older layout (flags as given) rewrites it as used", async () => {
    await train(resumeConfig(join(root, "adam"), args("adam", "--steps", "4"), new Set(["steps"])));
    const c = saved("adam");
    expect(c.steps).toBe(4);
    expect(c.lr).toBe(2 ** -9);
    expect(c).not.toHaveProperty("adapt");
    expect(c.history).toHaveLength(1);

    // The layout before: the flags as parsed (adapt true on a fixed run, no lr), `damping` for `preset`.
    await train(args("old", "--opt", "kfra"));
    const path = join(root, "old", "config.json");
    const { preset, network: _n, dataFiles: _f, dataHash: _h, ...rest } = JSON.parse(readFileSync(path, "utf8"));
    writeFileSync(path, JSON.stringify({ ...rest, damping: preset, adapt: true, tau0: undefined, polyakMax: undefined, rampSteps: undefined, lr: undefined }, null, 2));
    const old = resolvedConfig(readRunConfig(join(root, "old")));
    expect(old).toMatchObject({ preset: "fixed", adapt: false, tau0: 1e-3, polyakMax: 0.9, rampSteps: 100 });
    expect(old).not.toHaveProperty("lr");
    await train(resumeConfig(join(root, "old"), args("old", "--steps", "4"), new Set(["steps"])));
    expect(saved("old")).toMatchObject({ preset: "fixed", adapt: false, tau0: 1e-3, polyakMax: 0.9, rampSteps: 100, steps: 4 });
    expect(saved("old")).not.toHaveProperty("damping");
  });
});
