// One's own Arrow files (--data): column choice, the value rules (Uint8 lists v/255, others as
// they are, NaN/Inf refused with column and row), the stream's targets, and `prep import` of CSV,
// Parquet and .npy into such files.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { Field, FixedSizeList, Float32, Float64, Int32, Int64, RecordBatch, Schema, Struct, Table, makeData, tableToIPC, type DataType } from "apache-arrow";
import { parquetWriteBuffer } from "hyparquet-writer";
import { dump } from "npyjs";
import { encodeTable } from "../../data-prep/table-writer.ts";
import { importTable } from "../../data-prep/import.ts";
import { DataError, loadDataset, readDatasetInfo } from "../../src/data/dataset.ts";
import { MinibatchStream } from "../../src/data/stream.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir("kfra-own-");
afterAll(() => tmp.remove());

interface ColumnSpec {
  name: string;
  type: DataType;
  values: ArrayLike<number | bigint>;
  listSize?: number;
}

/** An Arrow IPC file with the given columns (lists when listSize is set), split into record batches of `batchRows`. */
function writeColumns(file: string, rows: number, columns: ColumnSpec[], batchRows = rows): string {
  const types = columns.map((c) => (c.listSize ? new FixedSizeList(c.listSize, new Field("item", c.type, false)) : c.type));
  const fields = columns.map((c, i) => new Field(c.name, types[i], false));
  const schema = new Schema(fields);
  const batches: RecordBatch[] = [];
  for (let start = 0; start < rows; start += batchRows) {
    const n = Math.min(batchRows, rows - start);
    const children = columns.map((c, i) => {
      const w = c.listSize ?? 1;
      const data = (c.values as unknown as { subarray(a: number, b: number): unknown }).subarray(start * w, (start + n) * w);
      const values = makeData({ type: c.type, length: n * w, data } as never);
      return c.listSize ? makeData({ type: types[i] as FixedSizeList, length: n, nullCount: 0, child: values }) : values;
    });
    batches.push(new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children: children as never })));
  }
  writeFileSync(file, tableToIPC(new Table(schema, batches), "file"));
  return file;
}

function expectDataError(run: () => unknown, ...patterns: RegExp[]): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DataError);
  for (const p of patterns) expect((caught as Error).message).toMatch(p);
}

const ROWS = 250;
// Row r: features (r + j/10) for j < 3, as float64; target r mod 3 as int64; an int32 list column first, which is not a feature type.
const x64 = Float64Array.from({ length: ROWS * 3 }, (_, i) => Math.floor(i / 3) + (i % 3) / 10);
const y64 = BigInt64Array.from({ length: ROWS }, (_, r) => BigInt(r % 3));
const own = writeColumns(join(tmp.dir, "own.arrow"), ROWS, [
  { name: "ids", type: new Int32(), values: new Int32Array(ROWS * 2), listSize: 2 },
  { name: "x", type: new Float64(), values: x64, listSize: 3 },
  { name: "y", type: new Int64(), values: y64 },
], 100);

describe("own Arrow files", () => {
  it("the default feature column is the first FixedSizeList of Uint8/Float32/Float64; float64 and int64 values are taken as they are, across record batches", () => {
    const { info, x, y } = loadDataset(own, { targets: "y" });
    expect(info).toMatchObject({ name: "own", dim: 3, count: ROWS, width: 3, height: 1 });
    expect(info.features).toMatchObject({ name: "x", width: 3, scale255: false });
    expect(info.targets).toMatchObject({ name: "y", width: 1 });
    expect(Array.from(x)).toEqual(Array.from(x64, Math.fround));
    expect(Array.from(y!)).toEqual(Array.from(y64, Number));
    expect(loadDataset(own).y).toBeUndefined();
  });

  it("Uint8 lists are scaled by 1/255, as the prepared datasets are", () => {
    const bytes = Uint8Array.from({ length: 40 }, (_, i) => i * 6);
    const file = join(tmp.dir, "bytes.arrow");
    writeFileSync(file, encodeTable({ values: bytes, width: 4 }, { values: Float32Array.from({ length: 10 }, (_, i) => i / 10), width: 1 }));
    const { x, y, info } = loadDataset(file, { targets: "targets" });
    expect(info.features.scale255).toBe(true);
    expect(Array.from(x)).toEqual(Array.from(bytes, (v) => Math.fround(v / 255)));
    expect(y![3]).toBe(Math.fround(0.3));
  });

  it("bad columns are named: missing, wrong type, no feature column at all", () => {
    expectDataError(() => readDatasetInfo(own, { features: "nope" }), /own\.arrow/, /no feature column 'nope' \(--features\); columns: ids/);
    expectDataError(() => readDatasetInfo(own, { features: "ids" }), /feature column 'ids' is FixedSizeList\[2\]<Int32>, expected a FixedSizeList of Uint8, Float32 or Float64/);
    expectDataError(() => readDatasetInfo(own, { targets: "z" }), /no target column 'z' \(--targets\)/);
    const none = writeColumns(join(tmp.dir, "none.arrow"), 2, [{ name: "a", type: new Int32(), values: new Int32Array(2) }]);
    expectDataError(() => readDatasetInfo(none), /none\.arrow/, /no feature column: no column is a FixedSizeList/);
  });

  it("NaN, ±Inf and float64 values beyond float32 are refused with the file, column and row", () => {
    const bad = (name: string, at: number, value: number) => {
      const values = Float64Array.from(x64);
      values[at] = value;
      return writeColumns(join(tmp.dir, `${name}.arrow`), ROWS, [{ name: "x", type: new Float64(), values, listSize: 3 }], 100);
    };
    expectDataError(() => readDatasetInfo(bad("nan", 3 * 137 + 2, NaN)), /nan\.arrow: column 'x': value 2 of row 137 is NaN/);
    expectDataError(() => loadDataset(bad("inf", 3 * 249, -Infinity)), /column 'x': value 0 of row 249 is -Infinity/);
    expectDataError(() => readDatasetInfo(bad("huge", 5, 1e39)), /value 2 of row 1 is 1e\+39, too large for float32/);
    const target = writeColumns(join(tmp.dir, "nan-target.arrow"), 4, [
      { name: "x", type: new Float64(), values: new Float64Array(12), listSize: 3 },
      { name: "t", type: new Float64(), values: Float64Array.of(0, 1, NaN, 0) },
    ]);
    expectDataError(() => readDatasetInfo(target, { targets: "t" }), /column 't': row 2 is NaN/);
    // Float32 columns are checked by their exponent bits: NaN (any payload) and ±∞ refused, every finite value kept.
    const float32 = (name: string, values: Float32Array) => writeColumns(join(tmp.dir, `${name}.arrow`), values.length / 2, [{ name: "x", type: new Float32(), values, listSize: 2 }]);
    const edges = Float32Array.of(3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -0, 1.1754943508222875e-38, 0.5);
    expect(loadDataset(float32("edges", edges)).x).toEqual(edges);
    const quietNaN = new Float32Array(new Uint32Array([0, 0, 0, 0x7fc00001]).buffer);
    expectDataError(() => readDatasetInfo(float32("f32-nan", quietNaN)), /column 'x': value 1 of row 1 is NaN/);
    expectDataError(() => readDatasetInfo(float32("f32-inf", Float32Array.of(0, 0, Infinity, 0))), /column 'x': value 0 of row 1 is Infinity/);
    expectDataError(() => readDatasetInfo(float32("f32-ninf", Float32Array.of(-Infinity, 0))), /column 'x': value 0 of row 0 is -Infinity/);
  });

  it("the worker stream delivers each row's targets beside its features, also in arrays released and filled again", async () => {
    const { x, y } = loadDataset(own, { targets: "y" });
    const stream = await MinibatchStream.open({ file: own, batchSize: 40, seed: 2, workers: 2, columns: { targets: "y" } });
    try {
      for (let i = 0; i < 8; i++) {
        const batch = await stream.next();
        expect(batch.y).toHaveLength(40);
        batch.indices.forEach((row, r) => {
          expect(Array.from(batch.x.subarray(3 * r, 3 * r + 3))).toEqual(Array.from(x.subarray(3 * row, 3 * row + 3)));
          expect(batch.y![r]).toBe(y![row]);
        });
        stream.release(batch);
        expect(batch.y).toHaveLength(0);
      }
    } finally {
      await stream.close();
    }
  });
});

describe("prep import", () => {
  it("CSV: header names the columns; --targets picks them, the rest are features; a bad cell is named", async () => {
    const csv = join(tmp.dir, "t.csv");
    writeFileSync(csv, "a,b,label\n0.5,-2,1\n1e3,3.25,0\n");
    const { features, targets, rows } = await importTable(csv, { targets: ["label"] });
    expect(rows).toBe(2);
    expect(Array.from(features.values)).toEqual([0.5, -2, 1000, 3.25]);
    expect(Array.from(targets!.values)).toEqual([1, 0]);
    const picked = await importTable(csv, { features: ["b"] });
    expect(Array.from(picked.features.values)).toEqual([-2, 3.25]);
    writeFileSync(csv, "a,b\n1,2\n3,oops\n");
    await expect(importTable(csv)).rejects.toThrow(/t\.csv: column 'b', row 1: "oops" is not a finite number/);
    await expect(importTable(csv, { targets: ["c"] })).rejects.toThrow(/no column 'c'; columns: a, b/);
  });

  it("Parquet (hyparquet): a list column spreads into one feature per element, and must keep its length", async () => {
    const file = join(tmp.dir, "lists.parquet");
    writeFileSync(file, new Uint8Array(parquetWriteBuffer({ columnData: [{ name: "img", data: [[1, 2, 3], [4, 5, 6]] }, { name: "y", data: new Float64Array([0, 1]) }] })));
    const { features, targets } = await importTable(file, { targets: ["y"] });
    expect(features.width).toBe(3);
    expect(Array.from(features.values)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(targets!.values)).toEqual([0, 1]);
    const ragged = join(tmp.dir, "ragged.parquet");
    writeFileSync(ragged, new Uint8Array(parquetWriteBuffer({ columnData: [{ name: "img", data: [[1, 2, 3], [4, 5]] }] })));
    await expect(importTable(ragged)).rejects.toThrow(/ragged\.parquet: column 'img', row 1: expected a list of 3 numbers \(as in row 0\), got 2/);
  });

  it("Parquet (hyparquet): scalar columns of several types", async () => {
    const file = join(tmp.dir, "t.parquet");
    const buffer = parquetWriteBuffer({ columnData: [
      { name: "x1", data: new Float64Array([1.5, 2, 3]) },
      { name: "x2", data: new Int32Array([4, 5, 6]) },
      { name: "y", data: new Float32Array([0, 1, 1]) },
    ] });
    writeFileSync(file, new Uint8Array(buffer));
    const { features, targets } = await importTable(file, { targets: ["y"] });
    expect(features.width).toBe(2);
    expect(Array.from(features.values)).toEqual([1.5, 4, 2, 5, 3, 6]);
    expect(Array.from(targets!.values)).toEqual([0, 1, 1]);
  });

  it(".npy (npyjs): uint8 images stay bytes, Fortran order is read in C order, targets from a second file", async () => {
    const images = join(tmp.dir, "x.npy");
    writeFileSync(images, new Uint8Array(dump(Uint8Array.from({ length: 12 }, (_, i) => i), [3, 2, 2])));
    const labels = join(tmp.dir, "y.npy");
    writeFileSync(labels, new Uint8Array(dump(new Float64Array([0, 1, 1]), [3])));
    const { features, targets } = await importTable(images, { targets: labels });
    expect(features.values).toBeInstanceOf(Uint8Array);
    expect(features.width).toBe(4);
    expect(Array.from(targets!.values)).toEqual([0, 1, 1]);
    // A 2×3 array in Fortran order stores column after column: a[0,0], a[1,0], a[0,1], ...
    const fortran = join(tmp.dir, "f.npy");
    const bytes = new Uint8Array(dump(new Float32Array([1, 4, 2, 5, 3, 6]), [2, 3]));
    const header = Buffer.from(bytes.buffer).toString("latin1");
    const at = header.indexOf("'fortran_order':False");
    expect(at).toBeGreaterThan(0);
    bytes.set(Buffer.from("'fortran_order':True ", "latin1"), at);
    writeFileSync(fortran, bytes);
    expect(Array.from((await importTable(fortran)).features.values)).toEqual([1, 2, 3, 4, 5, 6]);
    const short = join(tmp.dir, "short.npy");
    writeFileSync(short, new Uint8Array(dump(new Float64Array([0, 1]), [2])));
    await expect(importTable(images, { targets: short })).rejects.toThrow(/short\.npy: 2 rows of targets for the 3 rows/);
  });

  it("the CLI writes an Arrow file that train --data reads; bad input exits 1 with one line and no output file", () => {
    const csv = join(tmp.dir, "cli.csv");
    writeFileSync(csv, "f1,f2,y\n0.25,0.5,1\n0.75,1,0\n");
    const out = join(tmp.dir, "cli.arrow");
    const ok = spawnSync(process.execPath, ["data-prep/cli.ts", "import", csv, "--targets", "y", "--out", out], { encoding: "utf8" });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/wrote .*cli\.arrow \(2 rows, 2 features, 1 target/);
    const { x, y } = loadDataset(out, { targets: "targets" });
    expect(Array.from(x)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(Array.from(y!)).toEqual([1, 0]);
    writeFileSync(csv, "f1,y\n0.25,1\nNaN,0\n");
    const badOut = join(tmp.dir, "bad.arrow");
    const bad = spawnSync(process.execPath, ["data-prep/cli.ts", "import", csv, "--targets", "y", "--out", badOut], { encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/^prep: .*cli\.csv: column 'f1', row 1: "NaN" is not a finite number/);
    expect(existsSync(badOut)).toBe(false);
    const unknown = spawnSync(process.execPath, ["data-prep/cli.ts", "import", join(tmp.dir, "x.xlsx"), "--out", badOut], { encoding: "utf8" });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/no such file/);
    writeFileSync(join(tmp.dir, "x.xlsx"), "");
    const format = spawnSync(process.execPath, ["data-prep/cli.ts", "import", join(tmp.dir, "x.xlsx"), "--out", badOut], { encoding: "utf8" });
    expect(format.stderr).toMatch(/unknown format '\.xlsx'; prep import reads \.csv, \.parquet and \.npy/);
    expect(readFileSync(out).length).toBeGreaterThan(0);
  });
});
