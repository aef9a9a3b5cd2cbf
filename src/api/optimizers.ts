// The library's optimisers: KFRA, KFLR, KFAC (src/optim/kronecker) and the first-order baselines
// (src/optim/firstOrder.ts), each bound to a network and a minibatch size, taking a minibatch of
// rows per step(). The options and defaults are the CLI's (`bun run train --help`).
import { FIRST_ORDER_DEFAULTS, type FirstOrderName, FirstOrderOptimizer } from "../optim/firstOrder.ts";
import { KroneckerOptimizer } from "../optim/kronecker/optimizer.ts";
import { type DampingPreset, presetWith } from "../optim/kronecker/presets.ts";
import { type Optimizer, type OptimizerName, type StepReport, stepAndReport } from "../optim/optimizer.ts";
import type { CurvatureKind } from "../curvature/estimator.ts";
import type { LayerTensors } from "../nn/params.ts";
import { SpecError, layerCount } from "../nn/spec.ts";
import { BatchWorkspace } from "../nn/workspace.ts";
import type { Batch } from "./dataset.ts";
import type { Network } from "./network.ts";

export type { StepReport } from "../optim/optimizer.ts";

export interface KroneckerSettings {
  batchSize: number;
  /** "fixed" (default: τ = γ = 1e-3, the authors' code) or "adaptive" (the paper's appendix B). */
  damping?: DampingPreset;
  tau0?: number;
  gamma0?: number;
  /** Adapt τ and γ (only with the adaptive preset). */
  adapt?: boolean;
  tauPeriod?: number;
  gammaPeriod?: number;
  /** Momentum on the curvature factors (default 0.9; 0: each minibatch's factors alone). */
  factorDecay?: number;
  /** Largest Polyak averaging constant (default: fixed 0.9, adaptive 0.95). */
  polyakMax?: number;
  /** Ramp factor decay and Polyak constant up over this many updates (default: fixed 100, adaptive 0). */
  rampSteps?: number;
  weightDecay?: number;
  /** Seed of KFAC's sampled targets. */
  seed?: number;
}

export interface FirstOrderSettings {
  batchSize: number;
  /** Default 2⁻⁹ for Adam, 2⁻⁶ otherwise. */
  lr?: number;
  /** Halve the learning rate every this many updates (0: never). */
  decayPeriod?: number;
  weightDecay?: number;
  momentum?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

const WEIGHT_DECAY = 1e-5;

/** An optimiser bound to a network: step(batch) loads the rows into its workspace and updates the network's weights. */
export abstract class TrainingOptimizer {
  private readonly workspace: BatchWorkspace;
  private updates = 0;

  protected constructor(
    readonly network: Network,
    readonly batchSize: number,
    private readonly inner: Optimizer,
  ) {
    this.workspace = new BatchWorkspace(network.backend, network.spec, batchSize);
  }

  get name(): OptimizerName {
    return this.inner.name;
  }

  /** Updates done so far. */
  get steps(): number {
    return this.updates;
  }

  /** The Polyak average θ̂ (KFRA, KFLR, KFAC), for Network.evaluate(data, optimizer.averagedWeights). */
  get averagedWeights(): LayerTensors | undefined {
    return this.inner.averagedWeights;
  }

  /**
   * One update from a minibatch of batchSize rows: x is batchSize × D₀; y the targets, batchSize ×
   * D_L (one 0/1 label per row for the mixture loss), or absent for an autoencoder. Returns the
   * minibatch loss before the update and the optimiser's own figures (τ, γ, α*, ...).
   */
  async step(batch: Batch): Promise<StepReport> {
    const { spec } = this.network;
    const n = this.batchSize;
    if (batch.x.length !== n * spec.sizes[0]) throw new SpecError(`step: x holds ${batch.x.length} values; a minibatch is ${n} rows of ${spec.sizes[0]}`);
    const rows = spec.loss === "mixture" ? 1 : spec.sizes[layerCount(spec)];
    if (batch.y && batch.y.length !== n * rows) throw new SpecError(`step: y holds ${batch.y.length} values; the targets are ${n} rows of ${rows}`);
    if (!batch.y && (spec.loss === "mixture" || spec.sizes[0] !== rows)) throw new SpecError(`step: this network needs targets y (it is not an autoencoder)`);
    this.workspace.loadBatch(batch.x, batch.y);
    this.updates += 1;
    return stepAndReport(this.inner, this.workspace, this.updates);
  }

  dispose(): void {
    this.inner.dispose();
    this.workspace.dispose();
  }
}

function kronecker(curvature: CurvatureKind, network: Network, settings: KroneckerSettings): KroneckerOptimizer {
  const { tau0, gamma0, adapt, tauPeriod, gammaPeriod, factorDecay, polyakMax, rampSteps } = settings;
  return new KroneckerOptimizer(network.backend, network.spec, network.weights, settings.batchSize, {
    ...presetWith(settings.damping ?? "fixed", { tau0, gamma0, adapt, tauPeriod, gammaPeriod, factorDecay, polyakMax, rampSteps }),
    curvature,
    seed: settings.seed ?? 0,
    weightDecay: settings.weightDecay ?? WEIGHT_DECAY,
  });
}

function firstOrder(name: FirstOrderName, network: Network, settings: FirstOrderSettings): FirstOrderOptimizer {
  return new FirstOrderOptimizer(name, network.backend, network.spec, network.weights, {
    ...FIRST_ORDER_DEFAULTS,
    ...Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)),
    lr: settings.lr ?? (name === "adam" ? 2 ** -9 : 2 ** -6),
    decayPeriod: settings.decayPeriod ?? 0,
    weightDecay: settings.weightDecay ?? WEIGHT_DECAY,
  });
}

/** KFRA: the Kronecker-factored recursive approximation of the Gauss–Newton blocks (one backward pass). */
export class KFRA extends TrainingOptimizer {
  constructor(network: Network, settings: KroneckerSettings) {
    super(network, settings.batchSize, kronecker("kfra", network, settings));
  }
}

/** KFLR: the exact Kronecker-factored low-rank Gauss–Newton factors (costly for wide outputs). */
export class KFLR extends TrainingOptimizer {
  constructor(network: Network, settings: KroneckerSettings) {
    super(network, settings.batchSize, kronecker("kflr", network, settings));
  }
}

/** KFAC: Kronecker factors from one sampled target per sample. */
export class KFAC extends TrainingOptimizer {
  constructor(network: Network, settings: KroneckerSettings) {
    super(network, settings.batchSize, kronecker("kfac", network, settings));
  }
}

export class Adam extends TrainingOptimizer {
  constructor(network: Network, settings: FirstOrderSettings) {
    super(network, settings.batchSize, firstOrder("adam", network, settings));
  }
}

export class SGD extends TrainingOptimizer {
  constructor(network: Network, settings: FirstOrderSettings) {
    super(network, settings.batchSize, firstOrder("sgd", network, settings));
  }
}

/** Heavy-ball momentum. */
export class Momentum extends TrainingOptimizer {
  constructor(network: Network, settings: FirstOrderSettings) {
    super(network, settings.batchSize, firstOrder("momentum", network, settings));
  }
}

export class Nesterov extends TrainingOptimizer {
  constructor(network: Network, settings: FirstOrderSettings) {
    super(network, settings.batchSize, firstOrder("nesterov", network, settings));
  }
}
