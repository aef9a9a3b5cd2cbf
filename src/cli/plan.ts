// From a parsed command line to a run: the settings go to the library's objects (src/api) through
// src/run, which keeps the run directory. The one place the CLI's TrainConfig becomes typed settings.
import { basename, resolve } from "node:path";
import { type RunData, type RunHooks, type RunPlan, type RunResult, runTraining } from "../run/run.ts";
import { dataFingerprint, runDataFiles } from "../run/dataIdentity.ts";
import { type TrainConfig, optimizerOptions, withResolvedSettings } from "../run/config.ts";
import type { NetworkSpec } from "../nn/spec.ts";
import { trainingData } from "./data-source.ts";
import { networkFor } from "../run/network.ts";
import { type ResumeChanges, recordResumeChanges } from "../run/resume.ts";

function defaultRunDir(config: TrainConfig): string {
  const label = config.data ? basename(config.data).replace(/\.(arrow|feather|ipc)$/, "") : config.dataset;
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  return resolve("runs", `${label}-${config.opt}-${stamp}`);
}

/** The data's class names when the network classifies into exactly those classes (K outputs, or 2 for one output and the mixture), for its model files. */
function namedClasses(spec: NetworkSpec, names?: readonly string[]): readonly string[] | undefined {
  const outputs = spec.sizes[spec.sizes.length - 1];
  const classes = spec.loss === "mixture" || outputs === 1 ? 2 : outputs;
  return names && spec.loss !== "sse" && names.length === classes ? names : undefined;
}

/** The run a config describes, for src/run. */
export function planOf(config: TrainConfig & { resumeChanges?: ResumeChanges }): RunPlan {
  const runDir = resolve(config.resume ?? config.out ?? defaultRunDir(config));
  const { resumeChanges, ...settings } = config;
  let network: RunData["network"] | undefined;
  return {
    runDir,
    resume: config.resume !== undefined,
    device: config.device,
    data: async (): Promise<RunData> => {
      if (!config.data) await (await import("../../data-prep/ensure.ts")).ensureDataset(config.dataset, config.dataDir, config.quiet);
      const data = await trainingData(config);
      const spec = networkFor(config, data.shape);
      network = { sizes: spec.sizes, activation: spec.transfers, loss: spec.loss, seed: config.seed, classNames: namedClasses(spec, data.classNames) };
      return { label: data.label, train: data.train, heldOut: data.heldOut, columns: data.columns, oddEven: config.task === "odd-even", network };
    },
    optimizer: { ...optimizerOptions(config), batchSize: config.batch, seed: config.seed },
    steps: config.steps,
    seed: config.seed,
    evalEvery: config.evalEvery,
    earlyStop: config.earlyStop,
    saveEvery: config.saveEvery,
    workers: config.workers,
    shuffle: config.shuffle,
    init: config.init,
    // The settings as used (src/run/config.ts resolvedConfig), the network, and the data by file and hash.
    record: () => ({ ...withResolvedSettings({ ...settings, out: runDir }), network, dataFiles: runDataFiles(config), dataHash: dataFingerprint(config) }),
    onResumed: (step) => recordResumeChanges(runDir, resumeChanges ?? {}, step),
    quiet: config.quiet,
  };
}

/** Trains the run a (possibly resumed) config describes. */
export function trainFromConfig(config: TrainConfig & { resumeChanges?: ResumeChanges }, hooks: RunHooks = {}): Promise<RunResult> {
  return runTraining(planOf(config), hooks);
}
