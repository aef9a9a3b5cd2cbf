// Checks the frame of an Arrow IPC file (footer, blocks, message prefixes and the flatbuffer vector
// lengths in them) against the file's size before apache-arrow decodes it. apache-arrow trusts these
// numbers: a corrupt count makes it decode millions of phantom entries (minutes of CPU), and reads
// past a flatbuffer's end return zeros instead of failing. Every check that fails names the problem;
// the caller adds the file.
import { ByteBuffer } from "flatbuffers";
import { Footer } from "apache-arrow/fb/footer";
import { Message } from "apache-arrow/fb/message";
import { MessageHeader } from "apache-arrow/fb/message-header";
import { RecordBatch } from "apache-arrow/fb/record-batch";
import type { Field } from "apache-arrow/fb/field";

export const ARROW_MAGIC = "ARROW1";
/** Bytes after the footer: its int32 length and the closing magic. */
const FOOTER_TRAILER = 4 + ARROW_MAGIC.length;
/** The opening magic padded to 8 bytes, before the first message. */
export const HEADER_BYTES = 8;
/** Smallest flatbuffer table reference: a 4-byte offset. */
const OFFSET_BYTES = 4;
/** Arrow's Block, FieldNode and Buffer structs. */
const BLOCK_BYTES = 24;
const FIELD_NODE_BYTES = 16;
const BUFFER_BYTES = 16;
/** Dataset files nest two levels (a list of values); deeper schemas are refused. */
const MAX_FIELD_DEPTH = 4;

/** The message is a whole phrase ("corrupt Arrow IPC file: ..."); the caller puts the file before it. */
export class ArrowFrameError extends Error {
  constructor(problem: string, prefix = "corrupt Arrow IPC file: ") {
    super(`${prefix}${problem}`);
  }
}

function hasMagicAt(bytes: Uint8Array, at: number): boolean {
  if (at < 0 || at + ARROW_MAGIC.length > bytes.length) return false;
  for (let i = 0; i < ARROW_MAGIC.length; i++) if (bytes[at + i] !== ARROW_MAGIC.charCodeAt(i)) return false;
  return true;
}

function root(bytes: Uint8Array, what: string): ByteBuffer {
  if (bytes.length < 2 * OFFSET_BYTES) throw new ArrowFrameError(`${what} is ${bytes.length} bytes long`);
  const bb = new ByteBuffer(bytes);
  const table = bb.readUint32(0);
  if (table + OFFSET_BYTES > bytes.length) throw new ArrowFrameError(`${what} points outside itself`);
  const vtable = table - bb.readInt32(table);
  if (vtable < 0 || vtable + OFFSET_BYTES > bytes.length || vtable + bb.readUint16(vtable) > bytes.length) {
    throw new ArrowFrameError(`${what} has a table layout outside itself`);
  }
  return bb;
}

function checkCount(count: number, bytes: number, each: number, what: string): void {
  if (!(count >= 0 && count * each <= bytes)) throw new ArrowFrameError(`${what} count ${count} does not fit in ${bytes} bytes`);
}

function checkField(field: Field | null, size: number, depth: number): void {
  if (!field) throw new ArrowFrameError("a schema field is missing");
  if (depth > MAX_FIELD_DEPTH) throw new ArrowFrameError(`the schema nests deeper than ${MAX_FIELD_DEPTH} levels`);
  checkCount(field.childrenLength(), size, OFFSET_BYTES, "field children");
  checkCount(field.customMetadataLength(), size, OFFSET_BYTES, "field metadata");
  for (let i = 0; i < field.childrenLength(); i++) checkField(field.children(i), size, depth + 1);
}

/** Bytes of a file by position: the whole file in memory, or positioned reads (a short read throws ArrowFrameError). */
export interface ByteSource {
  size: number;
  read(offset: number, length: number): Uint8Array;
}

export function memorySource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

export interface ArrowFrame {
  /** Where the footer begins; every block ends at or before it. */
  footerStart: number;
  recordBatches: number;
}

/** Checks the magic at both ends, the footer and its schema's vector lengths; returns the footer's bytes too. */
export function checkFooter(source: ByteSource): ArrowFrame & { footerBytes: Uint8Array } {
  const size = source.size;
  if (!hasMagicAt(source.read(0, Math.min(size, ARROW_MAGIC.length)), 0)) throw new ArrowFrameError(`not an Arrow IPC file (it does not start with '${ARROW_MAGIC}')`, "");
  const trailer = size >= HEADER_BYTES + FOOTER_TRAILER ? source.read(size - FOOTER_TRAILER, FOOTER_TRAILER) : new Uint8Array(0);
  if (size < HEADER_BYTES + FOOTER_TRAILER || !hasMagicAt(trailer, 4)) {
    throw new ArrowFrameError(`truncated Arrow IPC file (${size} bytes, no '${ARROW_MAGIC}' footer at the end)`, "");
  }
  const footerLength = new DataView(trailer.buffer, trailer.byteOffset, trailer.byteLength).getInt32(0, true);
  const footerStart = size - FOOTER_TRAILER - footerLength;
  if (!(footerLength > 0 && footerStart >= HEADER_BYTES)) throw new ArrowFrameError(`the footer length ${footerLength} does not fit in ${size} bytes`);
  const footerBytes = source.read(footerStart, footerLength);
  const footer = Footer.getRootAsFooter(root(footerBytes, "the footer"));
  checkCount(footer.recordBatchesLength(), footerLength, BLOCK_BYTES, "record batch");
  checkCount(footer.dictionariesLength(), footerLength, BLOCK_BYTES, "dictionary batch");
  checkCount(footer.customMetadataLength(), footerLength, OFFSET_BYTES, "footer metadata");
  const schema = footer.schema();
  if (!schema) throw new ArrowFrameError("the footer has no schema");
  checkCount(schema.fieldsLength(), footerLength, OFFSET_BYTES, "schema field");
  checkCount(schema.customMetadataLength(), footerLength, OFFSET_BYTES, "schema metadata");
  checkCount(schema.featuresLength(), footerLength, 8, "schema feature");
  for (let i = 0; i < schema.fieldsLength(); i++) checkField(schema.fields(i), footerLength, 1);
  return { footerStart, recordBatches: footer.recordBatchesLength(), footerBytes };
}

/**
 * Checks one block (offset, metadata and body lengths from the footer) and the record-batch
 * message at its start: the continuation marker and length prefix, its type, body length and the
 * counts of its nodes and buffers.
 */
export function checkRecordBatchBlock(source: ByteSource, frame: ArrowFrame, block: { offset: number; metaDataLength: number; bodyLength: number }, index: number): RecordBatch {
  const { offset, metaDataLength, bodyLength } = block;
  const end = offset + metaDataLength + bodyLength;
  if (!(offset >= HEADER_BYTES && metaDataLength > 8 && bodyLength >= 0 && end <= frame.footerStart)) {
    throw new ArrowFrameError(`record batch ${index} lies outside the file's data`);
  }
  const metaBytes = source.read(offset, metaDataLength);
  const view = new DataView(metaBytes.buffer, metaBytes.byteOffset, metaBytes.byteLength);
  if (view.getInt32(0, true) !== -1) throw new ArrowFrameError(`record batch ${index} lacks the message marker`);
  const length = view.getInt32(4, true);
  if (!(length > 0 && 8 + length <= metaDataLength)) throw new ArrowFrameError(`record batch ${index} has a message length ${length} that does not fit its block`);
  const meta = metaBytes.subarray(8, 8 + length);
  const message = Message.getRootAsMessage(root(meta, `the message of record batch ${index}`));
  if (message.headerType() !== MessageHeader.RecordBatch) throw new ArrowFrameError(`block ${index} of the footer is not a record batch`);
  const declaredBody = Number(message.bodyLength());
  if (!(declaredBody >= 0 && declaredBody <= bodyLength)) throw new ArrowFrameError(`record batch ${index} declares a body of ${declaredBody} bytes, its block holds ${bodyLength}`);
  const batch = message.header(new RecordBatch()) as RecordBatch | null;
  if (!batch) throw new ArrowFrameError(`record batch ${index} has no header`);
  checkCount(batch.nodesLength(), length, FIELD_NODE_BYTES, `record batch ${index} node`);
  checkCount(batch.buffersLength(), length, BUFFER_BYTES, `record batch ${index} buffer`);
  checkCount(batch.variadicBufferCountsLength(), length, 8, `record batch ${index} variadic buffer`);
  for (let i = 0; i < batch.buffersLength(); i++) {
    const buffer = batch.buffers(i);
    const start = Number(buffer?.offset());
    const bytesLong = Number(buffer?.length());
    if (!(start >= 0 && bytesLong >= 0 && start + bytesLong <= declaredBody)) throw new ArrowFrameError(`buffer ${i} of record batch ${index} lies outside its body`);
  }
  return batch;
}
