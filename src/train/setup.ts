// From a training config to the objects it names: the network and the optimiser.
import type { Backend } from "../backend/types.ts";
import type { LayerTensors } from "../nn/params.ts";
import {
  type NetworkSpec,
  datasetDim,
  defaultSpec,
  parseArch,
  parseLoss,
  parseTransfers,
  validateSpec,
} from "../nn/spec.ts";
import { FIRST_ORDER_DEFAULTS, FirstOrderOptimizer } from "../optim/firstOrder.ts";
import { KroneckerOptimizer, dampingPreset } from "../optim/kronecker/optimizer.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import type { PhaseMarker } from "../optim/phases.ts";
import { type TrainConfig, isSecondOrder } from "./config.ts";

/** The network of a config: the dataset's default, with --arch, --act and --loss applied. */
export function networkFor(config: TrainConfig): NetworkSpec {
  const base = defaultSpec(config.dataset, config.task);
  const sizes = config.arch ? parseArch(config.arch) : [...base.sizes];
  const transfers = config.act ? parseTransfers(config.act, sizes.length - 2) : sizes.length - 2 === base.transfers.length ? [...base.transfers] : Array(sizes.length - 2).fill("tanh");
  const loss = config.loss ? parseLoss(config.loss) : base.loss;
  const spec = { sizes, transfers, loss };
  validateSpec(spec, datasetDim(config.dataset), config.task);
  return spec;
}

export function createOptimizer(config: TrainConfig, backend: Backend, spec: NetworkSpec, weights: LayerTensors, phases?: PhaseMarker): Optimizer {
  if (isSecondOrder(config.opt)) {
    const preset = dampingPreset(config.damping);
    return new KroneckerOptimizer(backend, spec, weights, config.batch, {
      ...preset,
      curvature: config.opt,
      seed: config.seed,
      weightDecay: config.weightDecay,
      tau0: config.tau0 ?? preset.tau0,
      gamma0: config.gamma0 ?? preset.gamma0,
      adapt: preset.adapt && config.adapt,
      tauPeriod: config.tauPeriod,
      gammaPeriod: config.gammaPeriod,
      factorDecay: config.factorMomentum ? config.factorDecay : 0,
      phases,
    });
  }
  return new FirstOrderOptimizer(config.opt, backend, spec, weights, {
    ...FIRST_ORDER_DEFAULTS,
    lr: config.lr ?? (config.opt === "adam" ? 2 ** -9 : 2 ** -6),
    decayPeriod: config.decayPeriod,
    weightDecay: config.weightDecay,
    momentum: config.momentum,
    phases,
  });
}
