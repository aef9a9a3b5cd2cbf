// The rules of a dataset file, and openDatasetFile: the file read into memory whole and its record
// batches decoded with apache-arrow without copying (the arrays returned are views into that copy;
// `prep preview` and the stream's "memory" reader use it; the trainer reads rows on demand with
// dataset-reader.ts, which applies the same rules). Two kinds of file:
//   - the project's own (schema.ts; recognised by its 'dataset' metadata): a 'pixels' image column,
//     an optional 'label' column, and metadata that must agree with the data;
//   - any other Arrow IPC file ("own data"): a feature column (FixedSizeList of Uint8, Float32 or
//     Float64; named, or the first such column) and an optional named target column (columns.ts).
// Float values must be finite (and fit float32); the first bad one is named by column and row.
// LZ4- and ZSTD-compressed files (pyarrow's default) are read through arrow-codecs.ts.
// Every check that can fail names the file.
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { Precision, RecordBatchReader, Type, type Data, type Field, type RecordBatch } from "apache-arrow";
import { ArrowCodecError } from "./arrow-codecs.ts";
import { ArrowFrameError, checkFooter, checkRecordBatchBlock, memorySource } from "./arrow-frame.ts";
import { type ColumnLayout, type NumericValues, firstNonFinite, listLayout, targetLayout } from "./columns.ts";
import { DataError } from "./data-error.ts";
import { CLASSES_METADATA, LABEL_COLUMN, META, PIXELS_COLUMN } from "./schema.ts";

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
  /** The feature column (for the project's files: 'pixels'). */
  features: ColumnLayout;
  /** The target column, when one was asked for. */
  targets?: ColumnLayout;
}

/** Which columns of an own-data file to read; leaving both out reads a project file as it always was. */
export interface ColumnChoice {
  /** Feature column (default: the first FixedSizeList<Uint8|Float32|Float64> column). */
  features?: string;
  /** Target column (supervised tasks). */
  targets?: string;
}

/** Rows [start, start + rows) of the file: `pixels` holds rows·dim feature values, `targets` rows·width target values. */
export interface DatasetChunk {
  start: number;
  rows: number;
  pixels: Uint8Array | Float32Array | Float64Array;
  labels?: Uint8Array;
  targets?: NumericValues;
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
    const source = memorySource(bytes);
    const frame = checkFooter(source);
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
      checkRecordBatchBlock(source, frame, block, i);
      const batch = reader.readRecordBatch(i);
      if (!batch) throw new ArrowFrameError(`block ${i} of the footer is not a record batch`);
      batches.push(batch);
    }
    return { metadata, fields, batches };
  } catch (error) {
    if (error instanceof ArrowFrameError || error instanceof ArrowCodecError) throw new DataError(`${file}: ${error.message}`);
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


/** The values of rows [0, rows) of a FixedSizeList (or scalar) column's data, as a view. */
function columnValues(file: string, data: Data, layout: ColumnLayout, rows: number, index: number): NumericValues {
  const values = layout.width === 1 && data.type.typeId !== Type.FixedSizeList ? data : data.children[0];
  const first = values.offset + (values === data ? 0 : data.offset * layout.width);
  const view = (values.values as NumericValues).subarray(first, first + rows * layout.width);
  if (view.length !== rows * layout.width) {
    throw new DataError(`${file}: record batch ${index} is truncated (${view.length} of ${rows * layout.width} values of column '${layout.name}')`);
  }
  return view;
}

function checkFinite(file: string, layout: ColumnLayout, values: NumericValues, start: number): void {
  if (!layout.isFloat) return;
  const bad = firstNonFinite(values);
  if (!bad) return;
  const [i, v] = bad;
  const row = start + Math.floor(i / layout.width);
  const what = Number.isNaN(v) ? "NaN" : Number.isFinite(v) ? `${v}, too large for float32` : String(v);
  const where = layout.width > 1 ? `value ${i % layout.width} of row ${row}` : `row ${row}`;
  throw new DataError(`${file}: column '${layout.name}': ${where} is ${what}; features and targets must be finite numbers`);
}

function columnNames(fields: Field[]): string {
  return fields.map((f) => `${f.name} (${f.type})`).join(", ") || "none";
}

/** The feature and target columns of an own-data file. */
export function chooseColumns(file: string, fields: Field[], choice: ColumnChoice): { features: ColumnLayout; targets?: ColumnLayout } {
  let features: ColumnLayout | undefined;
  if (choice.features !== undefined) {
    const field = fields.find((f) => f.name === choice.features);
    if (!field) throw new DataError(`${file}: no feature column '${choice.features}' (--features); columns: ${columnNames(fields)}`);
    features = listLayout(field.name, field.type);
    if (!features) throw new DataError(`${file}: feature column '${field.name}' is ${field.type}, expected a FixedSizeList of Uint8, Float32 or Float64`);
  } else {
    const field = fields.find((f) => listLayout(f.name, f.type));
    if (!field) throw new DataError(`${file}: wrong schema: no feature column: no column is a FixedSizeList of Uint8, Float32 or Float64 (columns: ${columnNames(fields)})`);
    features = listLayout(field.name, field.type)!;
  }
  if (choice.targets === undefined) return { features };
  if (choice.targets === features.name) {
    throw new DataError(`${file}: column '${features.name}' is both the features${choice.features === undefined ? " (the first list column)" : ""} and the targets (--targets); the network would be shown the answer: name another --targets or --features`);
  }
  const field = fields.find((f) => f.name === choice.targets);
  if (!field) throw new DataError(`${file}: no target column '${choice.targets}' (--targets); columns: ${columnNames(fields)}`);
  const targets = targetLayout(field.name, field.type);
  if (!targets) throw new DataError(`${file}: target column '${field.name}' is ${field.type}, expected a number per row or a FixedSizeList of Uint8, Float32 or Float64`);
  const classes = field.metadata.get(CLASSES_METADATA);
  if (classes !== undefined) targets.classNames = classNamesOf(file, field.name, classes, targets.width);
  return { features, targets };
}

/** A target field's "classes" metadata: a JSON list of distinct strings, for one class index per row. */
function classNamesOf(file: string, column: string, text: string, width: number): string[] {
  let names: unknown;
  try {
    names = JSON.parse(text);
  } catch {
    names = undefined;
  }
  if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== "string") || new Set(names).size !== names.length) {
    throw new DataError(`${file}: column '${column}': its "${CLASSES_METADATA}" metadata is not a JSON list of distinct class names`);
  }
  if (width !== 1) throw new DataError(`${file}: column '${column}' has class names but ${width} values per row; class indices are one per row`);
  return names as string[];
}

/** Class indices must be whole numbers in [0, K); the first other is named by row. */
function checkClassIndices(file: string, layout: ColumnLayout, values: NumericValues, start: number): void {
  const k = layout.classNames!.length;
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (!(Number.isInteger(v) && v >= 0 && v < k)) throw new DataError(`${file}: column '${layout.name}': row ${start + i} is ${v}, not a class index in 0…${k - 1} (the column names ${k} classes)`);
  }
}

/** Checks a project file's pixel and label columns and its metadata; returns its description (less count checks). */
export function projectInfo(file: string, fields: Field[], metadata: Map<string, string>): DatasetInfo {
  const pixelField = fields.find((f) => f.name === PIXELS_COLUMN);
  if (!pixelField) throw new DataError(`${file}: wrong schema: no '${PIXELS_COLUMN}' column (columns: ${fields.map((f) => f.name).join(", ") || "none"})`);
  const pixelType = pixelField.type;
  const features = listLayout(PIXELS_COLUMN, pixelType);
  if (!features || (features.isFloat && pixelType.children[0].type.precision !== Precision.SINGLE)) {
    throw new DataError(`${file}: wrong schema: column '${PIXELS_COLUMN}' is ${pixelType}, expected FixedSizeList<Uint8> or FixedSizeList<Float32>`);
  }
  const labelField = fields.find((f) => f.name === LABEL_COLUMN);
  if (labelField && !(labelField.type.typeId === Type.Int && labelField.type.bitWidth === 8 && !labelField.type.isSigned)) {
    throw new DataError(`${file}: wrong schema: column '${LABEL_COLUMN}' is ${labelField.type}, expected Uint8`);
  }
  const name = metadata.get(META.dataset)!;
  const width = metadataInt(file, metadata, META.width, 1);
  const height = metadataInt(file, metadata, META.height, 1);
  const count = metadataInt(file, metadata, META.count, 0);
  const seed = metadataInt(file, metadata, META.seed, 0);
  const generatorVersion = metadata.get(META.generatorVersion) ?? "";
  const dim = width * height;
  if (features.width !== dim) {
    throw new DataError(`${file}: wrong dimensions: '${PIXELS_COLUMN}' holds ${features.width} values per row but the metadata says ${width}×${height} = ${dim}`);
  }
  return { file, name, width, height, dim, count, hasLabels: !!labelField, seed, generatorVersion, features };
}

/** An own-data file's description: images of side √dim when the metadata says width and height, else a row of dim. */
export function ownInfo(file: string, metadata: Map<string, string>, columns: { features: ColumnLayout; targets?: ColumnLayout }): DatasetInfo {
  const dim = columns.features.width;
  const width = Number(metadata.get(META.width)), height = Number(metadata.get(META.height));
  const image = Number.isInteger(width) && Number.isInteger(height) && width * height === dim;
  return {
    file,
    name: metadata.get(META.dataset) ?? basename(file).replace(/\.(arrow|feather|ipc)$/, ""),
    width: image ? width : dim,
    height: image ? height : 1,
    dim,
    count: 0,
    hasLabels: false,
    seed: 0,
    generatorVersion: "",
    ...columns,
  };
}

/** The absolute path of a dataset file that exists, is a regular file and is not empty; a DataError naming it otherwise. */
export function existingDatasetPath(path: string): string {
  const file = resolve(path);
  if (!existsSync(file)) throw new DataError(`${file}: no such file`);
  const stat = statSync(file);
  if (!stat.isFile()) throw new DataError(`${file}: ${stat.isDirectory() ? "a directory" : "not a regular file"}, not a dataset file`);
  if (stat.size === 0) throw new DataError(`${file}: the file is empty (0 bytes)`);
  return file;
}

/**
 * Reads `file` into memory whole, validates its schema, metadata and every record batch, and returns views of
 * its rows. Without a column choice a file carrying the project's 'dataset' metadata is read as a
 * project file; any other file (or any file with a choice) as own data.
 */
export function openDatasetFile(path: string, choice: ColumnChoice = {}): OpenedDataset {
  const file = existingDatasetPath(path);
  let bytes: Uint8Array;
  try {
    const read = readFileSync(file);
    // Arrow's buffers are 8-byte aligned within the file; keep them so in memory.
    bytes = read.byteOffset % 8 === 0 ? read : new Uint8Array(read);
  } catch (error) {
    throw new DataError(`${file}: cannot read (${(error as Error).message})`);
  }
  const { metadata, fields, batches } = readBatches(file, bytes);

  const project = choice.features === undefined && choice.targets === undefined && metadata.has(META.dataset);
  const info = project ? projectInfo(file, fields, metadata) : ownInfo(file, metadata, chooseColumns(file, fields, choice));
  const { features, targets } = info;
  const dim = info.dim;

  const chunks: DatasetChunk[] = [];
  let start = 0;
  batches.forEach((batch, index) => {
    const rows = batch.numRows;
    const pixels = columnValues(file, columnData(file, batch, features.name, index), features, rows, index) as DatasetChunk["pixels"];
    if (project && features.isFloat) checkFloatPixels(file, pixels as Float32Array, start, dim);
    else checkFinite(file, features, pixels, start);
    let labels: Uint8Array | undefined;
    if (info.hasLabels) {
      const data = columnData(file, batch, LABEL_COLUMN, index);
      labels = (data.values as Uint8Array).subarray(data.offset, data.offset + rows);
      if (labels.length !== rows) throw new DataError(`${file}: record batch ${index} is truncated (${labels.length} of ${rows} labels)`);
    }
    let targetValues: NumericValues | undefined;
    if (targets) {
      targetValues = columnValues(file, columnData(file, batch, targets.name, index), targets, rows, index);
      checkFinite(file, targets, targetValues, start);
      if (targets.classNames) checkClassIndices(file, targets, targetValues, start);
    }
    if (rows > 0) chunks.push({ start, rows, pixels, labels, targets: targetValues });
    start += rows;
  });
  if (start === 0) throw new DataError(`${file}: empty dataset (0 rows)`);
  if (project && start !== info.count) throw new DataError(`${file}: holds ${start} rows but the metadata says count = ${info.count} (truncated?)`);
  return { info: { ...info, count: start }, chunks };
}
