// The dataset reader: round trip, and every bad input gives a DataError naming the file and the problem.
import { writeFileSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { encodeImageSet, writeFilesAtomically } from "../../data-prep/arrow-writer.ts";
import { ensureDataset } from "../../data-prep/ensure.ts";
import { DataError, datasetFiles, loadDataset, readDatasetInfo } from "../../src/data/dataset.ts";
import { dataDir } from "../../src/data/location.ts";
import { metadataFor, tempDir, writeRawArrow } from "./helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.remove());

function goodFile(name: string, count = 2500, labels = true): string {
  const file = join(tmp.dir, name);
  const pixels = Uint8Array.from({ length: count * 12 }, (_, i) => (i * 7) % 256);
  const set = { dataset: "test", split: "train", width: 4, height: 3, pixels, seed: 5, generatorVersion: "test/1", labels: labels ? Uint8Array.from({ length: count }, (_, i) => i % 10) : undefined };
  writeFilesAtomically([{ file, bytes: encodeImageSet(set) }]);
  return file;
}

function expectDataError(run: () => unknown, file: string, problem: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DataError);
  expect((caught as Error).message).toContain(file);
  expect((caught as Error).message).toMatch(problem);
}

describe("readDatasetInfo / loadDataset", () => {
  it("round-trips pixels (exactly v/255 in float32), labels and metadata across record batches", () => {
    const file = goodFile("good.arrow");
    const info = readDatasetInfo(file);
    expect(info).toMatchObject({ name: "test", width: 4, height: 3, dim: 12, count: 2500, hasLabels: true, seed: 5, generatorVersion: "test/1" });
    const { x, labels } = loadDataset(file);
    expect(x.length).toBe(2500 * 12);
    for (const i of [0, 1, 11999, 12000, 29999]) expect(x[i]).toBe(Math.fround(((i * 7) % 256) / 255));
    expect(labels![1234]).toBe(4);
  });

  it("accepts float32 pixel files in [0, 1]", () => {
    const file = join(tmp.dir, "float.arrow");
    writeRawArrow(file, { rows: 3, dim: 4, valueType: "float32", values: Float32Array.from({ length: 12 }, (_, i) => i / 11), metadata: metadataFor(3, 2, 2) });
    expect(loadDataset(file).x[11]).toBe(1);
  });
});

describe("bad input", () => {
  it("missing file", () => expectDataError(() => readDatasetInfo(join(tmp.dir, "nope.arrow")), "nope.arrow", /no such file/));

  it("empty file", () => {
    const file = join(tmp.dir, "empty-file.arrow");
    writeFileSync(file, "");
    expectDataError(() => readDatasetInfo(file), file, /empty/);
  });

  it("not an Arrow file", () => {
    const file = join(tmp.dir, "text.arrow");
    writeFileSync(file, "hello, this is not arrow");
    expectDataError(() => readDatasetInfo(file), file, /not an Arrow IPC file/);
  });

  it("truncated file (cut at several places)", () => {
    const bytes = readFileSync(goodFile("whole.arrow"));
    for (const keep of [8, 100, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const file = join(tmp.dir, `cut-${keep}.arrow`);
      writeFileSync(file, bytes.subarray(0, keep));
      expectDataError(() => readDatasetInfo(file), file, /truncated/);
    }
  });

  it("corrupt footer", () => {
    const bytes = new Uint8Array(readFileSync(goodFile("corrupt.arrow")));
    bytes.fill(0xff, bytes.length - 200, bytes.length - 10);
    const file = join(tmp.dir, "corrupt-footer.arrow");
    writeFileSync(file, bytes);
    expectDataError(() => readDatasetInfo(file), file, /truncated or corrupt|metadata|schema/);
  });

  it("wrong schema: no pixels column, wrong element type, wrong label type", () => {
    const noPixels = join(tmp.dir, "no-pixels.arrow");
    writeRawArrow(noPixels, { rows: 2, dim: 4, pixelColumn: "image", metadata: metadataFor(2, 2, 2) });
    expectDataError(() => readDatasetInfo(noPixels), noPixels, /wrong schema: no 'pixels' column/);
    const int32 = join(tmp.dir, "int32.arrow");
    writeRawArrow(int32, { rows: 2, dim: 4, valueType: "int32", metadata: metadataFor(2, 2, 2) });
    expectDataError(() => readDatasetInfo(int32), int32, /wrong schema: column 'pixels'/);
    const labels = join(tmp.dir, "int-labels.arrow");
    writeRawArrow(labels, { rows: 2, dim: 4, labels: new Int32Array(2), metadata: metadataFor(2, 2, 2) });
    expectDataError(() => readDatasetInfo(labels), labels, /column 'label'/);
  });

  it("wrong dimensions and bad metadata", () => {
    const dims = join(tmp.dir, "dims.arrow");
    writeRawArrow(dims, { rows: 2, dim: 4, metadata: metadataFor(2, 3, 2) });
    expectDataError(() => readDatasetInfo(dims), dims, /wrong dimensions/);
    const count = join(tmp.dir, "count.arrow");
    writeRawArrow(count, { rows: 2, dim: 4, metadata: metadataFor(3, 2, 2) });
    expectDataError(() => readDatasetInfo(count), count, /holds 2 rows but the metadata says count = 3/);
    const missing = join(tmp.dir, "no-meta.arrow");
    writeRawArrow(missing, { rows: 2, dim: 4, metadata: { dataset: "x" } });
    expectDataError(() => readDatasetInfo(missing), missing, /metadata lacks 'width'/);
  });

  it("NaN and out-of-range float pixels", () => {
    const nan = join(tmp.dir, "nan.arrow");
    const values = new Float32Array(8);
    values[6] = NaN;
    writeRawArrow(nan, { rows: 2, dim: 4, valueType: "float32", values, metadata: metadataFor(2, 2, 2) });
    expectDataError(() => loadDataset(nan), nan, /pixel 2 of row 1 is NaN/);
    const big = join(tmp.dir, "big.arrow");
    writeRawArrow(big, { rows: 2, dim: 4, valueType: "float32", values: Float32Array.of(0, 0, 1.5, 0, 0, 0, 0, 0), metadata: metadataFor(2, 2, 2) });
    expectDataError(() => readDatasetInfo(big), big, /pixel 2 of row 0 is 1.5, outside \[0, 1\]/);
  });

  it("empty dataset", () => {
    const file = join(tmp.dir, "zero-rows.arrow");
    writeRawArrow(file, { rows: 0, dim: 4, metadata: metadataFor(0, 2, 2) });
    expectDataError(() => readDatasetInfo(file), file, /empty dataset/);
  });
});

describe("datasetFiles / ensureDataset", () => {
  it("names the train and held-out files (MNIST held out = valid)", () => {
    expect(datasetFiles("mnist", "d")).toEqual({ train: join("d", "mnist-train.arrow"), heldOut: join("d", "mnist-valid.arrow") });
    expect(datasetFiles("faces")).toEqual({ train: join(dataDir(), "faces-train.arrow"), heldOut: join(dataDir(), "faces-test.arrow") });
  });

  it("prepares a missing dataset in-process (MNIST: ~1 s)", async () => {
    const dir = join(tmp.dir, "ensure");
    await ensureDataset("mnist", dir);
    const { train, heldOut } = datasetFiles("mnist", dir);
    expect(existsSync(train) && existsSync(heldOut)).toBe(true);
    expect(readDatasetInfo(train).count).toBe(50_000);
  });
});
