// Reader for the IDX format of the MNIST files (LeCun et al.): bytes 0–1 zero, byte 2 the element
// type (0x08 = unsigned byte), byte 3 the number of dimensions, then each dimension as a big-endian
// uint32, then the elements in row-major order.
import { existsSync, readFileSync } from "node:fs";
import { DataError } from "../src/data/data-error.ts";

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export function readIdxUint8(file: string): IdxArray {
  if (!existsSync(file)) throw new DataError(`${file}: no such file (MNIST IDX source)`);
  const bytes = new Uint8Array(readFileSync(file));
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new DataError(`${file}: not an IDX file (bad magic number)`);
  if (bytes[2] !== 0x08) throw new DataError(`${file}: IDX element type 0x${bytes[2].toString(16)} is not unsigned byte (0x08)`);
  const rank = bytes[3];
  const header = 4 + 4 * rank;
  if (rank === 0 || bytes.length < header) throw new DataError(`${file}: IDX header truncated or rank ${rank} invalid`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + size) {
    throw new DataError(`${file}: IDX file is ${bytes.length} bytes but its header [${dims.join("×")}] needs ${header + size} (truncated?)`);
  }
  return { dims, data: bytes.subarray(header) };
}
