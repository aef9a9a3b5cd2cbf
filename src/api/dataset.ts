// The library's dataset: rows of features (and targets) from an Arrow file, read on demand by
// positioned reads (src/data/dataset-reader.ts, the CLI's rules; only the file's layout is held), or
// from one's own arrays in memory, cut into minibatches in the same seeded order as the CLI's worker
// stream (src/data/permutation.ts).
import { firstNonFinite } from "../data/columns.ts";
import { DataError } from "../data/dataset.ts";
import type { ColumnChoice, DatasetInfo } from "../data/dataset-file.ts";
import { DatasetReader, type RowsOut } from "../data/dataset-reader.ts";
import { oddEvenTargets } from "../data/datasets.ts";
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

/** Rows this many bytes of float32 at a time when a file-backed set is checked whole. */
const CHECK_CHUNK_BYTES = 4 << 20;

/** A file-backed Dataset's rows: its reader, and whether its targets are label mod 2 (MNIST's odd/even task). */
export interface FileRows {
  reader: DatasetReader;
  oddEven: boolean;
}

const openReaders = new FinalizationRegistry<DatasetReader>((reader) => reader.close());

export class Dataset {
  private readonly checked = new Set<string>();
  /** The last epoch's permutation, reused by the batches of that epoch. */
  private order?: { seed: number; epoch: number; permutation: Uint32Array };
  private readonly memory?: { x: Float32Array; y?: Float32Array };
  private readonly file?: FileRows;
  readonly count: number;
  readonly hasTargets: boolean;

  constructor(
    /** count × dim features, row-major (in memory), or the rows of a file. */
    source: Float32Array | FileRows,
    readonly dim: number,
    /** count × targetWidth targets, row-major; absent for an autoencoder's data. */
    y: Float32Array | undefined,
    readonly targetWidth: number,
    /** The file's name, or the name given to the arrays. */
    readonly name: string,
    /** What the reader found, for a dataset opened from a file. */
    readonly info?: DatasetInfo,
  ) {
    if (source instanceof Float32Array) {
      if (!Number.isSafeInteger(dim) || dim < 1) throw new UsageError(`Dataset: dim must be a positive integer, got ${describeValue(dim)}`);
      const count = source.length / dim;
      if (!Number.isInteger(count) || count < 1) throw new DataError(`${name}: an empty dataset or a partial row: x holds ${source.length} values, not a positive multiple of dim ${dim}`);
      if (y !== undefined && (!(y instanceof Float32Array) || !Number.isSafeInteger(targetWidth) || targetWidth < 1 || y.length !== count * targetWidth)) {
        throw new DataError(`${name}: y must be a Float32Array of ${count} rows of targetWidth values, got ${y instanceof Float32Array ? `${y.length} values for width ${targetWidth}` : describeValue(y)}`);
      }
      this.memory = { x: source, y };
      this.count = count;
      this.hasTargets = y !== undefined;
    } else if (typeof source === "object" && source !== null && "reader" in source) {
      this.file = source;
      this.count = source.reader.count;
      this.hasTargets = source.oddEven || source.reader.info.targets !== undefined;
      openReaders.register(this, source.reader);
    } else {
      throw new UsageError(`Dataset: x must be a Float32Array, got ${describeValue(source)}`);
    }
  }

  /** The name of each class index 0 … K−1 of a target column of class labels (prep import of text labels, or --labels). */
  get classNames(): readonly string[] | undefined {
    return this.info?.targets?.classNames;
  }

  /** All features, count × dim, of a set held in memory (a set read from a file: use rows() or range()). */
  get x(): Float32Array {
    if (!this.memory) throw new DataError(`${this.name}: the rows of a file are read on demand, not held in memory; use rows(), range() or batch()`);
    return this.memory.x;
  }

  /** All targets, count × targetWidth, of a set held in memory. */
  get y(): Float32Array | undefined {
    if (!this.memory) throw new DataError(`${this.name}: the rows of a file are read on demand, not held in memory; use rows(), range() or batch()`);
    return this.memory.y;
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
    if (this.file) return this.readRows(indices);
    const x = new Float32Array(indices.length * dim);
    const y = this.memory!.y ? new Float32Array(indices.length * k) : undefined;
    for (let r = 0; r < indices.length; r++) {
      const row = indices[r];
      x.set(this.memory!.x.subarray(row * dim, (row + 1) * dim), r * dim);
      if (y) y.set(this.memory!.y!.subarray(row * k, (row + 1) * k), r * k);
    }
    return y ? { x, y } : { x };
  }

  /** Rows [start, start + count) as a minibatch (views for a set in memory). */
  range(start: number, count: number): Batch {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(count) && start >= 0 && count >= 0 && start + count <= this.count)) {
      throw new DataError(`${this.name}: range(${start}, ${count}) is not within the ${this.count} rows`);
    }
    if (this.file) return this.readRows(Uint32Array.from({ length: count }, (_, i) => start + i));
    const { dim, targetWidth: k } = this;
    const x = this.memory!.x.subarray(start * dim, (start + count) * dim);
    return this.memory!.y ? { x, y: this.memory!.y.subarray(start * k, (start + count) * k) } : { x };
  }

  /** Checks that the network fits the rows (input size, output against the targets) and the targets the loss (bce: [0, 1]; mixture: 0 or 1; softmax: 0 … K−1). */
  checkFits(spec: NetworkSpec): void {
    const key = `${spec.sizes.join("-")} ${spec.loss}`;
    if (this.checked.has(key)) return;
    validateSpec(spec, this.dim, this.hasTargets ? "supervised" : "autoencoder", this.hasTargets ? this.targetWidth : undefined);
    const column = this.hasTargets ? { name: this.info?.targets?.name ?? "y", width: this.targetWidth } : { name: this.info?.features.name ?? "x", width: this.dim };
    const classes = spec.sizes[spec.sizes.length - 1];
    if (this.memory) checkTargets(this.name, spec.loss, this.memory.y ?? this.memory.x, column, classes);
    else if (spec.loss !== "sse" && (this.hasTargets || !this.file!.reader.info.features.scale255)) {
      // The file in chunks of about CHECK_CHUNK_BYTES of float32, rows named as in the whole file
      // (bytes scaled by 1/255 lie in [0, 1] and need no check).
      const chunk = Math.max(1, Math.floor(CHECK_CHUNK_BYTES / (4 * column.width)));
      for (let start = 0; start < this.count; start += chunk) {
        const rows = this.range(start, Math.min(chunk, this.count - start));
        checkTargets(this.name, spec.loss, this.hasTargets ? rows.y! : rows.x, column, classes, start);
      }
    }
    this.checked.add(key);
  }

  /** The whole set in the Evaluator's form: the arrays in memory, or a reader of consecutive rows. */
  evalData(): EvalData {
    const shape = { count: this.count, dim: this.dim, targetWidth: this.hasTargets ? this.targetWidth : 0 };
    if (this.memory) return { ...shape, x: this.memory.x, targets: this.memory.y };
    // One chunk's arrays, filled again for each chunk: the Evaluator has loaded a chunk before it reads the next.
    let chunk: RowsOut | undefined;
    return {
      ...shape,
      read: (start, size) => {
        if (chunk?.x.length !== size * this.dim) chunk = this.rowArrays(size);
        const { x, y } = this.readRows(Uint32Array.from({ length: size }, (_, i) => start + i), chunk);
        return { x, targets: y };
      },
    };
  }

  /** Arrays for n rows of this file: features, and labels or targets as it has them. */
  private rowArrays(n: number): RowsOut {
    const { reader, oddEven } = this.file!;
    const labels = oddEven ? new Uint8Array(n) : undefined;
    const y = reader.info.targets && !oddEven ? new Float32Array(n * this.targetWidth) : undefined;
    return { x: new Float32Array(n * this.dim), labels, y };
  }

  private readRows(indices: ArrayLike<number>, into = this.rowArrays(indices.length)): Batch {
    const { x, labels, y } = into;
    this.file!.reader.readRows(indices, into);
    if (labels) return { x, y: oddEvenTargets(labels) };
    return y ? { x, y } : { x };
  }
}

/**
 * A dataset file read on demand (what openDataset(file) gives); `oddEven` makes the targets label
 * mod 2 (the CLI's odd/even task of a file with a label column).
 */
export function fileDataset(file: string, columns: ColumnChoice = {}, oddEven = false): Dataset {
  const reader = DatasetReader.open(file, columns);
  const { info } = reader;
  if (oddEven && !info.hasLabels) {
    reader.close();
    throw new DataError(`${info.file}: has no 'label' column, which the odd/even task needs`);
  }
  return new Dataset({ reader, oddEven }, info.dim, undefined, oddEven ? 1 : (info.targets?.width ?? 0), info.file, info);
}

function finiteFloat32(name: string, what: string, values: ArrayLike<number>, width: number): Float32Array {
  const out = values instanceof Float32Array ? values : Float32Array.from(values);
  const bad = firstNonFinite(values instanceof Float64Array ? values : out);
  if (bad) throw new DataError(`${name}: ${what}: value ${bad[0] % width} of row ${Math.floor(bad[0] / width)} is ${bad[1]}; features and targets must be finite numbers`);
  return out;
}

/**
 * A dataset from an Arrow IPC file (the prepared datasets, or one's own: `columns` picks the
 * feature and target columns as --features and --targets do), read on demand, or from arrays in
 * memory. Opening a file checks every value and hashes it in 8 MB pieces; afterwards it holds the
 * file's layout (a few numbers per record batch) and reads the rows each call asks for (a file whose
 * chosen columns take at most 128 MB is kept as it is read: dataset-reader.ts).
 */
export function openDataset(source: string | ArrayData, columns: ColumnChoice = {}): Dataset {
  if (typeof source !== "string" && (typeof source !== "object" || source === null || Array.isArray(source))) {
    throw new UsageError(`openDataset: source must be an Arrow file's name or { x, dim } (rows in memory), got ${describeValue(source)}`);
  }
  if (typeof columns !== "object" || columns === null || Array.isArray(columns)) throw new UsageError(`openDataset: columns must be an object such as { targets: "y" }, got ${describeValue(columns)}`);
  if (typeof source === "string") return fileDataset(source, ownOptions(columns));
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
