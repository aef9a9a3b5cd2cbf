// Encodes a feature matrix (and optionally a target matrix) as an Arrow IPC file the trainer reads
// with --data: column 'features' is FixedSizeList<Uint8|Float32|Float64>[width]; column 'targets'
// is the same kind of list, or one Float32/Float64 per row when it has width 1. Class indices carry
// their names in the target field's metadata, "classes": a JSON list (CLASSES_METADATA).
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

function elementType(values: Matrix["values"]): DataType {
  return values instanceof Uint8Array ? new Uint8() : values instanceof Float64Array ? new Float64() : new Float32();
}

/** The bytes of an Arrow IPC file holding `features` (and `targets`), in record batches of 1,000 rows. */
export function encodeTable(features: Matrix, targets?: Matrix, metadata: Record<string, string> = {}): Uint8Array {
  const rows = features.values.length / features.width;
  if (!Number.isInteger(rows) || rows <= 0) throw new Error(`${features.values.length} feature values are not a positive multiple of the width ${features.width}`);
  if (targets && targets.values.length !== rows * targets.width) throw new Error(`${targets.values.length} target values for ${rows} rows of width ${targets.width}`);
  const columns = [{ name: FEATURES_COLUMN, matrix: features, list: true }];
  if (targets) columns.push({ name: TARGETS_COLUMN, matrix: targets, list: targets.width > 1 });
  const types = columns.map(({ matrix, list }) => {
    const element = elementType(matrix.values);
    return list ? new FixedSizeList(matrix.width, new Field("value", element, false)) : element;
  });
  const fields = columns.map(({ name, matrix }, i) =>
    new Field(name, types[i], false, matrix.classNames ? new Map([[CLASSES_METADATA, JSON.stringify(matrix.classNames)]]) : undefined),
  );
  const schema = new Schema(fields, new Map(Object.entries(metadata)));
  const batches: RecordBatch[] = [];
  for (let start = 0; start < rows; start += ROWS_PER_RECORD_BATCH) {
    const n = Math.min(ROWS_PER_RECORD_BATCH, rows - start);
    const children = columns.map(({ matrix, list }, i) => {
      const data = matrix.values.subarray(start * matrix.width, (start + n) * matrix.width);
      const element = elementType(matrix.values);
      const values = makeData({ type: element, length: n * matrix.width, data } as never);
      return list ? makeData({ type: types[i] as FixedSizeList, length: n, nullCount: 0, child: values }) : values;
    });
    batches.push(new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children: children as never })));
  }
  return tableToIPC(new Table(schema, batches), "file");
}
