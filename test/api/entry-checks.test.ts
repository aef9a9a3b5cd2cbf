// Inputs checked where they enter (issue 29): a stream is checked by what it reads, not by which file
// it came from; concurrent MinibatchStream.next() calls each get their own minibatch; weights are
// finite wherever they enter (setWeights, Network.load, --init) and save() refuses non-finite ones;
// a setting the preset leaves unread is refused in the library and the CLI alike; layer sizes are
// decimal; counts are bounded; options objects are read by their own keys only; wrong-typed
// arguments, timeOffset and dispose() during train() get one-line errors naming the argument.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Field, FixedSizeList, Float32, Table, makeData, makeVector, tableToIPC } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Dataset, MinibatchStream, Network, Optimizer, createBackend, openDataset, train, type Backend, type Minibatch, type OptimizerOptions } from "kfra-webgpu";
import { parseTrainArgs } from "../../src/run/config.ts";
import { writeSafetensors } from "../../src/io/safetensors.ts";
import { modelMetadata, modelTensors } from "../../src/nn/modelFile.ts";
import { parseArch, parseHidden } from "../../src/nn/spec.ts";
import { expectOneLine, trainCli } from "../faults/helpers.ts";

let backend: Backend;
const root = mkdtempSync(join(tmpdir(), "kfra-entry-"));
beforeAll(async () => {
  backend = await createBackend({ device: "cpu" });
});
afterAll(() => {
  backend.dispose();
  rmSync(root, { recursive: true, force: true });
});

const DIM = 6, ROWS = 64;
const x = Float32Array.from({ length: ROWS * DIM }, (_, i) => (Math.sin(i) + 1) / 2);
const data = openDataset({ x, dim: DIM, name: "mine" });

/** The one-line message of what `f` throws (sync or async). */
async function refusal(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (error) {
    const message = (error as Error).message;
    expect(message.split("\n")).toHaveLength(1);
    return message;
  }
  throw new Error("not refused");
}

/** An Arrow file: features x (6 wide), a 0/1 target column `good` and a column `bad` of 2s. */
function twoTargetFile(): string {
  const values = makeData({ type: new Float32(), length: ROWS * DIM, data: x });
  const features = makeVector(makeData({ type: new FixedSizeList(DIM, new Field("value", new Float32(), false)), length: ROWS, nullCount: 0, child: values }));
  const column = (f: (r: number) => number) => makeVector(Float32Array.from({ length: ROWS }, (_, r) => f(r)));
  const path = join(root, "two-targets.arrow");
  writeFileSync(path, tableToIPC(new Table({ x: features, good: column((r) => r % 2), bad: column(() => 2) }), "file"));
  return path;
}

describe("streams are checked by what they read", () => {
  test("a MinibatchStream of the dataset's own file reading another target column is checked (bce labels of 2 refused)", async () => {
    const file = twoTargetFile();
    const own = openDataset(file, { targets: "good" });
    const network = new Network(backend, { sizes: [DIM, 3, 1], loss: "bce" });
    const optimizer = new Optimizer(network, { method: "adam", batchSize: 8 });
    const other = await MinibatchStream.open({ file, columns: { targets: "bad" }, batchSize: 8, seed: 0 });
    try {
      await expect(train(network, optimizer, own, { steps: 2, batches: other, evalEvery: 0 })).rejects.toThrow(/y.*2/);
      expect(optimizer.steps).toBe(0);
      // The stream of the same columns is what `own` holds: trusted, it trains.
      const same = await MinibatchStream.open({ file, columns: { targets: "good" }, batchSize: 8, seed: 0 });
      try {
        const result = await train(network, optimizer, own, { steps: 2, batches: same, evalEvery: 0 });
        expect(result.steps).toBe(2);
      } finally {
        await same.close();
      }
    } finally {
      await other.close();
      optimizer.dispose();
      network.dispose();
    }
  });

  test("concurrent next() calls each get their own minibatch, in order", async () => {
    const file = twoTargetFile();
    const open = () => MinibatchStream.open({ file, batchSize: 8, seed: 3 });
    const sequential = await open();
    const concurrent = await open();
    try {
      const expected: Minibatch[] = [];
      for (let i = 0; i < 6; i++) expected.push(await sequential.next());
      const got = await Promise.all(Array.from({ length: 6 }, () => concurrent.next()));
      expect(got.map((b) => [b.epoch, b.batch])).toEqual(expected.map((b) => [b.epoch, b.batch]));
      got.forEach((b, i) => expect(b.x).toEqual(expected[i].x));
    } finally {
      await sequential.close();
      await concurrent.close();
    }
  });

  test("train() releases each minibatch once its update has loaded it: a source's own, a trusted stream's", async () => {
    const file = twoTargetFile();
    const own = openDataset(file, { targets: "good" });
    const stream = await MinibatchStream.open({ file, columns: { targets: "good" }, batchSize: 8, seed: 0 });
    const plain = { next: () => data.batch(8, 0, 0), release: (_batch: object) => {} };
    try {
      for (const [source, dataset, sizes] of [[plain, data, [DIM, 3, DIM]], [stream, own, [DIM, 3, 1]]] as const) {
        const network = new Network(backend, { sizes: [...sizes], loss: "bce" });
        const optimizer = new Optimizer(network, { method: "kfra", batchSize: 8 });
        const handed: object[] = [], released: object[] = [];
        const next = source.next.bind(source), release = source.release.bind(source) as (batch: object) => void;
        source.next = (async () => {
          handed.push(await next());
          return handed.at(-1);
        }) as typeof source.next;
        source.release = ((batch: object) => {
          expect(optimizer.steps).toBe(released.length + 1);
          released.push(batch);
          release(batch);
        }) as typeof source.release;
        try {
          await train(network, optimizer, dataset, { steps: 3, batches: source, evalEvery: 0 });
          expect(released).toHaveLength(3);
          released.forEach((batch, i) => expect(batch).toBe(handed[i]));
        } finally {
          optimizer.dispose();
          network.dispose();
        }
      }
      // The stream's released minibatches went back to its worker: their arrays are empty.
      expect((await stream.next()).x).toHaveLength(8 * DIM);
    } finally {
      await stream.close();
    }
  });
});

describe("weights are finite wherever they enter", () => {
  const sizes = [DIM, 3, DIM];
  const layers = (value: number) => [new Float32Array(3 * (DIM + 1)).fill(0.1), Float32Array.from({ length: DIM * 4 }, (_, i) => (i === 5 ? value : 0.1))];
  test.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])("%s: setWeights, save() and Network.load refuse it, naming layer, row and column", async (value) => {
    const network = new Network(backend, { sizes, loss: "bce" });
    try {
      expect(await refusal(() => network.setWeights(layers(value)))).toBe(`setWeights: weights: layer 1 holds ${value} at row 1, column 1; weights must be finite`);
      // A weight made non-finite by training cannot be saved either (set through the backend directly).
      backend.upload(network.weights[1], layers(value)[1]);
      const file = join(root, `bad-${value}.safetensors`);
      expect(await refusal(() => network.save(file))).toMatch(new RegExp(`^save: weights: layer 1 holds ${value} at row 1, column 1; weights must be finite \\(.*not written\\)$`));
      // A model file holding one (written by something else) is refused on load, as --init reads it.
      writeSafetensors(file, modelTensors({ sizes, transfers: ["tanh"], loss: "bce" }, layers(value)), modelMetadata({ sizes, transfers: ["tanh"], loss: "bce" }));
      expect(await refusal(() => Network.load(backend, file, { sizes, loss: "bce" }))).toBe(`${file}: layers.1.weight holds ${value} at row 1, column 1; weights must be finite`);
    } finally {
      network.dispose();
    }
  });
});

test("--init with a NaN weight: one line naming the file, layer, row and column, exit 1, no run directory", () => {
  const file = twoTargetFile();
  const spec = { sizes: [DIM, 3, 1], transfers: ["tanh" as const], loss: "bce" as const };
  const model = join(root, "nan-init.safetensors");
  writeSafetensors(model, modelTensors(spec, [new Float32Array(3 * (DIM + 1)).fill(0.1), Float32Array.from({ length: 4 }, (_, i) => (i === 2 ? Number.NaN : 0.1))]), modelMetadata(spec));
  const out = join(root, "nan-run");
  const result = trainCli(["--data", file, "--targets", "good", "--loss", "bce", "--hidden", "3", "--init", model, "--steps", "1", "--batch", "8", "--device", "cpu", "--quiet", "--out", out]);
  expectOneLine(result, "train", new RegExp(`${model}: layers\\.1\\.weight holds NaN at row 0, column 2; weights must be finite$`));
  expect(existsSync(out)).toBe(false);
});

describe("settings the preset leaves unread are refused, in the library and the CLI", () => {
  test.each([
    [{ method: "kfra", gammaPeriod: 4 }, ["--gamma-period", "4"], "not read while γ is held (the fixed preset)"],
    [{ method: "kfac", preset: "adaptive", adapt: false, gammaPeriod: 4 }, ["--opt", "kfac", "--preset", "adaptive", "--no-adapt", "--gamma-period", "4"], "not read while γ is held (the adaptive preset with adaptation off)"],
    [{ method: "kflr", factorMomentum: false, factorDecay: 0.5 }, ["--opt", "kflr", "--no-factor-momentum", "--factor-decay", "0.5"], "not read while factor momentum is off"],
  ] as const)("%o", async (options, flags, problem) => {
    const network = new Network(backend, { sizes: [DIM, 3, DIM], loss: "bce" });
    const key = "gammaPeriod" in options ? "gammaPeriod" : "factorDecay";
    expect(await refusal(() => new Optimizer(network, options as unknown as OptimizerOptions))).toContain(`${key}: ${problem}`);
    network.dispose();
    expect(await refusal(() => parseTrainArgs([...flags]))).toContain(`--${flags.at(-2)!.slice(2)}: ${problem}`);
  });
  test("the same settings where they are read are accepted", () => {
    expect(() => parseTrainArgs(["--preset", "adaptive", "--gamma-period", "4", "--factor-decay", "0.5"])).not.toThrow();
    // τ's period is read under either preset: a rejected step raises τ by 0.95^T_τ.
    expect(() => parseTrainArgs(["--tau-period", "3"])).not.toThrow();
  });
});

describe("counts and sizes", () => {
  test.each(["0x8", "0b11", "0o7", " 8", "8 ", "", "1e3", "+8", "8.0", "08"])("layer size %j refused by --arch and --hidden", async (size) => {
    expect(await refusal(() => parseArch(`784-${size}-784`))).toMatch(/^--arch '.*': expected sizes joined by '-'/);
    expect(await refusal(() => parseHidden(`${size}-4`))).toMatch(/^--hidden '.*': expected hidden layer sizes joined by '-'/);
  });
  test("decimal sizes are read", () => {
    expect(parseArch("784-30-784")).toEqual([784, 30, 784]);
    expect(parseHidden("64-16-64")).toEqual([64, 16, 64]);
  });
  test.each(["0", "65", "10000"])("--workers %s refused: at most 64 threads", async (n) => {
    expect(await refusal(() => parseTrainArgs(["--workers", n]))).toBe(`--workers: must be an integer in [1, 64], got '${n}'`);
  });
});

describe("arguments of the wrong type, options by own keys, timeOffset, dispose() during train()", () => {
  const network = () => new Network(backend, { sizes: [DIM, 3, DIM], loss: "bce" });
  test.each([
    ["new Optimizer({})", () => new Optimizer({} as Network, undefined as unknown as OptimizerOptions), "Optimizer: network must be a Network (new Network(backend, { sizes, loss })), got an object"],
    ["new Optimizer(network)", () => new Optimizer(network(), undefined as unknown as OptimizerOptions), "Optimizer: options must be an object such as { method: \"kfra\", batchSize: 1000 }, got undefined"],
    ["openDataset(null)", () => openDataset(null as never), "openDataset: source must be an Arrow file's name or { x, dim } (rows in memory), got null"],
    ["openDataset(file, null)", () => openDataset("x.arrow", null as never), "openDataset: columns must be an object such as { targets: \"y\" }, got null"],
    ["rows(null)", () => data.rows(null as never), "mine: rows(): indices must be an array of row numbers, got null"],
    ["rows(['1'])", () => data.rows(["1"] as never), "mine: rows(): index 0 is '1', not a row number in [0, 64)"],
    ["an empty Dataset", () => new Dataset(new Float32Array(0), DIM, undefined, 0, "none"), "none: an empty dataset or a partial row: x holds 0 values, not a positive multiple of dim 6"],
    ["Optimizer option toString", () => new Optimizer(network(), { method: "kfra", toString: 1 } as never), "toString: not a setting of kfra; its settings are"],
    ["Optimizer option __proto__", () => new Optimizer(network(), JSON.parse('{"method": "kfra", "__proto__": {"batchSize": 0}}')), "__proto__: not a setting of kfra; its settings are"],
    ["Network option toString", () => new Network(backend, { sizes: [DIM, 3, DIM], loss: "bce", toString: 1 } as never), "toString: not an option of Network"],
    ["train() option valueOf", () => train(network(), new Optimizer(network(), { method: "adam" }), data, { valueOf: 1 } as never), "valueOf: not an option of train()"],
  ])("%s", async (_name, f, message) => {
    expect(await refusal(f)).toContain(message);
  });

  test("an inherited setting is neither checked nor read", () => {
    const net = network();
    const optimizer = new Optimizer(net, Object.assign(Object.create({ batchSize: 0 }), { method: "adam" }));
    expect(optimizer.batchSize).toBe(1000);
    optimizer.dispose();
    net.dispose();
  });

  test("train({ timeOffset }) is a number of seconds ≥ 0", async () => {
    const net = network();
    const optimizer = new Optimizer(net, { method: "adam", batchSize: 8 });
    for (const bad of [-1, Number.NaN, "5"]) expect(await refusal(() => train(net, optimizer, data, { steps: 1, timeOffset: bad as number }))).toMatch(/^timeOffset: must be a number ≥ 0, got/);
    optimizer.dispose();
    net.dispose();
  });

  test("dispose() of the optimiser or the network during a running train() is refused; train() completes", async () => {
    const net = network();
    const optimizer = new Optimizer(net, { method: "adam", batchSize: 8 });
    const running = train(net, optimizer, data, { steps: 20, evalEvery: 0 });
    expect(await refusal(() => optimizer.dispose())).toMatch(/^dispose\(\): this optimiser's train\(\) is running/);
    expect(await refusal(() => net.dispose())).toMatch(/^dispose\(\): the network is in use by a running train\(\)/);
    expect((await running).steps).toBe(20);
    optimizer.dispose();
    net.dispose();
  });
});
