// The column types a dataset file may use, and their conversion into float32 rows.
//
// Features are a FixedSizeList of Uint8, Float32 or Float64; targets the same, or one number per
// row (any integer or float type). Uint8 lists are images: byte v means v/255 (exact table below).
// Everything else is taken as it is, rounded to float32.
import { DataType, Precision } from "apache-arrow";

export type NumericValues =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | BigUint64Array | BigInt64Array | Float32Array | Float64Array;

/** How one column's values become float32: `scale255` for Uint8 lists (v ↦ v/255). */
export interface ColumnLayout {
  name: string;
  /** Values per row: the list size, or 1 for a scalar column. */
  width: number;
  /** e.g. "FixedSizeList<Float64>[8]" or "Int64", for messages. */
  type: string;
  scale255: boolean;
  isFloat: boolean;
  /** A target column of class indices 0 … K−1: the name of each class (its field's "classes" metadata). */
  classNames?: readonly string[];
}

// byte v ↦ v/255 as float32
export const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

const isUint8 = (type: DataType) => DataType.isInt(type) && type.bitWidth === 8 && !type.isSigned;
/** Float32 or Float64 (Float16 is not taken). */
const isFloat = (type: DataType) => DataType.isFloat(type) && type.precision !== Precision.HALF;

/** A FixedSizeList<Uint8|Float32|Float64> column's layout, or undefined when the type is not one. */
export function listLayout(name: string, type: DataType): ColumnLayout | undefined {
  if (!DataType.isFixedSizeList(type)) return undefined;
  const element = type.children[0].type;
  if (!isUint8(element) && !isFloat(element)) return undefined;
  return { name, width: type.listSize, type: String(type), scale255: isUint8(element), isFloat: isFloat(element) };
}

/** A target column: a feature-like list, or one integer or float per row. */
export function targetLayout(name: string, type: DataType): ColumnLayout | undefined {
  const list = listLayout(name, type);
  if (list) return list;
  if (!DataType.isInt(type) && !isFloat(type)) return undefined;
  return { name, width: 1, type: String(type), scale255: false, isFloat: isFloat(type) };
}

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The first value of `values` that is NaN, infinite, or (Float64) too large for float32, as
 * [index, value]; undefined when all are finite in float32.
 */
export function firstNonFinite(values: NumericValues): [number, number] | undefined {
  if (values instanceof Float32Array) {
    // Every finite float32 is in range: only NaN and ±∞ have all eight exponent bits set.
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < bits.length; i++) if ((bits[i] & 0x7f800000) === 0x7f800000) return [i, values[i]];
    return undefined;
  }
  if (!(values instanceof Float64Array)) return undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(Math.abs(v) <= FLOAT32_MAX)) return [i, v];
  }
  return undefined;
}

/** out[i] = float32 of values[from + i] (v/255 when scale255), for i < out.length. */
export function copyAsFloat32(values: NumericValues, from: number, scale255: boolean, out: Float32Array): void {
  const n = out.length;
  if (scale255) {
    const bytes = values as Uint8Array;
    for (let i = 0; i < n; i++) out[i] = BYTE_TO_UNIT[bytes[from + i]];
  } else if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) out[i] = Number(values[from + i]);
  } else if (values instanceof Float32Array) {
    out.set(values.subarray(from, from + n));
  } else {
    for (let i = 0; i < n; i++) out[i] = values[from + i];
  }
}
