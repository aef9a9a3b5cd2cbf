// LZ4- and ZSTD-compressed Arrow IPC files (pyarrow's default write_feather is LZ4) read as the same
// file uncompressed does, through the CLI's reader and the library's openDataset; a buffer that
// does not decompress is one line naming the file and how to write it uncompressed. The fixtures
// are written here with apache-arrow's writer and an encoder registered for the test: lz4-napi's
// frame encoder, the lz4 command's linked blocks (-BD, as pyarrow's LZ4 frames are; where the
// command is installed) and Bun's zstd.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompressionType, Field, FixedSizeList, Float32, RecordBatchFileWriter, Table, compressionRegistry, makeData, makeVector } from "apache-arrow";
import { compressFrameSync } from "lz4-napi";
import { afterAll, expect, test } from "vitest";
import { openDataset } from "kfra-webgpu";
import { trainCli } from "../faults/helpers.ts";

const root = mkdtempSync(join(tmpdir(), "kfra-compressed-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// 4,000 rows of 8 float32 features: 128 kB, more than one 64 kB LZ4 block.
const ROWS = 4000, DIM = 8;
const x = Float32Array.from({ length: ROWS * DIM }, (_, i) => ((i * 37) % 101) / 100);
const y = Float32Array.from({ length: ROWS }, (_, r) => r % 2);

function table(): Table {
  const values = makeData({ type: new Float32(), length: ROWS * DIM, data: x });
  const features = makeVector(makeData({ type: new FixedSizeList(DIM, new Field("value", new Float32(), false)), length: ROWS, nullCount: 0, child: values }));
  return new Table({ features, label: makeVector(y) });
}

/** The table written with `type` compression, its buffers encoded by `encode`. */
function write(name: string, type: CompressionType | null, encode?: (data: Uint8Array) => Uint8Array): string {
  const codec = type === null ? null : compressionRegistry.get(type);
  if (type !== null) compressionRegistry.set(type, { decode: codec?.decode, encode });
  try {
    const path = join(root, `${name}.arrow`);
    writeFileSync(path, RecordBatchFileWriter.writeAll(table(), { compressionType: type }).toUint8Array(true));
    return path;
  } finally {
    if (type !== null) compressionRegistry.set(type, codec!);
  }
}

const lz4Command = Bun.which("lz4");
const cases: [string, CompressionType, (data: Uint8Array) => Uint8Array][] = [
  ["LZ4 (lz4-napi frames)", CompressionType.LZ4_FRAME, (data) => new Uint8Array(compressFrameSync(Buffer.from(data)))],
  ["ZSTD", CompressionType.ZSTD, (data) => new Uint8Array(Bun.zstdCompressSync(data))],
];
if (lz4Command) cases.push(["LZ4 (linked blocks, as pyarrow writes)", CompressionType.LZ4_FRAME, (data) => new Uint8Array(Bun.spawnSync([lz4Command, "-BD", "-q", "-c"], { stdin: data }).stdout)]);

test.each(cases)("%s: read as the uncompressed file is", (name, type, encode) => {
  const plain = openDataset(write("plain", null), { targets: "label" });
  const file = write(name.replace(/\W+/g, "-"), type, encode);
  const data = openDataset(file, { targets: "label" });
  expect(data.count).toBe(ROWS);
  const rows = data.range(0, ROWS), plainRows = plain.range(0, ROWS);
  expect(rows.x).toEqual(plainRows.x);
  expect(rows.y).toEqual(plainRows.y);
  expect(rows.x).toEqual(x);
});

test("train --data on an LZ4 file trains", () => {
  const file = write("train-lz4", CompressionType.LZ4_FRAME, (data) => new Uint8Array(compressFrameSync(Buffer.from(data))));
  const run = trainCli(["--data", file, "--targets", "label", "--loss", "bce", "--hidden", "4", "--opt", "adam", "--steps", "2", "--batch", "100", "--device", "cpu", "--eval-every", "0", "--out", join(root, "run"), "--quiet"]);
  expect(run.code, run.stderr).toBe(0);
});

test("a buffer that does not decompress: one line naming the file and how to write it uncompressed", () => {
  // A ZSTD frame's magic number, then bytes that are no frame (shorter than the data, or the writer stores it raw).
  const file = write("garbage", CompressionType.ZSTD, () => Uint8Array.from({ length: 7 }, (_, i) => [0x28, 0xb5, 0x2f, 0xfd][i] ?? 7));
  expect(() => openDataset(file)).toThrow(new RegExp(`^${file}: a ZSTD-compressed buffer does not decompress \\(.*\\); the file is corrupt, or write it uncompressed, e\\.g\\. pyarrow\\.feather\\.write_feather\\(df, path, compression='uncompressed'\\)$`));
});
