// The error on a whole dataset: the mean over all samples of the per-sample loss E (docs/algorithm.md
// §1.2), computed in chunks of the workspace's size: (1/N) Σ_chunks Σ_{n ∈ chunk} E_n. A set in
// memory is cut into views; a set on disk is read one chunk at a time (EvalData.read), the same
// chunks, so the same sums. For a classifier also the accuracy, the fraction of samples whose
// predicted class is their label (§12.1, accuracy.ts), counted chunk by chunk.
import type { Backend } from "../backend/types.ts";
import { classLabels, countCorrect } from "./accuracy.ts";
import { forward } from "./forward.ts";
import type { LayerTensors } from "./params.ts";
import type { NetworkSpec } from "./spec.ts";
import { BatchWorkspace } from "./workspace.ts";

export interface EvalData {
  /** count × dim, row-major; absent when the rows are read chunk by chunk with `read`. */
  x?: Float32Array;
  /** Targets, count × targetWidth row-major (the mixture loss: one label per sample); none for the autoencoder. */
  targets?: Float32Array;
  targetWidth?: number;
  count: number;
  dim: number;
  /** Rows [start, start + size): features size × dim and targets size × targetWidth (a set not held in memory). */
  read?(start: number, size: number): { x: Float32Array; targets?: Float32Array };
}

/** Rows [start, start + size) of the set: views of the arrays in memory, or read. */
function chunkRows(data: EvalData, start: number, size: number): { x: Float32Array; targets?: Float32Array } {
  if (data.read) return data.read(start, size);
  const k = data.targetWidth ?? 1;
  return { x: data.x!.subarray(start * data.dim, (start + size) * data.dim), targets: data.targets?.subarray(start * k, (start + size) * k) };
}

/** A whole-set evaluation: the mean loss, and the accuracy when the network is a classifier. */
export interface Evaluation {
  loss: number;
  accuracy?: number;
}

/** An evaluation stopped by its AbortSignal between two chunks. */
export class EvaluationAborted extends Error {
  override name = "EvaluationAborted";
}

export class Evaluator {
  private remainder?: BatchWorkspace;
  private readonly sum: ReturnType<Backend["alloc"]>;

  constructor(
    private readonly backend: Backend,
    private readonly spec: NetworkSpec,
    private readonly ws: BatchWorkspace,
  ) {
    this.sum = backend.alloc(1, 1);
  }

  /** The mean of E over the whole set at `weights`; throws EvaluationAborted once `signal` is aborted. */
  async meanLoss(weights: LayerTensors, data: EvalData, signal?: AbortSignal): Promise<number> {
    return (await this.evaluate(weights, data, signal, false)).loss;
  }

  /** The mean of E and (a classifier's, unless `withAccuracy` is false) the accuracy over the whole set at `weights`. */
  async evaluate(weights: LayerTensors, data: EvalData, signal?: AbortSignal, withAccuracy = true): Promise<Evaluation> {
    const { backend, spec } = this;
    const n = this.ws.batchSize;
    const outputs = spec.sizes[spec.sizes.length - 1];
    // A classifier while every chunk's targets are class labels (accuracy.ts); then no accuracy at all.
    let classifier = withAccuracy;
    let total = 0;
    let correct = 0;
    for (let start = 0; start < data.count; start += n) {
      if (signal) {
        // Lets a signal handler run between chunks: a whole-set evaluation can take seconds.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (signal.aborted) throw new EvaluationAborted("evaluation stopped");
      }
      const size = Math.min(n, data.count - start);
      const ws = size === n ? this.ws : this.remainderWorkspace(size);
      const rows = chunkRows(data, start, size);
      ws.loadBatch(rows.x, rows.targets);
      forward(backend, spec, weights, ws, false);
      backend.lossValue(spec.loss, ws.output, ws.target, ws.lossPerSample);
      backend.sum(ws.lossPerSample, this.sum);
      if (classifier) {
        const labels = classLabels(spec.loss, outputs, rows.targets, data.targetWidth ?? 1);
        if (labels) correct += countCorrect(spec.loss, outputs, await backend.download(ws.output), size, labels, 0);
        else classifier = false;
      }
      total += (await backend.download(this.sum))[0];
    }
    return classifier ? { loss: total / data.count, accuracy: correct / data.count } : { loss: total / data.count };
  }

  private remainderWorkspace(size: number): BatchWorkspace {
    if (this.remainder?.batchSize !== size) {
      this.remainder?.dispose();
      this.remainder = new BatchWorkspace(this.backend, this.spec, size);
    }
    return this.remainder;
  }

  dispose(): void {
    this.remainder?.dispose();
    this.backend.free(this.sum);
  }
}
