// What the benchmarks time: the network, weights, optimiser and minibatch workspace a `train`
// command line describes, assembled by the one optimiser factory (src/optim/methods.ts) from the one
// settings table, with the phase marker the library's Optimizer does not expose.
import type { Backend } from "../src/backend/types.ts";
import { UsageError } from "../src/errors.ts";
import { type TrainConfig, optimizerOptions } from "../src/cli/config.ts";
import { type DataShape, networkFor } from "../src/cli/network.ts";
import { type LayerTensors, allocLayers, freeLayers, initialWeights, uploadLayers } from "../src/nn/params.ts";
import type { NetworkSpec } from "../src/nn/spec.ts";
import { BatchWorkspace } from "../src/nn/workspace.ts";
import { createOptimizer } from "../src/optim/methods.ts";
import type { Optimizer } from "../src/optim/optimizer.ts";
import type { PhaseMarker } from "../src/optim/phases.ts";
import { type OptimizerSettings, resolveOptimizerSettings } from "../src/optim/settings.ts";

export interface Session {
  readonly spec: NetworkSpec;
  readonly weights: LayerTensors;
  readonly optimizer: Optimizer;
  /** Holds one minibatch of config.batch rows. */
  readonly workspace: BatchWorkspace;
  /** Frees the workspace, the optimiser's state and the weights; the backend stays the caller's. */
  dispose(): void;
}

/** The optimiser settings a command line resolves to (the table's, with its flags applied). */
export function settingsOf(config: TrainConfig): OptimizerSettings {
  const { method, ...given } = optimizerOptions(config);
  return resolveOptimizerSettings(method, { ...given, batchSize: config.batch, seed: config.seed });
}

export function createSession(config: TrainConfig, backend: Backend, options: { spec?: NetworkSpec; data?: DataShape; phases?: PhaseMarker } = {}): Session {
  const spec = options.spec ?? networkFor(config, options.data);
  const weights = allocLayers(backend, spec);
  uploadLayers(backend, weights, initialWeights(spec, config.seed));
  const optimizer = createOptimizer(config.opt, backend, spec, weights, settingsOf(config), options.phases);
  const workspace = new BatchWorkspace(backend, spec, config.batch);
  return {
    spec,
    weights,
    optimizer,
    workspace,
    dispose() {
      workspace.dispose();
      optimizer.dispose();
      freeLayers(backend, weights);
    },
  };
}

/** The Kronecker preset a bench tool was given: `--preset`, or `--damping`, its old name. */
export function presetFlag(values: { preset?: string; damping?: string }, fallback: string): string {
  if (values.preset !== undefined && values.damping !== undefined) throw new UsageError("--preset and --damping (its old name) were both given; give one");
  return values.preset ?? values.damping ?? fallback;
}
