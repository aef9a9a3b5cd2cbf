// Encodes an image set as one Arrow IPC file (layout in src/data/schema.ts) and writes files
// atomically: every output goes to a temporary sibling first and is renamed only when all are written.
import { renameSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Field, FixedSizeList, RecordBatch, Schema, Struct, Table, Uint8, makeData, tableToIPC } from "apache-arrow";
import { LABEL_COLUMN, META, PIXELS_COLUMN, ROWS_PER_RECORD_BATCH } from "../src/data/schema.ts";
import { asFileError } from "../src/errors.ts";
import { removeStaleTemporaries, temporaryName } from "../src/io/atomicWrite.ts";
import { ARROW, checkOutput } from "../src/io/outputs.ts";

export interface ImageSet {
  dataset: string;
  split: string;
  width: number;
  height: number;
  /** count × width·height bytes, row-major images one after another. */
  pixels: Uint8Array;
  labels?: Uint8Array;
  seed: number;
  generatorVersion: string;
}

export function imageCount(set: ImageSet): number {
  return set.pixels.length / (set.width * set.height);
}

/** The bytes of the Arrow IPC file for `set`; a pure function of its arguments. */
export function encodeImageSet(set: ImageSet): Uint8Array {
  const dim = set.width * set.height;
  const count = imageCount(set);
  if (!Number.isInteger(count) || count <= 0) {
    throw new Error(`${set.dataset}/${set.split}: ${set.pixels.length} pixel bytes is not a positive multiple of ${set.width}×${set.height}`);
  }
  if (set.labels && set.labels.length !== count) {
    throw new Error(`${set.dataset}/${set.split}: ${set.labels.length} labels for ${count} images`);
  }
  const pixelType = new FixedSizeList(dim, new Field("value", new Uint8(), false));
  const fields: Field[] = [new Field(PIXELS_COLUMN, pixelType, false)];
  if (set.labels) fields.push(new Field(LABEL_COLUMN, new Uint8(), false));
  const metadata = new Map<string, string>([
    [META.dataset, set.dataset],
    [META.split, set.split],
    [META.width, String(set.width)],
    [META.height, String(set.height)],
    [META.count, String(count)],
    [META.seed, String(set.seed)],
    [META.generatorVersion, set.generatorVersion],
  ]);
  const schema = new Schema(fields, metadata);
  const batches: RecordBatch[] = [];
  for (let start = 0; start < count; start += ROWS_PER_RECORD_BATCH) {
    const rows = Math.min(ROWS_PER_RECORD_BATCH, count - start);
    const values = makeData({ type: new Uint8(), length: rows * dim, data: set.pixels.subarray(start * dim, (start + rows) * dim) });
    const children = [makeData({ type: pixelType, length: rows, nullCount: 0, child: values })];
    if (set.labels) children.push(makeData({ type: new Uint8(), length: rows, data: set.labels.subarray(start, start + rows) }) as never);
    const struct = makeData({ type: new Struct(fields), length: rows, nullCount: 0, children });
    batches.push(new RecordBatch(schema, struct));
  }
  return tableToIPC(new Table(schema, batches), "file");
}

/**
 * Writes every (file, bytes) pair to a temporary sibling (temporaryName), then renames them all into place; on any
 * failure the temporaries are removed, so no partial output is left behind. Temporaries of earlier
 * runs that were killed while writing are removed first. An existing file is replaced only when it
 * is an Arrow file (a data folder's curves-train.arrow of another kind is left as it is).
 */
export function writeFilesAtomically(outputs: { file: string; bytes: Uint8Array }[]): void {
  for (const { file } of outputs) checkOutput(file, ARROW, [], null);
  const temps: string[] = [];
  try {
    for (const { file, bytes } of outputs) {
      mkdirSync(dirname(file), { recursive: true });
      removeStaleTemporaries(dirname(file));
      const temp = temporaryName(file);
      temps.push(temp);
      writeFileSync(temp, bytes, { flag: "wx" });
    }
    outputs.forEach(({ file }, i) => renameSync(temps[i], file));
  } catch (error) {
    for (const temp of temps) rmSync(temp, { force: true });
    throw asFileError(error, "write", temps.at(-1) ?? outputs[0]?.file ?? "the dataset");
  }
}
