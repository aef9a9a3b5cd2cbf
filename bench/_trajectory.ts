// A training run driven one update at a time for analysis benches: the network, weights, optimiser
// and minibatch stream exactly as `train` builds them from the same flags (same seed, same data
// order, same targets), so that a bench can stop before any update, look at the minibatch that
// update will use, and then let the update happen. No files are written.
import type { Backend } from "../src/backend/types.ts";
import { createBackend } from "../src/backend/index.ts";
import { ensureDataset } from "../data-prep/ensure.ts";
import { MinibatchStream } from "../src/data/stream.ts";
import type { StepReport } from "../src/optim/optimizer.ts";
import { type TrainConfig, parseTrainArgs } from "../src/cli/config.ts";
import { trainingData } from "../src/cli/data-source.ts";
import { loadDataset } from "../src/data/dataset.ts";
import { oddEvenTargets } from "../src/data/datasets.ts";
import { checkTargets } from "../src/data/targets.ts";
import type { EvalData } from "../src/nn/evaluate.ts";
import type { NetworkSpec } from "../src/nn/spec.ts";
import { type Session, createSession } from "./session.ts";

export interface Trajectory {
  config: TrainConfig;
  backend: Backend;
  session: Session;
  /** Updates taken so far. */
  step: number;
  /** Loads the minibatch of update step + 1 into the session's workspace. */
  loadNext(): Promise<void>;
  /** Takes update step + 1 on the loaded minibatch and returns its report. */
  update(): Promise<StepReport>;
  close(): Promise<void>;
}

/** A trajectory from train flags (`--opt kfra --preset adaptive --seed 1 …`). */
export async function openTrajectory(trainFlags: string[]): Promise<Trajectory> {
  const config = parseTrainArgs(trainFlags);
  if (!config.data) await ensureDataset(config.dataset, config.dataDir);
  const data = await trainingData(config);
  const backend = await createBackend({ device: config.device });
  const session = createSession(config, backend, { data: data.shape });
  const stream = await MinibatchStream.open({ file: data.train, columns: data.columns, batchSize: config.batch, seed: config.seed, workers: config.workers, shuffle: config.shuffle, oddEvenTargets: config.task === "odd-even" });
  const trajectory: Trajectory = {
    config,
    backend,
    session,
    step: 0,
    async loadNext() {
      const batch = await stream.next();
      session.workspace.loadBatch(batch.x, batch.y);
    },
    async update() {
      trajectory.step += 1;
      return (await session.optimizer.step(session.workspace, trajectory.step)).report();
    },
    async close() {
      await stream.close();
      session.dispose();
      backend.dispose();
    },
  };
  return trajectory;
}

/** Splits a bench's argv into its own flags (by name) and the rest, which are train flags. */
export function splitFlags(argv: string[], own: readonly string[]): { own: string[]; train: string[] } {
  const mine: string[] = [];
  const train: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, "").split("=")[0];
    const target = argv[i].startsWith("--") && own.includes(name) ? mine : train;
    target.push(argv[i]);
    if (!argv[i].includes("=") && i + 1 < argv.length && !argv[i + 1].startsWith("--")) target.push(argv[++i]);
  }
  return { own: mine, train };
}

/** A whole data file in memory for evaluation, with the targets the run trains on, checked against the loss. */
export function wholeSet(file: string, columns: Parameters<typeof loadDataset>[1], spec: NetworkSpec, task: TrainConfig["task"]): EvalData {
  const { info, x, labels, y } = loadDataset(file, columns);
  const targets = task === "odd-even" ? oddEvenTargets(labels!) : task === "supervised" ? y : undefined;
  checkTargets(info.file, spec.loss, targets ?? x, targets ? { name: info.targets?.name ?? "label", width: info.targets?.width ?? 1 } : { name: info.features.name, width: info.dim });
  return { x, count: info.count, dim: info.dim, targets, targetWidth: targets ? (info.targets?.width ?? 1) : 0 };
}
