// `bun run train` flags: one table gives each flag's type, default and help line; parsing
// (src/flags.ts), validation and --help all come from it.
import { UsageError } from "../errors.ts";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseFlags } from "../flags.ts";
import { dataDir } from "../data/location.ts";
import { DEVICE_FLAGS, type DeviceFlag } from "../backend/index.ts";
import { CURVATURE_KINDS, type CurvatureKind } from "../curvature/estimator.ts";
import { DATASETS, DATASET_NAMES, type DatasetName } from "../data/datasets.ts";
import type { TaskName } from "../nn/spec.ts";
import { DAMPING_PRESETS, type DampingPreset, presetValues } from "../optim/kronecker/presets.ts";
import { OPTIMIZER_NAMES, type OptimizerName } from "../optim/optimizer.ts";

type FlagType = "string" | "number" | "boolean";
interface FlagSpec {
  type: FlagType;
  default?: string | number | boolean;
  help: string;
  choices?: readonly string[];
  /** Integer ≥ this. */
  min?: number;
  positive?: boolean;
  integer?: boolean;
  /** The placeholder shown in --help. */
  metavar?: string;
}

export const TRAIN_FLAGS = {
  opt: { type: "string", default: "kfra", choices: OPTIMIZER_NAMES, help: "optimiser" },
  dataset: { type: "string", default: "curves", choices: DATASET_NAMES, help: "dataset (prepared into --data-dir on first use)" },
  task: { type: "string", default: "autoencoder", choices: ["autoencoder", "odd-even"], help: "autoencoder, or the odd/even mixture classifier (mnist)" },
  data: { type: "string", metavar: "FILE", help: "train on your own Arrow IPC file instead of --dataset (docs/api.md)" },
  valid: { type: "string", metavar: "FILE", help: "held-out Arrow file for --data (default: none)" },
  features: { type: "string", metavar: "COLUMN", help: "feature column of --data (default: the first FixedSizeList<uint8|float32|float64> column)" },
  targets: { type: "string", metavar: "COLUMN", help: "target column of --data: supervised (--loss sse, bce or mixture) instead of the autoencoder" },
  arch: { type: "string", metavar: "SIZES", help: "layer sizes, e.g. 784-1000-500-250-30-250-500-1000-784 (default: the paper's network)" },
  hidden: { type: "string", metavar: "SIZES", help: "hidden layer sizes only, e.g. 64-16-64; input and output sizes follow the data" },
  act: { type: "string", metavar: "LIST", help: "hidden transfer: one of sigmoid, tanh, relu, leaky_relu, linear, or one per hidden layer, comma-separated (default tanh)" },
  loss: { type: "string", choices: ["bce", "sse", "mixture"], help: "loss (default: bce for mnist/curves, sse for faces, mixture for odd-even)" },
  steps: { type: "number", default: 200, integer: true, min: 1, help: "number of updates" },
  batch: { type: "number", default: 1000, integer: true, min: 1, help: "minibatch size" },
  seed: { type: "number", default: 0, integer: true, min: 0, help: "seed of initialisation, shuffling and KFAC sampling" },
  device: { type: "string", default: "auto", choices: DEVICE_FLAGS, help: "auto: WebGPU on a hardware GPU, else the OpenBLAS CPU backend" },
  out: { type: "string", metavar: "DIR", help: "run directory (default runs/<dataset>-<opt>-<time>)" },
  init: { type: "string", metavar: "FILE", help: "initial weights from a model.safetensors file" },
  resume: { type: "string", metavar: "DIR", help: "continue the run in this directory from its checkpoint" },
  "save-every": { type: "number", default: 100, integer: true, min: 0, help: "checkpoint every N updates (0: only at the end)" },
  "eval-every": { type: "number", default: 50, integer: true, min: 0, help: "error on the whole training and held-out sets every N updates (0: only at the end)" },
  "no-shuffle": { type: "boolean", default: false, help: "stream the training set in file order" },
  workers: { type: "number", default: 1, integer: true, min: 1, help: "data-loading worker threads" },
  "data-dir": { type: "string", metavar: "DIR", help: "where the prepared Arrow files live (default: $KFRA_DATA_DIR, else data/ at the repository root)" },
  lr: { type: "number", positive: true, help: "learning rate of the first-order optimisers (default 2^-9 for adam, 2^-6 otherwise)" },
  "decay-period": { type: "number", default: 0, integer: true, min: 0, help: "halve the learning rate every N updates (0: never)" },
  "weight-decay": { type: "number", default: 1e-5, min: 0, help: "weight decay η" },
  momentum: { type: "number", default: 0.9, min: 0, help: "momentum of momentum and nesterov" },
  damping: { type: "string", default: "fixed", choices: DAMPING_PRESETS, help: "kfra/kflr/kfac damping preset: fixed (authors' code) or adaptive (paper, appendix B)" },
  tau0: { type: "number", positive: true, help: `initial τ (default: the --damping preset's, ${presetValues("tau0")})` },
  gamma0: { type: "number", positive: true, help: `initial γ (default: the --damping preset's, ${presetValues("gamma0")})` },
  "tau-period": { type: "number", integer: true, min: 1, help: `T_τ: updates between τ adaptations (default: the preset's, ${presetValues("tauPeriod")})` },
  "gamma-period": { type: "number", integer: true, min: 1, help: `T_γ: updates between greedy γ searches (default: the preset's, ${presetValues("gammaPeriod")})` },
  "factor-decay": { type: "number", min: 0, help: `momentum on the curvature factors (default: the preset's, ${presetValues("factorDecay")})` },
  "polyak-max": { type: "number", min: 0, help: `largest Polyak averaging constant (default: the preset's, ${presetValues("polyakMax")})` },
  "ramp-steps": { type: "number", integer: true, min: 0, help: `ramp the factor decay and Polyak constant up over N updates, 0: none (default: the preset's, ${presetValues("rampSteps")})` },
  "no-factor-momentum": { type: "boolean", default: false, help: "use each minibatch's factors alone" },
  "no-adapt": { type: "boolean", default: false, help: "freeze τ and γ at their initial values" },
  quiet: { type: "boolean", default: false, help: "no progress output" },
  help: { type: "boolean", default: false, help: "show this help" },
} satisfies Record<string, FlagSpec>;

export interface TrainConfig {
  opt: OptimizerName;
  dataset: DatasetName;
  task: TaskName;
  data?: string;
  valid?: string;
  features?: string;
  targets?: string;
  arch?: string;
  hidden?: string;
  act?: string;
  loss?: "bce" | "sse" | "mixture";
  steps: number;
  batch: number;
  seed: number;
  device: DeviceFlag;
  out?: string;
  init?: string;
  resume?: string;
  saveEvery: number;
  evalEvery: number;
  shuffle: boolean;
  workers: number;
  dataDir: string;
  lr?: number;
  decayPeriod: number;
  weightDecay: number;
  momentum: number;
  damping: DampingPreset;
  tau0?: number;
  gamma0?: number;
  /** The second-order settings below are undefined unless given: the --damping preset's then apply. */
  tauPeriod?: number;
  gammaPeriod?: number;
  factorDecay?: number;
  polyakMax?: number;
  rampSteps?: number;
  factorMomentum: boolean;
  adapt: boolean;
  quiet: boolean;
  help: boolean;
}

export { UsageError } from "../errors.ts";

export function trainHelp(): string {
  const lines = ["usage: bun run train [flags]", "", "Trains a network with KFRA (default), KFLR, KFAC or a first-order baseline.", ""];
  for (const [name, spec] of Object.entries(TRAIN_FLAGS) as [string, FlagSpec][]) {
    const value = spec.type === "boolean" ? "" : spec.choices ? ` ${spec.choices.join("|")}` : ` ${spec.metavar ?? (spec.type === "number" ? "N" : "VALUE")}`;
    const def = spec.default !== undefined && spec.type !== "boolean" ? ` (default ${spec.default})` : "";
    lines.push(`  --${name}${value}`.padEnd(40) + ` ${spec.help}${def}`);
  }
  return lines.join("\n");
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The TrainConfig key of a flag (`--no-shuffle` sets `shuffle`, inverted). */
export function configKey(flag: string): keyof TrainConfig {
  return (flag.startsWith("no-") ? camel(flag.slice(3)) : camel(flag)) as keyof TrainConfig;
}

/** The flags written on the command line (without their values), e.g. to tell them from defaults. */
export function givenFlags(argv: string[]): Set<string> {
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const [name, spec] of Object.entries(TRAIN_FLAGS) as [string, FlagSpec][]) options[name] = { type: spec.type === "boolean" ? "boolean" : "string" };
  const { tokens } = parseArgs({ args: argv, options, strict: false, tokens: true });
  return new Set(tokens.filter((t) => t.kind === "option").map((t) => (t as { name: string }).name));
}

/** Parses argv into a validated config; unknown flags and bad values throw UsageError naming them. */
export function parseTrainArgs(argv: string[]): TrainConfig {
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const [name, spec] of Object.entries(TRAIN_FLAGS) as [string, FlagSpec][]) options[name] = { type: spec.type === "boolean" ? "boolean" : "string" };
  const { values } = parseFlags(argv, options) as { values: Record<string, string | boolean | undefined> };
  const config: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(TRAIN_FLAGS) as [string, FlagSpec][]) {
    const raw = values[name];
    let value: unknown = raw ?? spec.default;
    if (raw !== undefined && spec.type === "number") {
      const n = Number(raw);
      if (raw === "" || !Number.isFinite(n)) throw new UsageError(`--${name} '${raw}': expected a number`);
      if (spec.integer && !Number.isSafeInteger(n)) {
        throw new UsageError(`--${name} '${raw}': expected an integer${Number.isInteger(n) ? ` no larger than ${Number.MAX_SAFE_INTEGER}` : ""}`);
      }
      if (spec.min !== undefined && n < spec.min) throw new UsageError(`--${name} '${raw}': must be at least ${spec.min}`);
      if (spec.positive && !(n > 0)) throw new UsageError(`--${name} '${raw}': must be positive`);
      value = n;
    }
    if (raw !== undefined && spec.choices && !spec.choices.includes(raw as string)) {
      throw new UsageError(`--${name} '${raw}': valid values are ${spec.choices.join(", ")}`);
    }
    config[configKey(name)] = name.startsWith("no-") ? !value : value;
  }
  const parsed = config as unknown as TrainConfig;
  // Paths are resolved once, here, against the working directory.
  parsed.dataDir = dataDir(parsed.dataDir);
  for (const key of ["out", "init", "resume"] as const) if (parsed[key] !== undefined) parsed[key] = resolve(parsed[key]);
  for (const [flag, value] of [["factor-decay", parsed.factorDecay], ["polyak-max", parsed.polyakMax]] as const) {
    if (value !== undefined && value >= 1) throw new UsageError(`--${flag} ${value}: must be below 1`);
  }
  if (parsed.task === "odd-even" && !DATASETS[parsed.dataset].labels) throw new UsageError(`--task odd-even needs --dataset mnist`);
  checkOwnData(parsed, values.dataset !== undefined);
  return parsed;
}

/** The flags of --data fit together; --targets makes the task supervised. */
function checkOwnData(config: TrainConfig, datasetGiven: boolean): void {
  if (config.arch && config.hidden) throw new UsageError(`--arch and --hidden both give the layer sizes; use one`);
  if (!config.data) {
    for (const flag of ["valid", "features", "targets"] as const) if (config[flag] !== undefined) throw new UsageError(`--${flag} needs --data FILE`);
    return;
  }
  if (datasetGiven) throw new UsageError(`--data ${config.data} and --dataset ${config.dataset} both name the training set; use one`);
  if (config.task === "odd-even") throw new UsageError(`--task odd-even is MNIST's; with --data use --targets COLUMN --loss mixture (a 0/1 column)`);
  if (config.targets !== undefined) config.task = "supervised";
  else if (config.loss === "mixture") throw new UsageError(`--loss mixture needs --targets COLUMN (one 0/1 label per row)`);
}

export function isSecondOrder(opt: OptimizerName): opt is CurvatureKind {
  return (CURVATURE_KINDS as readonly string[]).includes(opt);
}
