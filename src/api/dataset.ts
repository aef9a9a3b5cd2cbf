// The library's dataset: rows of features (and targets) in memory, from an Arrow file (read by
// src/data with the CLI's rules) or from one's own arrays, cut into minibatches in the same seeded
// order as the CLI's worker stream (src/data/permutation.ts).
import { firstNonFinite } from "../data/columns.ts";
import { DataError, loadDataset } from "../data/dataset.ts";
import type { ColumnChoice, DatasetInfo } from "../data/dataset-file.ts";
import { epochPermutation } from "../data/permutation.ts";
import { type NetworkSpec, validateSpec } from "../nn/spec.ts";
import { checkTargets } from "../data/targets.ts";
import type { EvalData } from "../nn/evaluate.ts";
import { OPTIMIZER_SETTINGS } from "../optim/settings.ts";
import { SettingError, checkSetting, describeValue, ownOptions } from "../settings.ts";
import { UsageError } from "../errors.ts";

/** One's own rows: x is count × dim, y (optional) count × targetWidth, both row-major. */
export interface ArrayData {
  x: ArrayLike<number>;
  dim: number;
  y?: ArrayLike<number>;
  /** Values per row of y (default: y.length / count). */
  targetWidth?: number;
  /** For messages (default "array"). */
  name?: string;
}

/** A minibatch as the optimisers' step() takes it: rows of x, and rows of y for a supervised task. */
export interface Batch {
  x: Float32Array;
  y?: Float32Array;
}

export interface IndexedBatch extends Batch {
  epoch: number;
  batch: number;
  indices: Uint32Array;
}

export class Dataset {
  private readonly checked = new Set<string>();
  /** The last epoch's permutation, reused by the batches of that epoch. */
  private order?: { seed: number; epoch: number; permutation: Uint32Array };

  constructor(
    /** count × dim features, row-major. */
    readonly x: Float32Array,
    readonly dim: number,
    /** count × targetWidth targets, row-major; absent for an autoencoder's data. */
    readonly y: Float32Array | undefined,
    readonly targetWidth: number,
    /** The file's name, or the name given to the arrays. */
    readonly name: string,
    /** What the reader found, for a dataset opened from a file. */
    readonly info?: DatasetInfo,
  ) {
    if (!(x instanceof Float32Array)) throw new UsageError(`Dataset: x must be a Float32Array, got ${describeValue(x)}`);
    if (!Number.isSafeInteger(dim) || dim < 1) throw new UsageError(`Dataset: dim must be a positive integer, got ${describeValue(dim)}`);
    const count = x.length / dim;
    if (!Number.isInteger(count) || count < 1) throw new DataError(`${name}: an empty dataset or a partial row: x holds ${x.length} values, not a positive multiple of dim ${dim}`);
    if (y !== undefined && (!(y instanceof Float32Array) || !Number.isSafeInteger(targetWidth) || targetWidth < 1 || y.length !== count * targetWidth)) {
      throw new DataError(`${name}: y must be a Float32Array of ${count} rows of targetWidth values, got ${y instanceof Float32Array ? `${y.length} values for width ${targetWidth}` : describeValue(y)}`);
    }
  }

  get count(): number {
    return this.x.length / this.dim;
  }

  /** Minibatches per epoch: ⌊count / batchSize⌋ (the rest of each epoch's order is dropped, as in the stream). */
  batchesPerEpoch(batchSize: number): number {
    return Math.floor(this.count / batchSize);
  }

  /**
   * Minibatch number `index` (counting across epochs) for this seed: rows π_e[b·B … (b+1)·B) with
   * e = ⌊index / P⌋, b = index mod P, π_e the epoch's permutation — the CLI stream's order.
   */
  batch(batchSize: number, seed: number, index: number): IndexedBatch {
    checkSetting("batchSize", OPTIMIZER_SETTINGS.batchSize, batchSize);
    checkSetting("seed", OPTIMIZER_SETTINGS.seed, seed);
    if (!Number.isSafeInteger(index) || index < 0) throw new SettingError("index", `must be an integer ≥ 0 (the minibatch's number, counted across epochs), got ${index}`);
    const perEpoch = this.batchesPerEpoch(batchSize);
    if (perEpoch < 1) throw new DataError(`${this.name}: batch size ${batchSize} is larger than the dataset (${this.count} rows)`);
    const epoch = Math.floor(index / perEpoch), batch = index % perEpoch;
    if (this.order?.seed !== seed || this.order.epoch !== epoch) this.order = { seed, epoch, permutation: epochPermutation(this.count, seed, epoch) };
    const indices = this.order.permutation.slice(batch * batchSize, (batch + 1) * batchSize);
    return { ...this.rows(indices), epoch, batch, indices };
  }

  /** The given rows as a minibatch. */
  rows(indices: ArrayLike<number>): Batch {
    const { dim, targetWidth: k } = this;
    if (typeof indices !== "object" || indices === null || typeof indices.length !== "number") {
      throw new UsageError(`${this.name}: rows(): indices must be an array of row numbers, got ${describeValue(indices)}`);
    }
    for (let r = 0; r < indices.length; r++) {
      const row = indices[r];
      if (!Number.isSafeInteger(row) || row < 0 || row >= this.count) throw new DataError(`${this.name}: rows(): index ${r} is ${describeValue(row)}, not a row number in [0, ${this.count})`);
    }
    const x = new Float32Array(indices.length * dim);
    const y = this.y ? new Float32Array(indices.length * k) : undefined;
    for (let r = 0; r < indices.length; r++) {
      const row = indices[r];
      x.set(this.x.subarray(row * dim, (row + 1) * dim), r * dim);
      if (y) y.set(this.y!.subarray(row * k, (row + 1) * k), r * k);
    }
    return y ? { x, y } : { x };
  }

  /** Checks that the network fits the rows (input size, output against the targets) and the targets the loss (bce: [0, 1]; mixture: 0 or 1). */
  checkFits(spec: NetworkSpec): void {
    const key = `${spec.sizes.join("-")} ${spec.loss}`;
    if (this.checked.has(key)) return;
    validateSpec(spec, this.dim, this.y ? "supervised" : "autoencoder", this.y ? this.targetWidth : undefined);
    checkTargets(this.name, spec.loss, this.y ?? this.x, this.y ? { name: this.info?.targets?.name ?? "y", width: this.targetWidth } : { name: this.info?.features.name ?? "x", width: this.dim });
    this.checked.add(key);
  }

  /** The whole set in the Evaluator's form. */
  evalData(): EvalData {
    return { x: this.x, count: this.count, dim: this.dim, targets: this.y, targetWidth: this.y ? this.targetWidth : 0 };
  }
}

function finiteFloat32(name: string, what: string, values: ArrayLike<number>, width: number): Float32Array {
  const out = values instanceof Float32Array ? values : Float32Array.from(values);
  const bad = firstNonFinite(values instanceof Float64Array ? values : out);
  if (bad) throw new DataError(`${name}: ${what}: value ${bad[0] % width} of row ${Math.floor(bad[0] / width)} is ${bad[1]}; features and targets must be finite numbers`);
  return out;
}

/**
 * A dataset from an Arrow IPC file (the prepared datasets, or one's own: `columns` picks the
 * feature and target columns as --features and --targets do), or from arrays in memory.
 */
export function openDataset(source: string | ArrayData, columns: ColumnChoice = {}): Dataset {
  if (typeof source !== "string" && (typeof source !== "object" || source === null || Array.isArray(source))) {
    throw new UsageError(`openDataset: source must be an Arrow file's name or { x, dim } (rows in memory), got ${describeValue(source)}`);
  }
  if (typeof columns !== "object" || columns === null || Array.isArray(columns)) throw new UsageError(`openDataset: columns must be an object such as { targets: "y" }, got ${describeValue(columns)}`);
  if (typeof source === "string") {
    const { info, x, y } = loadDataset(source, ownOptions(columns));
    return new Dataset(x, info.dim, y, info.targets?.width ?? 0, info.file, info);
  }
  const name = source.name ?? "array";
  const { dim } = source;
  if (!Number.isInteger(dim) || dim < 1) throw new DataError(`${name}: dim must be a positive integer, got ${dim}`);
  const count = source.x.length / dim;
  if (!Number.isInteger(count) || count < 1) throw new DataError(`${name}: x holds ${source.x.length} values, not a positive multiple of dim ${dim}`);
  const x = finiteFloat32(name, "x", source.x, dim);
  if (!source.y) return new Dataset(x, dim, undefined, 0, name);
  const k = source.targetWidth ?? source.y.length / count;
  if (!Number.isInteger(k) || k < 1 || source.y.length !== count * k) {
    throw new DataError(`${name}: y holds ${source.y.length} values for ${count} rows${source.targetWidth ? ` of width ${source.targetWidth}` : ""}`);
  }
  return new Dataset(x, dim, finiteFloat32(name, "y", source.y, k), k, name);
}
