// The library's network: a spec (sizes, transfer functions, loss) with its weights on a backend,
// and the two things one does with it outside training: outputs for some rows, and the mean loss
// over a dataset. The maths is src/nn's forward pass and Evaluator.
import { type Backend, LOSS_KINDS, type LossKind, TRANSFER_KINDS, type TransferKind } from "../backend/types.ts";
import { UsageError } from "../errors.ts";
import { forward } from "../nn/forward.ts";
import { type LayerTensors, allocLayers, downloadLayers, freeLayers, initialWeights, uploadLayers } from "../nn/params.ts";
import { type NetworkSpec, SpecError, describeSpec, layerCount, parameterCount, validateSpec } from "../nn/spec.ts";
import { BatchWorkspace } from "../nn/workspace.ts";
import { firstNonFiniteIndex, modelClassNames, modelMetadata, modelSpecFromMetadata, modelTensors, modelWeightsFrom } from "../nn/modelFile.ts";
import { type Evaluation, Evaluator } from "../nn/evaluate.ts";
import { predictClasses } from "../nn/accuracy.ts";
import { readSafetensors, writeSafetensors } from "../io/safetensors.ts";
import { OPTIMIZER_SETTINGS } from "../optim/settings.ts";
import { SettingError, checkSetting, ownOptions } from "../settings.ts";
import type { Dataset } from "./dataset.ts";

export interface NetworkOptions {
  /** D₀ … D_L: input size, hidden sizes, output size (3 for the mixture loss). */
  sizes: readonly number[];
  /** Transfer function of every hidden layer, or one per hidden layer (default tanh). */
  activation?: TransferKind | readonly TransferKind[];
  loss: LossKind;
  /** Seed of the initial weights (the CLI's --seed gives the same weights). */
  seed?: number;
  /** A classifier's class names, one per class (K outputs, or 2 for one output and the mixture); saved in its model files. */
  classNames?: readonly string[];
}

const NETWORK_KEYS = ["sizes", "activation", "loss", "seed", "classNames"];

/** Checked class names: distinct strings, as many as the network has classes. */
function checkClassNames(spec: NetworkSpec, names: unknown): readonly string[] | undefined {
  if (names === undefined) return undefined;
  const outputs = spec.sizes[spec.sizes.length - 1];
  const classes = spec.loss === "mixture" || outputs === 1 ? 2 : outputs;
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string") || new Set(names).size !== names.length) {
    throw new SettingError("classNames", `must be a list of distinct strings, got ${JSON.stringify(names)}`);
  }
  if (spec.loss === "sse") throw new SettingError("classNames", "the sse loss is a regression; it has no classes");
  if (names.length !== classes) throw new SettingError("classNames", `the network has ${classes} classes, got ${names.length} names`);
  return [...names];
}

/** The spec of checked options: every problem is a one-line error naming the option. */
function specOf(given: NetworkOptions): NetworkSpec {
  if (typeof given !== "object" || given === null) throw new UsageError(`Network: options must be an object such as { sizes: [16, 4, 16], loss: "sse" }`);
  const options = ownOptions(given);
  for (const key of Object.keys(options)) if (!NETWORK_KEYS.includes(key)) throw new SettingError(key, `not an option of Network; its options are ${NETWORK_KEYS.join(", ")}`);
  const { sizes, activation = "tanh", loss } = options;
  if (!Array.isArray(sizes) || sizes.length < 2 || sizes.some((s) => !Number.isSafeInteger(s) || s < 1)) {
    throw new SettingError("sizes", `must be a list of at least two positive integers (input, hidden…, output), got ${JSON.stringify(sizes)}`);
  }
  if (!LOSS_KINDS.includes(loss)) throw new SettingError("loss", `must be one of ${LOSS_KINDS.join(", ")}, got ${JSON.stringify(loss)}`);
  const hidden = sizes.length - 2;
  const transfers = typeof activation === "string" ? Array<TransferKind>(hidden).fill(activation) : Array.isArray(activation) ? [...activation] : [];
  if ((typeof activation !== "string" && !Array.isArray(activation)) || transfers.length !== hidden || transfers.some((t) => !TRANSFER_KINDS.includes(t))) {
    throw new SettingError("activation", `must be one of ${TRANSFER_KINDS.join(", ")}, or a list of ${hidden} of them (one per hidden layer), got ${JSON.stringify(activation)}`);
  }
  if (options.seed !== undefined) checkSetting("seed", OPTIMIZER_SETTINGS.seed, options.seed);
  return { sizes: [...sizes], transfers, loss };
}

/**
 * The options of a network loaded from `file` whose metadata says `saved`: each option the file
 * records comes from it, and one given too must agree (a SettingError naming it); one the file
 * lacks (a file written elsewhere) must be given.
 */
function loadedOptions(file: string, saved: Partial<NetworkSpec> & { classNames?: string[] }, options: Partial<NetworkOptions>): NetworkOptions {
  if (typeof options !== "object" || options === null) throw new UsageError(`Network.load: options must be an object such as { loss: "bce" }, or left out`);
  for (const key of Object.keys(options)) if (!NETWORK_KEYS.includes(key)) throw new SettingError(key, `not an option of Network; its options are ${NETWORK_KEYS.join(", ")}`);
  const sizes = options.sizes ?? saved.sizes;
  if (sizes === undefined) throw new SettingError("sizes", `${file} does not record the layer sizes; give them (e.g. { sizes: [784, 30, 10] })`);
  if (options.loss === undefined && saved.loss === undefined) throw new SettingError("loss", `${file} does not record the loss; give it`);
  const merged = specOf({ sizes, activation: options.activation ?? saved.transfers ?? "tanh", loss: options.loss ?? saved.loss!, seed: options.seed });
  const differs = (a: readonly unknown[], b: readonly unknown[]) => a.length !== b.length || a.some((v, i) => v !== b[i]);
  if (saved.sizes && differs(merged.sizes, saved.sizes)) throw new SettingError("sizes", `${JSON.stringify(options.sizes)} here, but ${file} holds a ${saved.sizes.join("-")} network`);
  if (saved.transfers && options.activation !== undefined && differs(merged.transfers, saved.transfers)) {
    throw new SettingError("activation", `${JSON.stringify(options.activation)} here, but ${file} was trained with ${saved.transfers.join(",") || "no hidden layers"}`);
  }
  if (saved.loss && merged.loss !== saved.loss) throw new SettingError("loss", `'${merged.loss}' here, but ${file} was trained with the ${saved.loss} loss`);
  if (saved.classNames && options.classNames !== undefined && differs(options.classNames, saved.classNames)) {
    throw new SettingError("classNames", `${JSON.stringify(options.classNames)} here, but ${file} names its classes ${saved.classNames.join(", ")}`);
  }
  return { sizes: merged.sizes, activation: merged.transfers, loss: merged.loss, seed: options.seed, classNames: options.classNames ?? saved.classNames };
}

/** Rows evaluated at once by predict() and evaluate(). */
const CHUNK = 1000;

export class Network {
  readonly spec: NetworkSpec;
  /** W_λ = [W̃_λ | b_λ] per layer, D_λ × (D_{λ−1} + 1), on the backend; the optimisers update these. */
  readonly weights: LayerTensors;
  /** The class names given (or read by Network.load), for naming predictClasses' indices. */
  readonly classNames?: readonly string[];
  private disposed = false;
  /** What runs on the weights now (a train() or step() of an optimiser). */
  private readonly running = new Map<symbol, string>();

  constructor(
    readonly backend: Backend,
    options: NetworkOptions,
  ) {
    const running = this.running;
    networkInternals.set(this, {
      hold(what) {
        const token = Symbol(what);
        running.set(token, what);
        return () => running.delete(token);
      },
    });
    this.spec = specOf(options);
    validateSpec(this.spec, this.spec.sizes[0], "supervised");
    this.classNames = checkClassNames(this.spec, options.classNames);
    this.weights = allocLayers(backend, this.spec);
    uploadLayers(backend, this.weights, initialWeights(this.spec, (Object.hasOwn(options, "seed") ? options.seed : undefined) ?? OPTIMIZER_SETTINGS.seed.default));
  }

  /** Throws when the network has been disposed (`what` names the caller). */
  checkUsable(what: string): void {
    if (this.disposed) throw new UsageError(`${what}: the network has been disposed`);
  }

  /**
   * A network whose weights come from a model.safetensors file (a run's model or best model, or
   * save()'s): sizes, activations and loss from the file's metadata; `options` only to check them
   * (a mismatch is a SettingError naming the option) or to give what a file lacks.
   */
  static load(backend: Backend, file: string, options: Partial<NetworkOptions> = {}): Network {
    const saved = readSafetensors(file);
    const recorded = { ...modelSpecFromMetadata(file, saved.metadata), classNames: modelClassNames(file, saved.metadata) };
    const network = new Network(backend, loadedOptions(file, recorded, options));
    try {
      uploadLayers(backend, network.weights, modelWeightsFrom(saved, file, network.spec));
    } catch (error) {
      network.dispose();
      throw error;
    }
    return network;
  }

  get inputSize(): number {
    return this.spec.sizes[0];
  }

  get outputSize(): number {
    return this.spec.sizes[layerCount(this.spec)];
  }

  get parameterCount(): number {
    return parameterCount(this.spec);
  }

  toString(): string {
    return describeSpec(this.spec);
  }

  /** The network's outputs h_L (before the loss: logits for bce and mixture) for count × D₀ rows; count × D_L, row-major. */
  async predict(x: ArrayLike<number>): Promise<Float32Array> {
    this.checkUsable("predict()");
    const d = this.inputSize, k = this.outputSize;
    const count = x.length / d;
    if (!Number.isInteger(count) || count < 1) throw new SpecError(`predict: ${x.length} values are not a positive multiple of the input size ${d}`);
    const out = new Float32Array(count * k);
    let ws: BatchWorkspace | undefined;
    try {
      for (let start = 0; start < count; start += CHUNK) {
        const n = Math.min(CHUNK, count - start);
        if (ws?.batchSize !== n) {
          ws?.dispose();
          ws = new BatchWorkspace(this.backend, this.spec, n);
        }
        // The forward pass ignores the target; an autoencoder-shaped net copies x there, any other gets zeros.
        const target = ws.target.rows === d ? undefined : new Float32Array(n * ws.target.rows);
        ws.loadBatch(Float32Array.from({ length: n * d }, (_, i) => x[start * d + i]), target);
        forward(this.backend, this.spec, this.weights, ws, false);
        const h = await this.backend.download(ws.output); // D_L × n
        for (let r = 0; r < n; r++) for (let i = 0; i < k; i++) out[(start + r) * k + i] = h[i * n + r];
      }
    } finally {
      ws?.dispose();
    }
    return out;
  }

  /**
   * The class of each of count × D₀ rows (docs/algorithm.md §12.1): argmax of the outputs for K > 1
   * outputs, σ(h) ≥ ½ for one, p(y = 1) ≥ ½ for the mixture; index into `classNames` (or `dataset.classNames`) for names.
   */
  async predictClasses(x: ArrayLike<number>): Promise<Int32Array> {
    if (this.spec.loss === "sse") throw new UsageError(`predictClasses(): the network's loss is sse, a regression; it has no classes`);
    return predictClasses(this.spec.loss, this.outputSize, await this.predict(x));
  }

  /**
   * Mean per-sample loss over a dataset, at these weights or at `weights` (e.g. an optimiser's
   * Polyak average), and for a classifier the accuracy (docs/algorithm.md §12.1).
   */
  async evaluate(data: Dataset, weights: LayerTensors = this.weights): Promise<Evaluation> {
    this.checkUsable("evaluate()");
    data.checkFits(this.spec);
    const ws = new BatchWorkspace(this.backend, this.spec, Math.min(CHUNK, data.count));
    const evaluator = new Evaluator(this.backend, this.spec, ws);
    try {
      return await evaluator.evaluate(weights, data.evalData());
    } finally {
      evaluator.dispose();
      ws.dispose();
    }
  }

  /** The weights W_λ = [W̃_λ | b_λ], row-major, one array per layer. */
  async getWeights(): Promise<Float32Array[]> {
    this.checkUsable("getWeights()");
    return (await downloadLayers(this.backend, this.weights)).map((w) => Float32Array.from(w));
  }

  /** Sets W_λ = [W̃_λ | b_λ], row-major, one array per layer; every value must be finite. */
  setWeights(values: ArrayLike<number>[]): void {
    this.checkUsable("setWeights()");
    this.checkWeights("setWeights", values);
    uploadLayers(this.backend, this.weights, values);
  }

  /** Writes model.safetensors (tensors layers.{i}.weight and layers.{i}.bias, as the trainer's runs); refuses non-finite weights. */
  async save(file: string): Promise<void> {
    const weights = await this.getWeights();
    this.checkWeights("save", weights, ` (${file} not written)`);
    writeSafetensors(file, modelTensors(this.spec, weights), modelMetadata(this.spec, this.classNames));
  }

  /** One array per layer of D_λ × (D_{λ−1} + 1) finite values, or a one-line error naming the layer, row and column. */
  private checkWeights(what: string, values: unknown, after = ""): void {
    const L = layerCount(this.spec);
    if (!Array.isArray(values) || values.length !== L) throw new UsageError(`${what}: weights: must be a list of ${L} arrays (one per layer), got ${Array.isArray(values) ? `${values.length}` : values === null ? "null" : typeof values}`);
    values.forEach((layer: unknown, l) => {
      const rows = this.spec.sizes[l + 1], cols = this.spec.sizes[l] + 1;
      const ok = typeof layer === "object" && layer !== null && typeof (layer as ArrayLike<number>).length === "number";
      if (!ok || (layer as ArrayLike<number>).length !== rows * cols) {
        throw new UsageError(`${what}: weights: layer ${l} must hold ${rows} × ${cols} values ([W̃ | b], row-major), got ${ok ? (layer as ArrayLike<number>).length : layer === null ? "null" : typeof layer}`);
      }
      const bad = firstNonFiniteIndex(layer as ArrayLike<number>);
      if (bad >= 0) throw new UsageError(`${what}: weights: layer ${l} holds ${String((layer as ArrayLike<number>)[bad])} at row ${Math.floor(bad / cols)}, column ${bad % cols}; weights must be finite${after}`);
    });
  }

  /** Frees the weights; refused while an optimiser's step() or train() runs on them. */
  dispose(): void {
    if (this.disposed) return;
    if (this.running.size > 0) throw new UsageError(`dispose(): the network is in use by a running ${[...this.running.values()][0]}; stop it (train()'s signal) and await it before disposing`);
    this.disposed = true;
    freeLayers(this.backend, this.weights);
  }
}

/** For the library's Optimizer: marks the network in use while a step() or train() runs (dispose() is then refused). */
export const networkInternals = new WeakMap<Network, { hold(what: string): () => void }>();
