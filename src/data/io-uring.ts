// A minimal io_uring (Linux ≥ 5.6) through bun:ffi, for one job: many positioned reads of one file
// handed to the kernel in one io_uring_enter(2) instead of one pread(2) each. On this project's
// 2-core VM a system call costs ~1.1 µs before any work, a 4 KB row read from the page cache ~3.3
// µs by pread and ~1.8 µs through the ring (docs/data.md, "How rows are read").
//
// The ring is set up with io_uring_setup(2) and its three regions mapped with mmap(2) (the
// submission ring, the completion ring, the submission queue entries), each viewed from JavaScript
// through toArrayBuffer. A batch fills one IORING_OP_READ entry per read, publishes the new tail with
// a sequentially consistent store, submits and waits for every completion in one system call, then
// takes one completion per entry. An entry that did not read its whole length (res ≠ length: a short
// read at the end of a truncated file, EAGAIN, EINTR) is handed back to the caller, who reads it
// again by pread and gets pread's error, if any.
//
// One ring per reader, used from one thread only; close() unmaps and closes it.
import { closeSync } from "node:fs";
import { dlopen, FFIType, ptr, toArrayBuffer, type Pointer } from "bun:ffi";
import type { ReadList } from "./read-list.ts";

const SYS_IO_URING_SETUP = 425; // the same number on every architecture (the unified table, ≥ 403)
const SYS_IO_URING_ENTER = 426;
const IORING_ENTER_GETEVENTS = 1;
const IORING_FEAT_SINGLE_MMAP = 1;
const IORING_OP_READ = 22;
const IORING_OFF_SQ_RING = 0;
const IORING_OFF_CQ_RING = 0x8000000;
const IORING_OFF_SQES = 0x10000000;
const PROT_READ_WRITE = 0x1 | 0x2;
const MAP_SHARED_POPULATE = 0x01 | 0x8000;
const EINTR = 4, EAGAIN = 11, EBUSY = 16, EINVAL = 22;
/** Submission queue entries: a minibatch of 1,000 rows is one submission. */
const ENTRIES = 1024;
const SQE_BYTES = 64, CQE_BYTES = 16, PARAMS_BYTES = 120;

const { i64, i32, u64, ptr: P } = FFIType;

type Libc = ReturnType<typeof loadLibc>;

function loadLibc() {
  return dlopen("libc.so.6", {
    syscall: { args: [i64, i64, i64, i64, i64, i64, i64], returns: i64 },
    mmap: { args: [P, u64, i32, i32, i32, i64], returns: i64 },
    munmap: { args: [P, u64], returns: i32 },
  }).symbols;
}

let libc: Libc | undefined;
/** Why io_uring is not used in this process, once a ring failed to open. */
let unavailable: string | undefined;

/** Splits a non-negative integer below 2⁵³ into the two little-endian 32-bit words of a u64. */
function setU64(words: Uint32Array, at: number, value: number): void {
  words[at] = value >>> 0;
  words[at + 1] = Math.floor(value / 0x100000000);
}

interface Mapping {
  address: number;
  bytes: number;
}

export class IoUring {
  private closed = false;
  /** Set when the kernel refused IORING_OP_READ (EINVAL: before Linux 5.6); the caller then stops using the ring. */
  unsupported = false;

  private constructor(
    private readonly ring: number,
    private readonly maps: Mapping[],
    /** The submission ring as 32-bit words: where its tail is, its mask and its size. */
    private readonly sq: { words: Uint32Array; tail: number; mask: number; entries: number },
    private readonly sqes: Uint32Array,
    private readonly cq: { words: Uint32Array; view: DataView; head: number; tail: number; mask: number; cqes: number },
  ) {}

  /** A ring, or undefined with the reason in `IoUring.unavailable` (not Linux, refused by the kernel or a seccomp filter). */
  static open(): IoUring | undefined {
    if (unavailable !== undefined) return undefined;
    if (process.platform !== "linux") {
      unavailable = `io_uring is Linux's (this is ${process.platform})`;
      return undefined;
    }
    try {
      libc ??= loadLibc();
    } catch (error) {
      unavailable = `libc could not be loaded through bun:ffi (${(error as Error).message})`;
      return undefined;
    }
    const params = new Uint32Array(PARAMS_BYTES / 4);
    const ring = Number(libc.syscall(SYS_IO_URING_SETUP, ENTRIES, ptr(params), 0, 0, 0, 0));
    if (ring < 0) {
      unavailable = `io_uring_setup failed (errno ${-ring})`;
      return undefined;
    }
    const maps: Mapping[] = [];
    const map = (bytes: number, offset: number): ArrayBuffer => {
      const address = Number(libc!.mmap(null, bytes, PROT_READ_WRITE, MAP_SHARED_POPULATE, ring, offset));
      if (address === -1 || address === 0) throw new Error(`mmap of the io_uring region at ${offset} failed`);
      maps.push({ address, bytes });
      return toArrayBuffer(address as unknown as Pointer, 0, bytes);
    };
    try {
      // struct io_uring_params: sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features,
      // wq_fd, resv[3], then io_sqring_offsets (words 10–19) and io_cqring_offsets (words 20–29).
      const [sqEntries, cqEntries] = [params[0], params[1]];
      const features = params[5];
      const sqOff = { tail: params[11], mask: params[12], array: params[16] };
      const cqOff = { head: params[20], tail: params[21], mask: params[22], cqes: params[25] };
      const sqBytes = sqOff.array + sqEntries * 4, cqBytes = cqOff.cqes + cqEntries * CQE_BYTES;
      const single = (features & IORING_FEAT_SINGLE_MMAP) !== 0;
      const sqRing = map(single ? Math.max(sqBytes, cqBytes) : sqBytes, IORING_OFF_SQ_RING);
      const cqRing = single ? sqRing : map(cqBytes, IORING_OFF_CQ_RING);
      const sqes = new Uint32Array(map(sqEntries * SQE_BYTES, IORING_OFF_SQES));
      const sqWords = new Uint32Array(sqRing), cqWords = new Uint32Array(cqRing);
      // Entry i of the submission queue is always sqe i.
      for (let i = 0; i < sqEntries; i++) sqWords[sqOff.array / 4 + i] = i;
      const sq = { words: sqWords, tail: sqOff.tail / 4, mask: sqWords[sqOff.mask / 4], entries: sqEntries };
      const cq = { words: cqWords, view: new DataView(cqRing), head: cqOff.head / 4, tail: cqOff.tail / 4, mask: cqWords[cqOff.mask / 4], cqes: cqOff.cqes };
      return new IoUring(ring, maps, sq, sqes, cq);
    } catch (error) {
      for (const m of maps) libc.munmap(m.address as unknown as Pointer, m.bytes);
      closeSync(ring);
      unavailable = (error as Error).message;
      return undefined;
    }
  }

  /** Why the last open() returned undefined, or undefined while io_uring is usable. */
  static get unavailable(): string | undefined {
    return unavailable;
  }

  /**
   * Runs `list`'s reads on `fd` into `buffers` (entry i into buffers[list.destination[i]] at
   * list.at[i]). Calls `redo(i)` for each entry that did not read its whole length.
   */
  read(fd: number, list: ReadList, buffers: readonly Uint8Array[], redo: (entry: number) => void): void {
    if (this.closed) throw new Error("read on a closed io_uring");
    const addresses = buffers.map((b) => (b.length > 0 ? Number(ptr(b)) : 0));
    for (let first = 0; first < list.count; first += this.sq.entries) {
      const n = Math.min(this.sq.entries, list.count - first);
      this.readBatch(fd, list, addresses, first, n, redo);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const m of this.maps) libc!.munmap(m.address as unknown as Pointer, m.bytes);
    closeSync(this.ring);
  }

  /**
   * Fills n submission entries with list entries first…, then submits them and waits for all n in
   * one io_uring_enter. The wait happens inside the kernel, so the thread runs no JavaScript (and a
   * Worker.terminate() cannot end it) while a read into its buffers is in flight. The call is made
   * again while the kernel took fewer entries (it then returns without waiting) or a signal cut the
   * wait short. Entries that read less than asked go to redo, after every completion is taken, so
   * that a redo that throws leaves the ring empty.
   */
  private readBatch(fd: number, list: ReadList, addresses: number[], first: number, n: number, redo: (entry: number) => void): void {
    const { words, tail: tailAt, mask } = this.sq;
    const tail = words[tailAt];
    const sqes = this.sqes;
    for (let k = 0; k < n; k++) {
      const e = first + k;
      const w = ((tail + k) & mask) * (SQE_BYTES / 4);
      sqes.fill(0, w, w + SQE_BYTES / 4);
      sqes[w] = IORING_OP_READ; // opcode; flags and ioprio 0
      sqes[w + 1] = fd;
      setU64(sqes, w + 2, list.offset[e]);
      setU64(sqes, w + 4, addresses[list.destination[e]] + list.at[e]);
      sqes[w + 6] = list.length[e];
      setU64(sqes, w + 8, k); // user_data: the entry's place in this submission
    }
    Atomics.store(words, tailAt, (tail + n) >>> 0);
    const short: number[] = [];
    let unsubmitted = n, done = 0;
    while (done < n) {
      const r = Number(libc!.syscall(SYS_IO_URING_ENTER, this.ring, unsubmitted, n - done, IORING_ENTER_GETEVENTS, 0, 0, 0));
      if (r < 0 && r !== -EINTR && r !== -EAGAIN && r !== -EBUSY) throw new Error(`io_uring_enter failed (errno ${-r})`);
      if (r > 0) unsubmitted -= r;
      done += this.takeCompletions(list, first, short);
    }
    for (const entry of short) redo(entry);
  }

  /** Takes the completions there are; those that read less than their entry asked are added to `short`. */
  private takeCompletions(list: ReadList, first: number, short: number[]): number {
    const { words, view, head: headAt, tail: tailAt, mask, cqes } = this.cq;
    let head = words[headAt];
    const tail = Atomics.load(words, tailAt);
    let taken = 0;
    for (; head !== tail; head = (head + 1) >>> 0, taken++) {
      const at = cqes + (head & mask) * CQE_BYTES;
      const k = view.getUint32(at, true); // user_data's low word
      const res = view.getInt32(at + 8, true);
      if (res === -EINVAL) this.unsupported = true;
      if (res !== list.length[first + k]) short.push(first + k);
    }
    Atomics.store(words, headAt, head);
    return taken;
  }
}
