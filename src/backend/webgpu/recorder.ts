// Records dispatches into one command encoder / compute pass and submits lazily: `download` and
// `flush` submit and wait. Per-dispatch parameters go into 256-byte slots of one uniform arena, so a
// dispatch costs a slot write, a cached bind group, setPipeline and dispatchWorkgroups.
// Bind groups name their arena slot with a static offset and are cached by (buffers, slot): a
// training step repeats the same op sequence between read-backs, so its slots repeat and every
// bind group is reused. (A dynamic uniform offset would need no per-slot groups, but measured on
// lavapipe it costs ~40 µs more per dispatch: 35 against 76 µs for a trivial kernel.)
// Batched kernels (one dispatch for many matrices of different sizes) read a row of a parameter
// table per workgroup z: the rows go into a second, storage arena written at submit like the
// uniform one, and the dispatch's first u32 parameter becomes the index of its first row.
// Device-side failures (a non-positive Cholesky pivot) are written to a status buffer that every
// read-back checks.
import { type PipelineCache, type StorageBindingSpec, UNIFORM_SLOT_BYTES } from "./device/pipelines.ts";
import { NotPositiveDefiniteError } from "../types.ts";
import { type KernelProfiler, kernelLabel } from "./profiler.ts";
import { GpuStorage } from "./storage.ts";

const ARENA_SLOTS = 2048;
/** Words of the parameter-table arena (256 KiB). */
const TABLE_WORDS = 65536;
const SLOT_WORDS = UNIFORM_SLOT_BYTES / 4;
/** Past this many cached bind groups the cache starts over (a loop's working set is far smaller). */
const MAX_CACHED_BIND_GROUPS = 16384;
/** Status words (float32): [failed (0/1), matrix size, pivot value, pivot index]. */
export const STATUS_WORDS = 4;
/**
 * Read-backs up to SMALL_STAGING_BYTES (an update's scalars with the status words) reuse staging
 * buffers, of which KEPT_STAGING are kept (a pipelined loop has one or two read-backs in flight).
 */
const SMALL_STAGING_BYTES = 1024;
const KEPT_STAGING = 4;

export interface Dispatch {
  kernel: string;
  pipeline: GPUComputePipeline;
  storage: StorageBindingSpec[];
  buffers: GpuStorage[];
  /** u32 fields first, then f32 fields, matching the kernel's Params struct. */
  u32: number[];
  f32?: number[];
  groups: [number, number?, number?];
  /** Parameter-table rows for a batched kernel (bound as the last storage binding, see `tableStorage`). */
  table?: TableRows;
}

/** Rows of `words` 32-bit words each: a row's u32 fields, then its f32 fields. */
export interface TableRows {
  words: number;
  rows: { u: number[]; f?: number[] }[];
}

export class Recorder {
  private readonly arena: GPUBuffer;
  private readonly arenaWords = new ArrayBuffer(ARENA_SLOTS * UNIFORM_SLOT_BYTES);
  private readonly arenaU32 = new Uint32Array(this.arenaWords);
  private readonly arenaF32 = new Float32Array(this.arenaWords);
  private slotsUsed = 0;
  private readonly tableWords = new ArrayBuffer(TABLE_WORDS * 4);
  private readonly tableU32 = new Uint32Array(this.tableWords);
  private readonly tableF32 = new Float32Array(this.tableWords);
  private tableUsed = 0;
  /** The parameter-table arena, bound read-only by batched kernels. */
  readonly tableStorage: GpuStorage;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private lastPipeline: GPUComputePipeline | null = null;
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  readonly status: GPUBuffer;
  /** True once a kernel that may write the status buffer was recorded since the last check. */
  statusPending = false;
  dispatchCount = 0;
  submitCount = 0;
  /** Waits for the device: downloads and flushes (each maps a staging buffer or awaits the queue). */
  readBackCount = 0;
  /** Dispatches recorded since the last read-back began. */
  private sinceReadBack = 0;
  /** Staging buffers of SMALL_STAGING_BYTES for reuse: every update reads a few scalars back. */
  private readonly smallStaging: GPUBuffer[] = [];
  /** When set, every dispatch gets its own timestamped compute pass (bench step --profile). */
  profiler: KernelProfiler | null = null;

  constructor(
    readonly device: GPUDevice,
    readonly pipelines: PipelineCache,
    readonly statusStorage: GpuStorage,
    /** Submit after this many dispatches without a read-back (0: never). */
    private readonly submitEvery = 0,
    /** Also submit once this many dispatches follow a read-back, so the device starts early (0: never). */
    private readonly firstSubmit = 0,
  ) {
    this.arena = device.createBuffer({
      label: "uniform arena",
      size: ARENA_SLOTS * UNIFORM_SLOT_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.status = statusStorage.buffer;
    const table = device.createBuffer({
      label: "parameter tables",
      size: TABLE_WORDS * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    this.tableStorage = new GpuStorage(table, TABLE_WORDS);
  }

  dispatch(d: Dispatch): void {
    const table = d.table;
    const tableWords = table ? table.words * table.rows.length : 0;
    if (tableWords > TABLE_WORDS) throw new RangeError(`${d.kernel}: a parameter table of ${tableWords} words exceeds the arena (${TABLE_WORDS})`);
    let tableStart = table ? roundUp(this.tableUsed, table.words) : 0;
    if (this.slotsUsed === ARENA_SLOTS || tableStart + tableWords > TABLE_WORDS || this.profiler?.full) {
      this.submit();
      tableStart = 0;
    }
    if (this.profiler) this.endPass();
    const slot = this.slotsUsed++;
    const base = slot * SLOT_WORDS;
    const u = table ? [tableStart / table.words, ...d.u32.slice(1)] : d.u32;
    if (table) this.writeTable(table, tableStart);
    for (let i = 0; i < u.length; i++) this.arenaU32[base + i] = u[i];
    const f = d.f32;
    if (f) for (let i = 0; i < f.length; i++) this.arenaF32[base + u.length + i] = f[i];
    const pass = this.computePass(this.profiler?.nextPass(kernelLabel(d.kernel, d.u32, d.pipeline.label)));
    if (this.lastPipeline !== d.pipeline) {
      pass.setPipeline(d.pipeline);
      this.lastPipeline = d.pipeline;
    }
    pass.setBindGroup(0, this.bindGroup(d.storage, d.buffers, slot));
    pass.dispatchWorkgroups(d.groups[0], d.groups[1] ?? 1, d.groups[2] ?? 1);
    this.dispatchCount++;
    if (this.profiler) this.endPass();
    this.sinceReadBack++;
    if ((this.submitEvery > 0 && this.slotsUsed >= this.submitEvery) || this.sinceReadBack === this.firstSubmit) this.submit();
  }

  /** The open command encoder with no compute pass open (for copies). */
  copyEncoder(): GPUCommandEncoder {
    this.endPass();
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  /** Submits everything recorded so far (does not wait). */
  submit(): void {
    if (!this.encoder) return;
    this.endPass();
    this.profiler?.resolve(this.encoder);
    if (this.slotsUsed > 0) {
      this.device.queue.writeBuffer(this.arena, 0, this.arenaWords, 0, this.slotsUsed * UNIFORM_SLOT_BYTES);
    }
    if (this.tableUsed > 0) {
      this.device.queue.writeBuffer(this.tableStorage.buffer, 0, this.tableWords, 0, this.tableUsed * 4);
    }
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.slotsUsed = 0;
    this.tableUsed = 0;
    this.submitCount++;
  }

  /** Drops cached bind groups that name `storage` (before it is destroyed). */
  forget(storage: GpuStorage): void {
    const tag = `:${storage.id}:`;
    for (const key of this.bindGroups.keys()) if (key.includes(tag)) this.bindGroups.delete(key);
  }

  /**
   * Copies `byteSize` bytes at `byteOffset` of `buffer` (plus the status words when a check is
   * pending) to a staging buffer, submits, waits and returns the bytes; throws a device-side error.
   */
  async readBack(buffer: GPUBuffer | null, byteOffset: number, byteSize: number): Promise<ArrayBuffer> {
    const withStatus = this.statusPending;
    this.readBackCount++;
    this.sinceReadBack = 0;
    const alignedOffset = byteOffset - (byteOffset % 8);
    const lead = byteOffset - alignedOffset;
    const dataBytes = buffer ? roundUp(lead + byteSize, 8) : 0;
    const statusBytes = withStatus ? STATUS_WORDS * 4 : 0;
    if (dataBytes + statusBytes === 0) {
      this.submit();
      await this.device.queue.onSubmittedWorkDone();
      await this.pipelines.checkCompiled();
      return new ArrayBuffer(0);
    }
    const staging = this.stagingBuffer(dataBytes + statusBytes);
    const encoder = this.copyEncoder();
    if (buffer && dataBytes > 0) {
      const copyBytes = Math.min(dataBytes, buffer.size - alignedOffset);
      encoder.copyBufferToBuffer(buffer, alignedOffset, staging, 0, roundDown(copyBytes, 4));
    }
    if (withStatus) {
      encoder.copyBufferToBuffer(this.status, 0, staging, dataBytes, statusBytes);
      encoder.clearBuffer(this.status, 0, statusBytes);
      this.statusPending = false;
    }
    this.submit();
    await this.pipelines.checkCompiled();
    await staging.mapAsync(GPUMapMode.READ);
    const mapped = staging.getMappedRange();
    const data = mapped.slice(lead, lead + byteSize);
    const status = withStatus ? new Float32Array(mapped.slice(dataBytes, dataBytes + statusBytes)) : null;
    staging.unmap();
    this.releaseStaging(staging);
    if (status && status[0] !== 0) throw new NotPositiveDefiniteError("cholesky", status[1], status[2]);
    return data;
  }

  destroy(): void {
    this.profiler?.destroy();
    this.profiler = null;
    this.bindGroups.clear();
    for (const b of this.smallStaging.splice(0)) b.destroy();
    this.arena.destroy();
    this.tableStorage.buffer.destroy();
  }

  /** A MAP_READ staging buffer of at least `bytes`: a kept one when small, else a new one. */
  private stagingBuffer(bytes: number): GPUBuffer {
    if (bytes <= SMALL_STAGING_BYTES) {
      const kept = this.smallStaging.pop();
      if (kept) return kept;
    }
    const size = bytes <= SMALL_STAGING_BYTES ? SMALL_STAGING_BYTES : bytes;
    return this.device.createBuffer({ label: "read-back staging", size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  private releaseStaging(staging: GPUBuffer): void {
    if (staging.size === SMALL_STAGING_BYTES && this.smallStaging.length < KEPT_STAGING) this.smallStaging.push(staging);
    else staging.destroy();
  }

  private writeTable(table: TableRows, start: number): void {
    let w = start;
    for (const row of table.rows) {
      const f = row.f ?? [];
      if (row.u.length + f.length !== table.words) throw new RangeError(`parameter table row has ${row.u.length + f.length} words, expected ${table.words}`);
      for (const x of row.u) this.tableU32[w++] = x;
      for (const x of f) this.tableF32[w++] = x;
    }
    this.tableUsed = w;
  }

  private computePass(timestampWrites?: GPUComputePassTimestampWrites): GPUComputePassEncoder {
    if (!this.pass) {
      if (!this.encoder) this.encoder = this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass(timestampWrites ? { timestampWrites } : undefined);
    }
    return this.pass;
  }

  private endPass(): void {
    this.lastPipeline = null;
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private bindGroup(storage: StorageBindingSpec[], buffers: GpuStorage[], slot: number): GPUBindGroup {
    let key = `${slot}/`;
    for (let i = 0; i < buffers.length; i++) key += (storage[i].readOnly ? "r:" : "w:") + buffers[i].id + ":";
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= MAX_CACHED_BIND_GROUPS) this.bindGroups.clear();
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: this.arena, offset: slot * UNIFORM_SLOT_BYTES, size: UNIFORM_SLOT_BYTES } },
      ];
      for (let i = 0; i < buffers.length; i++) entries.push({ binding: i + 1, resource: { buffer: buffers[i].buffer } });
      group = this.device.createBindGroup({ layout: this.pipelines.layout(storage), entries });
      this.bindGroups.set(key, group);
    }
    return group;
  }
}

function roundUp(x: number, m: number): number {
  return Math.ceil(x / m) * m;
}
function roundDown(x: number, m: number): number {
  return Math.floor(x / m) * m;
}
