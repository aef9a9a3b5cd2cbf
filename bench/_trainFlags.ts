// The train flags of the benchmarks and experiments that build a network and optimiser: the
// optimiser's and the training loop's settings under their `bun run train` names, generated from the
// library's tables (OPTIMIZER_SETTINGS, TRAIN_SETTINGS: the same defaults, ranges and messages as
// train, the preset included), and the network, data and device rows of BENCH_RUN_SETTINGS.
// A setting the method does not read is refused, as train refuses it.
import { DEVICE_FLAGS, type DeviceFlag, METHOD_NAMES, type MethodName, type NetworkSpec, OPTIMIZER_SETTINGS, type OptimizerOptions, TRAIN_SETTINGS } from "../src/index.ts";
import {
  DATASET_NAMES,
  type DatasetName,
  type SettingRow,
  UsageError,
  dataDir,
  datasetDim,
  defaultSpec,
  flagOf,
  helpLine,
  parseArch,
  parseFlags,
  parseSettingText,
  parseTransfers,
  validateSpec,
} from "../src/bench-internals.ts";

/** The run's own settings a benchmark reads: which method, on which network and data, where. */
export const BENCH_RUN_SETTINGS = {
  opt: { kind: "choice", choices: METHOD_NAMES, default: "kfra", help: "method" },
  dataset: { kind: "choice", choices: DATASET_NAMES, default: "curves", help: "dataset (its network; prepared into --data-dir where one is read)" },
  task: { kind: "choice", choices: ["autoencoder", "odd-even"], default: "autoencoder", help: "autoencoder, or the odd/even mixture classifier (mnist)" },
  arch: { kind: "string", metavar: "SIZES", help: "layer sizes, e.g. 784-64-16-64-784 (default: the dataset's network)" },
  act: { kind: "string", metavar: "LIST", help: "hidden transfer, or one per hidden layer, comma-separated (default tanh)" },
  device: { kind: "choice", choices: DEVICE_FLAGS, default: "auto", help: "auto: WebGPU on a hardware GPU, else the OpenBLAS CPU backend" },
  dataDir: { kind: "string", metavar: "DIR", help: "where the prepared Arrow files live (default: $KFRA_DATA_DIR, else data/)" },
  workers: { kind: "integer", min: 1, default: 1, help: "data-loading worker threads" },
  shuffle: { kind: "boolean", negated: true, default: true, help: "stream the training set in file order" },
} as const satisfies Record<string, SettingRow & { default?: unknown }>;

export interface BenchRun {
  method: MethodName;
  /** The method, the minibatch size, the seed and every optimiser setting given (the library's Optimizer fills in the rest from the table). */
  optimizer: OptimizerOptions;
  spec: NetworkSpec;
  dataset: DatasetName;
  task: "autoencoder" | "odd-even";
  dataDir: string;
  device: DeviceFlag;
  workers: number;
  shuffle: boolean;
  batch: number;
  seed: number;
  steps: number;
  evalEvery: number;
}

type Row = SettingRow & { default?: unknown; methods?: readonly MethodName[] };
const ROWS: [key: string, row: Row][] = [];
for (const table of [BENCH_RUN_SETTINGS, TRAIN_SETTINGS, OPTIMIZER_SETTINGS] as Record<string, Row>[]) {
  for (const [key, row] of Object.entries(table)) if (!ROWS.some(([k]) => k === key)) ROWS.push([key, row]);
}

/** --help lines of every train flag a benchmark takes. */
export function trainFlagsHelp(): string {
  return ROWS.map(([key, row]) => helpLine(key, row, row.default === undefined || typeof row.default === "object" ? undefined : String(row.default))).join("\n");
}

/** Whether argv[i] is one of these train flags (by name, with or without `=value`). */
export function isTrainFlag(arg: string): boolean {
  const name = arg.replace(/^--/, "").split("=")[0];
  return arg.startsWith("--") && ROWS.some(([key, row]) => flagOf(key, row) === name || row.aliases?.includes(name));
}

/** The run these train flags describe; a bad or repeated flag, or one the method does not read, is a one-line UsageError naming it. */
export function parseTrainFlags(argv: string[]): BenchRun {
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const [key, row] of ROWS) for (const name of [flagOf(key, row), ...(row.aliases ?? [])]) options[name] = { type: row.kind === "boolean" ? "boolean" : "string" };
  const { values } = parseFlags(argv, options) as { values: Record<string, string | boolean | undefined> };
  const value = new Map<string, unknown>();
  for (const [key, row] of ROWS) {
    const given = [flagOf(key, row), ...(row.aliases ?? [])].filter((name) => values[name] !== undefined);
    if (given.length > 1) throw new UsageError(`--${given[0]} is given twice (as --${given.join(" and --")}); give it once`);
    if (given.length === 0) continue;
    value.set(key, row.kind === "boolean" ? !row.negated : parseSettingText(key, row, values[given[0]] as string, `--${given[0]}`));
  }
  const get = <T>(key: string): T => (value.has(key) ? value.get(key) : (ROWS.find(([k]) => k === key)![1].default as T)) as T;
  const method = get<MethodName>("opt");
  const optimizer: Record<string, unknown> = { method, batchSize: get<number>("batchSize"), seed: get<number>("seed") };
  for (const [key, row] of Object.entries(OPTIMIZER_SETTINGS) as [string, Row][]) {
    if (!value.has(key) || key === "batchSize" || key === "seed") continue;
    if (!row.methods!.includes(method)) throw new UsageError(`--${flagOf(key, row)}: not read by ${method}; it is a setting of ${row.methods!.join(", ")}`);
    optimizer[key] = value.get(key);
  }
  const dataset = get<DatasetName>("dataset");
  const task = get<"autoencoder" | "odd-even">("task");
  if (task === "odd-even" && dataset !== "mnist") throw new UsageError(`--task odd-even needs --dataset mnist`);
  const base = defaultSpec(dataset, task);
  const arch = value.get("arch") as string | undefined;
  const sizes = arch ? parseArch(arch) : [...base.sizes];
  const act = value.get("act") as string | undefined;
  const transfers = act ? parseTransfers(act, sizes.length - 2) : sizes.length === base.sizes.length ? [...base.transfers] : Array(sizes.length - 2).fill("tanh");
  const spec: NetworkSpec = { sizes, transfers, loss: base.loss };
  validateSpec(spec, datasetDim(dataset), task);
  return {
    method,
    optimizer: optimizer as OptimizerOptions,
    spec,
    dataset,
    task,
    dataDir: dataDir(value.get("dataDir") as string | undefined),
    device: get<DeviceFlag>("device"),
    workers: get<number>("workers"),
    shuffle: get<boolean>("shuffle"),
    batch: get<number>("batchSize"),
    seed: get<number>("seed"),
    steps: get<number>("steps"),
    evalEvery: get<number>("evalEvery"),
  };
}

/** The train flags of a benchmark's `--preset` (or `--damping`, its old name), for the Kronecker methods; none given: the table's default. */
export function presetArgs(values: { preset?: string; damping?: string }): string[] {
  if (values.preset !== undefined && values.damping !== undefined) throw new UsageError("--preset and --damping (its old name) were both given; give one");
  if (values.preset !== undefined) return ["--preset", values.preset];
  return values.damping !== undefined ? ["--damping", values.damping] : [];
}
