// A training session on one backend: the network a config describes, its weights, the optimiser and
// the minibatch workspace, built in one place for the trainer and the benchmarks.
import type { Backend } from "../backend/types.ts";
import { type LayerTensors, allocLayers, initialWeights, uploadLayers } from "../nn/params.ts";
import type { NetworkSpec } from "../nn/spec.ts";
import { BatchWorkspace } from "../nn/workspace.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import type { PhaseMarker } from "../optim/phases.ts";
import type { TrainConfig } from "./config.ts";
import { type DataShape, createOptimizer, networkFor } from "./setup.ts";

export interface Session {
  readonly backend: Backend;
  readonly spec: NetworkSpec;
  readonly weights: LayerTensors;
  readonly optimizer: Optimizer;
  /** Holds one minibatch of config.batch rows. */
  readonly workspace: BatchWorkspace;
  /** Frees the workspace and the optimiser's state; the backend stays the caller's. */
  dispose(): void;
}

export interface SessionOptions {
  /** The network, when the caller already has it (else networkFor(config, data)). */
  spec?: NetworkSpec;
  /** Own data's shape (--data), for networkFor. */
  data?: DataShape;
  /** Benchmarks only: told when each phase of a step begins. */
  phases?: PhaseMarker;
  /** Upload the seeded initial weights (config.seed) before the optimiser is made (default true); false leaves them to the caller (a checkpoint, --init). */
  initialize?: boolean;
}

export function createSession(config: TrainConfig, backend: Backend, options: SessionOptions = {}): Session {
  const spec = options.spec ?? networkFor(config, options.data);
  const weights = allocLayers(backend, spec);
  if (options.initialize ?? true) uploadLayers(backend, weights, initialWeights(spec, config.seed));
  const optimizer = createOptimizer(config, backend, spec, weights, options.phases);
  const workspace = new BatchWorkspace(backend, spec, config.batch);
  return {
    backend,
    spec,
    weights,
    optimizer,
    workspace,
    dispose() {
      workspace.dispose();
      optimizer.dispose();
    },
  };
}
