// `bun run prep import FILE.csv|FILE.parquet|FILE.npy --out FILE.arrow`: converts a table or an
// array into the Arrow file `train --data` reads (table-writer.ts). CSV is read with csv-parse,
// Parquet with hyparquet (+ hyparquet-compressors for gzip, zstd, brotli, lz4), .npy with npyjs.
//
// Tables (CSV with a header row, Parquet): --targets names the target columns (comma-separated);
// --features the feature columns (default: every other column). Column names must be unique and
// named once; a target is never also a feature. Every value must be a finite number written in
// decimal (no 0x10); a Parquet list column counts as one feature per element. Both become Float32.
// Arrays (.npy, C or Fortran order): row r is a[r, ...]; uint8 arrays stay Uint8 (images, scaled
// by 1/255 when training), others become Float32; every dimension must be non-empty. --targets names
// a second .npy, not the features' own file, with one row per row.
//
// Class labels: a --targets column is read as class labels when every value in it is text that is
// not a number ("cat", "dog"), or, for any column of labels (integers 3, 5, 7 included), with
// --labels. Numbers are not taken as labels by themselves: a 0/1 column is already a bce target and
// integer-valued targets (counts, ratings) are as often a regression; a column mixing numbers and
// text is refused (a typo in a numeric column must not turn it into classes). The K distinct labels,
// sorted (numerically when every one is a number, else by code point), become the class indices
// 0 … K−1 of one Float32 target per row, and their names are kept in the target field's metadata
// under "classes" (a JSON list), which the readers give back as `dataset.classNames`.
import { existsSync, readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { parse as parseNpy } from "npyjs";
import { DataError } from "../src/data/data-error.ts";
import { parseDecimal } from "../src/flags.ts";
import { sameFile } from "../src/io/outputs.ts";
import { type Matrix, encodeTable } from "./table-writer.ts";

export interface ImportOptions {
  /** Feature columns of a table (default: all but the targets). */
  features?: string[];
  /** Target columns of a table, or for .npy the file of targets. */
  targets?: string[] | string;
  /** Read the (one) target column as class labels even when its values are numbers. */
  labels?: boolean;
}

export interface Imported {
  features: Matrix;
  targets?: Matrix;
  rows: number;
  /** The class of each index 0 … K−1, when the targets were class labels. */
  classNames?: string[];
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** A named column of a table: one number (or one fixed-length list of numbers) per row. */
type Cell = unknown;

/** A cell as a message shows it: numbers as numbers (NaN, Infinity, -Infinity by name), text quoted, a missing value as empty. */
function shownCell(cell: Cell): string {
  if (typeof cell === "number" || typeof cell === "bigint") return String(cell);
  if (cell === null || cell === undefined) return "an empty cell (null)";
  return JSON.stringify(cell) ?? String(cell);
}

function toNumber(file: string, column: string, row: number, cell: Cell): number {
  const v = typeof cell === "bigint" ? Number(cell) : typeof cell === "number" ? cell : typeof cell === "string" ? (parseDecimal(cell.trim()) ?? NaN) : NaN;
  if (!(Math.abs(v) <= FLOAT32_MAX)) {
    throw new DataError(`${file}: column '${column}', row ${row}: ${shownCell(cell)} is not a finite number within float32's range, written in decimal`);
  }
  return v;
}

/** Gathers the named columns of `rows` (objects) into a rows × width Float32 matrix; list cells spread into their elements. */
function gather(file: string, rows: Record<string, Cell>[], columns: string[]): Matrix {
  const widths = columns.map((c) => (Array.isArray(rows[0][c]) || ArrayBuffer.isView(rows[0][c]) ? (rows[0][c] as ArrayLike<unknown>).length : 1));
  const empty = widths.indexOf(0);
  if (empty >= 0) throw new DataError(`${file}: column '${columns[empty]}', row 0: an empty list; a list column needs the same number (at least 1) of values in every row`);
  const width = widths.reduce((a, b) => a + b, 0);
  const values = new Float32Array(rows.length * width);
  rows.forEach((row, r) => {
    let at = r * width;
    columns.forEach((c, i) => {
      const cell = row[c];
      if (widths[i] === 1 && !Array.isArray(cell) && !ArrayBuffer.isView(cell)) {
        values[at++] = toNumber(file, c, r, cell);
        return;
      }
      const list = cell as ArrayLike<Cell> | null;
      if (!list || typeof list !== "object" || list.length !== widths[i]) {
        throw new DataError(`${file}: column '${c}', row ${r}: expected a list of ${widths[i]} numbers (as in row 0), got ${list === null ? "null" : (list?.length ?? typeof list)}`);
      }
      for (let j = 0; j < widths[i]; j++) values[at++] = toNumber(file, `${c}[${j}]`, r, list[j]);
    });
  });
  return { values, width };
}

const isText = (cell: Cell) => typeof cell === "string" && cell !== "" && parseDecimal(cell.trim()) === undefined;

/**
 * Class indices of one column of labels: label ℓ of row r ↦ its rank among the K distinct labels,
 * sorted numerically when every label is a number (names then written as numbers: 07 is 7), else
 * by code point. Empty and null cells are refused, naming the row.
 */
export function classIndices(file: string, column: string, cells: Cell[]): { values: Float32Array; names: string[] } {
  const text = cells.map((cell, r) => {
    if (cell === null || cell === undefined || (typeof cell === "string" && cell.trim() === "")) throw new DataError(`${file}: column '${column}', row ${r} is empty; every row needs a class label`);
    if (typeof cell === "string") return cell.trim();
    if (typeof cell === "number" || typeof cell === "bigint" || typeof cell === "boolean") return String(cell);
    throw new DataError(`${file}: column '${column}', row ${r}: ${JSON.stringify(cell)} is not a class label (text or a number)`);
  });
  const numeric = text.every((t) => parseDecimal(t) !== undefined && Number.isFinite(Number(t)));
  const keys = numeric ? text.map((t) => String(Number(t))) : text;
  const names = [...new Set(keys)].sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map(names.map((name, i) => [name, i]));
  return { values: Float32Array.from(keys, (k) => index.get(k)!), names };
}

/** The first name given twice in `names`, if any (one pass: tables may have 100,000s of columns). */
function repeated(names: string[]): string | undefined {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}

/** A table's column names must be unique and non-empty: a repeated name would read one column twice. */
function checkHeader(file: string, header: string[]): void {
  const blank = header.findIndex((name) => name === "");
  if (blank >= 0) throw new DataError(`${file}: column ${blank + 1} has no name; every column needs one`);
  const twice = repeated(header);
  if (twice !== undefined) {
    const at = header.flatMap((name, i) => (name === twice ? [i + 1] : []));
    throw new DataError(`${file}: two columns are named '${twice}' (columns ${at.join(" and ")}); rename one so each is read once`);
  }
}

function fromTable(file: string, header: string[], rows: Record<string, Cell>[], options: ImportOptions): Imported {
  if (rows.length === 0) throw new DataError(`${file}: no rows`);
  if (typeof options.targets === "string") throw new DataError(`${file}: --targets names columns of a table (comma-separated), got '${options.targets}'`);
  checkHeader(file, header);
  const targets = options.targets ?? [];
  const columns = new Set(header);
  for (const c of [...targets, ...(options.features ?? [])]) {
    if (!columns.has(c)) throw new DataError(`${file}: no column '${c}'; columns: ${header.join(", ")}`);
  }
  for (const [flag, list] of [["--targets", targets], ["--features", options.features ?? []]] as const) {
    const twice = repeated(list);
    if (twice !== undefined) throw new DataError(`${file}: ${flag} names column '${twice}' twice`);
  }
  const targetSet = new Set(targets);
  const leaked = options.features?.find((c) => targetSet.has(c));
  if (leaked !== undefined) throw new DataError(`${file}: column '${leaked}' is in both --targets and --features; a target among the features leaks the answer`);
  const features = options.features ?? header.filter((c) => !targetSet.has(c));
  if (features.length === 0) throw new DataError(`${file}: no feature columns left (columns: ${header.join(", ")})`);
  const textColumn = targets.find((c) => rows.every((row) => isText(row[c])));
  if (options.labels || textColumn !== undefined) {
    if (targets.length !== 1) {
      const why = options.labels ? "--labels reads" : `column '${textColumn}' holds text, so it is read as class labels, and labels come from`;
      throw new DataError(`${file}: ${why} one --targets column, got ${targets.length} (${targets.join(", ")})`);
    }
    const { values, names } = classIndices(file, targets[0], rows.map((row) => row[targets[0]]));
    return { features: gather(file, rows, features), targets: { values, width: 1, classNames: names }, rows: rows.length, classNames: names };
  }
  const mixed = targets.find((c) => rows.some((row) => isText(row[c])));
  if (mixed !== undefined) {
    const r = rows.findIndex((row) => isText(row[mixed]));
    throw new DataError(`${file}: column '${mixed}', row ${r}: ${JSON.stringify(rows[r][mixed])} is text in a column of numbers; for class labels give every row a label, or --labels`);
  }
  return { features: gather(file, rows, features), targets: targets.length ? gather(file, rows, targets) : undefined, rows: rows.length };
}

function readCsv(file: string, options: ImportOptions): Imported {
  let records: string[][];
  try {
    records = parseCsv(readFileSync(file), { skip_empty_lines: true, trim: true, bom: true }) as string[][];
  } catch (error) {
    throw new DataError(`${file}: not a readable CSV file: ${(error as Error).message}`);
  }
  if (records.length < 2) throw new DataError(`${file}: a header row and at least one data row are needed, got ${records.length} row(s)`);
  const [header, ...body] = records;
  const rows = body.map((cells) => Object.fromEntries(header.map((h, i) => [h, cells[i]])));
  return fromTable(file, header, rows, options);
}

async function readParquet(file: string, options: ImportOptions): Promise<Imported> {
  const bytes = readFileSync(file);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let rows: Record<string, Cell>[];
  try {
    rows = await parquetReadObjects({ file: buffer, compressors });
  } catch (error) {
    throw new DataError(`${file}: not a readable Parquet file: ${(error as Error).message}`);
  }
  let header: string[];
  try {
    header = parquetSchema(parquetMetadata(buffer)).children.map((child) => child.element.name);
  } catch (error) {
    throw new DataError(`${file}: not a readable Parquet file: ${(error as Error).message}`);
  }
  return fromTable(file, header, rows, options);
}

/** A .npy file parsed by npyjs; a file it cannot parse is one line naming it. */
function parseNpyFile(file: string): ReturnType<typeof parseNpy> {
  const bytes = readFileSync(file);
  try {
    return parseNpy(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  } catch (error) {
    throw new DataError(`${file}: not a readable .npy file: ${(error as Error).message}`);
  }
}

/** A .npy array as rows × (product of the other dimensions), in C order. */
function readNpyMatrix(file: string): Matrix & { rows: number } {
  const array = parseNpyFile(file);
  const { shape, dtype, fortranOrder } = array;
  if (shape.length === 0 || shape[0] === 0) throw new DataError(`${file}: the array has shape (${shape.join(", ")}); one row per sample is needed`);
  if (shape.includes(0)) throw new DataError(`${file}: the array has shape (${shape.join(", ")}); a row of no values is no sample (every dimension must be at least 1)`);
  const rows = shape[0];
  const width = shape.slice(1).reduce((a, b) => a * b, 1);
  const source = array.data as unknown as ArrayLike<number | bigint>;
  if (!/^[iuf]\d$/.test(dtype)) throw new DataError(`${file}: dtype '${dtype}' is not a number type (int, uint or float)`);
  const values = dtype === "u1" ? new Uint8Array(rows * width) : new Float32Array(rows * width);
  // Fortran order: element (i₀, i₁, …) sits at i₀ + d₀(i₁ + d₁(…)); C order at ((i₀ d₁ + i₁) d₂ + …).
  const strides = shape.map((_, k) => shape.slice(0, k).reduce((a, b) => a * b, 1));
  const index = new Array<number>(shape.length).fill(0);
  for (let c = 0; c < rows * width; c++) {
    let from = c;
    if (fortranOrder) {
      let rest = c;
      for (let k = shape.length - 1; k >= 0; k--) {
        index[k] = rest % shape[k];
        rest = Math.floor(rest / shape[k]);
      }
      from = index.reduce((sum, i, k) => sum + i * strides[k], 0);
    }
    const raw = source[from];
    const v = typeof raw === "bigint" ? Number(raw) : raw;
    if (!(Math.abs(v) <= FLOAT32_MAX)) {
      throw new DataError(`${file}: row ${Math.floor(c / width)}, value ${c % width}: ${v} is not a finite number within float32's range`);
    }
    values[c] = v;
  }
  return { values, width, rows };
}

/**
 * A .npy of class labels, one per row (shape (n,) or (n, 1)): a string array (dtype U), or with
 * `forced` (--labels) an integer or boolean one; undefined for numbers without --labels.
 */
function readNpyLabels(file: string, forced: boolean): { values: Float32Array; names: string[]; rows: number } | undefined {
  const array = parseNpyFile(file);
  const { shape, dtype } = array;
  const text = /^U\d+$/.test(dtype);
  if (!text && !forced) return undefined;
  if (!text && !/^(i\d|u\d|b1)$/.test(dtype)) throw new DataError(`${file}: --labels needs integer, boolean or string labels; the array's dtype is '${dtype}'`);
  if (shape.length === 0 || shape[0] === 0 || shape.slice(1).some((d) => d !== 1)) throw new DataError(`${file}: class labels need one per row, shape (n,) or (n, 1); the array has shape (${shape.join(", ")})`);
  const cells = Array.from(array.data as unknown as ArrayLike<unknown>);
  return { ...classIndices(file, "labels", cells), rows: shape[0] };
}

function readNpy(file: string, options: ImportOptions): Imported {
  if (options.features) throw new DataError(`${file}: --features names table columns; a .npy file is one array`);
  if (Array.isArray(options.targets) && options.targets.length !== 1) throw new DataError(`${file}: --targets takes one .npy file for .npy features`);
  const features = readNpyMatrix(file);
  const targetFile = Array.isArray(options.targets) ? options.targets[0] : options.targets;
  if (targetFile === undefined) return { features, rows: features.rows };
  if (extname(targetFile) !== ".npy") throw new DataError(`${file}: --targets for .npy features must be a .npy file, got '${targetFile}'`);
  if (sameFile(file, resolve(targetFile))) throw new DataError(`${file}: --targets ${targetFile} is the features' own file; the targets would be a copy of the features`);
  const labels = readNpyLabels(resolve(targetFile), options.labels === true);
  if (labels) {
    if (labels.rows !== features.rows) throw new DataError(`${resolve(targetFile)}: ${labels.rows} class labels for the ${features.rows} rows of ${file}`);
    return { features, targets: { values: labels.values, width: 1, classNames: labels.names }, rows: features.rows, classNames: labels.names };
  }
  const targets = readNpyMatrix(resolve(targetFile));
  if (targets.rows !== features.rows) throw new DataError(`${resolve(targetFile)}: ${targets.rows} rows of targets for the ${features.rows} rows of ${file}`);
  return { features, targets, rows: features.rows };
}

/** Reads FILE.csv, FILE.parquet or FILE.npy into feature and target matrices. */
export async function importTable(path: string, options: ImportOptions = {}): Promise<Imported> {
  const file = resolve(path);
  if (!existsSync(file)) throw new DataError(`${file}: no such file`);
  switch (extname(file).toLowerCase()) {
    case ".csv":
      return readCsv(file, options);
    case ".parquet":
    case ".pq":
      return readParquet(file, options);
    case ".npy":
      return readNpy(file, options);
    default:
      throw new DataError(`${file}: unknown format '${extname(file)}'; prep import reads .csv, .parquet and .npy`);
  }
}

/** The Arrow file's bytes for an imported table (columns 'features' and 'targets'). */
export async function importToArrow(path: string, options: ImportOptions = {}): Promise<{ bytes: Uint8Array; imported: Imported }> {
  const imported = await importTable(path, options);
  return { bytes: encodeTable(imported.features, imported.targets, { source: resolve(path) }), imported };
}
