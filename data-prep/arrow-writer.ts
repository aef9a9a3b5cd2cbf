// Encodes an image set as one Arrow IPC file (layout in src/data/schema.ts) and writes files
// atomically: every output goes to a temporary sibling first and is renamed only when all are
// written. writeTableAtomically does the same for a table that arrives record batch by record batch.
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { Field, FixedSizeList, RecordBatch, RecordBatchFileWriter, Schema, Struct, Table, Uint8, makeData, tableToIPC } from "apache-arrow";
import { LABEL_COLUMN, META, PIXELS_COLUMN, ROWS_PER_RECORD_BATCH } from "../src/data/schema.ts";
import { asFileError } from "../src/errors.ts";
import { removeStaleTemporaries, temporaryName } from "../src/io/atomicWrite.ts";
import { ARROW, checkOutput, makeOutputDir } from "../src/io/outputs.ts";
import { type TableRows, tableBatch, tableSchema } from "./table-writer.ts";

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

/** Writes all of `bytes` at the file's current end. */
function writeFully(fd: number, bytes: Uint8Array): void {
  for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written);
}

/**
 * Writes the Arrow IPC file of a table whose rows `batches` yields, each one record batch (the
 * schema and metadata taken with the first), to a temporary sibling that is renamed into place after
 * the last; when `batches` or a write fails, the temporary is removed and nothing is left behind.
 * Holds one record batch at a time: each is handed to the file before the next is asked for.
 */
export async function writeTableAtomically(file: string, batches: AsyncIterable<TableRows>, metadata: Record<string, string> = {}): Promise<void> {
  checkOutput(file, ARROW, [], null);
  const temp = temporaryName(file);
  const writer = new RecordBatchFileWriter();
  let fd: number | undefined;
  let stopped = false;
  try {
    // A folder made here and left empty by a failure is removed when the process exits.
    makeOutputDir(dirname(file));
    removeStaleTemporaries(dirname(file));
    fd = openSync(temp, "wx");
    const out = fd;
    let failure: { error: unknown } | undefined;
    const drained = (async () => {
      for await (const chunk of writer) {
        if (stopped) return;
        writeFully(out, chunk);
      }
    })().catch((error) => {
      failure = { error };
    });
    let schema: Schema | undefined;
    for await (const rows of batches) {
      schema ??= tableSchema(rows, metadata);
      writer.write(tableBatch(schema, rows));
      // The drain above runs in the microtasks before this resumes: the batch's bytes are in the file, and its arrays free for reuse.
      await new Promise((resolve) => setImmediate(resolve));
      if (failure) throw failure.error;
    }
    if (!schema) throw new Error(`${file}: no rows to write`);
    writer.finish();
    await drained;
    if (failure) throw failure.error;
    closeSync(fd);
    fd = undefined;
    renameSync(temp, file);
  } catch (error) {
    // Nothing more reaches the file, not even the footer the writer adds as it is aborted.
    stopped = true;
    try {
      writer.abort();
    } catch {
      // a writer that already finished has nothing to abort
    }
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
    throw asFileError(error, "write", temp);
  }
}
