// The io_uring batch of positioned reads (src/data/io-uring.ts) against one readSync per read: the
// same bytes for lists longer than one submission, into two buffers; a read past the end of the
// file handed back for the caller to redo; and DatasetReader's rows of a float32 file (rows read
// straight into the minibatch, and coalesced neighbours through scratch) equal by either method.
import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Field, FixedSizeList, Float32, RecordBatch, Schema, Struct, Table, makeData, tableToIPC } from "apache-arrow";
import { afterAll, describe, expect, it } from "vitest";
import { loadDataset } from "../../src/data/dataset.ts";
import { DatasetReader } from "../../src/data/dataset-reader.ts";
import { IoUring } from "../../src/data/io-uring.ts";
import { ReadList } from "../../src/data/read-list.ts";
import { tempDir, writeRawArrow } from "./helpers.ts";

const tmp = tempDir("kfra-uring-");
afterAll(() => tmp.remove());

const ring = IoUring.open();
// Where the kernel or a seccomp filter refuses io_uring, readers use pread; these tests then say why they skip.
const why = IoUring.unavailable ?? "";

/** Deterministic bytes: byte i of the file is (i·31 + 7) mod 251. */
function writeBytes(file: string, size: number): Uint8Array {
  const bytes = Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) % 251);
  writeFileSync(file, bytes);
  return bytes;
}

describe.skipIf(!ring)(`io_uring reads${why ? ` (skipped: ${why})` : ""}`, () => {
  it("3,000 reads (three submissions) into two buffers give the bytes readSync gives", () => {
    const file = join(tmp.dir, "bytes.bin");
    const bytes = writeBytes(file, 1 << 20);
    const list = new ReadList();
    const sizes = [0, 0];
    let state = 12345;
    const random = (n: number) => ((state = (state * 1103515245 + 12345) >>> 0) >>> 8) % n;
    for (let e = 0; e < 3000; e++) {
      const destination = (e % 3 === 0 ? 1 : 0) as 0 | 1;
      const length = 1 + random(600);
      list.add(destination, sizes[destination], length, random(bytes.length - length), e);
      sizes[destination] += length;
    }
    const buffers = sizes.map((n) => new Uint8Array(n));
    const fd = openSync(file, "r");
    try {
      const redone: number[] = [];
      ring!.read(fd, list, buffers, (e) => redone.push(e));
      expect(redone).toEqual([]);
      const wrong: number[] = [];
      for (let e = 0; e < list.count; e++) {
        const want = bytes.subarray(list.offset[e], list.offset[e] + list.length[e]);
        if (Buffer.compare(buffers[list.destination[e]].subarray(list.at[e], list.at[e] + list.length[e]), want) !== 0) wrong.push(e);
      }
      expect(wrong).toEqual([]);
      // A second batch on the same ring (head and tail carried on) reads correctly too.
      buffers[0].fill(0);
      ring!.read(fd, list, buffers, (e) => redone.push(e));
      expect(buffers[0].subarray(list.at[1], list.at[1] + list.length[1])).toEqual(bytes.subarray(list.offset[1], list.offset[1] + list.length[1]));
    } finally {
      closeSync(fd);
    }
  });

  it("a read that comes back short (past the end of the file) is handed back to redo; the others are read", () => {
    const file = join(tmp.dir, "short.bin");
    const bytes = writeBytes(file, 10000);
    const list = new ReadList();
    list.add(0, 0, 100, 0, 0);
    list.add(0, 100, 100, 9950, 1); // 50 bytes left in the file
    list.add(0, 200, 100, 20000, 2); // past the end: 0 bytes
    list.add(0, 300, 100, 500, 3);
    const out = new Uint8Array(400);
    const fd = openSync(file, "r");
    try {
      const redone: number[] = [];
      ring!.read(fd, list, [out, new Uint8Array(0)], (e) => redone.push(e));
      expect(redone).toEqual([1, 2]);
      expect(out.subarray(0, 100)).toEqual(bytes.subarray(0, 100));
      expect(out.subarray(300, 400)).toEqual(bytes.subarray(500, 600));
    } finally {
      closeSync(fd);
    }
  });

  it("DatasetReader reads a float32 file's rows by io_uring as by pread, as the whole file loaded gives them", () => {
    const file = join(tmp.dir, "float32.arrow");
    const dim = 9;
    const type = new FixedSizeList(dim, new Field("v", new Float32(), false));
    const fields = [new Field("x", type, false)];
    const schema = new Schema(fields);
    const batches = [[0, 400], [400, 3], [403, 597]].map(([start, n]) => {
      const values = Float32Array.from({ length: n * dim }, (_, i) => Math.cos(start * dim + i));
      const x = makeData({ type, length: n, nullCount: 0, child: makeData({ type: new Float32(), length: n * dim, data: values }) });
      return new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children: [x] }));
    });
    writeFileSync(file, tableToIPC(new Table(schema, batches), "file"));
    const { x } = loadDataset(file);
    // Single rows (read straight into the minibatch), runs of neighbours (through scratch), repeats, across record batches.
    const rows = [999, 0, 1, 2, 401, 402, 403, 404, 250, 250, 700, 10, 405, 998];
    const read = (reads: "io_uring" | "pread") => {
      const reader = DatasetReader.open(file, {}, { cacheBytes: 0, reads });
      const out = { x: new Float32Array(rows.length * dim) };
      reader.readRows(rows, out);
      const method = reader.reads;
      reader.close();
      return { method, x: out.x };
    };
    const byRing = read("io_uring"), byPread = read("pread");
    expect([byRing.method, byPread.method]).toEqual(["io_uring", "pread"]);
    expect(byRing.x).toEqual(byPread.x);
    rows.forEach((row, r) => expect(byRing.x.subarray(r * dim, (r + 1) * dim)).toEqual(x.subarray(row * dim, (row + 1) * dim)));
  });
});

describe("reads by pread", () => {
  it("KFRA_NO_IO_URING=1 makes a reader read by pread", () => {
    const file = join(tmp.dir, "pread.arrow");
    writeRawArrow(file, { rows: 3, dim: 2, valueType: "float32", values: Float32Array.of(1, 2, 3, 4, 5, 6) });
    const saved = process.env.KFRA_NO_IO_URING;
    process.env.KFRA_NO_IO_URING = "1";
    try {
      const reader = DatasetReader.open(file, {}, { cacheBytes: 0 });
      const out = { x: new Float32Array(4) };
      reader.readRows([2, 0], out);
      expect(reader.reads).toBe("pread");
      expect(Array.from(out.x)).toEqual([5, 6, 1, 2]);
      reader.close();
    } finally {
      if (saved === undefined) delete process.env.KFRA_NO_IO_URING;
      else process.env.KFRA_NO_IO_URING = saved;
    }
  });
});

afterAll(() => ring?.close());
