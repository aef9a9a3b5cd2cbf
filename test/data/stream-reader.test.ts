// Positioned reads (DatasetReader) against the whole file in memory (the reader before them): the
// stream's minibatches, a Dataset's rows, whole-set evaluations and a training run, resumed midway,
// are bit-identical; a file truncated or rewritten under a stream stops it with one line; the
// data identity is the sha256 computed while the file was checked.
import { closeSync, openSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Field, FixedSizeList, Float64, Int64, Schema, Struct, Table, Utf8, RecordBatch, makeData, tableToIPC, vectorFromArray } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeImageSet, writeFilesAtomically } from "../../data-prep/arrow-writer.ts";
import { Dataset, fileDataset, openDataset } from "../../src/api/dataset.ts";
import { Network } from "../../src/api/network.ts";
import { Optimizer } from "../../src/api/optimizer.ts";
import { train } from "../../src/api/train.ts";
import { createBackend } from "../../src/backend/index.ts";
import type { Backend } from "../../src/backend/types.ts";
import { DataError, loadDataset } from "../../src/data/dataset.ts";
import { DatasetReader } from "../../src/data/dataset-reader.ts";
import { MinibatchStream, type Minibatch, type StreamTestOptions } from "../../src/data/stream.ts";
import { dataFingerprint } from "../../src/run/dataIdentity.ts";
import { sha256, tempDir } from "./helpers.ts";

const tmp = tempDir("kfra-reader-");
const COUNT = 2350;
const project = join(tmp.dir, "small.arrow");
const own = join(tmp.dir, "own.arrow");
let backend: Backend;

/** An own-data file whose chosen columns follow a string column: float64 features of width 5, an int64 target per row; 3 record batches of unequal size. */
function writeOwnFile(file: string, rows: number): void {
  const featureType = new FixedSizeList(5, new Field("v", new Float64(), false));
  const fields = [new Field("id", new Utf8(), false), new Field("x", featureType, false), new Field("t", new Int64(), false)];
  const schema = new Schema(fields);
  const batches: RecordBatch[] = [];
  for (const [start, n] of [[0, 700], [700, 1], [701, rows - 701]]) {
    const ids = vectorFromArray(Array.from({ length: n }, (_, i) => `row-${start + i}`), new Utf8()).data[0];
    const values = Float64Array.from({ length: n * 5 }, (_, i) => Math.sin(start * 5 + i) / 3);
    const x = makeData({ type: featureType, length: n, nullCount: 0, child: makeData({ type: new Float64(), length: n * 5, data: values }) });
    const t = makeData({ type: new Int64(), length: n, data: BigInt64Array.from({ length: n }, (_, i) => BigInt((start + i) % 7)) });
    batches.push(new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children: [ids, x, t] as never })));
  }
  writeFileSync(file, tableToIPC(new Table(schema, batches), "file"));
}

beforeAll(async () => {
  const pixels = Uint8Array.from({ length: COUNT * 12 }, (_, i) => (Math.floor(i / 12) * 7 + (i % 12) * 13) % 256);
  const labels = Uint8Array.from({ length: COUNT }, (_, r) => (r * 3) % 10);
  writeFilesAtomically([{ file: project, bytes: encodeImageSet({ dataset: "small", split: "train", width: 4, height: 3, pixels, labels, seed: 0, generatorVersion: "test/1" }) }]);
  writeOwnFile(own, 1900);
  backend = await createBackend({ device: "cpu" });
});
afterAll(() => {
  backend.dispose();
  tmp.remove();
});

async function take(options: StreamTestOptions, n: number): Promise<Minibatch[]> {
  const stream = await MinibatchStream.open(options);
  try {
    const out: Minibatch[] = [];
    for (let i = 0; i < n; i++) out.push(await stream.next());
    return out;
  } finally {
    await stream.close();
  }
}

const plain = (m: Minibatch) => ({ epoch: m.epoch, batch: m.batch, indices: Array.from(m.indices), x: Array.from(m.x), labels: m.labels && Array.from(m.labels), y: m.y && Array.from(m.y) });

describe("positioned reads give the rows of the whole file in memory", () => {
  it("the stream's minibatches are bit-identical: project file (bytes, labels, odd/even), own file (float64 after a string column, int64 targets), shuffled or not, resumed midway", async () => {
    const cases: StreamTestOptions[] = [
      { file: project, batchSize: 100, seed: 3, workers: 2, oddEvenTargets: true },
      { file: project, batchSize: 64, seed: 1, shuffle: false, start: { epoch: 1, batch: 30 } },
      { file: own, batchSize: 50, seed: 5, workers: 3, columns: { targets: "t" }, start: { epoch: 2, batch: 7 } },
    ];
    for (const options of cases) {
      const n = 15;
      const memory = (await take({ ...options, reader: "memory" }, n)).map(plain);
      for (const reads of ["io_uring", "pread"] as const) expect((await take({ ...options, reader: "file", cacheBytes: 0, reads }, n)).map(plain)).toEqual(memory);
      expect((await take({ ...options, reader: "file" }, n)).map(plain)).toEqual(memory); // small: kept in memory by record batch
    }
  });

  it("a Dataset opened from a file gives the rows, minibatches and ranges of the same rows in memory", () => {
    const loaded = loadDataset(own, { targets: "t" });
    const inMemory = openDataset({ x: loaded.x, dim: 5, y: loaded.y, name: "own" });
    const onDisk = openDataset(own, { targets: "t" });
    expect(onDisk.count).toBe(1900);
    for (const i of [0, 37, 38, 200]) expect(onDisk.batch(50, 9, i)).toEqual(inMemory.batch(50, 9, i));
    expect(onDisk.rows([1899, 0, 700, 700, 699])).toEqual(inMemory.rows([1899, 0, 700, 700, 699]));
    expect(onDisk.range(690, 20)).toEqual({ x: loaded.x.slice(690 * 5, 710 * 5), y: loaded.y!.slice(690, 710) });
    // The reader row by row (positioned reads, neighbours coalesced) and kept whole give the same rows.
    const rows = [1899, 0, 700, 700, 699, 5, 6, 7, 1200, 3];
    const read = (cacheBytes: number, reads?: "io_uring" | "pread") => {
      const reader = DatasetReader.open(own, { targets: "t" }, { cacheBytes, reads });
      const out = { x: new Float32Array(rows.length * 5), y: new Float32Array(rows.length) };
      reader.readRows(rows, out);
      reader.close();
      return out;
    };
    expect(read(0)).toEqual(read(1 << 30));
    expect(read(0, "pread")).toEqual(read(1 << 30));
    expect(read(0)).toEqual(inMemory.rows(rows));
    expect(() => onDisk.x).toThrow(/read on demand, not held in memory; use rows\(\), range\(\) or batch\(\)/);
    // Targets are checked against the loss over the file, chunk by chunk, rows named as in the file.
    const net = new Network(backend, { sizes: [5, 4, 1], loss: "bce" });
    expect(() => onDisk.checkFits(net.spec)).toThrow(/own\.arrow: column 't': row 2 is 2; the bce loss needs targets in \[0, 1\]/);
    net.dispose();
  });

  // Tolerance 0: the streamed evaluation reads the same chunks (the workspace's size) and sums them in
  // the same order as the one over the array in memory, so float32 rounding is the same, bit for bit.
  it("a whole-set evaluation read chunk by chunk equals the one over the set in memory, exactly", async () => {
    const loaded = loadDataset(project);
    const net = new Network(backend, { sizes: [12, 6, 12], loss: "bce", seed: 4 });
    try {
      const streamed = await net.evaluate(openDataset(project));
      const inMemory = await net.evaluate(openDataset({ x: loaded.x, dim: 12 }));
      expect(streamed).toEqual(inMemory);
      expect(streamed.loss).toBeGreaterThan(0.3);
      const reg = new Network(backend, { sizes: [5, 4, 1], loss: "sse", seed: 2 });
      const ownSet = loadDataset(own, { targets: "t" });
      expect(await reg.evaluate(openDataset(own, { targets: "t" }))).toEqual(await reg.evaluate(openDataset({ x: ownSet.x, dim: 5, y: ownSet.y })));
      reg.dispose();
    } finally {
      net.dispose();
    }
  });

  it("training (KFAC, odd/even mixture) on positioned reads, stopped and resumed, logs what the whole-file path logs, bit for bit", async () => {
    const run = async (reader: "file" | "memory", stops: number[]) => {
      const net = new Network(backend, { sizes: [12, 8, 3], loss: "mixture", seed: 1 });
      const optimizer = new Optimizer(net, { method: "kfac", batchSize: 100 });
      const loaded = loadDataset(project);
      const trainSet: Dataset = reader === "file" ? fileDataset(project, {}, true) : openDataset({ x: loaded.x, dim: 12, y: Float32Array.from(loaded.labels!, (l) => l % 2) });
      const log: number[] = [];
      let done = 0;
      try {
        for (const steps of stops) {
          const perEpoch = Math.floor(COUNT / 100);
          const stream = await MinibatchStream.open({ file: project, batchSize: 100, seed: 2, workers: 2, oddEvenTargets: true, reader, cacheBytes: 0, start: { epoch: Math.floor(done / perEpoch), batch: done % perEpoch } } as StreamTestOptions);
          try {
            await train(net, optimizer, trainSet, {
              steps, seed: 2, evalEvery: 5, batches: stream,
              onStep: (s) => {
                log.push(s.step, s.loss);
              },
              onEval: (e) => {
                log.push(e.step, e.train);
              },
            });
          } finally {
            await stream.close();
          }
          done += steps;
        }
      } finally {
        optimizer.dispose();
        net.dispose();
      }
      return log;
    };
    const memory = await run("memory", [30]);
    const file = await run("file", [13, 17]);
    expect(memory.length).toBeGreaterThan(60);
    // The resumed run evaluates at its start again (update 13): drop that one record pair to compare.
    const resumedEval = file.findIndex((v, i) => i % 2 === 0 && v === 13 && file[i + 2] === 13);
    expect(resumedEval).toBeGreaterThan(0);
    expect([...file.slice(0, resumedEval + 2), ...file.slice(resumedEval + 4)]).toEqual(memory);
  });
});

describe("a file changed under a stream", () => {
  it("truncated: the next minibatch is one DataError naming the file, not a SIGBUS nor other rows", async () => {
    const file = join(tmp.dir, "cut.arrow");
    writeOwnFile(file, 1900);
    const stream = await MinibatchStream.open({ file, batchSize: 50, seed: 1, prefetch: 1, cacheBytes: 0 } as StreamTestOptions);
    try {
      await stream.next();
      truncateSync(file, 5000);
      // A minibatch requested ahead (prefetch 1) may have been read before the cut: at most that
      // one and the one in flight come through; every later call is the error.
      const results: (Error | undefined)[] = [];
      for (let i = 0; i < 5; i++) results.push(await stream.next().then(() => undefined, (e: Error) => e));
      const first = results.findIndex((e) => e !== undefined);
      expect(first).toBeGreaterThanOrEqual(0);
      expect(first).toBeLessThanOrEqual(2);
      for (const e of results.slice(first)) {
        expect(e).toBeInstanceOf(DataError);
        expect(e!.message).toMatch(/cut\.arrow: (the file changed while it was read \(\d+ → 5000 bytes|short read: \d+ of \d+ bytes at offset \d+; .* it is 5000 bytes now)/);
        expect(e!.message).not.toContain("\n");
      }
    } finally {
      await stream.close();
    }
  });

  it("rewritten in place at the same size: refused as changed", async () => {
    const file = join(tmp.dir, "edited.arrow");
    writeOwnFile(file, 1900);
    const reader = DatasetReader.open(file, {}, { cacheBytes: 0 });
    const out = { x: new Float32Array(5 * 3) };
    reader.readRows([4, 1000, 2], out);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fd = openSync(file, "r+");
    writeSync(fd, new Uint8Array(8), 0, 8, 4096);
    closeSync(fd);
    expect(() => reader.readRows([4], out)).toThrow(/edited\.arrow: the file changed while it was read \(\d+ → \d+ bytes, modified .*\); its rows are no longer the ones checked/);
    reader.close();
    // A worker opened on the edited file by a stream checked before the edit is refused the same way.
    expect(() => DatasetReader.open(file, {}, { validate: false, expect: reader.identity })).toThrow(/edited\.arrow: the file changed after it was checked/);
  });
});

describe("data identity", () => {
  it("is the sha256 of the file's bytes, computed while the reader checked it", () => {
    const reader = DatasetReader.open(project, {});
    reader.close();
    expect(reader.digest).toBe(sha256(project));
    expect(dataFingerprint({ dataset: "mnist", dataDir: tmp.dir, data: project }).train).toBe(sha256(project).slice(0, 16));
  });
});
