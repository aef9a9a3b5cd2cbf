// The library's optimiser: a method of the table in src/optim/methods.ts bound to a network and a
// minibatch size, with settings checked against src/optim/settings.ts. step(batch) refuses a
// minibatch the update could not use (wrong shape, non-finite values, targets outside the loss's
// domain) before anything changes, and refuses to overlap another step() or train().
import { UsageError } from "../errors.ts";
import { checkTargets } from "../data/targets.ts";
import { isLabelLoss, lossTargetRows } from "../backend/shapes.ts";
import { DataError } from "../data/data-error.ts";
import type { LayerTensors } from "../nn/params.ts";
import { SpecError, layerCount } from "../nn/spec.ts";
import { BatchWorkspace } from "../nn/workspace.ts";
import { createOptimizer } from "../optim/methods.ts";
import type { Optimizer as Engine, RecordedUpdate, StepReport } from "../optim/optimizer.ts";
import type { PhaseMarker } from "../optim/phases.ts";
import { METHOD_NAMES, type MethodName, type OptimizerSettings, resolveOptimizerSettings } from "../optim/settings.ts";
import { SettingError, describeValue, ownOptions } from "../settings.ts";
import type { LoopBatch, Trainee } from "../train/loop.ts";
import { Network, networkInternals } from "./network.ts";

export type { StepReport } from "../optim/optimizer.ts";

/** A minibatch as step() takes it: rows of x, and rows of y for a supervised network (Dataset.batch gives one). */
export interface BatchInput {
  x: ArrayLike<number>;
  y?: ArrayLike<number>;
}

/** A method and any of its settings (the rest take their defaults: `bun run train --help` lists them). */
export type OptimizerOptions = { method: MethodName } & Partial<OptimizerSettings>;

/** What the library's train() and the CLI's checkpoints reach inside an optimiser; not exported from the package. */
export interface OptimizerInternals {
  trainee: Trainee;
  /** What a checkpoint saves and restores (src/run/checkpoint.ts). */
  checkpointed: Pick<Engine, "name" | "state" | "restoreScalars">;
  /** After a restore: the optimiser has done `step` updates. */
  resumeAt(step: number): void;
  /** Runs `work` unless a step() or train() of this optimiser is under way. */
  exclusive<T>(what: string, work: () => Promise<T>): Promise<T>;
  /** The method's engine and the minibatch workspace it reads, for the benchmarks (src/bench-internals.ts). */
  engine: Engine;
  workspace: BatchWorkspace;
}
export const internals = new WeakMap<Optimizer, OptimizerInternals>();

const FLOAT32_MAX = 3.4028234663852886e38;

/** The first value that float32 cannot hold as a finite number: [index, value], or undefined. */
function firstNonFinite(values: ArrayLike<number>): [number, number] | undefined {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(Math.abs(v) <= FLOAT32_MAX)) return [i, v];
  }
  return undefined;
}

function isArrayLike(value: unknown): value is ArrayLike<number> {
  return (ArrayBuffer.isView(value) && !(value instanceof DataView)) || Array.isArray(value);
}

export class Optimizer {
  readonly method: MethodName;
  readonly settings: Readonly<OptimizerSettings>;
  private readonly engine: Engine;
  private readonly workspace: BatchWorkspace;
  private updates = 0;
  private busy?: string;
  private disposed = false;

  /**
   * Throws a SettingError naming the first unknown setting, a setting the method does not read, or a
   * value out of range. `phases` is bench step's timer of the update's phases (src/bench-internals.ts).
   */
  constructor(
    readonly network: Network,
    options: OptimizerOptions,
    phases?: PhaseMarker,
  ) {
    if (!(network instanceof Network)) throw new UsageError(`Optimizer: network must be a Network (new Network(backend, { sizes, loss })), got ${describeValue(network)}`);
    if (typeof options !== "object" || options === null) throw new UsageError(`Optimizer: options must be an object such as { method: "kfra", batchSize: 1000 }, got ${describeValue(options)}`);
    const { method, ...given } = ownOptions(options);
    if (!METHOD_NAMES.includes(method)) throw new SettingError("method", `must be one of ${METHOD_NAMES.join(", ")}, got ${JSON.stringify(method)}`);
    network.checkUsable("Optimizer");
    this.method = method;
    this.settings = Object.freeze(resolveOptimizerSettings(method, given));
    const { backend, spec, weights } = network;
    this.engine = createOptimizer(method, backend, spec, weights, this.settings, phases);
    this.workspace = new BatchWorkspace(backend, spec, this.settings.batchSize);
    const engine = this.engine;
    const record = (batch: LoopBatch, step: number): Promise<RecordedUpdate> => {
      this.workspace.loadBatch(batch.x, batch.y);
      this.updates = step;
      return this.engine.step(this.workspace, step);
    };
    internals.set(this, {
      trainee: {
        backend,
        spec,
        weights,
        get averagedWeights() {
          return engine.averagedWeights;
        },
        record,
      },
      checkpointed: engine,
      resumeAt: (step) => {
        this.updates = step;
      },
      exclusive: (what, work) => this.exclusive(what, work),
      engine,
      workspace: this.workspace,
    });
  }

  get batchSize(): number {
    return this.settings.batchSize;
  }

  /** Updates done so far. */
  get steps(): number {
    return this.updates;
  }

  /** The Polyak average θ̂ (KFRA, KFLR, KFAC), for network.evaluate(data, optimizer.averagedWeights). */
  get averagedWeights(): LayerTensors | undefined {
    return this.engine.averagedWeights;
  }

  /**
   * One update from a minibatch of batchSize rows: x is batchSize × D₀, row-major; y the targets,
   * batchSize × D_L (one 0/1 label per row for the mixture loss, one class index 0 … D_L−1 for
   * softmax), absent for an autoencoder.
   * Returns the minibatch loss before the update and the optimiser's own figures (τ, γ, α*, ...).
   * A batch it cannot use is refused with nothing changed.
   */
  async step(batch: BatchInput): Promise<StepReport> {
    if (this.disposed) throw new UsageError("step(): the optimiser has been disposed");
    this.checkBatch(batch);
    return this.exclusive("step()", async () => {
      const update = await internals.get(this)!.trainee.record({ x: batch.x, y: batch.y, epoch: 0, batch: 0 }, this.updates + 1);
      return update.report();
    });
  }

  /** Frees the optimiser's state; refused while its step() or train() runs (stop train() with its signal and await it first). */
  dispose(): void {
    if (this.disposed) return;
    if (this.busy) throw new UsageError(`dispose(): this optimiser's ${this.busy} is running; stop it (train()'s signal) and await it before disposing`);
    this.disposed = true;
    this.engine.dispose();
    this.workspace.dispose();
  }

  private async exclusive<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.disposed) throw new UsageError(`${what}: the optimiser has been disposed`);
    if (this.busy) throw new UsageError(`${what}: this optimiser's ${this.busy} has not finished; await it before the next`);
    this.network.checkUsable(what);
    this.busy = what;
    const release = networkInternals.get(this.network)!.hold(what);
    try {
      return await work();
    } finally {
      this.busy = undefined;
      release();
    }
  }

  /** Throws, as step() would, when the minibatch cannot be used: its shape, a non-finite value, a target outside the loss's domain. */
  checkBatch(batch: BatchInput): void {
    const { spec } = this.network;
    const n = this.batchSize;
    if (typeof batch !== "object" || batch === null) throw new SpecError(`step: expected a minibatch { x, y? }, got ${batch === null ? "null" : typeof batch}`);
    const { x, y } = batch;
    if (!isArrayLike(x)) throw new SpecError(`step: x must be a Float32Array (or an array) of ${n} rows of ${spec.sizes[0]} values`);
    if (x.length !== n * spec.sizes[0]) throw new SpecError(`step: x holds ${x.length} values; a minibatch is ${n} rows of ${spec.sizes[0]}`);
    const width = lossTargetRows(spec.loss, spec.sizes[layerCount(spec)]);
    const autoencoder = !isLabelLoss(spec.loss) && spec.sizes[0] === width;
    if (y === undefined && !autoencoder) throw new SpecError(`step: this network needs targets y (it is not an autoencoder)`);
    if (y !== undefined && !isArrayLike(y)) throw new SpecError(`step: y must be a Float32Array (or an array) of ${n} rows of ${width} values`);
    if (y !== undefined && y.length !== n * width) throw new SpecError(`step: y holds ${y.length} values; the targets are ${n} rows of ${width}`);
    for (const [name, values, w] of [["x", x, spec.sizes[0]], ["y", y, width]] as const) {
      if (values === undefined) continue;
      const bad = firstNonFinite(values);
      if (bad) throw new DataError(`step: ${name}: value ${bad[0] % w} of row ${Math.floor(bad[0] / w)} is ${bad[1]}; a minibatch must hold finite float32 values`);
    }
    checkTargets("step", spec.loss, y ?? x, { name: y === undefined ? "x" : "y", width: y === undefined ? spec.sizes[0] : width }, spec.sizes[layerCount(spec)]);
  }
}
