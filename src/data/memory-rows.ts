// The whole-file reader the stream's workers used before positioned reads (dataset-reader.ts): the
// file read into memory by openDatasetFile, rows gathered from that copy. Kept for the stream's
// "memory" reader, which the tests and `bench data-memory` compare positioned reads against.
import { copyAsFloat32 } from "./columns.ts";
import { type OpenedDataset, openDatasetFile, type ColumnChoice } from "./dataset-file.ts";
import { type RowsOut, batchHolding } from "./dataset-reader.ts";

export class MemoryRows {
  private readonly starts: number[];

  constructor(readonly dataset: OpenedDataset) {
    this.starts = dataset.chunks.map((c) => c.start);
  }

  static open(file: string, choice: ColumnChoice = {}): MemoryRows {
    return new MemoryRows(openDatasetFile(file, choice));
  }

  /** Index of the record batch holding row r (binary search over batch starts). */
  private chunkIndex(r: number): number {
    return batchHolding(this.starts, r);
  }

  /** The given rows into `out`, converted as DatasetReader.readRows does. */
  readRows(indices: ArrayLike<number>, out: RowsOut): void {
    const { info, chunks } = this.dataset;
    const size = indices.length, dim = info.dim, k = info.targets?.width ?? 0;
    for (let r = 0; r < size; r++) {
      const row = indices[r];
      const chunk = chunks[this.chunkIndex(row)];
      const local = row - chunk.start;
      copyAsFloat32(chunk.pixels, local * dim, info.features.scale255, out.x.subarray(r * dim, (r + 1) * dim));
      if (out.labels) out.labels[r] = chunk.labels![local];
      if (out.y) copyAsFloat32(chunk.targets!, local * k, info.targets!.scale255, out.y.subarray(r * k, (r + 1) * k));
    }
  }
}
