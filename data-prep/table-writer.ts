// Encodes a feature matrix (and optionally a target matrix) as an Arrow IPC file the trainer reads
// with --data: column 'features' is FixedSizeList<Uint8|Float32|Float64>[width]; column 'targets'
// is the same kind of list, or one Float32/Float64 per row when it has width 1. Class indices carry
// their names in the target field's metadata, "classes": a JSON list (CLASSES_METADATA).
// tableSchema and tableBatch are shared by encodeTable (one table in memory) and the streaming
// writer (arrow-writer.ts writeTableAtomically), so both write the same bytes.
import { Field, FixedSizeList, Float32, Float64, RecordBatch, Schema, Struct, Table, Uint8, makeData, tableToIPC, type DataType } from "apache-arrow";
import { CLASSES_METADATA, ROWS_PER_RECORD_BATCH } from "../src/data/schema.ts";

export const FEATURES_COLUMN = "features";
export const TARGETS_COLUMN = "targets";

export interface Matrix {
  /** rows × width values, row-major. */
  values: Uint8Array | Float32Array | Float64Array;
  width: number;
  /** Class indices 0 … K−1 (width 1): the name of each class. */
  classNames?: string[];
}

/** Some rows of the features and, when there are any, of the targets. */
export interface TableRows {
  features: Matrix;
  targets?: Matrix;
}

function elementType(values: Matrix["values"]): DataType {
  return values instanceof Uint8Array ? new Uint8() : values instanceof Float64Array ? new Float64() : new Float32();
}

/** The column's type: a fixed-size list of its elements, or one element per row for targets of width 1. */
function columnType(matrix: Matrix, list: boolean): DataType {
  return list ? new FixedSizeList(matrix.width, new Field("value", elementType(matrix.values), false)) : elementType(matrix.values);
}

/** The schema of a table with these columns (element types, widths and class names from the matrices; any number of rows). */
export function tableSchema({ features, targets }: TableRows, metadata: Record<string, string> = {}): Schema {
  const columns: [string, Matrix, boolean][] = [[FEATURES_COLUMN, features, true]];
  if (targets) columns.push([TARGETS_COLUMN, targets, targets.width > 1]);
  const fields = columns.map(([name, matrix, list]) =>
    new Field(name, columnType(matrix, list), false, matrix.classNames ? new Map([[CLASSES_METADATA, JSON.stringify(matrix.classNames)]]) : undefined),
  );
  return new Schema(fields, new Map(Object.entries(metadata)));
}

/** One record batch of `schema` holding all of `rows` (their values are shared, not copied). */
export function tableBatch(schema: Schema, rows: TableRows): RecordBatch {
  const n = rows.features.values.length / rows.features.width;
  const matrices = [rows.features, rows.targets].slice(0, schema.fields.length) as Matrix[];
  const children = matrices.map((matrix, i) => {
    const type = schema.fields[i].type as DataType;
    const values = makeData({ type: elementType(matrix.values), length: n * matrix.width, data: matrix.values } as never);
    return type instanceof FixedSizeList ? makeData({ type, length: n, nullCount: 0, child: values }) : values;
  });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: children as never }));
}

/** The bytes of an Arrow IPC file holding `features` (and `targets`), in record batches of 1,000 rows. */
export function encodeTable(features: Matrix, targets?: Matrix, metadata: Record<string, string> = {}): Uint8Array {
  const rows = features.values.length / features.width;
  if (!Number.isInteger(rows) || rows <= 0) throw new Error(`${features.values.length} feature values are not a positive multiple of the width ${features.width}`);
  if (targets && targets.values.length !== rows * targets.width) throw new Error(`${targets.values.length} target values for ${rows} rows of width ${targets.width}`);
  const schema = tableSchema({ features, targets }, metadata);
  const batches: RecordBatch[] = [];
  for (let start = 0; start < rows; start += ROWS_PER_RECORD_BATCH) {
    const end = Math.min(rows, start + ROWS_PER_RECORD_BATCH);
    const slice = (m: Matrix): Matrix => ({ ...m, values: m.values.subarray(start * m.width, end * m.width) });
    batches.push(tableBatch(schema, { features: slice(features), targets: targets && slice(targets) }));
  }
  return tableToIPC(new Table(schema, batches), "file");
}
