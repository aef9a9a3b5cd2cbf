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

const isOffset = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * Reads a safetensors file of float32 tensors. The header is checked in shape as the reference
 * implementation checks it: a JSON object whose entries each have a dtype, a shape of whole numbers
 * and data_offsets [begin, end] of whole numbers that hold exactly the shape's bytes, the tensors
 * tiling the data section without gaps or overlaps; metadata values are strings. Anything else is
 * a SafetensorsError naming the file and the entry.
 */
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
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw new SafetensorsError(path, "the header is not valid JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new SafetensorsError(path, "the header is not a JSON object");
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const { __metadata__: rawMetadata, ...entries } = header as Record<string, unknown>;
  if (rawMetadata !== undefined && (typeof rawMetadata !== "object" || rawMetadata === null || Array.isArray(rawMetadata) || Object.values(rawMetadata).some((v) => typeof v !== "string"))) {
    throw new SafetensorsError(path, "__metadata__ is not an object of strings");
  }
  const metadata = (rawMetadata ?? {}) as Record<string, string>;
  const spans: { name: string; begin: number; end: number; shape: number[] }[] = [];
  for (const [name, entry] of Object.entries(entries)) {
    const bad = (problem: string) => new SafetensorsError(path, `tensor '${name}' ${problem}`);
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw bad("has a header entry that is not an object");
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (dtype !== "F32") throw bad(`has dtype ${JSON.stringify(dtype)}; only F32 is supported`);
    if (!Array.isArray(shape) || !shape.every(isOffset)) throw bad(`has shape ${JSON.stringify(shape)}, not a list of whole numbers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isOffset) || offsets[0] > offsets[1]) {
      throw bad(`has data_offsets ${JSON.stringify(offsets)}, not [begin, end] with whole numbers 0 ≤ begin ≤ end`);
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const [begin, end] = offsets as number[];
    if (end - begin !== 4 * count) throw bad(`has data_offsets [${begin}, ${end}] holding ${end - begin} bytes; its shape [${shape}] needs ${4 * count} (corrupt)`);
    if (end > dataLength) throw bad(`does not fit the file: it ends at byte ${end} of a ${dataLength}-byte data section (truncated or corrupt)`);
    spans.push({ name, begin, end, shape: shape as number[] });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const span of spans) {
    if (span.begin < covered) throw new SafetensorsError(path, `tensor '${span.name}' overlaps another tensor's bytes (corrupt)`);
    if (span.begin > covered) throw new SafetensorsError(path, `bytes ${covered} to ${span.begin} of the data section belong to no tensor (corrupt)`);
    covered = span.end;
  }
  if (covered !== dataLength) throw new SafetensorsError(path, `the data section has ${dataLength - covered} bytes past the last tensor (corrupt)`);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const { name, begin, end, shape } of spans) {
    const copy = new Uint8Array(end - begin);
    copy.set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { shape, data: new Float32Array(copy.buffer) });
  }
  return { tensors, metadata };
}
