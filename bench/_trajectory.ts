// A training run driven one update at a time for analysis benches: the network, weights, optimiser
// and minibatch stream as `train` builds them from the same flags (same seed, same data order, same
// targets), on the library's Network, Optimizer and MinibatchStream, so that a bench can stop
// before any update, look at the minibatch that update will use, and then let the update happen.
// No files are written.
import { type Backend, Dataset, MinibatchStream, type OptimizerSettings, type StepReport, createBackend } from "../src/index.ts";
import { datasetFiles, loadDataset, oddEvenTargets } from "../src/bench-internals.ts";
import { ensureDataset } from "../data-prep/ensure.ts";
import { type BenchRun, parseTrainFlags } from "./_trainFlags.ts";
import { type Session, createSession } from "./_session.ts";

export interface Trajectory {
  run: BenchRun;
  /** The optimiser's settings as it uses them (the table's, with the train flags applied). */
  settings: Readonly<OptimizerSettings>;
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
  const run = parseTrainFlags(trainFlags);
  await ensureDataset(run.dataset, run.dataDir);
  const backend = await createBackend({ device: run.device });
  const session = createSession(backend, run.spec, run.optimizer);
  const stream = await MinibatchStream.open({
    file: datasetFiles(run.dataset, run.dataDir).train,
    columns: {},
    batchSize: run.batch,
    seed: run.seed,
    workers: run.workers,
    shuffle: run.shuffle,
    oddEvenTargets: run.task === "odd-even",
  });
  const trajectory: Trajectory = {
    run,
    settings: session.optimizer.settings,
    backend,
    session,
    step: 0,
    async loadNext() {
      const batch = await stream.next();
      session.workspace.loadBatch(batch.x, batch.y);
    },
    async update() {
      trajectory.step += 1;
      return (await session.engine.step(session.workspace, trajectory.step)).report();
    },
    async close() {
      await stream.close();
      session.dispose();
      backend.dispose();
    },
  };
  return trajectory;
}

/** Splits a bench's argv into its own flags (by name) and the rest, which are train flags (bench/_trainFlags.ts). */
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

/** The run's whole training set in memory for evaluation, with the targets it trains on. */
export function wholeTrainingSet(run: BenchRun): Dataset {
  const { info, x, labels } = loadDataset(datasetFiles(run.dataset, run.dataDir).train);
  return run.task === "odd-even" ? new Dataset(x, info.dim, oddEvenTargets(labels!), 1, info.file, info) : new Dataset(x, info.dim, undefined, 0, info.file, info);
}
