// Worker side of MinibatchStream: for each request (epoch, batch) reads rows π_epoch[batch·B … (batch+1)·B)
// of the dataset file by positioned reads (dataset-reader.ts: only those rows, neighbours coalesced;
// a truncated or changed file is one DataError) into float32 minibatches of features and targets
// (Uint8 lists as v/255, others as they are; columns.ts) that it posts with a transfer list. The
// "memory" reader (benchmarks and tests) reads the whole file into memory first and gathers from it.
// Buffers of released minibatches come back ("reuse") and are filled again before any new one is
// allocated: a new 4 MB buffer costs a page fault per 4 KB page on first write.
// It posts "ready" as soon as its module has loaded (Bun drops earlier messages).
import { DataError } from "./data-error.ts";
import type { DatasetInfo } from "./dataset-file.ts";
import { DatasetReader } from "./dataset-reader.ts";
import { MemoryRows } from "./memory-rows.ts";
import { epochPermutation, identityOrder } from "./permutation.ts";
import type { BatchRequest, FromWorker, InitMessage, ReuseMessage, ToWorker } from "./stream-protocol.ts";

declare const self: Worker;

let config: InitMessage | undefined;
let info: DatasetInfo | undefined;
let rows: DatasetReader | MemoryRows | undefined;
let cachedEpoch = -1;
let order: Uint32Array | undefined;

/** Buffers handed back, by what they held; at most MAX_FREE of each are kept. */
const MAX_FREE = 8;
const free: Record<"x" | "labels" | "y" | "indices", ArrayBuffer[]> = { x: [], labels: [], y: [], indices: [] };

/** A buffer of `bytes` bytes for `kind`: a handed-back one if there is one of that size, else a new one. */
function buffer(kind: keyof typeof free, bytes: number): ArrayBuffer {
  const pool = free[kind];
  while (pool.length > 0) {
    const reused = pool.pop()!;
    if (reused.byteLength === bytes) return reused;
  }
  return new ArrayBuffer(bytes);
}

function keep(message: ReuseMessage): void {
  for (const kind of ["x", "labels", "y", "indices"] as const) {
    const reused = message[kind];
    if (reused && free[kind].length < MAX_FREE) free[kind].push(reused);
  }
}

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  self.postMessage(message, transfer);
}

function orderOf(epoch: number): Uint32Array {
  if (epoch !== cachedEpoch || !order) {
    const count = info!.count;
    order = config!.shuffle ? epochPermutation(count, config!.seed, epoch) : identityOrder(count);
    cachedEpoch = epoch;
  }
  return order;
}

function makeBatch(request: BatchRequest): void {
  const size = config!.batchSize, dim = info!.dim;
  const indices = new Uint32Array(buffer("indices", size * 4));
  indices.set(orderOf(request.epoch).subarray(request.batch * size, (request.batch + 1) * size));
  const x = new Float32Array(buffer("x", size * dim * 4));
  const labels = info!.hasLabels ? new Uint8Array(buffer("labels", size)) : undefined;
  const k = info!.targets?.width ?? 0;
  const y = info!.targets ? new Float32Array(buffer("y", size * k * 4)) : undefined;
  rows!.readRows(indices, { x, labels, y });
  const transfer: ArrayBuffer[] = [x.buffer, indices.buffer];
  if (labels) transfer.push(labels.buffer);
  if (y) transfer.push(y.buffer);
  post({ type: "batch", seq: request.seq, epoch: request.epoch, batch: request.batch, x, labels, y, indices }, transfer);
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  try {
    if (message.type === "init") {
      config = message;
      if (message.reader === "memory") {
        const memory = MemoryRows.open(message.file, message.columns);
        info = memory.dataset.info;
        rows = memory;
      } else {
        const reader = DatasetReader.open(message.file, message.columns, { validate: false, expect: message.identity, cacheBytes: message.cacheBytes, reads: message.reads });
        info = reader.info;
        rows = reader;
      }
      post({ type: "opened", info });
    } else if (message.type === "batch") {
      const failAt = config?.failAt;
      if (failAt && failAt.epoch === message.epoch && failAt.batch === message.batch) {
        // Thrown outside this handler's try, as an unexpected exception would be.
        setTimeout(() => {
          throw new Error(`injected failure at epoch ${message.epoch}, batch ${message.batch}`);
        });
        return;
      }
      makeBatch(message);
    } else if (message.type === "reuse") {
      keep(message);
    } else if (message.type === "close") {
      if (rows instanceof DatasetReader) rows.close();
      rows = undefined;
      post({ type: "closed" });
    }
  } catch (error) {
    const e = error as Error;
    post({ type: "error", message: e.message, stack: e.stack, isDataError: e instanceof DataError });
  }
};

post({ type: "ready" });
