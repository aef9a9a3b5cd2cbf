// Reader for numeric matrices in a MATLAB level-5 MAT-file (MathWorks, "MAT-File Format", 2013):
// a 128-byte header (text, subsystem offset, version 0x0100, endian indicator 'IM' for little-endian),
// then data elements, each an 8-byte tag (type, byte count) — or a 4-byte "small element" tag when
// the upper 16 bits of the type are non-zero — followed by its data padded to 8 bytes.
// miCOMPRESSED elements hold one zlib-compressed element; miMATRIX elements hold array flags,
// dimensions, the name and the real part (column-major).
import { existsSync, readFileSync } from "node:fs";
import { inflateSync } from "node:zlib";
import { DataError } from "../src/data/data-error.ts";

const MI_INT8 = 1, MI_UINT8 = 2, MI_INT16 = 3, MI_UINT16 = 4, MI_INT32 = 5, MI_UINT32 = 6, MI_SINGLE = 7, MI_DOUBLE = 9;
const MI_MATRIX = 14, MI_COMPRESSED = 15;

export interface MatMatrix {
  name: string;
  /** MATLAB dimensions, e.g. [4096, 400]; `values` is column-major. */
  dims: number[];
  values: Float64Array;
}

interface Element {
  type: number;
  data: Uint8Array;
  next: number;
}

function readElement(file: string, bytes: Uint8Array, at: number): Element {
  if (at + 8 > bytes.length) throw new DataError(`${file}: MAT-file truncated (element tag at byte ${at})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, 8);
  const first = view.getUint32(0, true);
  if (first >>> 16 !== 0) {
    const size = first >>> 16;
    if (size > 4) throw new DataError(`${file}: MAT-file corrupt (small element of ${size} bytes at byte ${at})`);
    return { type: first & 0xffff, data: bytes.subarray(at + 4, at + 4 + size), next: at + 8 };
  }
  const size = view.getUint32(4, true);
  if (at + 8 + size > bytes.length) throw new DataError(`${file}: MAT-file truncated (element at byte ${at} needs ${size} bytes)`);
  const padded = first === MI_COMPRESSED ? size : Math.ceil(size / 8) * 8;
  return { type: first, data: bytes.subarray(at + 8, at + 8 + size), next: at + 8 + padded };
}

function numericValues(file: string, type: number, data: Uint8Array): Float64Array {
  const copy = data.slice();
  const arrays: Record<number, () => ArrayLike<number>> = {
    [MI_INT8]: () => new Int8Array(copy.buffer),
    [MI_UINT8]: () => copy,
    [MI_INT16]: () => new Int16Array(copy.buffer),
    [MI_UINT16]: () => new Uint16Array(copy.buffer),
    [MI_INT32]: () => new Int32Array(copy.buffer),
    [MI_UINT32]: () => new Uint32Array(copy.buffer),
    [MI_SINGLE]: () => new Float32Array(copy.buffer),
    [MI_DOUBLE]: () => new Float64Array(copy.buffer),
  };
  const make = arrays[type];
  if (!make) throw new DataError(`${file}: MAT-file matrix data of type ${type} is not supported`);
  return Float64Array.from(make());
}

function readMatrix(file: string, bytes: Uint8Array): MatMatrix {
  const flags = readElement(file, bytes, 0);
  const dimsElement = readElement(file, bytes, flags.next);
  const nameElement = readElement(file, bytes, dimsElement.next);
  const real = readElement(file, bytes, nameElement.next);
  if (dimsElement.type !== MI_INT32) throw new DataError(`${file}: MAT-file matrix dimensions have type ${dimsElement.type}, expected miINT32`);
  const dimsData = dimsElement.data.slice();
  const dims = Array.from(new Int32Array(dimsData.buffer));
  const name = new TextDecoder().decode(nameElement.data);
  const values = numericValues(file, real.type, real.data);
  const size = dims.reduce((a, b) => a * b, 1);
  if (values.length !== size) throw new DataError(`${file}: MAT-file variable '${name}' holds ${values.length} values for dimensions ${dims.join("×")}`);
  return { name, dims, values };
}

/** Every numeric matrix variable of a level-5 MAT-file, by name. */
export function readMatFile(file: string): Map<string, MatMatrix> {
  if (!existsSync(file)) throw new DataError(`${file}: no such file`);
  const bytes = new Uint8Array(readFileSync(file));
  if (bytes.length < 128) throw new DataError(`${file}: not a MAT-file (${bytes.length} bytes, shorter than the 128-byte header)`);
  const header = new TextDecoder("latin1").decode(bytes.subarray(0, 116));
  if (!header.startsWith("MATLAB 5.0 MAT-file")) throw new DataError(`${file}: not a MATLAB level-5 MAT-file (header '${header.slice(0, 20)}')`);
  if (bytes[126] !== 0x49 || bytes[127] !== 0x4d) throw new DataError(`${file}: big-endian MAT-files are not supported`);
  const variables = new Map<string, MatMatrix>();
  let at = 128;
  while (at < bytes.length) {
    const element = readElement(file, bytes, at);
    let inner = element;
    if (element.type === MI_COMPRESSED) {
      let inflated: Uint8Array;
      try {
        inflated = new Uint8Array(inflateSync(element.data));
      } catch (error) {
        throw new DataError(`${file}: MAT-file compressed element at byte ${at} is corrupt: ${(error as Error).message}`);
      }
      inner = readElement(file, inflated, 0);
    }
    if (inner.type === MI_MATRIX) {
      const matrix = readMatrix(file, inner.data);
      variables.set(matrix.name, matrix);
    }
    at = element.next;
  }
  return variables;
}
