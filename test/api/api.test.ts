// The library API (src/index.ts) on the CPU backend: the two examples run and learn; the wrappers
// give what the modules underneath give (the CLI stream's minibatch order, the forward pass, the
// Evaluator); bad shapes and targets are named.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DataError, Network, Optimizer, SpecError, createBackend, openDataset, train, type Backend } from "kfra-webgpu";
import { encodeTable } from "../../data-prep/table-writer.ts";
import { MinibatchStream } from "../../src/data/stream.ts";
import { main as autoencoderExample } from "../../examples/autoencoder-in-memory.ts";
import { main as customLoopExample } from "../../examples/custom-loop.ts";

const root = mkdtempSync(join(tmpdir(), "kfra-api-"));
let backend: Backend;
beforeAll(async () => {
  backend = await createBackend({ device: "cpu" });
});
afterAll(() => {
  backend.dispose();
  rmSync(root, { recursive: true, force: true });
});

describe("examples (cpu backend, tiny sizes)", () => {
  test("1: an autoencoder on an array in memory: the training error falls", async () => {
    const result = await autoencoderExample({ device: "cpu", rows: 400, steps: 40, quiet: true });
    expect(result.steps).toBe(40);
    expect(result.after).toBeLessThan(result.before - 0.5);
  });

  test("2: a custom loop around optimizer.step calls back every update and every evaluation, and the held-out error falls", async () => {
    const steps: number[] = [];
    const evals: number[] = [];
    const result = await customLoopExample({ device: "cpu", steps: 40, onStep: (s, r) => steps.push(s) && expect(Number.isFinite(r.loss)).toBe(true), onEval: (s) => evals.push(s) });
    expect(steps).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(evals).toEqual([20, 40]);
    expect(result.best).toBeLessThan(0.1 * result.first);
  });

  test("2 on an Arrow file (the regression columns of train --data)", async () => {
    const x = Float32Array.from({ length: 300 * 4 }, (_, i) => Math.sin(i * 0.7));
    const y = Float32Array.from({ length: 300 }, (_, r) => x[4 * r] - x[4 * r + 1]);
    const file = join(root, "reg.arrow");
    writeFileSync(file, encodeTable({ values: x, width: 4 }, { values: y, width: 1 }));
    const result = await customLoopExample({ device: "cpu", file, targets: "targets", steps: 40, batchSize: 40 });
    expect(result.best).toBeLessThan(0.2 * result.first);
  });
});

describe("wrappers", () => {
  const rows = 120, dim = 5;
  const x = Float32Array.from({ length: rows * dim }, (_, i) => (Math.sin(i) + 1) / 2);
  const data = openDataset({ x, dim, name: "mine" });

  test("Dataset.batch gives the worker stream's minibatches for the same file and seed", async () => {
    const file = join(root, "rows.arrow");
    writeFileSync(file, encodeTable({ values: x, width: dim }));
    const fromFile = openDataset(file);
    const stream = await MinibatchStream.open({ file, batchSize: 32, seed: 7 });
    try {
      for (let i = 0; i < 5; i++) {
        const a = await stream.next();
        const b = fromFile.batch(32, 7, i);
        expect([b.epoch, b.batch]).toEqual([a.epoch, a.batch]);
        expect(Array.from(b.indices)).toEqual(Array.from(a.indices));
        expect(Array.from(b.x)).toEqual(Array.from(a.x));
      }
    } finally {
      await stream.close();
    }
  });

  test("Network.predict is the forward pass: a one-layer linear network gives W x + b", async () => {
    const net = new Network(backend, { sizes: [2, 3], loss: "sse" });
    const W = [1, 2, 0.5, -1, 0, 3, 0.25, 0.5, -2]; // 3 × (2 + 1), bias last
    net.setWeights([W]);
    const out = await net.predict([1, 2, -1, 4]);
    const expected = [0, 1].flatMap((r) => [0, 1, 2].map((i) => W[3 * i] * [1, 2, -1, 4][2 * r] + W[3 * i + 1] * [1, 2, -1, 4][2 * r + 1] + W[3 * i + 2]));
    // float32 sums of three O(1) products: a few ulps.
    out.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    expect(Array.from((await net.getWeights())[0])).toEqual(W);
    net.dispose();
  });

  test("save() writes the trainer's model.safetensors; Network.load reads it back exactly", async () => {
    const net = new Network(backend, { sizes: [dim, 4, 2], loss: "sse", seed: 5 });
    const file = join(root, "model.safetensors");
    await net.save(file);
    const again = Network.load(backend, file, { sizes: [dim, 4, 2], loss: "sse" });
    expect((await again.getWeights()).map((w) => Array.from(w))).toEqual((await net.getWeights()).map((w) => Array.from(w)));
    expect(() => Network.load(backend, file, { sizes: [dim, 3, 2], loss: "sse" })).toThrow(/model\.safetensors/);
    again.dispose();
    net.dispose();
  });

  test("KFRA, KFLR, KFAC and Adam each lower the error through train(), with onStep and onEval", async () => {
    for (const options of [
      { method: "kfra", batchSize: 20 },
      { method: "kflr", batchSize: 20 },
      { method: "kfac", batchSize: 20 },
      { method: "adam", batchSize: 20, lr: 0.01 },
    ] as const) {
      const net = new Network(backend, { sizes: [dim, 4, dim], loss: "bce", seed: 2 });
      const optimizer = new Optimizer(net, options);
      const seen: number[] = [];
      const evals: number[] = [];
      const summary = await train(net, optimizer, data, { steps: 12, evalEvery: 6, onStep: (s) => void seen.push(s.step), onEval: (e) => void evals.push(e.train) });
      expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(evals).toHaveLength(3);
      expect(summary.final!.train).toBeLessThan(evals[0]);
      expect(summary.final!.train).toBeCloseTo((await net.evaluate(data)).loss, 6);
      optimizer.dispose();
      net.dispose();
    }
  });

  test("bad shapes and targets are named", async () => {
    expect(() => openDataset({ x: [1, 2, 3], dim: 2 })).toThrow(/array: x holds 3 values, not a positive multiple of dim 2/);
    expect(() => openDataset({ x: [1, NaN, 3, 4], dim: 2, name: "pts" })).toThrow(/pts: x: value 1 of row 0 is NaN/);
    expect(() => openDataset({ x: [1, 2], dim: 2, y: [1, 2, 3] , targetWidth: 2 })).toThrow(DataError);
    const net = new Network(backend, { sizes: [dim, 3, 2], loss: "bce" });
    const optimizer = new Optimizer(net, { method: "kfra", batchSize: 10 });
    await expect(optimizer.step({ x: new Float32Array(10 * dim) })).rejects.toThrow(/needs targets y/);
    await expect(optimizer.step({ x: new Float32Array(9 * dim), y: new Float32Array(20) })).rejects.toThrow(/a minibatch is 10 rows of 5/);
    await expect(train(net, optimizer, data, { steps: 1 })).rejects.toThrow(/output size 2|autoencoder's output size must equal/);
    const labelled = openDataset({ x, dim, y: Float32Array.from({ length: rows * 2 }, (_, i) => i % 3), name: "counts" });
    await expect(train(net, optimizer, labelled, { steps: 1 })).rejects.toThrow(/counts: column 'y': value 0 of row 1 is 2; the bce loss needs targets in \[0, 1\]/);
    expect(() => new Network(backend, { sizes: [4, 2], loss: "mixture" })).toThrow(SpecError);
    optimizer.dispose();
    net.dispose();
  });
});

describe("stopping train() with an AbortSignal", () => {
  test("a stop during a whole-set evaluation drops it and stops before the next update, with a last checkpoint point", async () => {
    const dim = 4;
    const big = openDataset({ x: Float32Array.from({ length: 5000 * dim }, (_, i) => (Math.cos(i) + 1) / 2), dim, name: "big" });
    const net = new Network(backend, { sizes: [dim, 3, dim], loss: "bce", seed: 1 });
    const optimizer = new Optimizer(net, { method: "adam", batchSize: 50 });
    const stop = new AbortController();
    const evals: number[] = [];
    const checkpoints: number[] = [];
    try {
      const summary = await train(net, optimizer, big, {
        steps: 10,
        evalEvery: 2,
        signal: stop.signal,
        // Queued before the first chunk's turn of the evaluation at update 2, so it fires once that evaluation has begun.
        onStep: ({ step }) => void (step === 2 && setImmediate(() => stop.abort())),
        onEval: ({ step }) => void evals.push(step),
        onCheckpoint: ({ step }) => void checkpoints.push(step),
      });
      expect(summary.interrupted).toBe(true);
      expect(summary.steps).toBe(2);
      expect(evals).toEqual([0]);
      expect(checkpoints).toEqual([2]);
    } finally {
      optimizer.dispose();
      net.dispose();
    }
  });
});
