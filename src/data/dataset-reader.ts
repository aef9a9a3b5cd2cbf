// DatasetReader: a dataset file (dataset-file.ts's rules) read on demand by positioned reads on a
// file handle, never whole. Opening reads the footer and the header of each record batch (kilobytes)
// and keeps, per record batch, its first row and the file offset of each chosen column's values; a
// FixedSizeList column has rows of a fixed size, so row r of a batch starting at row s sits at
// offset + (r − s)·width·bytesPerValue. A request's reads are planned first (rows in file order,
// neighbours coalesced) and run as one batch: one io_uring submission on Linux, else one pread each
// (read-list.ts, io-uring.ts). Memory held: O(record batches) plus one scratch buffer of at
// most one request's coalesced reads, and, for a file whose chosen columns take at most CACHE_BYTES
// (the paper's datasets), those columns, read whole record batch by record batch on first use
// (docs/data.md, "Memory model").
//
// `validate` streams the whole file once in PIECE_BYTES pieces: every feature and target value is
// checked (finite; project pixels in [0, 1]) and the sha256 of the file's bytes is computed from the
// same pieces (the run's data identity, src/run/dataIdentity.ts). A process validates a file once per
// (path, inode, size, mtime); readers opened later with `expect` (the stream's workers) skip the
// pass and refuse a file whose identity differs from the one checked.
//
// A file truncated or rewritten while it is read: every read checks its byte count (a short read is
// one DataError, not a SIGBUS as a memory map would give) and fstat after the reads compares size and
// mtime with the file that was checked, so rows of a changed file are never handed out.
//
// A file whose record batches are compressed (LZ4 or ZSTD, pyarrow's write_feather default) has no
// row at a fixed offset: it is decoded once with apache-arrow's codecs (arrow-codecs.ts) and written
// again, uncompressed, into memory, and its rows are read from that copy (memory: the uncompressed
// size per reader; docs/data.md).
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readFileSync, readSync, type Stats } from "node:fs";
import { resolve } from "node:path";
import { Footer } from "apache-arrow/ipc/metadata/file";
import { MetadataVersion, Type, UnionMode, tableFromIPC, tableToIPC, type DataType, type Field } from "apache-arrow";
import type { RecordBatch as RecordBatchHeader } from "apache-arrow/fb/record-batch";
import { ArrowCodecError } from "./arrow-codecs.ts";
import { IoUring } from "./io-uring.ts";
import { type Destination, ReadList } from "./read-list.ts";
import { ArrowFrameError, type ByteSource, checkFooter, checkRecordBatchBlock } from "./arrow-frame.ts";
import { BYTE_TO_UNIT, type ColumnLayout, type NumericValues, firstNonFinite } from "./columns.ts";
import { DataError } from "./data-error.ts";
import { type ColumnChoice, type DatasetInfo, chooseColumns, existingDatasetPath, ownInfo, projectInfo } from "./dataset-file.ts";
import { LABEL_COLUMN, META } from "./schema.ts";

/** Bytes read at a time by the validation pass. */
export const PIECE_BYTES = 8 << 20;
/** Rows of a request closer than this many bytes apart are read with one call (the gap is read and dropped). */
export const COALESCE_GAP_BYTES = 8192;
/**
 * A file whose chosen columns take at most this many bytes is kept whole by each reader, record
 * batch by record batch as they are first touched (the paper's datasets: 16–65 MB): one read per
 * record batch instead of one per row. Larger files are read row by row and never held.
 */
export const CACHE_BYTES = 128 << 20;

/** What identifies the file a reader checked: a changed size or mtime means other bytes. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

type ValuesConstructor = { new (buffer: ArrayBuffer, byteOffset: number, length: number): NumericValues; BYTES_PER_ELEMENT: number };

/** One chosen column: where its values are in each record batch, and how a row of it is converted. */
interface ColumnPlan {
  layout: ColumnLayout;
  /** The typed array of its values (e.g. Float64Array), and their size in bytes. */
  Values: ValuesConstructor;
  bytesPerValue: number;
  rowBytes: number;
  /** Per record batch: the file offset of its row 0's first value. */
  offsets: number[];
  /** Raw bytes (the label column), not converted to float32. */
  raw: boolean;
}

export interface ReaderOptions {
  /** Check every value and hash the file (default true), unless this process did for this identity. */
  validate?: boolean;
  /** Refuse a file whose identity is not this one (a worker's open of a file checked elsewhere). */
  expect?: FileIdentity;
  /** Keep the chosen columns in memory when they take at most this many bytes (default CACHE_BYTES; 0: never). */
  cacheBytes?: number;
  /** How rows are read (default: io_uring where the kernel allows it, unless KFRA_NO_IO_URING=1; else pread). */
  reads?: ReadMethod;
}

/** io_uring: a request's reads in one submission; pread: one system call per read. */
export type ReadMethod = "io_uring" | "pread";

/** The environment variable that turns io_uring off (KFRA_NO_IO_URING=1): every read is then one pread. */
export const NO_IO_URING_ENV = "KFRA_NO_IO_URING";

function defaultReadMethod(): ReadMethod {
  return process.env[NO_IO_URING_ENV] === "1" ? "pread" : "io_uring";
}

/** How readers opened now read rows by positioned reads: "io_uring", or "pread (why)". */
export function describeReads(): string {
  if (defaultReadMethod() === "pread") return `pread (${NO_IO_URING_ENV}=1)`;
  const ring = IoUring.open();
  if (!ring) return `pread (${IoUring.unavailable})`;
  ring.close();
  return "io_uring";
}

/** Rows of a request, into caller's arrays: x rows·dim, labels rows, y rows·targets.width. */
export interface RowsOut {
  x: Float32Array;
  labels?: Uint8Array;
  y?: Float32Array;
}

function identityOf(stat: Stats): FileIdentity {
  return { dev: stat.dev, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs };
}

function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

function identityKey(file: string, id: FileIdentity): string {
  return `${file}\0${id.dev}\0${id.ino}\0${id.size}\0${id.mtimeMs}`;
}

/** sha256 (hex) of files validated in this process, by identityKey. */
const digests = new Map<string, string>();
/** Column choices validated in this process, by identityKey and choice. */
const validated = new Set<string>();

/** The sha256 (hex) of a file this process validated, if its identity is still the one validated. */
export function validatedDigest(path: string, stat: Stats): string | undefined {
  return digests.get(identityKey(resolve(path), identityOf(stat)));
}

/** Where a reader's bytes are: the file (positioned reads on fd), or an uncompressed copy in memory. */
interface Bytes {
  fd: number;
  memory?: Uint8Array;
}

/** Index of the record batch holding row r, given each batch's first row in ascending order (binary search). */
export function batchHolding(starts: readonly number[], r: number): number {
  let lo = 0, hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= r) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Positioned reads of `length` bytes at `offset` into `into` from byte `at`; a short read is a DataError naming the file. */
function readExactly(source: Bytes, file: string, into: Uint8Array, length: number, offset: number, at = 0): void {
  const { fd, memory } = source;
  if (memory) {
    if (offset < 0 || offset + length > memory.length) throw new DataError(`${file}: short read: ${length} bytes at offset ${offset} lie outside its ${memory.length} uncompressed bytes`);
    into.set(memory.subarray(offset, offset + length), at);
    return;
  }
  let got = 0;
  while (got < length) {
    const n = readSync(fd, into, at + got, length - got, offset + got);
    if (n === 0) {
      let now = "";
      try {
        now = `; it is ${fstatSync(fd).size} bytes now`;
      } catch {}
      throw new DataError(`${file}: short read: ${got} of ${length} bytes at offset ${offset}; the file was truncated or changed while it was read${now}`);
    }
    got += n;
  }
}

/** An aligned scratch buffer that grows to the largest read asked of it. */
class Scratch {
  bytes = new Uint8Array(0);
  get(length: number): Uint8Array {
    if (this.bytes.length < length) this.bytes = new Uint8Array(new ArrayBuffer(Math.max(length, this.bytes.length * 2)));
    return this.bytes;
  }
}

/**
 * Counts the field nodes and buffers a type takes in a record batch, in the order Arrow's IPC format
 * lists them (a depth-first walk of the schema, as apache-arrow's VectorLoader reads them).
 */
function walkType(type: DataType, at: { nodes: number; buffers: number; variadic: number }, header: RecordBatchHeader, version: MetadataVersion): void {
  at.nodes++;
  switch (type.typeId) {
    case Type.Null:
      return;
    case Type.Bool: case Type.Int: case Type.Float: case Type.Decimal: case Type.Date: case Type.Time: case Type.Timestamp:
    case Type.Interval: case Type.Duration: case Type.FixedSizeBinary: case Type.Dictionary:
      at.buffers += 2;
      return;
    case Type.Utf8: case Type.Binary: case Type.LargeUtf8: case Type.LargeBinary:
      at.buffers += 3;
      return;
    case Type.Utf8View: case Type.BinaryView:
      at.buffers += 2 + Number(header.variadicBufferCounts(at.variadic++) ?? 0);
      return;
    case Type.List: case Type.LargeList: case Type.Map:
      at.buffers += 2;
      break;
    case Type.FixedSizeList: case Type.Struct:
      at.buffers += 1;
      break;
    case Type.Union:
      if (version < MetadataVersion.V5) at.buffers += 1;
      at.buffers += (type as unknown as { mode: UnionMode }).mode === UnionMode.Dense ? 2 : 1;
      break;
    default:
      throw new ArrowFrameError(`column type ${type} is not one this reader can skip over`);
  }
  for (const child of type.children ?? []) walkType(child.type, at, header, version);
}

function plan(file: string, field: Field, layout: ColumnLayout, raw = false): ColumnPlan {
  const element = field.type.typeId === Type.FixedSizeList ? field.type.children[0].type : field.type;
  const Values = element.ArrayType as unknown as ValuesConstructor;
  const bytesPerValue = Values.BYTES_PER_ELEMENT;
  if (!bytesPerValue) throw new DataError(`${file}: column '${layout.name}' has values of no fixed size`);
  return { layout, Values, bytesPerValue, rowBytes: layout.width * bytesPerValue, offsets: [], raw };
}

const OUT: Destination = 0, SCRATCH: Destination = 1;

export class DatasetReader {
  private readonly scratch = new Scratch();
  private readonly list = new ReadList();
  /** The ring, once opened; null when this reader reads by pread. */
  private ring: IoUring | null | undefined;
  private closed = false;
  /** Per column, its bytes in each record batch once read, when the file is small enough to keep (CACHE_BYTES). */
  private readonly cache?: Map<ColumnPlan, (Uint8Array | undefined)[]>;

  private constructor(
    readonly info: DatasetInfo,
    private readonly fd: number,
    private readonly bytes: Bytes,
    /** The file as it was checked. */
    readonly identity: FileIdentity,
    /** First row of each record batch with rows (ascending), and its row count. */
    private readonly starts: number[],
    private readonly rowCounts: number[],
    private readonly features: ColumnPlan,
    private readonly labels: ColumnPlan | undefined,
    private readonly targets: ColumnPlan | undefined,
    /** sha256 (hex) of the file's bytes, when this reader validated it. */
    readonly digest: string | undefined,
    cacheBytes: number,
    private readonly readMethod: ReadMethod,
  ) {
    const columns = [features, labels, targets].filter((c): c is ColumnPlan => c !== undefined);
    const total = columns.reduce((sum, c) => sum + info.count * c.rowBytes, 0);
    if (total <= cacheBytes) this.cache = new Map(columns.map((c) => [c, new Array<Uint8Array | undefined>(starts.length)]));
  }

  /**
   * Opens `path` and reads its layout. `validate` (default true) checks every value and hashes the
   * file unless this process already did for this identity; `expect` refuses a file that is not the
   * one checked elsewhere (a worker's open).
   */
  static open(path: string, choice: ColumnChoice = {}, options: ReaderOptions = {}): DatasetReader {
    const file = existingDatasetPath(path);
    let fd: number;
    try {
      fd = openSync(file, "r");
    } catch (error) {
      throw new DataError(`${file}: cannot read (${(error as Error).message})`);
    }
    try {
      try {
        return DatasetReader.layout(file, { fd }, choice, options);
      } catch (error) {
        if (!(error instanceof CompressedBatches)) throw error;
        return DatasetReader.layout(file, { fd, memory: uncompressedCopy(file) }, choice, options);
      }
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  private static layout(file: string, bytes: Bytes, choice: ColumnChoice, options: ReaderOptions): DatasetReader {
    const { fd } = bytes;
    const identity = identityOf(fstatSync(fd));
    const size = bytes.memory?.length ?? identity.size;
    if (options.expect && !sameIdentity(identity, options.expect)) {
      throw new DataError(`${file}: the file changed after it was checked (${options.expect.size} → ${identity.size} bytes, modified ${new Date(identity.mtimeMs).toISOString()}); its rows are not the ones checked`);
    }
    const source: ByteSource = {
      size,
      read: (offset, length) => {
        if (offset < 0 || offset + length > size) throw new ArrowFrameError(`a read of ${length} bytes at ${offset} lies outside the file`);
        const into = new Uint8Array(length);
        readExactly(bytes, file, into, length, offset);
        return into;
      },
    };
    let info: DatasetInfo;
    let project: boolean;
    let said = 0;
    const starts: number[] = [], rowCounts: number[] = [];
    let features: ColumnPlan, labels: ColumnPlan | undefined, targets: ColumnPlan | undefined;
    try {
      const frame = checkFooter(source);
      const footer = Footer.decode(frame.footerBytes);
      const { schema } = footer;
      const { metadata, fields } = schema;
      if (footer.numDictionaries !== 0) throw new ArrowFrameError(`the footer lists ${footer.numDictionaries} dictionary batches; dataset files have none`);
      project = choice.features === undefined && choice.targets === undefined && metadata.has(META.dataset);
      info = project ? projectInfo(file, fields, metadata) : ownInfo(file, metadata, chooseColumns(file, fields, choice));
      const indexOf = (name: string) => fields.findIndex((f) => f.name === name);
      const columns: [number, ColumnPlan][] = [];
      const featureIndex = indexOf(info.features.name);
      features = plan(file, fields[featureIndex], info.features);
      columns.push([featureIndex, features]);
      if (info.hasLabels) {
        const labelIndex = indexOf(LABEL_COLUMN);
        labels = plan(file, fields[labelIndex], { name: LABEL_COLUMN, width: 1, type: "Uint8", scale255: false, isFloat: false }, true);
        columns.push([labelIndex, labels]);
      }
      if (info.targets) {
        const targetIndex = indexOf(info.targets.name);
        targets = plan(file, fields[targetIndex], info.targets);
        columns.push([targetIndex, targets]);
      }
      const last = Math.max(...columns.map(([i]) => i));
      let row = 0;
      for (let b = 0; b < frame.recordBatches; b++) {
        const block = footer.getRecordBatch(b);
        if (!block) throw new ArrowFrameError(`record batch ${b} is missing from the footer`);
        const header = checkRecordBatchBlock(source, frame, block, b);
        if (header.compression() !== null) throw new CompressedBatches();
        const rows = Number(header.length());
        const bodyStart = block.offset + block.metaDataLength;
        const at = { nodes: 0, buffers: 0, variadic: 0 };
        const firstOf = new Map<number, { node: number; buffer: number }>();
        for (let i = 0; i <= last; i++) {
          firstOf.set(i, { node: at.nodes, buffer: at.buffers });
          walkType(fields[i].type, at, header, schema.metadataVersion);
        }
        if (at.nodes > header.nodesLength() || at.buffers > header.buffersLength()) {
          throw new ArrowFrameError(`record batch ${b} has ${header.nodesLength()} nodes and ${header.buffersLength()} buffers, fewer than its schema needs`);
        }
        for (const [i, column] of columns) {
          const first = firstOf.get(i)!;
          const isList = fields[i].type.typeId === Type.FixedSizeList;
          const nodes = isList ? [first.node, first.node + 1] : [first.node];
          for (const n of nodes) {
            const nulls = Number(header.nodes(n)!.nullCount());
            if (nulls > 0) throw new DataError(`${file}: column '${column.layout.name}' has ${nulls} nulls in record batch ${b}`);
          }
          const node = header.nodes(first.node)!;
          if (Number(node.length()) !== rows) throw new ArrowFrameError(`column '${column.layout.name}' of record batch ${b} has ${node.length()} rows, the batch ${rows}`);
          const buffer = header.buffers(first.buffer + (isList ? 2 : 1))!;
          const need = rows * column.rowBytes;
          const values = Math.floor(Number(buffer.length()) / column.bytesPerValue);
          if (Number(buffer.length()) < need) {
            throw new DataError(`${file}: record batch ${b} is truncated (${values} of ${rows * column.layout.width} values of column '${column.layout.name}')`);
          }
          const offset = bodyStart + Number(buffer.offset());
          if (offset % column.bytesPerValue !== 0) throw new ArrowFrameError(`column '${column.layout.name}' of record batch ${b} is not aligned to its ${column.bytesPerValue}-byte values`);
          if (rows > 0) column.offsets.push(offset);
        }
        if (rows > 0) {
          starts.push(row);
          rowCounts.push(rows);
        }
        row += rows;
      }
      said = info.count;
      info = { ...info, count: row };
    } catch (error) {
      if (error instanceof DataError || error instanceof CompressedBatches) throw error;
      if (error instanceof ArrowFrameError) throw new DataError(`${file}: ${error.message}`);
      throw new DataError(`${file}: not a readable Arrow IPC file (truncated or corrupt?): ${(error as Error).message}`);
    }
    if (info.count === 0) throw new DataError(`${file}: empty dataset (0 rows)`);
    if (project) {
      if (info.count !== said) throw new DataError(`${file}: holds ${info.count} rows but the metadata says count = ${said} (truncated?)`);
    }
    const key = identityKey(file, identity);
    const checkKey = `${key}\0${info.features.name}\0${info.targets?.name ?? ""}`;
    let digest = digests.get(key);
    if (options.validate !== false && !validated.has(checkKey)) {
      digest = validateAndHash(file, bytes, size, project, [features, targets].filter((c): c is ColumnPlan => !!c && (c.layout.isFloat || c.layout.classNames !== undefined)), starts, rowCounts);
      digests.set(key, digest);
      validated.add(checkKey);
    }
    const reader = new DatasetReader(info, fd, bytes, identity, starts, rowCounts, features, labels, targets, digest, options.cacheBytes ?? CACHE_BYTES, options.reads ?? defaultReadMethod());
    reader.checkUnchanged();
    return reader;
  }

  get count(): number {
    return this.info.count;
  }

  /** Reads the given rows (any order, repeats allowed) into `out`, converted as loadDataset does. */
  readRows(indices: ArrayLike<number>, out: RowsOut): void {
    if (this.closed) throw new Error(`${this.info.file}: read from a closed DatasetReader`);
    const n = indices.length;
    for (let r = 0; r < n; r++) {
      const row = indices[r];
      if (!(Number.isInteger(row) && row >= 0 && row < this.info.count)) throw new DataError(`${this.info.file}: row ${row} is not a row number in [0, ${this.info.count})`);
    }
    const order = new Uint32Array(n);
    for (let r = 0; r < n; r++) order[r] = r;
    let sorted = true;
    for (let r = 1; r < n && sorted; r++) sorted = indices[r] >= indices[r - 1];
    if (!sorted) order.sort((a, b) => indices[a] - indices[b]);
    this.checkUnchanged();
    this.gather(this.features, indices, order, out.x);
    if (this.labels && out.labels) this.gather(this.labels, indices, order, out.labels);
    if (this.targets && out.y) this.gather(this.targets, indices, order, out.y);
    this.checkUnchanged();
  }

  /** Rows [start, start + rows) into `out`. */
  readRange(start: number, rows: number, out: RowsOut): void {
    this.readRows(Uint32Array.from({ length: rows }, (_, i) => start + i), out);
  }

  /** Throws a DataError when the file's size or mtime is no longer the one checked. */
  checkUnchanged(): void {
    const now = identityOf(fstatSync(this.fd));
    if (!sameIdentity(now, this.identity)) {
      throw new DataError(`${this.info.file}: the file changed while it was read (${this.identity.size} → ${now.size} bytes, modified ${new Date(now.mtimeMs).toISOString()}); its rows are no longer the ones checked`);
    }
  }

  /** How this reader's positioned reads go to the kernel: pread before its first positioned read, for a file it keeps in memory, and where io_uring is unavailable. */
  get reads(): ReadMethod {
    return this.ring ? "io_uring" : "pread";
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ring?.close();
    closeSync(this.fd);
  }

  /** Index of the record batch holding row r (binary search over batch starts). */
  private batchOf(r: number): number {
    return batchHolding(this.starts, r);
  }

  /**
   * One column of the requested rows into `out` (row r of the request at r·width), taken in file
   * order (`order` sorts the request by row): from the column's bytes in memory when the file is
   * small enough to keep, else by positioned reads (gatherByReads).
   */
  private gather(column: ColumnPlan, indices: ArrayLike<number>, order: Uint32Array, out: Float32Array | Uint8Array): void {
    const kept = this.cache?.get(column);
    if (!kept) {
      this.gatherByReads(column, indices, order, out);
      return;
    }
    const { rowBytes, layout } = column;
    const width = layout.width;
    let i = 0;
    while (i < order.length) {
      // Every requested row of record batch b from its bytes in memory (read whole on first use).
      const b = this.batchOf(indices[order[i]]);
      const batchEnd = this.starts[b] + this.rowCounts[b];
      let bytes = kept[b];
      if (!bytes) {
        bytes = new Uint8Array(this.rowCounts[b] * rowBytes);
        readExactly(this.bytes, this.info.file, bytes, bytes.length, column.offsets[b]);
        kept[b] = bytes;
      }
      for (; i < order.length && indices[order[i]] < batchEnd; i++) {
        const position = order[i];
        const from = (indices[position] - this.starts[b]) * rowBytes;
        if (column.raw) (out as Uint8Array).set(bytes.subarray(from, from + rowBytes), position * width);
        else convertRow(column, bytes, from, (out as Float32Array).subarray(position * width, (position + 1) * width));
      }
    }
  }

  /**
   * Plans the reads (neighbours in one record batch less than COALESCE_GAP_BYTES apart read with one
   * read; a row stored as it is wanted, float32 or raw bytes, alone in its read goes straight into
   * `out`, the others into the scratch buffer one after another), runs them as one batch, then
   * converts each row read into scratch into its place in `out`.
   */
  private gatherByReads(column: ColumnPlan, indices: ArrayLike<number>, order: Uint32Array, out: Float32Array | Uint8Array): void {
    const { rowBytes, layout } = column;
    const width = layout.width;
    const direct = column.raw || (column.Values === Float32Array && !layout.scale255);
    const list = this.list;
    list.clear();
    let scratchBytes = 0;
    let i = 0;
    while (i < order.length) {
      const first = indices[order[i]];
      const b = this.batchOf(first);
      const base = column.offsets[b] - this.starts[b] * rowBytes;
      const batchEnd = this.starts[b] + this.rowCounts[b];
      const runStart = base + first * rowBytes;
      let j = i + 1, runEnd = runStart + rowBytes;
      while (j < order.length) {
        const row = indices[order[j]];
        if (row >= batchEnd) break;
        const at = base + row * rowBytes;
        if (at - runEnd > COALESCE_GAP_BYTES) break;
        runEnd = Math.max(runEnd, at + rowBytes);
        j++;
      }
      if (direct && j === i + 1) list.add(OUT, order[i] * rowBytes, rowBytes, runStart, i);
      else {
        list.add(SCRATCH, scratchBytes, runEnd - runStart, runStart, i);
        scratchBytes += runEnd - runStart;
      }
      i = j;
    }
    const scratch = this.scratch.get(scratchBytes);
    this.runReads(list, [new Uint8Array(out.buffer, out.byteOffset, out.byteLength), scratch]);
    for (let e = 0; e < list.count; e++) {
      if (list.destination[e] !== SCRATCH) continue;
      // The rows of one read lie in one record batch; row r's bytes start (r − r₀)·rowBytes after the read's first row r₀.
      const end = e + 1 < list.count ? list.tag[e + 1] : order.length;
      const first = indices[order[list.tag[e]]];
      for (let k = list.tag[e]; k < end; k++) {
        const position = order[k];
        const from = list.at[e] + (indices[position] - first) * rowBytes;
        if (column.raw) (out as Uint8Array).set(scratch.subarray(from, from + rowBytes), position * width);
        else convertRow(column, scratch, from, (out as Float32Array).subarray(position * width, (position + 1) * width));
      }
    }
  }

  /** Runs `list` into `buffers`: through this reader's io_uring when it has one, else one pread (or, for a decoded copy, one copy) per entry. */
  private runReads(list: ReadList, buffers: Uint8Array[]): void {
    const readEntry = (e: number) => readExactly(this.bytes, this.info.file, buffers[list.destination[e]], list.length[e], list.offset[e], list.at[e]);
    if (this.ring === undefined) this.ring = this.bytes.memory || this.readMethod === "pread" ? null : (IoUring.open() ?? null);
    if (this.ring) {
      this.ring.read(this.fd, list, buffers, readEntry);
      if (this.ring.unsupported) {
        this.ring.close();
        this.ring = null;
      }
      return;
    }
    for (let e = 0; e < list.count; e++) readEntry(e);
  }
}

// out[i] = float32 of value i of the row at bytes[from…]: v/255 for Uint8 lists (columns.ts's table),
// the value rounded to float32 otherwise (int64 through Number).
function convertRow(column: ColumnPlan, bytes: Uint8Array, from: number, out: Float32Array): void {
  const n = out.length;
  if (column.layout.scale255) {
    for (let i = 0; i < n; i++) out[i] = BYTE_TO_UNIT[bytes[from + i]];
    return;
  }
  const values = new column.Values(bytes.buffer as ArrayBuffer, bytes.byteOffset + from, n);
  if (values instanceof Float32Array) out.set(values);
  else if (values instanceof BigInt64Array || values instanceof BigUint64Array) for (let i = 0; i < n; i++) out[i] = Number(values[i]);
  else for (let i = 0; i < n; i++) out[i] = values[i] as number;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The validation pass: the file read from start to end in PIECE_BYTES pieces, each added to a
 * sha256 and each float column's values in it checked (project pixels: in [0, 1]; others: finite
 * and within float32's range; a column of named classes: whole numbers in [0, K)); the first bad
 * value is named by column and row. Returns the hex digest.
 */
function validateAndHash(file: string, source: Bytes, size: number, project: boolean, columns: ColumnPlan[], starts: number[], rowCounts: number[]): string {
  const ranges = columns.flatMap((column) => column.offsets.map((from, b) => ({ column, from, to: from + rowCounts[b] * column.rowBytes, startRow: starts[b] })));
  ranges.sort((a, b) => a.from - b.from);
  const hash = createHash("sha256");
  const piece = new Uint8Array(new ArrayBuffer(Math.min(PIECE_BYTES, size)));
  let next = 0;
  for (let pos = 0; pos < size; pos += PIECE_BYTES) {
    const n = Math.min(PIECE_BYTES, size - pos);
    readExactly(source, file, piece, n, pos);
    hash.update(piece.subarray(0, n));
    while (next < ranges.length && ranges[next].to <= pos) next++;
    for (let k = next; k < ranges.length && ranges[k].from < pos + n; k++) {
      const range = ranges[k];
      const a = Math.max(range.from, pos), z = Math.min(range.to, pos + n);
      if (z <= a) continue;
      const { column } = range;
      const values = new column.Values(piece.buffer as ArrayBuffer, a - pos, (z - a) / column.bytesPerValue) as ArrayLike<number | bigint>;
      const firstValue = (a - range.from) / column.bytesPerValue;
      const classes = column.layout.classNames?.length;
      if (classes === undefined && !project) {
        const bad = firstNonFinite(values as NumericValues);
        if (bad) throw valueError(file, project, column.layout, range.startRow, firstValue + bad[0], bad[1]);
        continue;
      }
      for (let i = 0; i < values.length; i++) {
        const v = Number(values[i]);
        if (classes !== undefined) {
          if (!(Number.isInteger(v) && v >= 0 && v < classes)) throw classError(file, column.layout, range.startRow + firstValue + i, v, classes);
          continue;
        }
        const bad = project ? !(v >= 0 && v <= 1) : !(Math.abs(v) <= FLOAT32_MAX);
        if (bad) throw valueError(file, project, column.layout, range.startRow, firstValue + i, v);
      }
    }
  }
  return hash.digest("hex");
}

/** Thrown by the layout pass at the first compressed record batch: the file is then read from an uncompressed copy. */
class CompressedBatches extends Error {}

/** The file decoded with apache-arrow's codecs and written again uncompressed, in memory (the Arrow IPC file format). */
function uncompressedCopy(file: string): Uint8Array {
  try {
    return tableToIPC(tableFromIPC(readFileSync(file)), "file");
  } catch (error) {
    if (error instanceof ArrowCodecError) throw new DataError(`${file}: ${error.message}`);
    throw new DataError(`${file}: not a readable Arrow IPC file (truncated or corrupt?): ${(error as Error).message}`);
  }
}

function classError(file: string, layout: ColumnLayout, row: number, v: number, classes: number): DataError {
  return new DataError(`${file}: column '${layout.name}': row ${row} is ${v}, not a class index in 0…${classes - 1} (the column names ${classes} classes)`);
}

function valueError(file: string, project: boolean, layout: ColumnLayout, startRow: number, value: number, v: number): DataError {
  const row = startRow + Math.floor(value / layout.width), col = value % layout.width;
  if (project) return new DataError(`${file}: pixel ${col} of row ${row} is ${Number.isNaN(v) ? "NaN" : `${v}, outside [0, 1]`}`);
  const what = Number.isNaN(v) ? "NaN" : Number.isFinite(v) ? `${v}, too large for float32` : String(v);
  const where = layout.width > 1 ? `value ${col} of row ${row}` : `row ${row}`;
  return new DataError(`${file}: column '${layout.name}': ${where} is ${what}; features and targets must be finite numbers`);
}
