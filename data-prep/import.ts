// `bun run prep import FILE.csv|FILE.parquet|FILE.npy --out FILE.arrow`: converts a table or an
// array into the Arrow file `train --data` reads (table-writer.ts), streaming: the input is read
// piece by piece and the output written record batch by record batch (1,000 rows) to a temporary
// renamed into place after the last (arrow-writer.ts), so memory holds one record batch, one piece
// of input and the distinct class labels, whatever the file's size, and a value refused in any row
// leaves no output behind. As when the whole table was read first, every feature value is checked
// before a bad target value is reported.
// CSV is read with csv-parse's streaming parser, Parquet with hyparquet one row group at a time (+
// hyparquet-compressors for gzip, zstd, brotli, lz4) (table-sources.ts), .npy with positioned
// reads of its rows, its header parsed by npy-reader.ts (the dtypes npyjs reads). The rules below
// that need a whole column (which targets are class labels, their sorted names) are settled by a
// first pass over the target columns (a CSV file: over the whole file, which also counts its rows).
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
import { existsSync } from "node:fs";
import { extname, resolve } from "node:path";
import { DataError } from "../src/data/data-error.ts";
import { ROWS_PER_RECORD_BATCH } from "../src/data/schema.ts";
import { parseDecimal } from "../src/flags.ts";
import { sameFile } from "../src/io/outputs.ts";
import { writeTableAtomically } from "./arrow-writer.ts";
import { FLOAT32_MAX, NpyFile } from "./npy-reader.ts";
import { type Matrix, type TableRows, encodeTable } from "./table-writer.ts";
import { type Cell, type Row, type TableSource, csvSource, parquetSource } from "./table-sources.ts";

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

/** What an import wrote: its rows, the width of its features and targets, and the class names of labels. */
export interface ImportSummary {
  rows: number;
  features: number;
  targets?: number;
  classNames?: string[];
}

/**
 * An input checked and surveyed, ready to be read: its row count and its record batches, read when
 * iterated. A batch's arrays may be reused for the next: each is valid until the next is asked for.
 */
interface OpenedImport {
  rows: number;
  batches(): AsyncGenerator<TableRows>;
}

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

const isList = (cell: Cell) => Array.isArray(cell) || ArrayBuffer.isView(cell);

/** The values each of `columns` gives per row, taken from the table's row 0: a list's length, else 1. */
function listWidths(file: string, row0: Row, columns: string[]): number[] {
  const widths = columns.map((c) => (isList(row0[c]) ? (row0[c] as ArrayLike<unknown>).length : 1));
  const empty = widths.indexOf(0);
  if (empty >= 0) throw new DataError(`${file}: column '${columns[empty]}', row 0: an empty list; a list column needs the same number (at least 1) of values in every row`);
  return widths;
}

/** Gathers the named columns of `rows` (rows first … of the table) into a rows × width Float32 matrix; list cells spread into their elements. */
function gather(file: string, rows: Row[], first: number, columns: string[], widths: number[]): Matrix {
  const width = widths.reduce((a, b) => a + b, 0);
  const values = new Float32Array(rows.length * width);
  rows.forEach((row, i) => {
    const r = first + i;
    let at = i * width;
    columns.forEach((c, k) => {
      const cell = row[c];
      if (widths[k] === 1 && !isList(cell)) {
        values[at++] = toNumber(file, c, r, cell);
        return;
      }
      const list = cell as ArrayLike<Cell> | null;
      if (!list || typeof list !== "object" || list.length !== widths[k]) {
        throw new DataError(`${file}: column '${c}', row ${r}: expected a list of ${widths[k]} numbers (as in row 0), got ${list === null ? "null" : (list?.length ?? typeof list)}`);
      }
      for (let j = 0; j < widths[k]; j++) values[at++] = toNumber(file, `${c}[${j}]`, r, list[j]);
    });
  });
  return { values, width };
}

const isText = (cell: Cell) => typeof cell === "string" && cell !== "" && parseDecimal(cell.trim()) === undefined;

/** A class label as text (trimmed); an empty cell or one that is neither text nor a number is refused, naming the row. */
function labelText(file: string, column: string, row: number, cell: Cell): string {
  if (cell === null || cell === undefined || (typeof cell === "string" && cell.trim() === "")) throw new DataError(`${file}: column '${column}', row ${row} is empty; every row needs a class label`);
  if (typeof cell === "string") return cell.trim();
  if (typeof cell === "number" || typeof cell === "bigint" || typeof cell === "boolean") return String(cell);
  throw new DataError(`${file}: column '${column}', row ${row}: ${JSON.stringify(cell)} is not a class label (text or a number)`);
}

/**
 * The classes of a column whose distinct labels (as labelText gives them) are `texts`: their names,
 * sorted numerically when every label is a number (names then written as numbers: 07 is 7), else
 * by code point, and the class index of each label.
 */
function labelClasses(texts: Iterable<string>): { names: string[]; index: Map<string, number> } {
  const distinct = [...texts];
  const numeric = distinct.every((t) => parseDecimal(t) !== undefined && Number.isFinite(Number(t)));
  const key = (t: string) => (numeric ? String(Number(t)) : t);
  const names = [...new Set(distinct.map(key))].sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rank = new Map(names.map((name, i) => [name, i]));
  return { names, index: new Map(distinct.map((t) => [t, rank.get(key(t))!])) };
}

/** The class indices of `cells` (rows first … of a column of labels) under `classes`. */
function labelValues(file: string, column: string, cells: Cell[], first: number, index: Map<string, number>): Float32Array {
  return Float32Array.from(cells, (cell, i) => index.get(labelText(file, column, first + i, cell))!);
}

/**
 * Class indices of one column of labels: label ℓ of row r ↦ its rank among the K distinct labels,
 * sorted numerically when every label is a number (names then written as numbers: 07 is 7), else
 * by code point. Empty and null cells are refused, naming the row.
 */
export function classIndices(file: string, column: string, cells: Cell[]): { values: Float32Array; names: string[] } {
  const { names, index } = labelClasses(new Set(cells.map((cell, r) => labelText(file, column, r, cell))));
  return { values: labelValues(file, column, cells, 0, index), names };
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

/** The feature and target columns a table's options name, checked against its header. */
function tableColumns(file: string, header: string[], rows: number, options: ImportOptions): { features: string[]; targets: string[] } {
  if (rows === 0) throw new DataError(`${file}: no rows`);
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
  return { features, targets };
}

/** What a first pass learns of the target columns: the rows, whether each column is all text (and its first text cell), and a column's distinct labels. */
interface TargetSurvey {
  rows: number;
  columns: Map<string, { allText: boolean; firstText?: { row: number; cell: Cell } }>;
  /** The distinct labels of the one target column, while it may be labels; the first label it refuses. */
  labels?: { texts: Set<string>; error?: DataError };
}

/** Reads the target columns once (a CSV file: every row, which also counts them), holding only what TargetSurvey keeps. */
async function surveyTargets(file: string, source: TableSource, targets: string[], forceLabels: boolean): Promise<TargetSurvey> {
  const survey: TargetSurvey = { rows: 0, columns: new Map(targets.map((c) => [c, { allText: true }])) };
  if (targets.length === 1) survey.labels = { texts: new Set() };
  if (targets.length === 0 && source.rows !== undefined) return { ...survey, rows: source.rows };
  for await (const piece of source.pieces(targets)) {
    piece.forEach((row, i) => {
      const r = survey.rows + i;
      for (const [c, column] of survey.columns) {
        const text = isText(row[c]);
        column.allText &&= text;
        if (text && !column.firstText) column.firstText = { row: r, cell: row[c] };
      }
      const labels = survey.labels;
      if (!labels || labels.error) return;
      if (!forceLabels && !survey.columns.get(targets[0])!.allText) {
        survey.labels = undefined;
        return;
      }
      try {
        labels.texts.add(labelText(file, targets[0], r, row[targets[0]]));
      } catch (error) {
        if (!(error instanceof DataError)) throw error;
        labels.error = error;
        labels.texts.clear();
      }
    });
    survey.rows += piece.length;
  }
  return survey;
}

/**
 * The targets' kind from the survey: class labels (their names and indices) when --labels or when
 * every value of a target column is text; a column mixing numbers and text is refused.
 */
function targetKind(file: string, targets: string[], survey: TargetSurvey, forceLabels: boolean): { names: string[]; index: Map<string, number> } | undefined {
  const textColumn = targets.find((c) => survey.columns.get(c)!.allText);
  if (forceLabels || textColumn !== undefined) {
    if (targets.length !== 1) {
      const why = forceLabels ? "--labels reads" : `column '${textColumn}' holds text, so it is read as class labels, and labels come from`;
      throw new DataError(`${file}: ${why} one --targets column, got ${targets.length} (${targets.join(", ")})`);
    }
    if (survey.labels?.error) throw survey.labels.error;
    return labelClasses(survey.labels!.texts);
  }
  const mixed = targets.find((c) => survey.columns.get(c)!.firstText);
  if (mixed !== undefined) {
    const { row, cell } = survey.columns.get(mixed)!.firstText!;
    throw new DataError(`${file}: column '${mixed}', row ${row}: ${JSON.stringify(cell)} is text in a column of numbers; for class labels give every row a label, or --labels`);
  }
  return undefined;
}

/**
 * Record batches of features and targets, each from a piece of the input of ROWS_PER_RECORD_BATCH rows.
 * The features of every row are checked before any target's error is given: a target's first bad
 * value is kept while the features are read on, and thrown after them.
 */
async function* checkedBatches(pieces: AsyncIterable<{ features: () => Matrix; targets?: () => Matrix }>): AsyncGenerator<TableRows> {
  let targetError: DataError | undefined;
  for await (const piece of pieces) {
    const features = piece.features();
    let targets: Matrix | undefined;
    if (!targetError && piece.targets) {
      try {
        targets = piece.targets();
      } catch (error) {
        if (!(error instanceof DataError)) throw error;
        targetError = error;
      }
    }
    if (!targetError) yield { features, targets };
  }
  if (targetError) throw targetError;
}

/** A CSV or Parquet table: checked, its targets surveyed, its rows gathered piece by piece when iterated. */
async function openTable(file: string, source: TableSource & { records?: number }, options: ImportOptions): Promise<OpenedImport> {
  const named = Array.isArray(options.targets) ? options.targets.filter((c) => source.header.includes(c)) : [];
  const forceLabels = options.labels === true;
  let survey: TargetSurvey | undefined;
  if (source.records !== undefined) {
    survey = await surveyTargets(file, source, [...new Set(named)], forceLabels);
    const records = source.records + survey.rows;
    if (records < 2) throw new DataError(`${file}: a header row and at least one data row are needed, got ${records} row(s)`);
  }
  const { features, targets } = tableColumns(file, source.header, survey?.rows ?? source.rows!, options);
  survey ??= await surveyTargets(file, source, targets, forceLabels);
  const classes = targetKind(file, targets, survey, forceLabels);
  return {
    rows: survey.rows,
    async *batches() {
      let first = 0;
      let featureWidths: number[] | undefined;
      let targetWidths: number[] | undefined;
      const pieces = async function* () {
        for await (const piece of source.pieces([...features, ...targets])) {
          const start = first;
          first += piece.length;
          featureWidths ??= listWidths(file, piece[0], features);
          yield {
            features: () => gather(file, piece, start, features, featureWidths!),
            targets: targets.length === 0 ? undefined
              : classes ? () => ({ values: labelValues(file, targets[0], piece.map((row) => row[targets[0]]), start, classes.index), width: 1, classNames: classes.names })
              : () => gather(file, piece, start, targets, (targetWidths ??= listWidths(file, piece[0], targets))),
          };
        }
      };
      yield* checkedBatches(pieces());
    },
  };
}

/** A .npy array's rows: the shape and dtype checks of a feature or target matrix. */
function npyMatrix(file: string): NpyFile {
  const array = NpyFile.open(file);
  try {
    const { shape, dtype } = array.header;
    if (shape.length === 0 || shape[0] === 0) throw new DataError(`${file}: the array has shape (${shape.join(", ")}); one row per sample is needed`);
    if (shape.includes(0)) throw new DataError(`${file}: the array has shape (${shape.join(", ")}); a row of no values is no sample (every dimension must be at least 1)`);
    if (!/^[iuf]\d$/.test(dtype)) throw new DataError(`${file}: dtype '${dtype}' is not a number type (int, uint or float)`);
    return array;
  } catch (error) {
    array.close();
    throw error;
  }
}

/**
 * The classes of a .npy of class labels, one per row (shape (n,) or (n, 1)): a string array (dtype
 * U), or with `forced` (--labels) an integer or boolean one; undefined for numbers without --labels.
 * Reads the labels once for their distinct values.
 */
function npyLabels(file: string, forced: boolean): { rows: number; names: string[]; index: Map<string, number> } | undefined {
  const array = NpyFile.open(file);
  try {
    const { shape, dtype } = array.header;
    const text = /^U\d+$/.test(dtype);
    if (!text && !forced) return undefined;
    if (!text && !/^(i\d|u\d|b1)$/.test(dtype)) throw new DataError(`${file}: --labels needs integer, boolean or string labels; the array's dtype is '${dtype}'`);
    if (shape.length === 0 || shape[0] === 0 || shape.slice(1).some((d) => d !== 1)) throw new DataError(`${file}: class labels need one per row, shape (n,) or (n, 1); the array has shape (${shape.join(", ")})`);
    const texts = new Set<string>();
    for (let start = 0; start < shape[0]; start += ROWS_PER_RECORD_BATCH) {
      const cells = array.labelCells(start, Math.min(ROWS_PER_RECORD_BATCH, shape[0] - start));
      cells.forEach((cell, i) => texts.add(labelText(file, "labels", start + i, cell)));
    }
    return { rows: shape[0], ...labelClasses(texts) };
  } finally {
    array.close();
  }
}

/** .npy features, and targets from a second .npy (numbers, or class labels): checked, then read row by row when iterated. */
function openNpyImport(file: string, options: ImportOptions): OpenedImport {
  if (options.features) throw new DataError(`${file}: --features names table columns; a .npy file is one array`);
  if (Array.isArray(options.targets) && options.targets.length !== 1) throw new DataError(`${file}: --targets takes one .npy file for .npy features`);
  const rows = (() => {
    const features = npyMatrix(file);
    features.close();
    return features.header.shape[0];
  })();
  const targetName = Array.isArray(options.targets) ? options.targets[0] : options.targets;
  const targetFile = targetName === undefined ? undefined : resolve(targetName);
  let labels: ReturnType<typeof npyLabels>;
  if (targetName !== undefined && targetFile !== undefined) {
    if (extname(targetName) !== ".npy") throw new DataError(`${file}: --targets for .npy features must be a .npy file, got '${targetName}'`);
    if (sameFile(file, targetFile)) throw new DataError(`${file}: --targets ${targetName} is the features' own file; the targets would be a copy of the features`);
    labels = npyLabels(targetFile, options.labels === true);
    if (labels && labels.rows !== rows) throw new DataError(`${targetFile}: ${labels.rows} class labels for the ${rows} rows of ${file}`);
    if (!labels) {
      const targets = npyMatrix(targetFile);
      targets.close();
      if (targets.header.shape[0] !== rows) throw new DataError(`${targetFile}: ${targets.header.shape[0]} rows of targets for the ${rows} rows of ${file}`);
    }
  }
  return {
    rows,
    async *batches() {
      const features = npyMatrix(file);
      const targets = targetFile === undefined ? undefined : labels ? NpyFile.open(targetFile) : npyMatrix(targetFile);
      const batchOf = (array: NpyFile) => (array.header.dtype === "u1" ? new Uint8Array(ROWS_PER_RECORD_BATCH * array.width) : new Float32Array(ROWS_PER_RECORD_BATCH * array.width));
      const featureValues = batchOf(features);
      const targetValues = targets && !labels ? batchOf(targets) : undefined;
      try {
        const pieces = async function* () {
          for (let start = 0; start < rows; start += ROWS_PER_RECORD_BATCH) {
            const n = Math.min(ROWS_PER_RECORD_BATCH, rows - start);
            yield {
              features: () => ({ values: features.matrixRows(start, n, featureValues), width: features.width }),
              targets: !targets ? undefined
                : labels ? () => ({ values: labelValues(targetFile!, "labels", targets.labelCells(start, n), start, labels!.index), width: 1, classNames: labels!.names })
                : () => ({ values: targets.matrixRows(start, n, targetValues), width: targets.width }),
            };
          }
        };
        yield* checkedBatches(pieces());
      } finally {
        features.close();
        targets?.close();
      }
    },
  };
}

/** Checks FILE.csv, FILE.parquet or FILE.npy and the options, and surveys its targets; reads nothing more until iterated. */
async function openImport(path: string, options: ImportOptions): Promise<OpenedImport> {
  const file = resolve(path);
  if (!existsSync(file)) throw new DataError(`${file}: no such file`);
  switch (extname(file).toLowerCase()) {
    case ".csv":
      return openTable(file, await csvSource(file), options);
    case ".parquet":
    case ".pq":
      return openTable(file, await parquetSource(file), options);
    case ".npy":
      return openNpyImport(file, options);
    default:
      throw new DataError(`${file}: unknown format '${extname(file)}'; prep import reads .csv, .parquet and .npy`);
  }
}

/** Reads FILE.csv, FILE.parquet or FILE.npy into feature and target matrices (the whole table in memory). */
export async function importTable(path: string, options: ImportOptions = {}): Promise<Imported> {
  const opened = await openImport(path, options);
  let features: Matrix | undefined;
  let targets: Matrix | undefined;
  let at = 0;
  // Each batch is copied into place before the next is read (their arrays may be reused).
  const into = (whole: Matrix | undefined, part: Matrix): Matrix => {
    const values = whole?.values ?? (part.values instanceof Uint8Array ? new Uint8Array(opened.rows * part.width) : new Float32Array(opened.rows * part.width));
    values.set(part.values, at * part.width);
    return { values, width: part.width, ...(part.classNames ? { classNames: part.classNames } : {}) };
  };
  for await (const batch of opened.batches()) {
    features = into(features, batch.features);
    if (batch.targets) targets = into(targets, batch.targets);
    at += batch.features.values.length / batch.features.width;
  }
  return { features: features!, targets, rows: opened.rows, ...(targets?.classNames ? { classNames: targets.classNames } : {}) };
}

/** The Arrow file's bytes for an imported table (columns 'features' and 'targets'). */
export async function importToArrow(path: string, options: ImportOptions = {}): Promise<{ bytes: Uint8Array; imported: Imported }> {
  const imported = await importTable(path, options);
  return { bytes: encodeTable(imported.features, imported.targets, { source: resolve(path) }), imported };
}

/**
 * Writes the Arrow file of FILE.csv, FILE.parquet or FILE.npy to `out` record batch by record batch
 * (writeTableAtomically: nothing is left at `out` when a value is refused); what it wrote.
 */
export async function importToFile(path: string, out: string, options: ImportOptions = {}): Promise<ImportSummary> {
  const opened = await openImport(path, options);
  let summary: ImportSummary | undefined;
  const noted = async function* () {
    for await (const batch of opened.batches()) {
      summary ??= { rows: opened.rows, features: batch.features.width, targets: batch.targets?.width, classNames: batch.targets?.classNames };
      yield batch;
    }
  };
  await writeTableAtomically(out, noted(), { source: resolve(path) });
  return summary!;
}
