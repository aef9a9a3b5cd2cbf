// Every input is checked where it enters, the same way through the library and the CLI: one table of
// bad settings drives new Optimizer(...), new Network(...), train(...) and `bun run train` flags and
// expects the same one-line message naming the setting (the key in the library, the flag on the
// command line); bad minibatches are refused by step() with the optimiser's state left bit for bit
// as it was, so the next good minibatch trains as if the bad one had never come; a step() that
// overlaps another, and use after dispose(), are refused on every backend.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Network, Optimizer, SettingError, createBackend, openDataset, train, type Backend, type OptimizerOptions } from "kfra-webgpu";
import { internals } from "../../src/api/optimizer.ts";
import { parseTrainArgs } from "../../src/run/config.ts";
import { availableBackends } from "../../src/backend/index.ts";
import { OPTIMIZER_SETTINGS } from "../../src/optim/settings.ts";
import { flagOf } from "../../src/settings.ts";
import { TRAIN_SETTINGS } from "../../src/train/settings.ts";

let backend: Backend;
beforeAll(async () => {
  backend = await createBackend({ device: "cpu" });
});
afterAll(() => backend.dispose());

const DIM = 6;
const rows = (n: number, f: (i: number) => number) => Float32Array.from({ length: n * DIM }, (_, i) => f(i));
const data = openDataset({ x: rows(64, (i) => (Math.sin(i) + 1) / 2), dim: DIM, name: "mine" });

/** [method, setting key, bad value, what the message says after "key: "] */
const BAD_SETTINGS: [OptimizerOptions["method"], string, unknown, string][] = [
  ["adam", "lr", Number.NaN, "must be a number > 0, got"],
  ["adam", "lr", -1, "must be a number > 0, got"],
  ["adam", "lr", Number.POSITIVE_INFINITY, "must be a number > 0, got"],
  ["adam", "beta1", 1, "must be a number in [0, 1), got"],
  ["adam", "beta2", -0.1, "must be a number in [0, 1), got"],
  ["adam", "epsilon", 0, "must be a number > 0, got"],
  ["adam", "decayPeriod", 2.5, "must be an integer ≥ 0, got"],
  ["momentum", "momentum", 5, "must be a number in [0, 1), got"],
  ["kfra", "tau0", -1, "must be a number > 0, got"],
  ["kfra", "gamma0", 0, "must be a number > 0, got"],
  ["kfra", "preset", "bogus", "must be one of fixed, adaptive, got"],
  ["kfac", "factorDecay", 2, "must be a number in [0, 1), got"],
  ["kfac", "polyakMax", 1, "must be a number in [0, 1), got"],
  ["kfra", "tauPeriod", 0, "must be an integer ≥ 1, got"],
  ["kfra", "gammaPeriod", 1.5, "must be an integer ≥ 1, got"],
  ["kflr", "rampSteps", -3, "must be an integer ≥ 0, got"],
  ["kfra", "weightDecay", -1e-5, "must be a number ≥ 0, got"],
  ["kfra", "batchSize", 0, "must be an integer ≥ 1, got"],
  ["kfra", "batchSize", 2.5, "must be an integer ≥ 1, got"],
  ["kfra", "seed", -1, "must be an integer ≥ 0, got"],
  ["kfra", "lr", 0.1, "not read by kfra; it is a setting of sgd, momentum, nesterov, adam"],
  ["adam", "tau0", 1, "not read by adam; it is a setting of kfra, kflr, kfac"],
  ["sgd", "momentum", 0.5, "not read by sgd; it is a setting of momentum, nesterov"],
];

const rowOf = (key: string) => (OPTIMIZER_SETTINGS as Record<string, { flag?: string; negated?: boolean }>)[key];

describe("one table of bad settings, refused alike by the library and the CLI", () => {
  test.each(BAD_SETTINGS)("%s %s = %s", (method, key, value, problem) => {
    const network = new Network(backend, { sizes: [DIM, 3, DIM], loss: "bce" });
    let error: unknown;
    try {
      new Optimizer(network, { method, [key]: value } as OptimizerOptions);
    } catch (e) {
      error = e;
    }
    network.dispose();
    expect(error).toBeInstanceOf(SettingError);
    const message = (error as Error).message;
    expect(message.split("\n")).toHaveLength(1);
    expect(message.startsWith(`${key}: ${problem}`)).toBe(true);

    const flag = flagOf(key, rowOf(key) as never);
    let cliError: unknown;
    try {
      parseTrainArgs(["--opt", method, `--${flag}=${String(value)}`]);
    } catch (e) {
      cliError = e;
    }
    expect(cliError).toBeInstanceOf(SettingError);
    expect((cliError as Error).message.startsWith(`--${flag}: ${problem}`)).toBe(true);
  });

  test.each([
    ["steps", -1],
    ["steps", Number.NaN],
    ["steps", 2.5],
    ["evalEvery", -2],
    ["seed", 0.5],
  ] as const)("train({ %s: %s }) and its flag are refused alike", async (key, value) => {
    const network = new Network(backend, { sizes: [DIM, 3, DIM], loss: "bce" });
    const optimizer = new Optimizer(network, { method: "adam", batchSize: 16 });
    const problem = `must be an integer ≥ ${TRAIN_SETTINGS[key].min}, got`;
    try {
      await expect(train(network, optimizer, data, { [key]: value })).rejects.toThrow(`${key}: ${problem} ${value}`);
      expect(optimizer.steps).toBe(0);
      const flag = flagOf(key, TRAIN_SETTINGS[key]);
      expect(() => parseTrainArgs([`--${flag}=${value}`])).toThrow(`--${flag}: ${problem} '${value}'`);
    } finally {
      optimizer.dispose();
      network.dispose();
    }
  });

  test("unknown keys and a missing or unknown method are named", () => {
    const network = new Network(backend, { sizes: [DIM, 3, DIM], loss: "bce" });
    try {
      expect(() => new Optimizer(network, { method: "kfra", tauu: 1 } as never)).toThrow(/^tauu: not a setting of kfra; its settings are batchSize, /);
      expect(() => new Optimizer(network, { method: "lbfgs" } as never)).toThrow(/^method: must be one of kfra, kflr, kfac, sgd, momentum, nesterov, adam, got "lbfgs"$/);
      expect(() => new Optimizer(network, {} as never)).toThrow(/^method: must be one of .*, got undefined$/);
    } finally {
      network.dispose();
    }
  });

  test("Network options: sizes, loss, activation, seed, unknown keys", () => {
    expect(() => new Network(backend, { sizes: [4, 2], loss: "hinge" as never })).toThrow(/^loss: must be one of bce, sse, mixture, softmax, got "hinge"$/);
    expect(() => new Network(backend, { sizes: [4, 0, 4], loss: "sse" })).toThrow(/^sizes: must be a list of at least two positive integers/);
    expect(() => new Network(backend, { sizes: [4], loss: "sse" })).toThrow(/^sizes: /);
    expect(() => new Network(backend, { sizes: [4, 3, 4], loss: "sse", activation: "swish" as never })).toThrow(/^activation: must be one of sigmoid, tanh/);
    expect(() => new Network(backend, { sizes: [4, 3, 4], loss: "sse", activation: ["tanh", "relu"] })).toThrow(/^activation: .*a list of 1 of them/);
    expect(() => new Network(backend, { sizes: [4, 3, 4], loss: "sse", seed: -2 })).toThrow(/^seed: must be an integer ≥ 0, got -2$/);
    expect(() => new Network(backend, { sizes: [4, 3, 4], loss: "sse", layers: 3 } as never)).toThrow(/^layers: not an option of Network/);
  });

  test("train() options: unknown keys, hooks that are not functions, a validation set that is not a Dataset", async () => {
    const network = new Network(backend, { sizes: [DIM, 3, DIM], loss: "bce" });
    const optimizer = new Optimizer(network, { method: "adam", batchSize: 16 });
    try {
      await expect(train(network, optimizer, data, { stpes: 3 } as never)).rejects.toThrow(/^stpes: not an option of train\(\)/);
      await expect(train(network, optimizer, data, { onStep: 5 } as never)).rejects.toThrow(/^onStep: must be a function$/);
      await expect(train(network, optimizer, data, { validation: {} } as never)).rejects.toThrow(/^validation: must be a Dataset/);
      expect(optimizer.steps).toBe(0);
    } finally {
      optimizer.dispose();
      network.dispose();
    }
  });

  test("Dataset.batch and rows() check their arguments", () => {
    expect(() => data.batch(0, 0, 0)).toThrow(/^batchSize: must be an integer ≥ 1, got 0$/);
    expect(() => data.batch(2.5, 0, 0)).toThrow(/^batchSize: must be an integer ≥ 1, got 2.5$/);
    expect(() => data.batch(-5, 0, 0)).toThrow(/^batchSize: /);
    expect(() => data.batch(8, -1, 0)).toThrow(/^seed: /);
    expect(() => data.batch(8, 0, -1)).toThrow(/^index: must be an integer ≥ 0/);
    expect(() => data.rows([0, 64])).toThrow(/^mine: rows\(\): index 1 is 64, not a row number in \[0, 64\)$/);
    expect(() => data.rows([1.5])).toThrow(/index 0 is 1.5/);
  });
});

/** Everything a step may change: the weights, the optimiser's tensors and scalars, its step count. */
async function snapshot(network: Network, optimizer: Optimizer) {
  const { tensors, scalars } = internals.get(optimizer)!.checkpointed.state();
  const saved: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(tensors)) saved[name] = Array.from(await backend.download(t));
  return { weights: (await network.getWeights()).map((w) => Array.from(w)), tensors: saved, scalars: { ...scalars }, steps: optimizer.steps };
}

describe.each(["kfra", "adam"] as const)("%s: bad minibatches are refused with nothing changed", (method) => {
  const N = 8;
  const supervised = (loss: "bce" | "mixture") => new Network(backend, { sizes: [DIM, 4, loss === "mixture" ? 3 : 2], loss, seed: 1 });
  const goodX = rows(N, (i) => ((i * 7) % 11) / 11);
  const goodY = Float32Array.from({ length: N * 2 }, (_, i) => i % 2);

  test.each([
    ["NaN in x", { x: (() => { const x = goodX.slice(); x[3 * DIM + 2] = Number.NaN; return x; })(), y: goodY }, /^step: x: value 2 of row 3 is NaN; a minibatch must hold finite float32 values$/],
    ["Infinity in y", { x: goodX, y: (() => { const y = goodY.slice(); y[5] = Number.POSITIVE_INFINITY; return y; })() }, /^step: y: value 1 of row 2 is Infinity/],
    ["a value beyond float32", { x: Array.from(goodX, (v, i) => (i === 0 ? 1e39 : v)), y: goodY }, /^step: x: value 0 of row 0 is 1e\+39/],
    ["a bce target above 1", { x: goodX, y: (() => { const y = goodY.slice(); y[4] = 1.5; return y; })() }, /^step: column 'y': value 0 of row 2 is 1.5; the bce loss needs targets in \[0, 1\]/],
    ["too few rows", { x: goodX.subarray(DIM), y: goodY }, /^step: x holds 42 values; a minibatch is 8 rows of 6$/],
    ["targets missing", { x: goodX }, /^step: this network needs targets y/],
    ["y of the wrong width", { x: goodX, y: goodY.subarray(1) }, /^step: y holds 15 values; the targets are 8 rows of 2$/],
    ["x not an array", { x: "abc" }, /^step: x must be a Float32Array/],
    ["no batch at all", null, /^step: expected a minibatch \{ x, y\? \}, got null$/],
  ] as const)("%s", async (_, batch, message) => {
    const network = supervised("bce");
    const optimizer = new Optimizer(network, { method, batchSize: N });
    try {
      await optimizer.step({ x: goodX, y: goodY });
      const before = await snapshot(network, optimizer);
      await expect(optimizer.step(batch as never)).rejects.toThrow(message);
      expect(await snapshot(network, optimizer)).toEqual(before);
      // The next good minibatch trains normally: nothing was poisoned.
      const report = await optimizer.step({ x: goodX, y: goodY });
      expect(Number.isFinite(report.loss)).toBe(true);
      expect(optimizer.steps).toBe(2);
    } finally {
      optimizer.dispose();
      network.dispose();
    }
  });

  test("a mixture label other than 0 or 1", async () => {
    const network = supervised("mixture");
    const optimizer = new Optimizer(network, { method, batchSize: N });
    try {
      const before = await snapshot(network, optimizer);
      const labels = Float32Array.from({ length: N }, (_, i) => (i === 6 ? 2 : i % 2));
      await expect(optimizer.step({ x: goodX, y: labels })).rejects.toThrow(/^step: column 'y': row 6 is 2; the mixture loss needs labels 0 or 1$/);
      expect(await snapshot(network, optimizer)).toEqual(before);
    } finally {
      optimizer.dispose();
      network.dispose();
    }
  });

  test("a step() while another is in flight is refused, the first completes; a step after dispose() is refused", async () => {
    const network = supervised("bce");
    const optimizer = new Optimizer(network, { method, batchSize: N });
    const first = optimizer.step({ x: goodX, y: goodY });
    await expect(optimizer.step({ x: goodX, y: goodY })).rejects.toThrow(/^step\(\): this optimiser's step\(\) has not finished; await it before the next$/);
    expect(Number.isFinite((await first).loss)).toBe(true);
    expect(optimizer.steps).toBe(1);
    const trainSet = openDataset({ x: rows(32, (i) => (i % 5) / 5), dim: DIM, y: Float32Array.from({ length: 64 }, (_, i) => i % 2) });
    const running = train(network, optimizer, trainSet, { steps: 2, evalEvery: 0 });
    await expect(optimizer.step({ x: goodX, y: goodY })).rejects.toThrow(/this optimiser's train\(\) has not finished/);
    await running;
    optimizer.dispose();
    await expect(optimizer.step({ x: goodX, y: goodY })).rejects.toThrow(/^step\(\): the optimiser has been disposed$/);
    network.dispose();
    await expect(network.predict(goodX)).rejects.toThrow(/^predict\(\): the network has been disposed$/);
    expect(() => new Optimizer(network, { method })).toThrow(/^Optimizer: the network has been disposed$/);
  });
});

describe("use after dispose() on every backend", async () => {
  const names = await availableBackends({ includeReference: true });
  test.each(names)("%s", async (name) => {
    const b = await createBackend({ device: name });
    const t = b.alloc(2, 2);
    b.dispose();
    expect(() => b.alloc(1, 1)).toThrow(new RegExp(`^${name} backend: alloc\\(\\) after dispose\\(\\)$`));
    expect(() => b.fill(t, 1)).toThrow(/fill\(\) after dispose\(\)/);
    expect(() => b.download(t)).toThrow(/download\(\) after dispose\(\)/);
    b.dispose(); // a second dispose is harmless
  });
});
