// Reads a .npy file piece by piece with positioned reads: the header (magic "\x93NUMPY", version,
// header length, the dict of 'descr', 'fortran_order' and 'shape') once, then any rows on demand,
// so that memory holds the rows asked for and never the whole array.
//
// Accepted as npyjs reads them: descr '<' or '|' (little-endian, or byte order not applicable)
// followed by b1, i1, u1, i2, u2, i4, u4, i8, u8, f2, f4, f8, c8, c16 or U<n>, and a descr without
// an order character ("f4"); '>' and '=' are refused. `dtype` is the descr without its first
// character, as npyjs gives it.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { DataError } from "../src/data/data-error.ts";

const MAGIC = "\x93NUMPY";
/** The largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Bytes per stored element of each type code (U<n>: per code point). */
const ITEM_SIZE: Record<string, number> = { b1: 1, i1: 1, u1: 1, i2: 2, u2: 2, f2: 2, i4: 4, u4: 4, f4: 4, c8: 4, i8: 8, u8: 8, f8: 8, c16: 8 };

export interface NpyHeader {
  /** The descr after its byte-order character ("f4", "u1", "U5"). */
  dtype: string;
  fortranOrder: boolean;
  shape: number[];
  /** Where the data starts, in bytes. */
  dataOffset: number;
  /** The type code the data is read as ("f4", "U5") and its bytes per element (per code point for U). */
  code: string;
  itemSize: number;
  /** Elements (code points for U) the file holds after the header. */
  stored: number;
}

/** An error of a file that is not a .npy file this reader can read, as one line naming it. */
function unreadable(file: string, why: string): DataError {
  return new DataError(`${file}: not a readable .npy file: ${why}`);
}

/** Reads up to `length` bytes at `position` into `bytes` (a new buffer by default); shorter at the end of the file. */
function readAt(fd: number, position: number, length: number, bytes = new Uint8Array(length)): Uint8Array {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, bytes, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return bytes.subarray(0, got);
}

/** The header of the .npy file open as `fd` of `size` bytes. */
function parseHeader(file: string, fd: number, size: number): NpyHeader {
  const lead = readAt(fd, 0, 12);
  if (lead.length < 6) throw unreadable(file, "Out of bounds access");
  if (String.fromCharCode(...lead.subarray(0, 6)) !== MAGIC) throw unreadable(file, "Not an .npy file");
  const major = lead[6];
  const start = major <= 1 ? 10 : 12;
  if (lead.length < start) throw unreadable(file, "Out of bounds access");
  const view = new DataView(lead.buffer, lead.byteOffset, lead.byteLength);
  const length = major <= 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerBytes = readAt(fd, start, length);
  if (headerBytes.length < length) throw unreadable(file, "Out of bounds access");
  const dict = new TextDecoder("latin1").decode(headerBytes).trim();
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(dict)?.[1];
  if (!descr) throw unreadable(file, "Malformed .npy header");
  const fortranOrder = /'fortran_order'\s*:\s*(True|False)/.exec(dict)?.[1] === "True";
  const dims = /'shape'\s*:\s*\(([^)]*)\)/.exec(dict)?.[1] ?? "";
  const shape = dims.split(",").map((d) => d.trim()).filter((d) => d !== "").map(Number);
  const code = descr.startsWith("<") || descr.startsWith("|") ? descr.slice(1) : descr;
  const itemSize = /^U\d+$/.test(code) ? 4 : ITEM_SIZE[code];
  if (itemSize === undefined) throw unreadable(file, `Unsupported dtype: ${descr}`);
  const dataOffset = start + length;
  if (dataOffset % itemSize !== 0) throw unreadable(file, "byteOffset modulo TypedArray.BYTES_PER_ELEMENT must be 0");
  if (dataOffset > size || (size - dataOffset) % itemSize !== 0) throw unreadable(file, "ArrayBuffer length minus the byteOffset is not a multiple of the element size");
  return { dtype: descr.slice(1), fortranOrder, shape, dataOffset, code, itemSize, stored: (size - dataOffset) / itemSize };
}

/** An IEEE half-precision number's value. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/** The elements of `bytes` (aligned for the type) as numbers, bigints or booleans of type `code`. */
function elements(code: string, bytes: Uint8Array): ArrayLike<number | bigint | boolean> {
  const buffer = bytes.buffer as ArrayBuffer;
  const n = bytes.byteLength / ITEM_SIZE[code];
  switch (code) {
    case "b1":
      return Array.from(bytes, (b) => b !== 0);
    case "i1":
      return new Int8Array(buffer, bytes.byteOffset, n);
    case "u1":
      return bytes;
    case "i2":
      return new Int16Array(buffer, bytes.byteOffset, n);
    case "u2":
      return new Uint16Array(buffer, bytes.byteOffset, n);
    case "f2":
      return Float64Array.from(new Uint16Array(buffer, bytes.byteOffset, n), halfToNumber);
    case "i4":
      return new Int32Array(buffer, bytes.byteOffset, n);
    case "u4":
      return new Uint32Array(buffer, bytes.byteOffset, n);
    case "f4":
      return new Float32Array(buffer, bytes.byteOffset, n);
    case "i8":
      return new BigInt64Array(buffer, bytes.byteOffset, n);
    case "u8":
      return new BigUint64Array(buffer, bytes.byteOffset, n);
    default:
      return new Float64Array(buffer, bytes.byteOffset, n);
  }
}

/** An open .npy file: its header, and rows read on demand. */
export class NpyFile {
  readonly header: NpyHeader;
  /** Elements per row: the product of the dimensions after the first. */
  readonly width: number;
  /** Fortran order: the position among the stored columns of each column j (C order over the dimensions after the first). */
  private fortranColumns?: Float64Array;
  /** The raw bytes of the last rows read, reused from read to read. */
  private scratch = new Uint8Array(0);

  private constructor(
    readonly file: string,
    private fd: number,
  ) {
    this.header = parseHeader(file, fd, fstatSync(fd).size);
    this.width = this.header.shape.slice(1).reduce((a, b) => a * b, 1);
  }

  /** Opens `file` and reads its header; a file that is not a .npy file is one line naming it. */
  static open(file: string): NpyFile {
    const fd = openSync(file, "r");
    try {
      return new NpyFile(file, fd);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** The raw bytes of rows [start, start + n): row-major in C order; in Fortran order column after column (column j's n values from j·n). */
  private rawRows(start: number, n: number): Uint8Array {
    const { fortranOrder, shape, itemSize, dataOffset } = this.header;
    const length = n * this.width * itemSize;
    if (this.scratch.length < length) this.scratch = new Uint8Array(length);
    if (!fortranOrder) return readAt(this.fd, dataOffset + start * this.width * itemSize, length, this.scratch.subarray(0, length));
    // Element (i₀, i₁, …) sits at i₀ + d₀(i₁ + d₁(…)): rows [start, start + n) of one column are one contiguous run.
    this.fortranColumns ??= fortranColumnStarts(shape);
    const bytes = this.scratch.subarray(0, length);
    for (let j = 0; j < this.width; j++) readAt(this.fd, dataOffset + (this.fortranColumns[j] * shape[0] + start) * itemSize, n * itemSize, bytes.subarray(j * n * itemSize, (j + 1) * n * itemSize));
    return bytes;
  }

  /** The index in the file's data of element j of row r. */
  private storedIndex(r: number, j: number): number {
    return this.header.fortranOrder ? this.fortranColumns![j] * this.header.shape[0] + r : r * this.width + j;
  }

  /**
   * Rows [start, start + n) as a row-major n × width matrix: Uint8 for a uint8 array, else Float32,
   * written into `out` when given (at least n × width values of that type), else into a new array.
   * Every value must be finite and within float32's range; the first that is not (in row order) is
   * named by row and position, as is the first value of a file too short for its shape (undefined).
   */
  matrixRows(start: number, n: number, into?: Uint8Array | Float32Array): Uint8Array | Float32Array {
    const { code, stored, fortranOrder } = this.header;
    const width = this.width;
    const bytes = this.rawRows(start, n);
    // A file cut short holds fewer values than its shape: those past its end are missing (undefined).
    const short = (start + n) * width > stored;
    const source = elements(code, bytes);
    const out = into ? into.subarray(0, n * width) : code === "u1" ? new Uint8Array(n * width) : new Float32Array(n * width);
    for (let r = 0, c = 0; r < n; r++) {
      for (let j = 0; j < width; j++, c++) {
        const x = short && this.storedIndex(start + r, j) >= stored ? undefined : source[fortranOrder ? j * n + r : c];
        const v = typeof x === "bigint" ? Number(x) : (x as number);
        if (!(Math.abs(v) <= FLOAT32_MAX)) throw new DataError(`${this.file}: row ${start + r}, value ${j}: ${v} is not a finite number within float32's range`);
        out[c] = v;
      }
    }
    return out;
  }

  /** The labels of rows [start, start + n) of a one-per-row array: strings (U<n>), numbers, bigints (8-byte integers) or booleans (b1). */
  labelCells(start: number, n: number): (string | number | bigint | boolean)[] {
    const { code, itemSize, dataOffset, shape } = this.header;
    const per = /^U\d+$/.test(code) ? Number(code.slice(1)) : 1;
    const width = this.width * per;
    const bytes = readAt(this.fd, dataOffset + start * width * itemSize, n * width * itemSize);
    if (bytes.length < n * width * itemSize) throw unreadable(this.file, `the data ends before row ${start + Math.floor(bytes.length / (width * itemSize))} of the ${shape[0]} rows the shape (${shape.join(", ")}) gives`);
    if (per === 1) return Array.from(elements(code, bytes));
    const points = new Uint32Array(bytes.buffer as ArrayBuffer, 0, n * width);
    return Array.from({ length: n }, (_, r) => {
      let text = "";
      for (let k = r * width; k < r * width + per; k++) {
        if (points[k] > 0x10ffff) throw unreadable(this.file, `Invalid code point ${points[k]}`);
        if (points[k] !== 0) text += String.fromCodePoint(points[k]);
      }
      return text;
    });
  }
}

/** For each column j of a Fortran-order array (C order over the dimensions after the first), its index among the columns as stored. */
function fortranColumnStarts(shape: number[]): Float64Array {
  const dims = shape.slice(1);
  const width = dims.reduce((a, b) => a * b, 1);
  const starts = new Float64Array(width);
  const index = new Array<number>(dims.length).fill(0);
  for (let j = 0; j < width; j++) {
    let stored = 0;
    for (let k = dims.length - 1; k >= 0; k--) stored = stored * dims[k] + index[k];
    starts[j] = stored;
    for (let k = dims.length - 1; k >= 0; k--) {
      if (++index[k] < dims[k]) break;
      index[k] = 0;
    }
  }
  return starts;
}
