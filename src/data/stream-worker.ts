// Worker side of MinibatchStream: for each request (epoch, batch) reads rows π_epoch[batch·B … (batch+1)·B)
// of the dataset file by positioned reads (dataset-reader.ts: only those rows, neighbours coalesced;
// a truncated or changed file is one DataError) into float32 minibatches of features and targets
// (Uint8 lists as v/255, others as they are; columns.ts) that it posts with a transfer list. The
// "memory" reader (benchmarks and tests) reads the whole file into memory first and gathers from it.
// It posts "ready" as soon as its module has loaded (Bun drops earlier messages).
import { copyAsFloat32 } from "./columns.ts";
import { DataError } from "./data-error.ts";
import { type DatasetInfo, openDatasetFile, type OpenedDataset } from "./dataset-file.ts";
import { DatasetReader } from "./dataset-reader.ts";
import { epochPermutation, identityOrder } from "./permutation.ts";
import type { BatchRequest, FromWorker, InitMessage, ToWorker } from "./stream-protocol.ts";

declare const self: Worker;

let config: InitMessage | undefined;
let info: DatasetInfo | undefined;
let reader: DatasetReader | undefined;
let dataset: OpenedDataset | undefined;
let chunkStarts: number[] = [];
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

/** Index of the chunk holding row r (binary search over chunk starts). */
function chunkIndex(r: number): number {
  let lo = 0, hi = chunkStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (chunkStarts[mid] <= r) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function makeBatch(request: BatchRequest): void {
  const size = config!.batchSize, dim = info!.dim;
  const indices = orderOf(request.epoch).slice(request.batch * size, (request.batch + 1) * size);
  const x = new Float32Array(size * dim);
  const labels = info!.hasLabels ? new Uint8Array(size) : undefined;
  const k = info!.targets?.width ?? 0;
  const y = info!.targets ? new Float32Array(size * k) : undefined;
  if (reader) reader.readRows(indices, { x, labels, y });
  else gatherInMemory(indices, x, labels, y);
  const transfer: ArrayBuffer[] = [x.buffer, indices.buffer];
  if (labels) transfer.push(labels.buffer);
  if (y) transfer.push(y.buffer);
  post({ type: "batch", seq: request.seq, epoch: request.epoch, batch: request.batch, x, labels, y, indices }, transfer);
}

function gatherInMemory(indices: Uint32Array, x: Float32Array, labels: Uint8Array | undefined, y: Float32Array | undefined): void {
  const { info, chunks } = dataset!;
  const size = indices.length, dim = info.dim, k = info.targets?.width ?? 0;
  for (let r = 0; r < size; r++) {
    const row = indices[r];
    const chunk = chunks[chunkIndex(row)];
    const local = row - chunk.start;
    copyAsFloat32(chunk.pixels, local * dim, info.features.scale255, x.subarray(r * dim, (r + 1) * dim));
    if (labels) labels[r] = chunk.labels![local];
    if (y) copyAsFloat32(chunk.targets!, local * k, info.targets!.scale255, y.subarray(r * k, (r + 1) * k));
  }
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  try {
    if (message.type === "init") {
      config = message;
      if (message.reader === "memory") {
        dataset = openDatasetFile(message.file, message.columns);
        chunkStarts = dataset.chunks.map((c) => c.start);
        info = dataset.info;
      } else {
        reader = DatasetReader.open(message.file, message.columns, { validate: false, expect: message.identity });
        info = reader.info;
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
