// `bun run train` flags. The run's own settings (what to train on, where, files) are the table
// below; the training loop's and the optimiser's come from their tables (src/train/settings.ts,
// src/optim/settings.ts). Parsing, validation and --help are all derived from the three tables,
// so the CLI refuses exactly what the library refuses, with the same message under the flag's name.
// TrainConfig, the parsed command line, is also the run's config.json.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEVICE_FLAGS, type DeviceFlag } from "../backend/index.ts";
import { LOSS_KINDS, type LossKind } from "../backend/types.ts";
import { DATASETS, DATASET_NAMES, type DatasetName } from "../data/datasets.ts";
import { dataDir } from "../data/location.ts";
import { FileError, UsageError } from "../errors.ts";
import { parseFlags } from "../flags.ts";
import type { TaskName } from "../nn/spec.ts";
import { METHOD_NAMES, type MethodName, OPTIMIZER_SETTINGS, type OptimizerSettingRow, type Preset, checkReadUnderPreset, defaultText, isKronecker, resolveOptimizerSettings, unreadUnderPreset } from "../optim/settings.ts";
import { type SettingRow, SettingError, accepted, checkSetting, flagOf, helpLine, parseSettingText } from "../settings.ts";
import { TRAIN_SETTINGS } from "../train/settings.ts";

type RunRow = SettingRow & { default?: string | number | boolean };

/** The run's own settings: the data, the network, the device, the run directory. */
export const RUN_SETTINGS = {
  opt: { kind: "choice", choices: METHOD_NAMES, default: "kfra", help: "method" },
  dataset: { kind: "choice", choices: DATASET_NAMES, default: "curves", help: "dataset (prepared into --data-dir on first use)" },
  task: { kind: "choice", choices: ["autoencoder", "odd-even", "classify"], default: "autoencoder", help: "autoencoder, the odd/even mixture classifier (mnist), or the 10-digit softmax classifier (mnist, the default dataset for it)" },
  data: { kind: "string", metavar: "FILE", help: "train on your own Arrow IPC file instead of --dataset (docs/api.md)" },
  valid: { kind: "string", metavar: "FILE", help: "held-out Arrow file for --data (default: none)" },
  features: { kind: "string", metavar: "COLUMN", help: "feature column of --data (default: the first FixedSizeList<uint8|float32|float64> column)" },
  targets: { kind: "string", metavar: "COLUMN", help: "target column of --data: supervised (--loss sse, bce, mixture or softmax) instead of the autoencoder" },
  arch: { kind: "string", metavar: "SIZES", help: "layer sizes, e.g. 784-1000-500-250-30-250-500-1000-784 (default: the paper's network)" },
  hidden: { kind: "string", metavar: "SIZES", help: "hidden layer sizes only, e.g. 64-16-64; input and output sizes follow the data" },
  act: { kind: "string", metavar: "LIST", help: "hidden transfer: one of sigmoid, tanh, relu, leaky_relu, linear, or one per hidden layer, comma-separated (default tanh)" },
  loss: { kind: "choice", choices: LOSS_KINDS, help: "loss (default: bce for mnist/curves, sse for faces, mixture for odd-even, softmax for classify)" },
  classes: { kind: "integer", min: 2, metavar: "K", help: "classes of --loss softmax with --data: the network's outputs (default: the largest label + 1)" },
  device: { kind: "choice", choices: DEVICE_FLAGS, default: "auto", help: "auto: WebGPU on a hardware GPU, else the OpenBLAS CPU backend" },
  out: { kind: "string", metavar: "DIR", help: "run directory (default runs/<dataset>-<opt>-<time>)" },
  init: { kind: "string", metavar: "FILE", help: "initial weights from a model.safetensors file" },
  resume: { kind: "string", metavar: "DIR", help: "continue the run in this directory from its checkpoint" },
  saveEvery: { kind: "integer", min: 0, default: 100, help: "checkpoint every N updates (0: only at the end)" },
  shuffle: { kind: "boolean", negated: true, default: true, help: "stream the training set in file order" },
  workers: { kind: "integer", min: 1, max: 64, default: 1, help: "data-loading worker threads" },
  dataDir: { kind: "string", metavar: "DIR", help: "where the prepared Arrow files live (default: $KFRA_DATA_DIR, else data/ at the repository root; ~/.cache/kfra-webgpu/data for an installed package)" },
  quiet: { kind: "boolean", default: false, help: "no progress output" },
  help: { kind: "boolean", default: false, help: "show this help" },
} as const satisfies Record<string, RunRow>;

/** Every flag's row, in --help order, with the table it comes from. */
const SECTIONS: [title: string, rows: Record<string, SettingRow & { default?: unknown }>][] = [
  ["run", RUN_SETTINGS],
  ["training", TRAIN_SETTINGS],
  ["optimiser (each method reads some; --help shows which)", OPTIMIZER_SETTINGS],
];
const ROWS: [key: string, row: SettingRow & { default?: unknown }][] = [];
for (const [, rows] of SECTIONS) for (const [key, row] of Object.entries(rows)) if (!ROWS.some(([k]) => k === key)) ROWS.push([key, row]);

/** The TrainConfig key of a row: its flag in camel case (preset, batch, ...), or the key of a negated boolean. */
const configKeyOf = (key: string, row: SettingRow) => (row.negated ? key : (row.flag ?? key).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()));

export interface TrainConfig {
  opt: MethodName;
  dataset: DatasetName;
  task: TaskName;
  data?: string;
  valid?: string;
  features?: string;
  targets?: string;
  arch?: string;
  hidden?: string;
  act?: string;
  loss?: LossKind;
  classes?: number;
  steps: number;
  batch: number;
  seed: number;
  device: DeviceFlag;
  out?: string;
  init?: string;
  resume?: string;
  saveEvery: number;
  evalEvery: number;
  earlyStop: number;
  shuffle: boolean;
  workers: number;
  dataDir: string;
  /** Optimiser settings: given on the command line, or the table's default where it is one number; undefined where the default depends on the method or preset. */
  lr?: number;
  decayPeriod: number;
  weightDecay: number;
  momentum: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  preset: Preset;
  tau0?: number;
  gamma0?: number;
  tauPeriod: number;
  gammaPeriod: number;
  factorDecay: number;
  polyakMax?: number;
  rampSteps?: number;
  /** False only with --no-factor-momentum / --no-adapt. */
  factorMomentum: boolean;
  adapt: boolean;
  quiet: boolean;
  help: boolean;
}

/** Flag name (without dashes, aliases included) → the row's key and row. */
const BY_FLAG = new Map<string, [string, SettingRow & { default?: unknown }]>();
for (const [key, row] of ROWS) for (const name of [flagOf(key, row), ...(row.aliases ?? [])]) BY_FLAG.set(name, [key, row]);

/** The TrainConfig key a flag sets (`--no-shuffle` sets `shuffle`, `--damping` sets `preset`). */
export function configKey(flag: string): keyof TrainConfig {
  const entry = BY_FLAG.get(flag);
  if (!entry) throw new UsageError(`unknown flag --${flag}`);
  return configKeyOf(...entry) as keyof TrainConfig;
}

export function trainHelp(): string {
  const lines = ["usage: bun run train [flags]", "", "Trains a network with KFRA (default), KFLR, KFAC or a first-order method.", ""];
  const shown = new Set<string>();
  for (const [title, rows] of SECTIONS) {
    lines.push(`${title}:`);
    for (const [key, row] of Object.entries(rows)) {
      if (shown.has(key)) continue;
      shown.add(key);
      const methods = (row as OptimizerSettingRow).methods;
      const reads = methods && methods.length < METHOD_NAMES.length ? ` [${methods.join(", ")}]` : "";
      const def = row.default === undefined ? undefined : methods ? defaultText(row as OptimizerSettingRow) : String(row.default);
      lines.push(helpLine(key, { ...row, help: `${row.help}${reads}` }, def));
      for (const alias of row.aliases ?? []) lines.push(`  --${alias}`.padEnd(34) + ` the same as --${flagOf(key, row)}`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

function parseOptions(): Record<string, { type: "string" | "boolean" }> {
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const [name, [, row]] of BY_FLAG) options[name] = { type: row.kind === "boolean" ? "boolean" : "string" };
  return options;
}

/** The flags written on the command line (without their values), each under its primary name. */
export function givenFlags(argv: string[]): Set<string> {
  const { tokens } = parseArgs({ args: argv, options: parseOptions(), strict: false, tokens: true });
  const names = tokens.filter((t) => t.kind === "option").map((t) => (t as { name: string }).name);
  return new Set(names.map((n) => (BY_FLAG.has(n) ? flagOf(...BY_FLAG.get(n)!) : n)));
}

/** Parses argv into a validated config; unknown, repeated and bad flags throw a one-line UsageError naming the flag. */
export function parseTrainArgs(argv: string[]): TrainConfig {
  const { values } = parseFlags(argv, parseOptions()) as { values: Record<string, string | boolean | undefined> };
  const given = new Map<string, { flag: string; raw: string | boolean }>();
  for (const [name, raw] of Object.entries(values)) {
    if (raw === undefined) continue;
    const [key, row] = BY_FLAG.get(name)!;
    const other = given.get(key);
    if (other) throw new UsageError(`--${flagOf(key, row)} is given twice (as --${other.flag} and --${name}); give it once`);
    given.set(key, { flag: name, raw });
  }
  const config: Record<string, unknown> = {};
  for (const [key, row] of ROWS) {
    const entry = given.get(key);
    let value: unknown;
    if (entry === undefined) value = row.negated ? true : typeof row.default === "object" ? undefined : row.default;
    else if (row.kind === "boolean") value = row.negated ? false : true;
    else value = parseSettingText(key, row, entry.raw as string, `--${entry.flag}`);
    config[configKeyOf(key, row)] = value;
  }
  const parsed = config as unknown as TrainConfig;
  for (const [key, { flag }] of given) {
    const methods = (OPTIMIZER_SETTINGS as Record<string, OptimizerSettingRow>)[key]?.methods;
    if (methods && !methods.includes(parsed.opt)) throw new SettingError(key, `not read by ${parsed.opt}; it is a setting of ${methods.join(", ")}`, `--${flag}`);
  }
  const givenOptimizer = Object.fromEntries([...given.keys()].filter((key) => Object.hasOwn(OPTIMIZER_SETTINGS, key)).map((key) => [key, (parsed as unknown as Record<string, unknown>)[configKeyOf(key, BY_FLAG.get(given.get(key)!.flag)![1])]]));
  checkReadUnderPreset(givenOptimizer, (key) => `--${given.get(key)!.flag}`);
  // Paths are resolved once, here, against the working directory.
  parsed.dataDir = dataDir(parsed.dataDir);
  for (const key of ["out", "init", "resume"] as const) if (parsed[key] !== undefined) parsed[key] = resolve(parsed[key]);
  if (parsed.task === "odd-even" && !DATASETS[parsed.dataset].labels) throw new UsageError(`--task odd-even needs --dataset mnist`);
  // The digit classifier is MNIST's: --task classify alone trains on it.
  if (parsed.task === "classify" && !parsed.data && !given.has("dataset")) parsed.dataset = "mnist";
  if (parsed.task === "classify" && !parsed.data && !DATASETS[parsed.dataset].labels) throw new UsageError(`--task classify needs --dataset mnist`);
  checkOwnData(parsed, given.has("dataset"));
  return parsed;
}

/** Values a setting takes in config.json beyond its row's (--data makes the task "supervised"). */
const SAVED_CHOICES: Record<string, string[]> = { task: ["supervised"] };

/**
 * A run's config.json in shape: every setting it holds of its row's kind and range, one it lacks
 * (saved before the row existed) at the row's default; `damping` (the old name of `preset`) is
 * read as `preset`. Anything else is a one-line FileError naming the file and the setting.
 */
export function savedConfig(path: string, saved: Record<string, unknown>): TrainConfig & { history?: unknown[] } {
  const config = { ...saved };
  if (config.preset === undefined && config.damping !== undefined) {
    config.preset = config.damping;
    delete config.damping;
  }
  for (const [key, row] of ROWS) {
    if (key === "help" || key === "quiet" || key === "resume") continue;
    const k = configKeyOf(key, row);
    if (!(k in config)) {
      config[k] = row.negated ? true : typeof row.default === "object" ? undefined : row.default;
      continue;
    }
    const value = config[k];
    if (value === undefined || (value === null && row.kind !== "boolean" && typeof row.default === "object")) continue;
    const expected = row.kind === "string" ? "a string" : row.negated ? "true or false" : row.kind === "choice" ? `one of ${[...row.choices!, ...(SAVED_CHOICES[k] ?? [])].join(", ")}` : accepted(row);
    const ok =
      row.kind === "string" ? typeof value === "string"
      : row.negated || row.kind === "boolean" ? typeof value === "boolean"
      : row.kind === "choice" ? [...row.choices!, ...(SAVED_CHOICES[k] ?? [])].includes(value as string)
      : (() => {
          try {
            checkSetting(key, row, value);
            return true;
          } catch {
            return false;
          }
        })();
    if (!ok) throw new FileError(`${path}: '${k}' is ${JSON.stringify(value)}, expected ${expected} (--${flagOf(key, row)}); the file is damaged`);
  }
  if (config.dataDir === undefined) config.dataDir = dataDir();
  if (config.history !== undefined && !Array.isArray(config.history)) throw new FileError(`${path}: 'history' is ${JSON.stringify(config.history)}, expected a list; the file is damaged`);
  return config as unknown as TrainConfig & { history?: unknown[] };
}

/** The flags of --data fit together; --targets makes the task supervised. */
function checkOwnData(config: TrainConfig, datasetGiven: boolean): void {
  if (config.arch && config.hidden) throw new UsageError(`--arch and --hidden both give the layer sizes; use one`);
  if (config.classes !== undefined && !(config.data && config.loss === "softmax")) {
    throw new UsageError(`--classes ${config.classes} is read only with --data FILE --loss softmax${config.task === "classify" ? " (--task classify has MNIST's 10 digits)" : ""}`);
  }
  if (config.earlyStop > 0 && config.data && !config.valid) throw new UsageError(`--early-stop needs a held-out set to judge the error on: give --valid FILE`);
  if (config.earlyStop > 0 && config.evalEvery === 0) throw new UsageError(`--early-stop needs evaluations along the way; --eval-every 0 evaluates only at the end`);
  if (!config.data) {
    for (const flag of ["valid", "features", "targets"] as const) if (config[flag] !== undefined) throw new UsageError(`--${flag} needs --data FILE`);
    return;
  }
  if (datasetGiven) throw new UsageError(`--data ${config.data} and --dataset ${config.dataset} both name the training set; use one`);
  if (config.task === "odd-even") throw new UsageError(`--task odd-even is MNIST's; with --data use --targets COLUMN --loss mixture (a 0/1 column)`);
  if (config.task === "classify") throw new UsageError(`--task classify is MNIST's; with --data use --targets COLUMN --loss softmax (integer class labels)`);
  if (config.targets !== undefined) config.task = "supervised";
  else if (config.loss === "mixture") throw new UsageError(`--loss mixture needs --targets COLUMN (one 0/1 label per row)`);
  else if (config.loss === "softmax") throw new UsageError(`--loss softmax needs --targets COLUMN (one integer class label per row)`);
}

/**
 * The optimiser options of a config: the method and every setting it reads that the config holds
 * (negated booleans only when turned off; none that its preset leaves unread).
 */
export function optimizerOptions(config: TrainConfig): { method: MethodName } & Record<string, unknown> {
  const options: { method: MethodName } & Record<string, unknown> = { method: config.opt };
  const unread: string[] = isKronecker(config.opt) ? unreadUnderPreset({ preset: config.preset, adapt: config.adapt === false ? false : undefined, factorMomentum: config.factorMomentum }) : [];
  for (const [key, row] of Object.entries(OPTIMIZER_SETTINGS) as [string, OptimizerSettingRow][]) {
    if (!row.methods.includes(config.opt)) continue;
    const value = (config as unknown as Record<string, unknown>)[configKeyOf(key, row)];
    if (value === undefined || (row.negated && value === true)) continue;
    if (unread.includes(key)) continue;
    options[key] = value;
  }
  return options;
}

/**
 * A config's settings as the run uses them, under their config keys: every optimiser setting its
 * method reads as resolved from the preset and the table (the ones it does not read left out), and
 * `dataset` only where it names the data (not with --data). A command line and the config.json it
 * wrote, old layout or new, give the same object, so the two compare.
 */
export function resolvedConfig(config: TrainConfig): Record<string, unknown> {
  const values = config as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, row] of ROWS) out[configKeyOf(key, row)] = values[configKeyOf(key, row)];
  const { method, ...given } = optimizerOptions(config);
  const settings = resolveOptimizerSettings(method, given) as unknown as Record<string, unknown>;
  for (const [key, row] of Object.entries(OPTIMIZER_SETTINGS) as [string, OptimizerSettingRow][]) {
    if (row.methods.includes(method)) out[configKeyOf(key, row)] = settings[key];
    else delete out[configKeyOf(key, row)];
  }
  if (config.data) delete out.dataset;
  return out;
}

/** `config` with its settings replaced by resolvedConfig's (in the tables' order), then whatever else it holds (history, the data's hash). */
export function withResolvedSettings(config: TrainConfig): Record<string, unknown> {
  const settingKeys = new Set(ROWS.map(([key, row]) => configKeyOf(key, row)));
  const extras = Object.entries(config).filter(([key]) => !settingKeys.has(key));
  return { ...resolvedConfig(config), ...Object.fromEntries(extras) };
}
