// Opens a dataset file (layout in schema.ts) by memory-mapping it and reading its record batches
// with apache-arrow without copying: the pixel arrays returned are views into the mapping.
// Every check that can fail names the file.
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { RecordBatchReader, Type, type Data, type Field, type RecordBatch } from "apache-arrow";
import { ArrowFrameError, checkFooter, checkRecordBatchBlock } from "./arrow-frame.ts";
import { DataError } from "./data-error.ts";
import { LABEL_COLUMN, META, PIXELS_COLUMN } from "./schema.ts";

export interface DatasetInfo {
  file: string;
  name: string;
  width: number;
  height: number;
  dim: number;
  count: number;
  hasLabels: boolean;
  seed: number;
  generatorVersion: string;
}

/** Rows [start, start + rows) of the file; `pixels` holds rows·dim values (Uint8: v/255, Float32: v). */
export interface DatasetChunk {
  start: number;
  rows: number;
  pixels: Uint8Array | Float32Array;
  labels?: Uint8Array;
}

export interface OpenedDataset {
  info: DatasetInfo;
  chunks: DatasetChunk[];
}

function metadataInt(file: string, metadata: Map<string, string>, key: string, min: number): number {
  const text = metadata.get(key);
  if (text === undefined) throw new DataError(`${file}: schema metadata lacks '${key}'`);
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new DataError(`${file}: schema metadata '${key}' is '${text}', expected an integer ≥ ${min}`);
  }
  return value;
}

/**
 * Reads the schema and every record batch through the file's footer, one block at a time, each
 * checked first (arrow-frame.ts). apache-arrow's batch iterator is not used: on a corrupt block that
 * decodes as neither schema nor record batch it re-reads the same block for ever.
 */
function readBatches(file: string, bytes: Uint8Array): { metadata: Map<string, string>; fields: Field[]; batches: RecordBatch[] } {
  try {
    const frame = checkFooter(bytes);
    const reader = RecordBatchReader.from(bytes);
    if (!reader.isFile()) throw new ArrowFrameError("not in the Arrow file format");
    reader.open();
    const footer = reader.footer!;
    const { metadata, fields } = reader.schema;
    if (footer.numDictionaries !== 0) throw new ArrowFrameError(`the footer lists ${footer.numDictionaries} dictionary batches; dataset files have none`);
    const batches: RecordBatch[] = [];
    for (let i = 0; i < frame.recordBatches; i++) {
      const block = footer.getRecordBatch(i);
      if (!block) throw new ArrowFrameError(`record batch ${i} is missing from the footer`);
      checkRecordBatchBlock(bytes, frame, block, i);
      const batch = reader.readRecordBatch(i);
      if (!batch) throw new ArrowFrameError(`block ${i} of the footer is not a record batch`);
      batches.push(batch);
    }
    return { metadata, fields, batches };
  } catch (error) {
    if (error instanceof ArrowFrameError) throw new DataError(`${file}: ${error.message}`);
    throw new DataError(`${file}: not a readable Arrow IPC file (truncated or corrupt?): ${(error as Error).message}`);
  }
}

function columnData(file: string, batch: RecordBatch, name: string, index: number): Data {
  const column = batch.getChild(name);
  if (!column || column.data.length !== 1) throw new DataError(`${file}: record batch ${index} has no single '${name}' column`);
  const data = column.data[0];
  if (data.nullCount > 0) throw new DataError(`${file}: column '${name}' has ${data.nullCount} nulls in record batch ${index}`);
  return data;
}

/** Checks that float pixels are finite and in [0, 1]; the first bad value is named. */
function checkFloatPixels(file: string, pixels: Float32Array, start: number, dim: number): void {
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (!(v >= 0 && v <= 1)) {
      const what = Number.isNaN(v) ? "NaN" : `${v}, outside [0, 1]`;
      throw new DataError(`${file}: pixel ${i % dim} of row ${start + Math.floor(i / dim)} is ${what}`);
    }
  }
}

/** Memory-maps `file`, validates its schema, metadata and every record batch, and returns views of its rows. */
export function openDatasetFile(path: string): OpenedDataset {
  const file = resolve(path);
  if (!existsSync(file)) throw new DataError(`${file}: no such file`);
  const stat = statSync(file);
  if (!stat.isFile()) throw new DataError(`${file}: ${stat.isDirectory() ? "a directory" : "not a regular file"}, not a dataset file`);
  if (stat.size === 0) throw new DataError(`${file}: the file is empty (0 bytes)`);
  let bytes: Uint8Array;
  try {
    bytes = Bun.mmap(file, { shared: false });
  } catch (error) {
    throw new DataError(`${file}: cannot read (${(error as Error).message})`);
  }
  const { metadata, fields, batches } = readBatches(file, bytes);

  const pixelField = fields.find((f) => f.name === PIXELS_COLUMN);
  if (!pixelField) throw new DataError(`${file}: wrong schema: no '${PIXELS_COLUMN}' column (columns: ${fields.map((f) => f.name).join(", ") || "none"})`);
  const pixelType = pixelField.type;
  const valueType = pixelType.typeId === Type.FixedSizeList ? pixelType.children[0].type : undefined;
  const isUint8 = valueType?.typeId === Type.Int && valueType.bitWidth === 8 && !valueType.isSigned;
  const isFloat32 = valueType?.typeId === Type.Float && valueType.precision === 1;
  if (!isUint8 && !isFloat32) {
    throw new DataError(`${file}: wrong schema: column '${PIXELS_COLUMN}' is ${pixelType}, expected FixedSizeList<Uint8> or FixedSizeList<Float32>`);
  }
  const labelField = fields.find((f) => f.name === LABEL_COLUMN);
  if (labelField && !(labelField.type.typeId === Type.Int && labelField.type.bitWidth === 8 && !labelField.type.isSigned)) {
    throw new DataError(`${file}: wrong schema: column '${LABEL_COLUMN}' is ${labelField.type}, expected Uint8`);
  }

  const name = metadata.get(META.dataset);
  if (!name) throw new DataError(`${file}: schema metadata lacks '${META.dataset}'`);
  const width = metadataInt(file, metadata, META.width, 1);
  const height = metadataInt(file, metadata, META.height, 1);
  const count = metadataInt(file, metadata, META.count, 0);
  const seed = metadataInt(file, metadata, META.seed, 0);
  const generatorVersion = metadata.get(META.generatorVersion) ?? "";
  const dim = width * height;
  if (pixelType.listSize !== dim) {
    throw new DataError(`${file}: wrong dimensions: '${PIXELS_COLUMN}' holds ${pixelType.listSize} values per row but the metadata says ${width}×${height} = ${dim}`);
  }

  const chunks: DatasetChunk[] = [];
  let start = 0;
  batches.forEach((batch, index) => {
    const rows = batch.numRows;
    const list = columnData(file, batch, PIXELS_COLUMN, index);
    const values = list.children[0];
    const first = values.offset + list.offset * dim;
    const pixels = (values.values as Uint8Array | Float32Array).subarray(first, first + rows * dim);
    if (pixels.length !== rows * dim) throw new DataError(`${file}: record batch ${index} is truncated (${pixels.length} of ${rows * dim} pixel values)`);
    if (isFloat32) checkFloatPixels(file, pixels as Float32Array, start, dim);
    let labels: Uint8Array | undefined;
    if (labelField) {
      const data = columnData(file, batch, LABEL_COLUMN, index);
      labels = (data.values as Uint8Array).subarray(data.offset, data.offset + rows);
      if (labels.length !== rows) throw new DataError(`${file}: record batch ${index} is truncated (${labels.length} of ${rows} labels)`);
    }
    if (rows > 0) chunks.push({ start, rows, pixels, labels });
    start += rows;
  });
  if (start === 0) throw new DataError(`${file}: empty dataset (0 rows)`);
  if (start !== count) throw new DataError(`${file}: holds ${start} rows but the metadata says count = ${count} (truncated?)`);
  return { info: { file, name, width, height, dim, count, hasLabels: !!labelField, seed, generatorVersion }, chunks };
}
