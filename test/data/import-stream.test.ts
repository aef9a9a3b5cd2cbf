// prep import streams (issue 30): the Arrow file it writes record batch by record batch is, byte
// for byte, the file encodeTable makes of the same matrices in memory, for CSV, Parquet and .npy
// (C and Fortran order, uint8, targets from a second file, class labels); a value refused after
// some batches were written leaves no output and no temporary; and its peak memory does not grow
// with the input: a 40 MB .npy costs a few MB more than a 10-row one (GNU time's peak RSS).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { afterAll, describe, expect, it } from "vitest";
import { importToFile } from "../../data-prep/import.ts";
import { type Matrix, encodeTable } from "../../data-prep/table-writer.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir("kfra-import-stream-");
afterAll(() => tmp.remove());
const path = (name: string) => join(tmp.dir, name);
const write = (name: string, data: string | Uint8Array) => {
  writeFileSync(path(name), data);
  return path(name);
};

/** A .npy file (version 1) of `data`, stored as given: in C order, or column after column when `fortran`. */
function npy(descr: string, shape: number[], data: ArrayBufferView, fortran = false): Uint8Array {
  let dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? "True" : "False"}, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  dict = dict.padEnd(63 - ((10 + dict.length) % 64) + dict.length, " ") + "\n";
  const bytes = new Uint8Array(10 + dict.length + data.byteLength);
  bytes.set([0x93, ...Buffer.from("NUMPY"), 1, 0]);
  new DataView(bytes.buffer).setUint16(8, dict.length, true);
  bytes.set(Buffer.from(dict, "latin1"), 10);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + dict.length);
  return bytes;
}

/** A .npy of labels as dtype U<size>: each string's code points, zero-padded. */
function npyStrings(strings: string[], size: number): Uint8Array {
  const points = new Uint32Array(strings.length * size);
  strings.forEach((s, i) => [...s].forEach((ch, k) => (points[i * size + k] = ch.codePointAt(0)!)));
  return npy(`<U${size}`, [strings.length], points);
}

const f32 = (values: ArrayLike<number>) => Float32Array.from(values);
const ROWS = 2345;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Streams `file` into an Arrow file and expects exactly encodeTable's bytes for the matrices given. */
async function expectSameBytes(file: string, options: Parameters<typeof importToFile>[2], features: Matrix, targets?: Matrix) {
  const out = path(`${file.split("/").at(-1)}.arrow`);
  const summary = await importToFile(file, out, options);
  expect(summary.rows).toBe(features.values.length / features.width);
  expect(Buffer.from(readFileSync(out)).equals(Buffer.from(encodeTable(features, targets, { source: file })))).toBe(true);
}

describe("prep import writes encodeTable's bytes, batch by batch", () => {
  it("CSV, with targets and with text class labels", async () => {
    const cell = (r: number, c: number) => ((r * 37 + c * 11) % 1000) / 8;
    const csv = write("t.csv", `a,b,y,kind\n${range(ROWS).map((r) => `${cell(r, 0)},${cell(r, 1)},${r % 2},${["cat", "dog", "eel"][r % 3]}`).join("\n")}\n`);
    const features = { values: f32(range(ROWS).flatMap((r) => [cell(r, 0), cell(r, 1)])), width: 2 };
    await expectSameBytes(csv, { targets: ["y"], features: ["a", "b"] }, features, { values: f32(range(ROWS).map((r) => r % 2)), width: 1 });
    const labels = { values: f32(range(ROWS).map((r) => r % 3)), width: 1, classNames: ["cat", "dog", "eel"] };
    await expectSameBytes(csv, { targets: ["kind"], features: ["a", "b"] }, features, labels);
  });

  it("Parquet in row groups of 700 rows, a list column among the features", async () => {
    const file = write("t.parquet", new Uint8Array(parquetWriteBuffer({
      columnData: [
        { name: "x", data: Float64Array.from(range(ROWS), (r) => r / 3) },
        { name: "img", data: range(ROWS).map((r) => [r, r + 0.5, -r - 1]) },
        { name: "y", data: Int32Array.from(range(ROWS), (r) => r % 5) },
      ],
      rowGroupSize: 700,
    } as Parameters<typeof parquetWriteBuffer>[0])));
    const features = { values: f32(range(ROWS).flatMap((r) => [r / 3, r, r + 0.5, -r - 1])), width: 4 };
    await expectSameBytes(file, { targets: ["y"] }, features, { values: f32(range(ROWS).map((r) => r % 5)), width: 1 });
  });

  it(".npy in C order (float32, 3 dimensions) and Fortran order (float64), with numeric targets", async () => {
    const c = f32(range(ROWS * 6).map((i) => (i % 997) / 7));
    const file = write("c.npy", npy("<f4", [ROWS, 2, 3], c));
    const targets = Float64Array.from(range(ROWS), (r) => r / 9);
    const y = write("y.npy", npy("<f8", [ROWS], targets));
    await expectSameBytes(file, { targets: y }, { values: c, width: 6 }, { values: f32(targets), width: 1 });
    // Fortran order stores a[r, j] at r + ROWS·j: column after column.
    const stored = Float64Array.from(range(ROWS * 5), (i) => (i % ROWS) * 10 + Math.floor(i / ROWS));
    const fortran = write("f.npy", npy("<f8", [ROWS, 5], stored, true));
    await expectSameBytes(fortran, {}, { values: f32(range(ROWS * 5).map((i) => Math.floor(i / 5) * 10 + (i % 5))), width: 5 });
  });

  it("uint8 .npy stays bytes; string and --labels integer class labels from a second .npy", async () => {
    const bytes = Uint8Array.from(range(ROWS * 8), (i) => (i * 7) % 256);
    const file = write("u8.npy", npy("|u1", [ROWS, 8], bytes));
    const words = range(ROWS).map((r) => ["up", "down", "left"][r % 3]);
    const labels = { values: f32(range(ROWS).map((r) => [2, 0, 1][r % 3])), width: 1, classNames: ["down", "left", "up"] };
    await expectSameBytes(file, { targets: write("words.npy", npyStrings(words, 4)) }, { values: bytes, width: 8 }, labels);
    const ints = write("ints.npy", npy("<i4", [ROWS, 1], Int32Array.from(range(ROWS), (r) => [10, 9, 7][r % 3])));
    await expectSameBytes(file, { targets: ints, labels: true }, { values: bytes, width: 8 }, { values: f32(range(ROWS).map((r) => [2, 1, 0][r % 3])), width: 1, classNames: ["7", "9", "10"] });
  });
});

describe("prep import leaves nothing behind when it refuses a value", () => {
  it("a NaN in row 2,300 (after two record batches were written): exit 1, one line, no output, no temporary, no folder made for it, an earlier output kept", () => {
    const file = write("late.npy", npy("<f4", [2500, 2], f32(range(5000).map((i) => (i === 4601 ? Number.NaN : i)))));
    const out = path("late-out/late.arrow");
    const run = spawnSync(process.execPath, ["data-prep/cli.ts", "import", file, "--out", out], { encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual([`prep: ${file}: row 2300, value 1: NaN is not a finite number within float32's range`]);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(path("late-out")), "the folder made for the output, left empty, is removed").toBe(false);

    const csv = write("late.csv", `a,y\n${range(2500).map((r) => `${r === 2300 ? "x" : r},1`).join("\n")}\n`);
    const earlier = encodeTable({ values: f32([1]), width: 1 });
    mkdirSync(path("late-out"));
    writeFileSync(out, earlier);
    const again = spawnSync(process.execPath, ["data-prep/cli.ts", "import", csv, "--targets", "y", "--out", out], { encoding: "utf8" });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/late\.csv: column 'a', row 2300: "x" is not a finite number/);
    expect(Buffer.from(readFileSync(out)).equals(Buffer.from(earlier))).toBe(true);
    expect(readdirSync(path("late-out"))).toEqual(["late.arrow"]);
  });
});

// Reading the whole input (or building the whole output) would add at least the input's size, 40 MB, to the peak.
const gnuTime = existsSync("/usr/bin/time");
describe("prep import's memory does not grow with the input", () => {
  it.skipIf(!gnuTime)("a 40 MB .npy peaks within 20 MB of a 10-row one (GNU time's maximum resident set size; skipped without /usr/bin/time)", () => {
    const peakMB = (rows: number) => {
      const file = write(`m${rows}.npy`, npy("<f4", [rows, 1000], Float32Array.from({ length: rows * 1000 }, (_, i) => (i % 1000) / 1000)));
      const report = path(`m${rows}.time`);
      const run = spawnSync("/usr/bin/time", ["-v", "-o", report, process.execPath, "data-prep/cli.ts", "import", file, "--out", path(`m${rows}.arrow`)], { encoding: "utf8" });
      expect(run.status, run.stderr).toBe(0);
      return Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(report, "utf8"))![1]) / 1000;
    };
    const base = peakMB(10);
    const big = peakMB(10_000);
    expect(big - base, `peak RSS ${base.toFixed(0)} MB for 10 rows, ${big.toFixed(0)} MB for 10,000 rows of 1,000 float32`).toBeLessThan(20);
  });
});
