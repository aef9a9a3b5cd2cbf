// The network a command line describes: the dataset's (or one's own file's) paper network, with
// --arch or --hidden, --act and --loss applied.
import {
  type NetworkSpec,
  datasetDim,
  defaultSpec,
  parseArch,
  parseHidden,
  parseLoss,
  parseTransfers,
  validateSpec,
} from "../nn/spec.ts";
import type { TrainConfig } from "./config.ts";

/** What the network must fit when training on one's own file (--data): sizes from its columns. */
export interface DataShape {
  inputDim: number;
  /** Values per row of the target column (supervised). */
  targetWidth?: number;
  /** Uint8 features (images scaled to [0, 1]): the autoencoder's default loss is then bce, else sse. */
  unitFeatures: boolean;
  /** The softmax loss's K from the target column's labels (the largest + 1), where --classes is not given. */
  classes?: number;
}

const PAPER_HIDDEN = { autoencoder: [1000, 500, 250, 30, 250, 500, 1000], classifier: [1000, 500, 250, 30] };

/**
 * The network of a config: the dataset's default, with --arch or --hidden, --act and --loss applied.
 * For --data the input size is the file's feature width and the output its target width (3 for
 * the mixture loss, K classes for softmax: --classes or the labels' largest + 1; the input size for
 * the autoencoder); the hidden layers default to the paper's.
 */
export function networkFor(config: TrainConfig, data?: DataShape): NetworkSpec {
  let base: NetworkSpec;
  if (config.data) {
    if (!data) throw new Error("networkFor: --data needs the data's shape");
    const loss = config.loss ? parseLoss(config.loss) : config.task === "autoencoder" && data.unitFeatures ? "bce" : "sse";
    const autoencoder = config.task === "autoencoder";
    const out = autoencoder ? data.inputDim : loss === "mixture" ? 3 : loss === "softmax" ? (config.classes ?? data.classes ?? 2) : data.targetWidth!;
    const hidden = autoencoder ? PAPER_HIDDEN.autoencoder : PAPER_HIDDEN.classifier;
    base = { sizes: [data.inputDim, ...hidden, out], transfers: Array(hidden.length).fill("tanh"), loss };
  } else {
    base = defaultSpec(config.dataset, config.task);
  }
  const first = base.sizes[0], last = base.sizes[base.sizes.length - 1];
  const sizes = config.arch ? parseArch(config.arch) : config.hidden ? [first, ...parseHidden(config.hidden), last] : [...base.sizes];
  const transfers = config.act ? parseTransfers(config.act, sizes.length - 2) : sizes.length - 2 === base.transfers.length ? [...base.transfers] : Array(sizes.length - 2).fill("tanh");
  const loss = config.loss ? parseLoss(config.loss) : base.loss;
  const spec = { sizes, transfers, loss };
  validateSpec(spec, data?.inputDim ?? datasetDim(config.dataset), config.task, data?.targetWidth);
  return spec;
}
