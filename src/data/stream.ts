// MinibatchStream: float32 minibatches of a dataset file, made by worker threads in a seeded
// per-epoch order behind a bounded prefetch queue.
//
// Minibatch number a (counting from the start of epoch 0) is batch a mod P of epoch ⌊a / P⌋, with
// P = ⌊count / batchSize⌋ batches per epoch (the last count mod batchSize rows of each permutation
// are dropped). Requests go to the workers round-robin; at most `prefetch` minibatches are requested
// but not yet taken by next(), so slow consumers hold the workers back (backpressure). Results are
// handed out in order whatever order the workers finish in. A worker's exception or unexpected exit
// rejects the pending and every later next() with that error. release(batch) hands a minibatch's
// arrays back to the worker that filled them, to be filled again instead of allocating new ones (the
// training loop releases each minibatch once the update has loaded it).
import { DataError } from "./data-error.ts";
import type { ColumnChoice, DatasetInfo } from "./dataset-file.ts";
import { DatasetReader, type ReadMethod } from "./dataset-reader.ts";
import type { BatchReply, FromWorker, InitMessage, ReuseMessage, RowReader, ToWorker } from "./stream-protocol.ts";
import { oddEvenTargets } from "./datasets.ts";

export interface StreamOptions {
  file: string;
  batchSize: number;
  seed: number;
  workers?: number;
  prefetch?: number;
  shuffle?: boolean;
  start?: { epoch: number; batch: number };
  /** Feature and target columns of an own-data file (dataset-file.ts). */
  columns?: ColumnChoice;
  /** Give each minibatch y = label mod 2 (the odd/even task of a file with a label column). */
  oddEvenTargets?: boolean;
}

/** Test and benchmark hooks, not part of the trainer's API. */
export interface StreamTestOptions extends StreamOptions {
  /** Make the worker throw at this (epoch, batch). */
  failAt?: { epoch: number; batch: number };
  /** "memory": each worker reads the whole file into memory first (the reader before positioned reads). */
  reader?: RowReader;
  /** The workers' DatasetReader cacheBytes (0: positioned reads even for a small file). */
  cacheBytes?: number;
  /** The workers' DatasetReader reads (default: io_uring where available). */
  reads?: ReadMethod;
}

export interface Minibatch {
  x: Float32Array;
  labels?: Uint8Array;
  /** Targets, batchSize × targets.width row-major, when a target column was chosen. */
  y?: Float32Array;
  epoch: number;
  batch: number;
  indices: Uint32Array;
}

export const DEFAULT_WORKERS = 1;
export const DEFAULT_PREFETCH = 4;

interface Slot {
  promise: Promise<Minibatch>;
  resolve: (batch: Minibatch) => void;
  reject: (error: Error) => void;
}

function makeSlot(): Slot {
  let resolve!: (batch: Minibatch) => void, reject!: (error: Error) => void;
  const promise = new Promise<Minibatch>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // a slot nobody awaits must not become an unhandled rejection
  return { promise, resolve, reject };
}

function checkInteger(file: string, name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new DataError(`${file}: stream option ${name} must be an integer ≥ ${min}, got ${value}`);
}

/** The thrown error's own message: Bun's event.message prefixes it with a source code frame. */
function errorEventMessage(event: ErrorEvent): string {
  if (event.error instanceof Error) return event.error.message;
  const line = /^(?:[A-Za-z]*Error|error): (.*)$/m.exec(event.message);
  return line ? line[1] : event.message;
}

function workerError(file: string, message: string, isDataError: boolean): Error {
  return isDataError ? new DataError(message) : new Error(`${file}: stream worker failed: ${message}`);
}

export class MinibatchStream {
  readonly batchesPerEpoch: number;
  private readonly slots = new Map<number, Slot>();
  /** Minibatches handed out and not released: the worker that filled each, and its buffers. */
  private readonly out = new WeakMap<Minibatch, { worker: Worker; reply: BatchReply }>();
  private readonly exited = new Set<Worker>();
  private readonly firstBatch: number;
  private requested = 0;
  /** Minibatches handed to next() calls so far (a call claims its number at once, so that concurrent calls each get their own). */
  private claimed = 0;
  private taken = 0;
  private waitMs = 0;
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    readonly info: DatasetInfo,
    private readonly options: StreamTestOptions,
    private readonly workers: Worker[],
    private readonly prefetch: number,
  ) {
    this.batchesPerEpoch = Math.floor(info.count / options.batchSize);
    const start = options.start ?? { epoch: 0, batch: 0 };
    this.firstBatch = start.epoch * this.batchesPerEpoch + start.batch;
    workers.forEach((worker) => {
      worker.onmessage = (event: MessageEvent<FromWorker>) => this.onMessage(worker, event.data);
      worker.onerror = (event: ErrorEvent) => this.fail(new Error(`${info.file}: stream worker failed: ${errorEventMessage(event)}`));
      worker.addEventListener("close", () => {
        this.exited.add(worker);
        if (!this.closed) this.fail(new Error(`${info.file}: a stream worker exited unexpectedly`));
      });
    });
  }

  /** Validates the file and the options, starts the workers and waits until each has opened the file. */
  static async open(opts: StreamOptions): Promise<MinibatchStream> {
    const options = opts as StreamTestOptions;
    const columns = options.columns ?? {};
    // Checks every value and hashes the file once (dataset-reader.ts); the workers only read rows.
    const checked = DatasetReader.open(options.file, columns);
    checked.close();
    const { info, identity } = checked;
    const file = info.file;
    checkInteger(file, "batchSize", options.batchSize, 1);
    checkInteger(file, "seed", options.seed, 0);
    const workerCount = options.workers ?? DEFAULT_WORKERS;
    const prefetch = options.prefetch ?? DEFAULT_PREFETCH;
    checkInteger(file, "workers", workerCount, 1);
    checkInteger(file, "prefetch", prefetch, 1);
    if (options.batchSize > info.count) {
      throw new DataError(`${file}: batch size ${options.batchSize} is larger than the dataset (${info.count} images)`);
    }
    const perEpoch = Math.floor(info.count / options.batchSize);
    if (options.start) {
      checkInteger(file, "start.epoch", options.start.epoch, 0);
      checkInteger(file, "start.batch", options.start.batch, 0);
      if (options.start.batch >= perEpoch) throw new DataError(`${file}: start batch ${options.start.batch} is past the ${perEpoch} batches of an epoch`);
    }
    const init: InitMessage = {
      type: "init", file, batchSize: options.batchSize, seed: options.seed, shuffle: options.shuffle ?? true, columns, identity, reader: options.reader ?? "file", cacheBytes: options.cacheBytes, reads: options.reads, failAt: options.failAt,
    };
    const workers: Worker[] = [];
    try {
      for (let i = 0; i < workerCount; i++) workers.push(new Worker(new URL("./stream-worker.ts", import.meta.url).href));
      await Promise.all(workers.map((worker) => startWorker(worker, init)));
      // Only a next() being awaited keeps the process alive: a stream nobody closed does not.
      for (const worker of workers) worker.unref();
    } catch (error) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw error;
    }
    return new MinibatchStream(info, { ...options, file }, workers, prefetch);
  }

  /** The next minibatch in order; rejects with the worker's error if a worker failed. */
  async next(): Promise<Minibatch> {
    if (this.closed) throw new Error(`${this.info.file}: next() on a closed MinibatchStream`);
    if (this.failure) throw this.failure;
    const seq = this.claimed++;
    this.fill();
    const slot = this.slots.get(seq)!;
    const started = performance.now();
    for (const worker of this.workers) worker.ref();
    try {
      return await slot.promise;
    } finally {
      if (!this.closed) for (const worker of this.workers) worker.unref();
      this.waitMs += performance.now() - started;
      this.slots.delete(seq);
      this.taken++;
      if (!this.failure && !this.closed) this.fill();
    }
  }

  /**
   * Hands the arrays of `batch`, a minibatch next() returned, back to the worker that filled them, to
   * be filled again. They are empty (their buffers transferred) from then on, so call it once done
   * with the batch. Anything that is not a minibatch of this stream still out is refused.
   */
  release(batch: Minibatch): void {
    const out = this.out.get(batch);
    if (!out) throw new Error(`${this.info.file}: release() of a minibatch this stream did not hand out, or released already`);
    this.out.delete(batch);
    if (this.closed || this.failure) return;
    const { x, labels, y, indices } = out.reply;
    const message: ReuseMessage = { type: "reuse", x: x.buffer as ArrayBuffer, labels: labels?.buffer as ArrayBuffer | undefined, y: y?.buffer as ArrayBuffer | undefined, indices: indices.buffer as ArrayBuffer };
    const transfer = [message.x, message.labels, message.y, message.indices].filter((b): b is ArrayBuffer => b !== undefined);
    // A buffer the caller transferred elsewhere (detached) cannot come back; then none does.
    if (transfer.some((b) => b.byteLength === 0)) return;
    out.worker.postMessage(message, transfer);
  }

  /** Total milliseconds next() has spent waiting for a worker. */
  waitTimeMs(): number {
    return this.waitMs;
  }

  /** Stops the workers, each once it has closed its file (or after CLOSE_WAIT_MS); pending next() calls reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new Error(`${this.info.file}: MinibatchStream closed`);
    for (const slot of this.slots.values()) slot.reject(error);
    this.slots.clear();
    await Promise.all(this.workers.map((worker) => closeWorker(worker, this.exited.has(worker))));
  }

  /** What each minibatch holds: the file, its feature column, and its targets (a column, the labels mod 2, or none). */
  get reads(): { file: string; features: string; targets?: string } {
    const targets = this.options.oddEvenTargets ? "labels mod 2" : this.info.targets?.name;
    return { file: this.info.file, features: this.info.features.name, ...(targets ? { targets } : {}) };
  }

  /** Requests minibatches until `prefetch` are requested and not yet taken, and every claimed one is. */
  private fill(): void {
    while (this.requested < Math.max(this.claimed, this.taken + this.prefetch)) {
      const seq = this.requested++;
      const absolute = this.firstBatch + seq;
      this.slots.set(seq, makeSlot());
      const request: ToWorker = { type: "batch", seq, epoch: Math.floor(absolute / this.batchesPerEpoch), batch: absolute % this.batchesPerEpoch };
      this.workers[seq % this.workers.length].postMessage(request);
    }
  }

  private onMessage(worker: Worker, message: FromWorker): void {
    if (message.type === "batch") {
      const { x, labels, y, epoch, batch, indices } = message;
      const minibatch: Minibatch = { x, epoch, batch, indices };
      if (labels) minibatch.labels = labels;
      if (y) minibatch.y = y;
      if (this.options.oddEvenTargets && labels) minibatch.y = oddEvenTargets(labels);
      this.out.set(minibatch, { worker, reply: message });
      this.slots.get(message.seq)?.resolve(minibatch);
    } else if (message.type === "error") {
      this.fail(workerError(this.info.file, message.message, message.isDataError));
    }
  }

  private fail(error: Error): void {
    if (this.failure || this.closed) return;
    this.failure = error;
    for (const slot of this.slots.values()) slot.reject(error);
  }
}

/** How long close() waits for a worker to close its file before it stops the worker anyway. */
const CLOSE_WAIT_MS = 2000;

/** Asks the worker to close its file (its descriptors are the process's: stopping the thread leaves them open), then stops it. */
async function closeWorker(worker: Worker, exited: boolean): Promise<void> {
  if (!exited) {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, CLOSE_WAIT_MS);
      worker.addEventListener("close", done);
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        if (event.data.type === "closed") done();
      };
      worker.postMessage({ type: "close" } satisfies ToWorker);
    });
  }
  await worker.terminate();
}

/** Waits for the worker's "ready", sends `init`, and waits for "opened" (or its error). */
function startWorker(worker: Worker, init: InitMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      if (message.type === "ready") worker.postMessage(init);
      else if (message.type === "opened") resolve();
      else if (message.type === "error") reject(workerError(init.file, message.message, message.isDataError));
    };
    worker.onerror = (event: ErrorEvent) => reject(new Error(`${init.file}: stream worker failed to start: ${errorEventMessage(event)}`));
  });
}
