// What the benchmarks time and the experiments follow: the library's Network and Optimizer for a
// network spec and optimiser options, with the optimiser's engine and workspace exposed (a benchmark
// steps the engine on a loaded minibatch) and bench step's phase marker.
import { type Backend, Network, type NetworkSpec, Optimizer, type OptimizerOptions } from "../src/index.ts";
import { type BatchWorkspace, type Engine, type LayerTensors, type PhaseMarker, optimizerEngine } from "../src/bench-internals.ts";

export interface Session {
  readonly network: Network;
  readonly optimizer: Optimizer;
  readonly spec: NetworkSpec;
  readonly weights: LayerTensors;
  /** The method's engine: `engine.step(workspace, t)` updates from the minibatch loaded in `workspace`. */
  readonly engine: Engine;
  /** Holds one minibatch of the optimiser's batchSize rows. */
  readonly workspace: BatchWorkspace;
  /** Frees the optimiser's state, its workspace and the weights; the backend stays the caller's. */
  dispose(): void;
}

/** The network of `spec` with the initial weights of `options.seed`, and its optimiser. */
export function createSession(backend: Backend, spec: NetworkSpec, options: OptimizerOptions, phases?: PhaseMarker): Session {
  const network = new Network(backend, { sizes: spec.sizes, activation: spec.transfers, loss: spec.loss, seed: options.seed });
  let optimizer: Optimizer;
  try {
    optimizer = new Optimizer(network, options, phases);
  } catch (error) {
    network.dispose();
    throw error;
  }
  const { engine, workspace } = optimizerEngine(optimizer);
  return {
    network,
    optimizer,
    spec: network.spec,
    weights: network.weights,
    engine,
    workspace,
    dispose() {
      optimizer.dispose();
      network.dispose();
    },
  };
}
