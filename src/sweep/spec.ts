// Sweep specifications (bench/sweeps/*.json): groups of runs as grids over optimiser settings,
// expanded into one train command line per run. Unknown keys and bad values are rejected, with the
// key's path, before anything runs; so is every run's command line that `train` would refuse, or
// that gives a flag the runner sets itself (checkRunArgv).
import { ExpectedError } from "../errors.ts";
import { type TrainConfig, parseTrainArgs } from "../cli/config.ts";
import { networkFor } from "../cli/network.ts";
import { METHOD_NAMES } from "../optim/settings.ts";
import { DATASET_NAMES } from "../data/datasets.ts";

export class SweepSpecError extends ExpectedError {}

/** One grid of runs. Every list is a grid axis; scalars apply to all runs of the group. */
export interface SweepGroup {
  name: string;
  opt: string[];
  steps: number;
  /** Learning rates (first-order optimisers). */
  lr?: number[];
  /** Halve the learning rate every this fraction of the updates (docs/algorithm.md §9.1); 0 = never. */
  decayFraction?: number[];
  /** Momentum on the curvature factors on/off (second-order optimisers). */
  factorMomentum?: boolean[];
  damping?: string[];
  /** Extra train flags for every run of the group, e.g. ["--weight-decay", "0"]. */
  flags?: string[];
  /** Replacements applied when the sweep runs with --scale below 1 (a CPU-sized grid). */
  scaled?: Partial<Pick<SweepGroup, "lr" | "decayFraction" | "factorMomentum" | "steps" | "opt">> & { omit?: boolean };
}

export interface SweepSpec {
  name: string;
  description: string;
  dataset: string;
  task: "autoencoder" | "odd-even";
  seeds: number[];
  /** Whole-set evaluations per run (the eval period is steps / evaluations). */
  evaluations: number;
  groups: SweepGroup[];
}

export interface PlannedRun {
  /** Unique, filesystem-safe id, e.g. "adam-grid/adam-lr0.0078125-decay0.5-seed0". */
  id: string;
  group: string;
  opt: string;
  seed: number;
  steps: number;
  settings: Record<string, number | boolean | string>;
  argv: string[];
}

const SPEC_KEYS = new Set(["name", "description", "dataset", "task", "seeds", "evaluations", "groups"]);
const GROUP_KEYS = new Set(["name", "opt", "steps", "lr", "decayFraction", "factorMomentum", "damping", "flags", "scaled"]);
const SCALED_KEYS = new Set(["lr", "decayFraction", "factorMomentum", "steps", "opt", "omit"]);

function fail(path: string, problem: string): never {
  throw new SweepSpecError(`${path}: ${problem}`);
}

function numberList(value: unknown, path: string, positive = false): number[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== "number" || !Number.isFinite(v) || (positive ? v <= 0 : v < 0))) {
    fail(path, `expected a non-empty list of ${positive ? "positive" : "non-negative"} numbers`);
  }
  return value;
}

function checkGroupFields(group: Record<string, unknown>, path: string, keys: Set<string>): void {
  for (const key of Object.keys(group)) if (!keys.has(key)) fail(`${path}.${key}`, `unknown key; valid keys are ${[...keys].join(", ")}`);
  if (group.opt !== undefined) {
    if (!Array.isArray(group.opt) || group.opt.length === 0) fail(`${path}.opt`, "expected a non-empty list of optimisers");
    (group.opt as unknown[]).forEach((o, i) => (METHOD_NAMES as readonly unknown[]).includes(o) || fail(`${path}.opt[${i}]`, `'${o}' is not one of ${METHOD_NAMES.join(", ")}`));
  }
  if (group.steps !== undefined && (!Number.isInteger(group.steps) || (group.steps as number) < 1)) fail(`${path}.steps`, "expected a positive integer");
  if (group.lr !== undefined) numberList(group.lr, `${path}.lr`, true);
  if (group.decayFraction !== undefined) numberList(group.decayFraction, `${path}.decayFraction`);
  if (group.factorMomentum !== undefined && (!Array.isArray(group.factorMomentum) || group.factorMomentum.some((v) => typeof v !== "boolean"))) {
    fail(`${path}.factorMomentum`, "expected a list of true/false");
  }
  if (group.damping !== undefined && (!Array.isArray(group.damping) || group.damping.some((v) => v !== "fixed" && v !== "adaptive"))) {
    fail(`${path}.damping`, "expected a list of 'fixed' / 'adaptive'");
  }
  if (group.omit !== undefined && typeof group.omit !== "boolean") fail(`${path}.omit`, "expected true or false");
  if (group.flags !== undefined && (!Array.isArray(group.flags) || group.flags.some((v) => typeof v !== "string"))) fail(`${path}.flags`, "expected a list of strings");
}

/** Validates a parsed spec file; `file` names it in messages. */
export function validateSweepSpec(raw: unknown, file: string): SweepSpec {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(file, "expected a JSON object");
  const spec = raw as Record<string, unknown>;
  for (const key of Object.keys(spec)) if (!SPEC_KEYS.has(key)) fail(`${file}: ${key}`, `unknown key; valid keys are ${[...SPEC_KEYS].join(", ")}`);
  for (const key of ["name", "description", "dataset", "seeds", "groups"]) if (spec[key] === undefined) fail(`${file}: ${key}`, "missing");
  // The name becomes a folder (runs/sweeps/NAME) and a queue key.
  if (typeof spec.name !== "string" || !/^[A-Za-z0-9._-]+$/.test(spec.name) || spec.name === "." || spec.name === "..") fail(`${file}: name`, "expected a name of letters, digits, '.', '_' and '-'");
  if (typeof spec.description !== "string") fail(`${file}: description`, "expected a string");
  if (!(DATASET_NAMES as readonly unknown[]).includes(spec.dataset)) fail(`${file}: dataset`, `'${spec.dataset}' is not one of ${DATASET_NAMES.join(", ")}`);
  if (spec.task !== undefined && spec.task !== "autoencoder" && spec.task !== "odd-even") fail(`${file}: task`, "expected 'autoencoder' or 'odd-even'");
  if (!Array.isArray(spec.seeds) || spec.seeds.length === 0 || spec.seeds.some((s) => !Number.isInteger(s) || s < 0)) fail(`${file}: seeds`, "expected a non-empty list of non-negative integers");
  if (spec.evaluations !== undefined && (!Number.isInteger(spec.evaluations) || (spec.evaluations as number) < 1)) fail(`${file}: evaluations`, "expected a positive integer");
  if (!Array.isArray(spec.groups) || spec.groups.length === 0) fail(`${file}: groups`, "expected a non-empty list");
  const names = new Set<string>();
  (spec.groups as unknown[]).forEach((g, i) => {
    const path = `${file}: groups[${i}]`;
    if (typeof g !== "object" || g === null) fail(path, "expected an object");
    const group = g as Record<string, unknown>;
    if (typeof group.name !== "string" || !/^[a-z0-9-]+$/.test(group.name)) fail(`${path}.name`, "expected a name of lower-case letters, digits and '-'");
    if (names.has(group.name)) fail(`${path}.name`, `'${group.name}' is used twice`);
    names.add(group.name);
    if (group.opt === undefined) fail(`${path}.opt`, "missing");
    if (group.steps === undefined) fail(`${path}.steps`, "missing");
    checkGroupFields(group, path, GROUP_KEYS);
    if (group.scaled !== undefined) {
      if (typeof group.scaled !== "object" || group.scaled === null || Array.isArray(group.scaled)) fail(`${path}.scaled`, "expected an object of replacements");
      checkGroupFields(group.scaled as Record<string, unknown>, `${path}.scaled`, SCALED_KEYS);
    }
  });
  return { task: "autoencoder", evaluations: 20, ...(spec as object) } as SweepSpec;
}

/** Flags the runner gives every run itself; a spec's flags or a queued job may not. */
export const RUNNER_FLAGS = ["out", "resume", "device", "quiet", "help"] as const;

/**
 * A run's train arguments as `train` reads them, or a SweepSpecError naming `where` and the problem:
 * a flag train would refuse (unknown, bad value, given twice, as when a group's flags repeat a
 * grid's --lr), a network that does not fit a named dataset, or one of RUNNER_FLAGS.
 */
export function checkRunArgv(argv: readonly unknown[], where: string): TrainConfig {
  if (!Array.isArray(argv) || argv.some((a) => typeof a !== "string")) throw new SweepSpecError(`${where}: its train arguments are not a list of strings`);
  for (const flag of RUNNER_FLAGS) {
    if (argv.some((a) => a === `--${flag}` || (a as string).startsWith(`--${flag}=`))) throw new SweepSpecError(`${where}: --${flag} is set by the sweep for every run; leave it out of the flags`);
  }
  try {
    const config = parseTrainArgs(argv as string[]);
    if (!config.data) networkFor(config);
    return config;
  } catch (error) {
    if (error instanceof ExpectedError) throw new SweepSpecError(`${where}: train would refuse it: ${error.message}`);
    throw error;
  }
}

function cartesian<T>(axes: T[][]): T[][] {
  return axes.reduce<T[][]>((acc, axis) => acc.flatMap((prefix) => axis.map((v) => [...prefix, v])), [[]]);
}

/**
 * Every run of the sweep. With scale < 1 each group's `scaled` replacements apply and its steps are
 * multiplied by the scale (unless `scaled.steps` gives them).
 */
export function planSweep(spec: SweepSpec, scale: number, extraFlags: string[] = []): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (const base of spec.groups) {
    if (scale < 1 && base.scaled?.omit) continue;
    const group = scale < 1 ? { ...base, ...base.scaled } : base;
    const steps = scale < 1 && base.scaled?.steps ? base.scaled.steps : Math.max(10, Math.round(base.steps * scale));
    const evalEvery = Math.max(1, Math.round(steps / spec.evaluations));
    const axes: [string, (number | boolean | string)[]][] = [["opt", group.opt]];
    if (group.lr) axes.push(["lr", group.lr]);
    if (group.decayFraction) axes.push(["decayFraction", group.decayFraction]);
    if (group.factorMomentum) axes.push(["factorMomentum", group.factorMomentum]);
    if (group.damping) axes.push(["damping", group.damping]);
    axes.push(["seed", spec.seeds]);
    for (const combination of cartesian(axes.map(([, values]) => values))) {
      const settings = Object.fromEntries(axes.map(([key], i) => [key, combination[i]]));
      const opt = settings.opt as string;
      const argv = ["--opt", opt, "--dataset", spec.dataset, "--task", spec.task, "--steps", String(steps), "--seed", String(settings.seed), "--eval-every", String(evalEvery), "--save-every", "0"];
      if (settings.lr !== undefined) argv.push("--lr", String(settings.lr));
      if (settings.decayFraction !== undefined && settings.decayFraction !== 0) argv.push("--decay-period", String(Math.max(1, Math.round((settings.decayFraction as number) * steps))));
      if (settings.factorMomentum === false) argv.push("--no-factor-momentum");
      if (settings.damping !== undefined) argv.push("--preset", String(settings.damping));
      argv.push(...(group.flags ?? []), ...extraFlags);
      const label = Object.entries(settings).filter(([k]) => k !== "opt" && k !== "seed").map(([k, v]) => `${k}${v}`).join("-");
      runs.push({ id: `${base.name}/${[opt, label, `seed${settings.seed}`].filter(Boolean).join("-")}`, group: base.name, opt, seed: settings.seed as number, steps, settings, argv });
    }
  }
  return runs;
}

/** A sweep's sweep.json (written by `bench sweep` and `bench collect`) as read back. */
export interface SweepRecord {
  spec: { name: string; description: string; [key: string]: unknown };
  scale: number;
  runs: { id: string; argv?: string[] }[];
  [key: string]: unknown;
}

/** Run ids become paths under runs/: segments of letters, digits, '.', '_', '+', '-', never '..'. */
export function isSafeRunId(id: unknown): id is string {
  return typeof id === "string" && /^[A-Za-z0-9._+-]+(\/[A-Za-z0-9._+-]+)*$/.test(id) && !id.split("/").some((part) => part === "." || part === "..");
}

/** Checks a parsed sweep.json in shape; `file` names it in the one-line error. */
export function validateSweepRecord(raw: unknown, file: string): SweepRecord {
  const bad = (problem: string): never => fail(file, `${problem}; not a sweep record (the file is damaged)`);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) bad("not a JSON object");
  const record = raw as Record<string, unknown>;
  const spec = record.spec as Record<string, unknown> | null;
  if (typeof spec !== "object" || spec === null || typeof spec.name !== "string" || typeof spec.description !== "string") bad("'spec' has no name and description");
  if (typeof record.scale !== "number" || !(record.scale > 0 && record.scale <= 1)) bad(`'scale' is ${JSON.stringify(record.scale)}, not a number in (0, 1]`);
  if (!Array.isArray(record.runs)) bad(`'runs' is ${JSON.stringify(record.runs)}, not a list`);
  (record.runs as unknown[]).forEach((run, i) => {
    const r = run as Record<string, unknown> | null;
    if (typeof r !== "object" || r === null || !isSafeRunId(r.id)) bad(`runs[${i}] has no id of the form GROUP/RUN`);
    if (r!.argv !== undefined && (!Array.isArray(r!.argv) || r!.argv.some((a) => typeof a !== "string"))) bad(`runs[${i}].argv is not a list of strings`);
  });
  return record as SweepRecord;
}

/** A run's result.json as read back: its status and settings. */
export interface RunResult {
  id?: string;
  status: string;
  settings: Record<string, unknown>;
  argv?: string[];
  identity?: string;
  [key: string]: unknown;
}

/** Checks a parsed result.json in shape; `file` names it in the one-line error. */
export function validateRunResult(raw: unknown, file: string): RunResult {
  const bad = (problem: string): never => fail(file, `${problem}; not a run result (the file is damaged)`);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) bad(`${JSON.stringify(raw)} is not a JSON object`);
  const result = raw as Record<string, unknown>;
  if (!["done", "diverged", "failed"].includes(result.status as string)) bad(`'status' is ${JSON.stringify(result.status)}, not done, diverged or failed`);
  if (result.settings !== undefined && (typeof result.settings !== "object" || result.settings === null || Array.isArray(result.settings))) bad("'settings' is not an object");
  if (result.argv !== undefined && (!Array.isArray(result.argv) || result.argv.some((a) => typeof a !== "string"))) bad("'argv' is not a list of strings");
  if (result.identity !== undefined && typeof result.identity !== "string") bad("'identity' is not a string");
  return { ...result, settings: (result.settings ?? {}) as Record<string, unknown> } as RunResult;
}
