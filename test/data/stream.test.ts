// MinibatchStream: coverage of each epoch, seeded orders, resuming, contents, backpressure,
// worker errors and bad options.
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeImageSet, writeFilesAtomically } from "../../data-prep/arrow-writer.ts";
import { DataError, loadDataset } from "../../src/data/dataset.ts";
import { epochPermutation } from "../../src/data/permutation.ts";
import { MinibatchStream, type Minibatch, type StreamTestOptions } from "../../src/data/stream.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir();
const COUNT = 2350; // not a multiple of the batch size: the remainder of each permutation is dropped
const file = join(tmp.dir, "small.arrow");

beforeAll(() => {
  // Row r holds bytes (r + j) mod 256 and label r mod 10, so every row is recognisable.
  const pixels = Uint8Array.from({ length: COUNT * 12 }, (_, i) => (Math.floor(i / 12) + (i % 12)) % 256);
  const labels = Uint8Array.from({ length: COUNT }, (_, r) => r % 10);
  const set = { dataset: "small", split: "train", width: 4, height: 3, pixels, labels, seed: 0, generatorVersion: "test/1" };
  writeFilesAtomically([{ file, bytes: encodeImageSet(set) }]);
});
afterAll(() => tmp.remove());

const plain = (m: Minibatch) => ({ epoch: m.epoch, batch: m.batch, indices: Array.from(m.indices), x: Array.from(m.x), labels: Array.from(m.labels!) });

async function take(options: StreamTestOptions, n: number): Promise<Minibatch[]> {
  const stream = await MinibatchStream.open(options);
  try {
    const batches: Minibatch[] = [];
    for (let i = 0; i < n; i++) batches.push(await stream.next());
    return batches;
  } finally {
    await stream.close();
  }
}

describe("MinibatchStream", () => {
  it("visits every index at most once per epoch, all but the dropped remainder, in order of (epoch, batch)", async () => {
    const batches = await take({ file, batchSize: 100, seed: 3, workers: 2, prefetch: 3 }, 23 * 3);
    for (let epoch = 0; epoch < 3; epoch++) {
      const mine = batches.filter((b) => b.epoch === epoch);
      expect(mine.map((b) => b.batch)).toEqual(Array.from({ length: 23 }, (_, i) => i));
      const seen = new Uint8Array(COUNT);
      for (const b of mine) for (const i of b.indices) seen[i]++;
      expect(Math.max(...seen)).toBe(1);
      expect(seen.reduce((a, b) => a + b, 0)).toBe(2300);
      // The dropped 50 are exactly the tail of epoch e's permutation of (seed, e).
      const dropped = Array.from(epochPermutation(COUNT, 3, epoch).subarray(2300)).sort((a, b) => a - b);
      expect(dropped).toEqual(Array.from(seen.keys()).filter((i) => seen[i] === 0));
    }
  });

  it("each epoch's order is a permutation of (seed, epoch) only: reproducible, different across seeds and epochs", async () => {
    const a = await take({ file, batchSize: 1000, seed: 1 }, 4);
    const b = await take({ file, batchSize: 1000, seed: 1, workers: 3 }, 4);
    const c = await take({ file, batchSize: 1000, seed: 2 }, 2);
    expect(a.map((m) => Array.from(m.indices))).toEqual(b.map((m) => Array.from(m.indices)));
    expect(Array.from(c[0].indices)).not.toEqual(Array.from(a[0].indices));
    expect(Array.from(a[2].indices)).not.toEqual(Array.from(a[0].indices)); // epoch 1 vs epoch 0
    const sorted = Array.from(epochPermutation(COUNT, 9, 4)).sort((x, y) => x - y);
    expect(sorted).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  });

  it("resumes at any (epoch, batch) with the same minibatches as an uninterrupted run", async () => {
    const whole = await take({ file, batchSize: 500, seed: 4 }, 11);
    const resumed = await take({ file, batchSize: 500, seed: 4, start: { epoch: 1, batch: 2 } }, 5);
    expect(resumed.map((m) => [m.epoch, m.batch])).toEqual([[1, 2], [1, 3], [2, 0], [2, 1], [2, 2]]);
    expect(resumed.map((m) => Array.from(m.x))).toEqual(whole.slice(6).map((m) => Array.from(m.x)));
  });

  it("minibatch rows are the dataset's rows (pixel/255, float32) with their labels; shuffle: false keeps file order", async () => {
    const { x } = loadDataset(file);
    const [batch] = await take({ file, batchSize: 700, seed: 5 }, 1);
    expect(batch.x.length).toBe(700 * 12);
    batch.indices.forEach((row, r) => {
      expect(Array.from(batch.x.subarray(r * 12, r * 12 + 12))).toEqual(Array.from(x.subarray(row * 12, row * 12 + 12)));
      expect(batch.labels![r]).toBe(row % 10);
    });
    const [ordered] = await take({ file, batchSize: 700, seed: 5, shuffle: false }, 1);
    expect(Array.from(ordered.indices)).toEqual(Array.from({ length: 700 }, (_, i) => i));
  });

  it("release() hands a minibatch's arrays back to be filled again: the same minibatches as a stream that keeps them", async () => {
    for (const options of [{ reader: "file", cacheBytes: 0 }, { reader: "memory" }] as const) {
      const opened = { file, batchSize: 100, seed: 6, workers: 2, prefetch: 3, ...options };
      const kept = (await take(opened, 23 * 2 + 5)).map(plain);
      const stream = await MinibatchStream.open(opened);
      try {
        const released = [];
        for (let i = 0; i < kept.length; i++) {
          const batch = await stream.next();
          released.push(plain(batch));
          stream.release(batch);
          expect([batch.x.length, batch.labels!.length, batch.indices.length]).toEqual([0, 0, 0]);
          if (i === 0) expect(() => stream.release(batch)).toThrow(/small\.arrow: release\(\) of a minibatch this stream did not hand out, or released already/);
        }
        expect(released).toEqual(kept);
        expect(() => stream.release({ ...kept[0], x: new Float32Array(1200), labels: new Uint8Array(100), indices: new Uint32Array(100) })).toThrow(/did not hand out/);
      } finally {
        await stream.close();
      }
    }
  });

  it.skipIf(process.platform !== "linux")("close() leaves no descriptor of the file (or of a worker's io_uring) open in the process", async () => {
    const open = () => readdirSync("/proc/self/fd").map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return "";
      }
    }).filter((target) => target === file || target.includes("io_uring")).length;
    const before = open();
    for (let i = 0; i < 3; i++) {
      const stream = await MinibatchStream.open({ file, batchSize: 100, seed: 1, workers: 2, cacheBytes: 0 } as StreamTestOptions);
      await stream.next();
      await stream.next();
      expect(open()).toBeGreaterThanOrEqual(before + 2);
      await stream.close();
    }
    expect(open()).toBe(before);
  });

  it("keeps at most `prefetch` minibatches requested ahead of the consumer (backpressure)", async () => {
    const stream = await MinibatchStream.open({ file, batchSize: 100, seed: 1, prefetch: 2 });
    try {
      await stream.next();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const internals = stream as unknown as { requested: number; taken: number };
      expect(internals.requested - internals.taken).toBe(2);
      expect(stream.waitTimeMs()).toBeGreaterThan(0);
    } finally {
      await stream.close();
    }
  });

  it("a worker that throws rejects next() with its error (no hang), and later calls too", async () => {
    // One worker, so minibatches 0–2 are surely posted before the failure (with several workers a
    // failure rejects every pending next(), including ones another worker had not delivered yet).
    const stream = await MinibatchStream.open({ file, batchSize: 100, seed: 1, workers: 1, failAt: { epoch: 0, batch: 3 } } as StreamTestOptions);
    try {
      for (let i = 0; i < 3; i++) await stream.next();
      await expect(stream.next()).rejects.toThrow(/small\.arrow: stream worker failed: injected failure at epoch 0, batch 3/);
      await expect(stream.next()).rejects.toThrow(/injected failure/);
    } finally {
      await stream.close();
    }
  });

  it("with several workers a failure still ends the stream with that error, never a hang", async () => {
    const stream = await MinibatchStream.open({ file, batchSize: 100, seed: 1, workers: 3, prefetch: 6, failAt: { epoch: 1, batch: 4 } } as StreamTestOptions);
    try {
      let error: Error | undefined;
      for (let i = 0; i < 60 && !error; i++) await stream.next().catch((e: Error) => (error = e));
      expect(error?.message).toMatch(/injected failure at epoch 1, batch 4/);
    } finally {
      await stream.close();
    }
  });

  it("close() rejects later next() calls and can be called twice", async () => {
    const stream = await MinibatchStream.open({ file, batchSize: 100, seed: 1 });
    await stream.close();
    await stream.close();
    await expect(stream.next()).rejects.toThrow(/closed/);
  });

  it("bad options and files: a batch larger than the dataset, bad numbers, a missing file", async () => {
    await expect(MinibatchStream.open({ file, batchSize: COUNT + 1, seed: 1 })).rejects.toThrow(/small\.arrow: batch size 2351 is larger than the dataset \(2350 images\)/);
    await expect(MinibatchStream.open({ file, batchSize: 0, seed: 1 })).rejects.toThrow(/batchSize must be an integer ≥ 1/);
    await expect(MinibatchStream.open({ file, batchSize: 10, seed: 1, workers: 0 })).rejects.toThrow(DataError);
    await expect(MinibatchStream.open({ file, batchSize: 1000, seed: 1, start: { epoch: 0, batch: 2 } })).rejects.toThrow(/start batch 2 is past the 2 batches/);
    await expect(MinibatchStream.open({ file: join(tmp.dir, "gone.arrow"), batchSize: 10, seed: 1 })).rejects.toThrow(/gone\.arrow: no such file/);
  });
});

describe("a stream and the process that opened it", () => {
  it("a stream nobody closed does not keep its process alive; odd/even targets are label mod 2", async () => {
    const script = join(tmp.dir, "unclosed.ts");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(
      script,
      `import { MinibatchStream } from ${JSON.stringify(join(import.meta.dirname, "../../src/data/stream.ts"))};
const stream = await MinibatchStream.open({ file: ${JSON.stringify(file)}, batchSize: 100, seed: 1, oddEvenTargets: true });
const batch = await stream.next();
console.log(JSON.stringify({ y: Array.from(batch.y!.slice(0, 5)), labels: Array.from(batch.labels!.slice(0, 5)) }));
`,
    );
    const started = performance.now();
    const child = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => child.kill(), 20_000);
    const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    clearTimeout(timer);
    expect(code).toBe(0);
    expect(performance.now() - started).toBeLessThan(20_000);
    const { y, labels } = JSON.parse(out);
    expect(y).toEqual(labels.map((l: number) => l % 2));
  });
});
