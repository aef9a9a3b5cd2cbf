// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
// mapping each tensor name to {dtype, shape, data_offsets} plus an optional "__metadata__" of
// string values, then the raw little-endian tensor bytes. No npm package for it is maintained, and
// the format is a page long, so it is written here; tests read our files with an independent reader.
import { ExpectedError } from "../errors.ts";
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "./atomicWrite.ts";

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export class SafetensorsError extends ExpectedError {
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
  }
}

/** Writes float32 tensors and string metadata atomically. */
export function writeSafetensors(path: string, tensors: NamedTensor[], metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** The bytes of a safetensors file of float32 tensors and string metadata. */
export function encodeSafetensors(tensors: NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length) throw new Error(`safetensors: tensor '${t.name}' has ${t.data.length} values for shape [${t.shape}]`);
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + json.length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), position);
    position += t.data.byteLength;
  }
  return out;
}

export interface SafetensorsFile {
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  metadata: Record<string, string>;
}

/** Reads a safetensors file of float32 tensors, checking the header against the file size. */
export function readSafetensors(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new SafetensorsError(path, `cannot read (${(error as Error).message})`);
  }
  if (bytes.length < 8) throw new SafetensorsError(path, "too short for a safetensors header");
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  if (8 + headerLength > bytes.length) throw new SafetensorsError(path, "truncated: the header runs past the end of the file");
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw new SafetensorsError(path, "the header is not valid JSON");
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const metadata = (header.__metadata__ ?? {}) as unknown as Record<string, string>;
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (entry.dtype !== "F32") throw new SafetensorsError(path, `tensor '${name}' has dtype ${entry.dtype}; only F32 is supported`);
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== 4 * count || dataStart + end > bytes.length) {
      throw new SafetensorsError(path, `tensor '${name}' does not fit the file (truncated or corrupt)`);
    }
    const copy = new Uint8Array(end - begin);
    copy.set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { shape: entry.shape, data: new Float32Array(copy.buffer) });
  }
  return { tensors, metadata };
}
