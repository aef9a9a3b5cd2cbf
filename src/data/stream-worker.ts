// Worker side of MinibatchStream: for each request (epoch, batch) reads rows π_epoch[batch·B … (batch+1)·B)
// of the dataset file by positioned reads (dataset-reader.ts: only those rows, neighbours coalesced;
// a truncated or changed file is one DataError) into float32 minibatches of features and targets
// (Uint8 lists as v/255, others as they are; columns.ts) that it posts with a transfer list. The
// "memory" reader (benchmarks and tests) reads the whole file into memory first and gathers from it.
// It posts "ready" as soon as its module has loaded (Bun drops earlier messages).
import { DataError } from "./data-error.ts";
import type { DatasetInfo } from "./dataset-file.ts";
import { DatasetReader } from "./dataset-reader.ts";
import { MemoryRows } from "./memory-rows.ts";
import { epochPermutation, identityOrder } from "./permutation.ts";
import type { BatchRequest, FromWorker, InitMessage, ToWorker } from "./stream-protocol.ts";

declare const self: Worker;

let config: InitMessage | undefined;
let info: DatasetInfo | undefined;
let rows: DatasetReader | MemoryRows | undefined;
let cachedEpoch = -1;
let order: Uint32Array | undefined;

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
  const indices = orderOf(request.epoch).slice(request.batch * size, (request.batch + 1) * size);
  const x = new Float32Array(size * dim);
  const labels = info!.hasLabels ? new Uint8Array(size) : undefined;
  const k = info!.targets?.width ?? 0;
  const y = info!.targets ? new Float32Array(size * k) : undefined;
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
        const reader = DatasetReader.open(message.file, message.columns, { validate: false, expect: message.identity, cacheBytes: message.cacheBytes });
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
    }
  } catch (error) {
    const e = error as Error;
    post({ type: "error", message: e.message, stack: e.stack, isDataError: e instanceof DataError });
  }
};

post({ type: "ready" });
