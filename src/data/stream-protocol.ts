// Messages between MinibatchStream (main thread) and its workers (stream-worker.ts).
import type { ColumnChoice, DatasetInfo } from "./dataset-file.ts";
import type { FileIdentity, ReadMethod } from "./dataset-reader.ts";

/** How a worker reads rows: positioned reads (the trainer's), or the whole file in memory (benchmarks and tests compare the two). */
export type RowReader = "file" | "memory";

export interface InitMessage {
  type: "init";
  file: string;
  batchSize: number;
  seed: number;
  shuffle: boolean;
  columns: ColumnChoice;
  /** The file as the main thread checked it; a worker refuses any other. */
  identity: FileIdentity;
  reader: RowReader;
  /** Test hook: DatasetReader's cacheBytes (0: always positioned reads). */
  cacheBytes?: number;
  /** Test hook: DatasetReader's reads (io_uring or pread). */
  reads?: ReadMethod;
  /** Test hook: throw an uncaught error when asked for this (epoch, batch). */
  failAt?: { epoch: number; batch: number };
}
export interface BatchRequest {
  type: "batch";
  seq: number;
  epoch: number;
  batch: number;
}
/** A released minibatch's buffers, handed back to the worker that filled them to be filled again. */
export interface ReuseMessage {
  type: "reuse";
  x: ArrayBuffer;
  labels?: ArrayBuffer;
  y?: ArrayBuffer;
  indices: ArrayBuffer;
}
export type ToWorker = InitMessage | BatchRequest | ReuseMessage | { type: "close" };

export interface BatchReply {
  type: "batch";
  seq: number;
  epoch: number;
  batch: number;
  x: Float32Array;
  labels?: Uint8Array;
  /** Targets, batchSize × targets.width row-major, when a target column was chosen. */
  y?: Float32Array;
  indices: Uint32Array;
}
export type FromWorker =
  | { type: "ready" }
  | { type: "opened"; info: DatasetInfo }
  | { type: "closed" }
  | BatchReply
  | { type: "error"; message: string; stack?: string; isDataError: boolean };
