// Shared helpers for the data tests: temporary folders, file hashes, and hand-made Arrow files.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Field, FixedSizeList, Float32, Int32, RecordBatch, Schema, Struct, Table, Uint8, makeData, tableToIPC, type DataType } from "apache-arrow";

export function tempDir(prefix = "kfra-data-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

export interface RawFileSpec {
  rows: number;
  dim: number;
  /** Element type of the pixel list (default Uint8). */
  valueType?: "uint8" | "float32" | "int32";
  values?: Uint8Array | Float32Array | Int32Array;
  metadata?: Record<string, string>;
  pixelColumn?: string;
  labels?: Uint8Array | Int32Array;
}

/** Writes an Arrow IPC file with arbitrary (possibly wrong) schema, for the bad-input tests. */
export function writeRawArrow(file: string, spec: RawFileSpec): void {
  const type: DataType = spec.valueType === "float32" ? new Float32() : spec.valueType === "int32" ? new Int32() : new Uint8();
  const values = spec.values ?? new (spec.valueType === "float32" ? Float32Array : spec.valueType === "int32" ? Int32Array : Uint8Array)(spec.rows * spec.dim);
  const listType = new FixedSizeList(spec.dim, new Field("value", type, false));
  const fields: Field[] = [new Field(spec.pixelColumn ?? "pixels", listType, false)];
  const children = [makeData({ type: listType, length: spec.rows, nullCount: 0, child: makeData({ type, length: spec.rows * spec.dim, data: values } as never) })];
  if (spec.labels) {
    const labelType = spec.labels instanceof Int32Array ? new Int32() : new Uint8();
    fields.push(new Field("label", labelType, false));
    children.push(makeData({ type: labelType, length: spec.rows, data: spec.labels } as never) as never);
  }
  const metadata = new Map(Object.entries(spec.metadata ?? {}));
  const schema = new Schema(fields, metadata);
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: spec.rows, nullCount: 0, children }));
  writeFileSync(file, tableToIPC(new Table(schema, [batch]), "file"));
}

/** Metadata of a valid w×h file with `count` rows. */
export function metadataFor(count: number, width: number, height: number): Record<string, string> {
  return { dataset: "test", split: "train", width: String(width), height: String(height), count: String(count), seed: "1", generator_version: "test/1" };
}
