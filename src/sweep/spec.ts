// Sweep specifications (bench/sweeps/*.json, or any file): groups of runs as grids over train
// settings, expanded into one train command line per run. The spec's own keys are SPEC_SETTINGS;
// besides them a spec or a group may name any setting of `bun run train` (its flags in camel case:
// data, targets, hidden, loss, batch, lr, preset, ...), as one value or as a list of values, a grid
// axis. Unknown keys, bad values and a value given twice in one list are refused with the key's path,
// before anything runs; so is every run's command line that `train` would refuse, or that gives a
// flag the runner sets itself (checkRunArgv).
import { basename } from "node:path";
import { ExpectedError } from "../errors.ts";
import { type TrainConfig, RUN_SETTINGS, parseTrainArgs } from "../run/config.ts";
import { networkFor } from "../run/network.ts";
import { METHOD_NAMES, OPTIMIZER_SETTINGS } from "../optim/settings.ts";
import { type SettingRow, checkSetting, flagOf } from "../settings.ts";
import { TRAIN_SETTINGS } from "../train/settings.ts";

export class SweepSpecError extends ExpectedError {}

type Value = number | boolean | string;

/** A spec's own key: where it may stand, what it holds, and its line in `sweep --help`. */
interface SpecRow {
  where: "spec" | "group" | "spec, group";
  type: string;
  help: string;
  check(value: unknown, path: string): void;
}

const NAME = /^[A-Za-z0-9._-]+$/;
const GROUP_NAME = /^[a-z0-9-]+$/;

/** The spec's own keys; every other key is a train setting (TRAIN_KEYS). */
export const SPEC_SETTINGS: Record<string, SpecRow> = {
  name: { where: "spec, group", type: "name", help: "the sweep's name (its folder runs/sweeps/NAME, its queue key); a group's: lower-case letters, digits, '-'", check: () => {} },
  description: { where: "spec", type: "text", help: "what the sweep asks", check: (v, path) => typeof v === "string" || fail(path, "expected a string") },
  seeds: { where: "spec", type: "integers ≥ 0", help: "every run of every group once per seed (--seed)", check: (v, path) => checkList(v, path, (x) => Number.isSafeInteger(x) && (x as number) >= 0, "non-negative integers") },
  evaluations: { where: "spec", type: "integer ≥ 1", help: "whole-set evaluations per run: --eval-every is steps / evaluations (default 20)", check: (v, path) => (Number.isSafeInteger(v) && (v as number) >= 1) || fail(path, "expected an integer ≥ 1") },
  groups: { where: "spec", type: "list of groups", help: "the grids; each group has a name, opt and steps", check: (v, path) => (Array.isArray(v) && v.length > 0) || fail(path, "expected a non-empty list") },
  opt: { where: "group", type: `${METHOD_NAMES.join("|")}, or a list`, help: "the method (a list: a grid axis)", check: (v, path) => checkValues(v, path, (x) => (METHOD_NAMES as readonly unknown[]).includes(x), `one of ${METHOD_NAMES.join(", ")}`) },
  steps: { where: "group", type: "integer ≥ 1", help: "updates per run (times --scale)", check: (v, path) => (Number.isSafeInteger(v) && (v as number) >= 1) || fail(path, "expected a positive integer") },
  decayFraction: { where: "spec, group", type: "numbers ≥ 0", help: "halve the learning rate every this fraction of the updates (--decay-period), 0: never", check: (v, path) => checkValues(v, path, (x) => typeof x === "number" && Number.isFinite(x) && x >= 0, "non-negative numbers") },
  damping: { where: "spec, group", type: "fixed|adaptive, or a list", help: "the same as preset (the id of its runs says 'damping')", check: (v, path) => checkValues(v, path, (x) => x === "fixed" || x === "adaptive", "'fixed' / 'adaptive'") },
  flags: { where: "spec, group", type: "list of strings", help: "extra train flags for every run, e.g. [\"--weight-decay\", \"0\"]", check: (v, path) => checkList(v, path, (x) => typeof x === "string", "strings", true) },
  scaled: { where: "group", type: "object", help: "replacements when --scale is below 1 (the CPU-sized grid); scaled.steps is the count at --scale 0.05, scaled.omit leaves the group out", check: () => {} },
};

/** Train settings the sweep sets itself for every run: a spec may not name them. */
const RUNNER_SETTINGS = new Set(["out", "resume", "device", "quiet", "help", "steps", "seed", "evalEvery", "dataDir"]);

/** A train setting's spec key (its flag in camel case, as in config.json) → its flag and row. */
export const TRAIN_KEYS = new Map<string, { flag: string; row: SettingRow }>();
for (const rows of [RUN_SETTINGS, TRAIN_SETTINGS, OPTIMIZER_SETTINGS] as Record<string, SettingRow>[]) {
  for (const [key, row] of Object.entries(rows)) {
    const specKey = row.negated ? key : (row.flag ?? key).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!RUNNER_SETTINGS.has(specKey) && !TRAIN_KEYS.has(specKey) && !(specKey in SPEC_SETTINGS)) TRAIN_KEYS.set(specKey, { flag: flagOf(key, { ...row, negated: false }), row });
  }
}
TRAIN_KEYS.set("factorMomentum", { flag: "factor-momentum", row: OPTIMIZER_SETTINGS.factorMomentum });

/** The spec's keys and the train settings it may name, for `sweep --help`. */
export function specHelp(): string {
  const lines = ["spec keys (a JSON object; `groups` holds the grids):"];
  for (const [key, row] of Object.entries(SPEC_SETTINGS)) lines.push(`  ${key.padEnd(14)} ${`[${row.where}]`.padEnd(14)} ${row.type}: ${row.help}`);
  lines.push(
    "  any train setting, in the spec (every group) or a group, as a value or a list of values (a grid axis):",
    `    ${[...TRAIN_KEYS.keys()].join(", ")}`,
    "    (their meaning and range: bun run train --help; true/false for switches such as factorMomentum, shuffle)",
  );
  return lines.join("\n");
}

function fail(path: string, problem: string): never {
  throw new SweepSpecError(`${path}: ${problem}`);
}

/** A non-empty list whose every item passes `ok`, each value once. */
function checkList(value: unknown, path: string, ok: (v: unknown) => boolean, what: string, repeatsAllowed = false): void {
  if (!Array.isArray(value) || value.length === 0) fail(path, `expected a non-empty list of ${what}`);
  value.forEach((v, i) => ok(v) || fail(`${path}[${i}]`, `${JSON.stringify(v)} is not one of the ${what} expected`));
  if (!repeatsAllowed) {
    const seen = new Set<string>();
    for (const v of value) {
      const text = JSON.stringify(v);
      if (seen.has(text)) fail(path, `${text} is given twice; give each value once (two runs of one id would be made)`);
      seen.add(text);
    }
  }
}

/** One value, or a list of them (a grid axis). */
function checkValues(value: unknown, path: string, ok: (v: unknown) => boolean, what: string): void {
  if (Array.isArray(value)) checkList(value, path, ok, what);
  else if (!ok(value)) fail(path, `${JSON.stringify(value)} is not ${what}`);
}

/** A train setting's value(s), checked against its row. */
function checkTrainValue(key: string, value: unknown, path: string): void {
  const { row } = TRAIN_KEYS.get(key)!;
  const one = (v: unknown, where: string) => {
    try {
      checkSetting(key, row, v, where);
    } catch (error) {
      if (error instanceof ExpectedError) throw new SweepSpecError(error.message);
      throw error;
    }
  };
  if (Array.isArray(value)) {
    checkList(value, path, () => true, "values");
    value.forEach((v, i) => one(v, `${path}[${i}]`));
  } else one(value, path);
}

/** Checks the keys of a spec (`level` "spec") or a group ("group", or "scaled" for a group's replacements). */
function checkKeys(object: Record<string, unknown>, path: string, level: "spec" | "group" | "scaled"): void {
  for (const [key, value] of Object.entries(object)) {
    const at = level === "spec" ? `${path} ${key}` : `${path}.${key}`;
    const own = SPEC_SETTINGS[key];
    if (level === "scaled" && key === "omit") {
      if (typeof value !== "boolean") fail(at, "expected true or false");
    } else if (own && own.where.includes(level === "scaled" ? "group" : level) && !(level === "scaled" && (key === "name" || key === "scaled"))) {
      if (key !== "name") own.check(value, at);
    } else if (TRAIN_KEYS.has(key)) checkTrainValue(key, value, at);
    else if (RUNNER_SETTINGS.has(key)) fail(at, `set by the sweep for every run (${key === "seed" ? "use seeds" : key === "steps" ? "a group's steps" : key === "evalEvery" ? "use evaluations" : "it is a flag of `sweep`"}); leave it out`);
    else fail(at, `unknown key; a spec's keys are ${Object.keys(SPEC_SETTINGS).join(", ")} and any train setting (${[...TRAIN_KEYS.keys()].slice(0, 6).join(", ")}, …; sweep --help lists them)`);
  }
}

export interface SweepSpec {
  name: string;
  description: string;
  seeds: number[];
  /** Whole-set evaluations per run (the eval period is steps / evaluations). */
  evaluations: number;
  groups: SweepGroup[];
  /** Train settings for every group (dataset, task, data, batch, ...). */
  [setting: string]: unknown;
}

/** One grid of runs: name, opt, steps, and any train setting (a list is a grid axis). */
export interface SweepGroup {
  name: string;
  opt: string | string[];
  steps: number;
  scaled?: Record<string, unknown> & { omit?: boolean; steps?: number };
  [setting: string]: unknown;
}

/** Validates a parsed spec file; `file` names it in messages. */
export function validateSweepSpec(raw: unknown, file: string): SweepSpec {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(file, "expected a JSON object");
  const spec = raw as Record<string, unknown>;
  for (const key of ["name", "description", "seeds", "groups"]) if (spec[key] === undefined) fail(`${file}: ${key}`, "missing");
  // The name becomes a folder (runs/sweeps/NAME) and a queue key.
  if (typeof spec.name !== "string" || !NAME.test(spec.name) || spec.name === "." || spec.name === "..") fail(`${file}: name`, "expected a name of letters, digits, '.', '_' and '-'");
  checkKeys(spec, file + ":", "spec");
  if (spec.dataset === undefined && spec.data === undefined) fail(`${file}: dataset`, `missing; name the training set with "dataset" (one of ${(RUN_SETTINGS.dataset.choices as readonly string[]).join(", ")}) or "data" (your Arrow file)`);
  const names = new Set<string>();
  (spec.groups as unknown[]).forEach((g, i) => {
    const path = `${file}: groups[${i}]`;
    if (typeof g !== "object" || g === null || Array.isArray(g)) fail(path, "expected an object");
    const group = g as Record<string, unknown>;
    if (typeof group.name !== "string" || !GROUP_NAME.test(group.name)) fail(`${path}.name`, "expected a name of lower-case letters, digits and '-'");
    if (names.has(group.name)) fail(`${path}.name`, `'${group.name}' is used twice`);
    names.add(group.name);
    if (group.opt === undefined) fail(`${path}.opt`, "missing");
    if (group.steps === undefined) fail(`${path}.steps`, "missing");
    checkKeys(group, path, "group");
    if (group.scaled !== undefined) {
      if (typeof group.scaled !== "object" || group.scaled === null || Array.isArray(group.scaled)) fail(`${path}.scaled`, "expected an object of replacements");
      checkKeys(group.scaled as Record<string, unknown>, `${path}.scaled`, "scaled");
    }
  });
  const legacyTask = spec.dataset !== undefined && spec.task === undefined ? { task: "autoencoder" } : {};
  return { evaluations: 20, ...legacyTask, ...(spec as object) } as SweepSpec;
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

/** The scale at which a group's `scaled.steps` count applies; below it the count shrinks in proportion. */
export const SCALED_STEPS_AT = 0.05;

/**
 * A group's updates at `scale`: steps × scale, or where the group sets `scaled.steps` (its count on
 * the CPU-sized grid at --scale 0.05, the scale the recorded sweeps ran) scaled.steps × scale / 0.05,
 * at most its full steps; at scale 1 its steps; never fewer than 10.
 */
export function scaledSteps(group: SweepGroup, scale: number): number {
  return Math.max(MIN_SCALED_STEPS, unflooredSteps(group, scale));
}

/** The fewest updates --scale leaves a group (a shorter run has no curve to report). */
export const MIN_SCALED_STEPS = 10;

function unflooredSteps(group: SweepGroup, scale: number): number {
  if (scale >= 1) return group.steps;
  const scaledAt = group.scaled?.steps;
  return Math.round(scaledAt !== undefined ? Math.min(group.steps, (scaledAt * scale) / SCALED_STEPS_AT) : group.steps * scale);
}

/** One line for each group whose updates --scale would take below MIN_SCALED_STEPS (raised to it, said, not silently). */
export function scaleNotes(spec: SweepSpec, scale: number): string[] {
  return spec.groups
    .filter((g) => !(scale < 1 && g.scaled?.omit) && unflooredSteps(g, scale) < MIN_SCALED_STEPS)
    .map((g) => `sweep: group '${g.name}': --scale ${scale} gives ${unflooredSteps(g, scale)} updates; its runs take ${MIN_SCALED_STEPS}, the fewest a sweep run takes`);
}

/** A setting's value as it reads in a run id: a file by its name, anything else as written, other characters as '_'. */
function idText(key: string, value: Value): string {
  const text = typeof value === "string" && ["data", "valid", "init"].includes(key) ? basename(value).replace(/\.(arrow|feather|ipc|safetensors)$/, "") : String(value);
  return text.replace(/[^A-Za-z0-9._+-]/g, "_");
}

/** A train setting's flags: `--flag value`, or for a switch `--no-flag` when false (nothing when true). */
function settingArgv(key: string, value: Value): string[] {
  const { flag, row } = TRAIN_KEYS.get(key)!;
  if (row.kind === "boolean") return row.negated ? (value === false ? [`--no-${flag}`] : []) : value === true ? [`--${flag}`] : [];
  return [`--${flag}`, String(value)];
}

/** Keys whose flags the planner writes itself, in the order of older sweeps' command lines. */
const PLANNED_FIRST = ["opt", "dataset", "task", "lr", "decayFraction", "factorMomentum", "damping", "flags", "scaled", "name", "steps", "saveEvery"];

/**
 * Every run of the sweep. With scale < 1 each group's `scaled` replacements apply and its steps are
 * scaledSteps. A run's id is GROUP/OPT-AXES-seedN, AXES each list-valued setting and its value.
 */
export function planSweep(spec: SweepSpec, scale: number, extraFlags: string[] = []): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const shared = Object.fromEntries(Object.entries(spec).filter(([k]) => !(k in SPEC_SETTINGS) || ["decayFraction", "damping", "flags"].includes(k)));
  for (const base of spec.groups) {
    if (scale < 1 && base.scaled?.omit) continue;
    const { omit: _omit, steps: _steps, ...replacements } = scale < 1 ? (base.scaled ?? {}) : {};
    const group: Record<string, unknown> = { ...shared, ...base, ...replacements, flags: [...((spec.flags as string[]) ?? []), ...((base.flags as string[]) ?? [])] };
    const steps = scaledSteps(base, scale);
    const evalEvery = Math.max(1, Math.round(steps / spec.evaluations));
    const list = (v: unknown): Value[] => (Array.isArray(v) ? v : [v]) as Value[];
    const axes: [string, Value[]][] = [["opt", list(group.opt)]];
    for (const key of ["lr", "decayFraction", "factorMomentum", "damping"]) if (group[key] !== undefined) axes.push([key, list(group[key])]);
    for (const key of ["dataset", "task"]) if (Array.isArray(group[key])) axes.push([key, group[key] as Value[]]);
    const others = Object.keys(group).filter((k) => !PLANNED_FIRST.includes(k) && TRAIN_KEYS.has(k));
    for (const key of others) if (Array.isArray(group[key])) axes.push([key, group[key] as Value[]]);
    axes.push(["seed", spec.seeds]);
    for (const combination of cartesian(axes.map(([, values]) => values))) {
      const settings = Object.fromEntries(axes.map(([key], i) => [key, combination[i]]));
      const opt = settings.opt as string;
      const argv = ["--opt", opt];
      const value = (key: string) => (key in settings ? settings[key] : group[key]);
      if (value("dataset") !== undefined) argv.push("--dataset", String(value("dataset")));
      if (value("task") !== undefined) argv.push("--task", String(value("task")));
      argv.push("--steps", String(steps), "--seed", String(settings.seed), "--eval-every", String(evalEvery), "--save-every", String(group.saveEvery ?? 0));
      if (settings.lr !== undefined) argv.push("--lr", String(settings.lr));
      if (settings.decayFraction !== undefined && settings.decayFraction !== 0) argv.push("--decay-period", String(Math.max(1, Math.round((settings.decayFraction as number) * steps))));
      if (settings.factorMomentum === false) argv.push("--no-factor-momentum");
      if (settings.damping !== undefined) argv.push("--preset", String(settings.damping));
      argv.push(...(group.flags as string[]));
      for (const key of others) argv.push(...settingArgv(key, (key in settings ? settings[key] : group[key]) as Value));
      argv.push(...extraFlags);
      const label = axes.filter(([k]) => k !== "opt" && k !== "seed").map(([k], i) => `${k}${idText(k, settings[k] as Value)}`).join("-");
      runs.push({ id: `${base.name}/${[opt, label, `seed${settings.seed}`].filter(Boolean).join("-")}`, group: base.name, opt, seed: settings.seed as number, steps, settings, argv });
    }
  }
  const ids = new Map<string, PlannedRun>();
  for (const run of runs) {
    const other = ids.get(run.id);
    if (other) throw new SweepSpecError(`${spec.name}: two runs would share the id ${run.id} (${other.argv.join(" ")} / ${run.argv.join(" ")}); give them values that read apart in a run id, or put them in two groups`);
    ids.set(run.id, run);
  }
  return runs;
}

export interface PlannedRun {
  /** Unique, filesystem-safe id, e.g. "adam-grid/adam-lr0.0078125-decay0.5-seed0". */
  id: string;
  group: string;
  opt: string;
  seed: number;
  steps: number;
  settings: Record<string, Value>;
  argv: string[];
}

/** A sweep's sweep.json (written by `sweep sweep` and `sweep collect`) as read back. */
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
  for (const [key, value] of Object.entries((result.settings ?? {}) as Record<string, unknown>)) {
    const ok = typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value)) || (Array.isArray(value) && value.every((v) => typeof v === "string"));
    if (!ok) bad(`'settings.${key}' is ${JSON.stringify(value)}, not a setting's value (a string, a finite number or true/false)`);
  }
  if (result.settings !== undefined && (result.settings as Record<string, unknown>).opt !== undefined && typeof (result.settings as Record<string, unknown>).opt !== "string") bad(`'settings.opt' is ${JSON.stringify((result.settings as Record<string, unknown>).opt)}, not a method's name`);
  return { ...result, settings: (result.settings ?? {}) as Record<string, unknown> } as RunResult;
}
