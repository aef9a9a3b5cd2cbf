// --resume DIR: the run continues with its own config.json. A flag on the command line that differs
// from it is refused, listing every difference, except the flags that may change between sessions
// (how long to train, how often to evaluate and save, where to run and read data, how much to
// print); those are accepted and recorded in config.json's `history`. The run's device is kept
// unless --device is given. config.json is checked in shape (every setting of the type and range its
// flag allows), and a run is not continued on data other than what its checkpoints learnt from.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { FileError, UsageError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomicWrite.ts";
import { readJsonFile } from "../io/json.ts";
import { checkpointData, checkpointSettings } from "./checkpoint.ts";
import { type DataRole, changedData, dataFingerprint, runDataFiles } from "./dataIdentity.ts";
import { CONFIG_FILE } from "./runFiles.ts";
import { type TrainConfig, configKey, resolvedConfig, savedConfig, withResolvedSettings } from "./config.ts";

export const CHANGEABLE_ON_RESUME = ["steps", "eval-every", "save-every", "device", "workers", "data-dir"] as const;
/** Flags that are not settings of the run: taken from the command line every time. */
const NOT_SETTINGS = new Set(["resume", "help", "out", "quiet"]);

export type ResumeChanges = Record<string, [unknown, unknown]>;

/**
 * A run's config.json, checked in shape: `opt` and `steps` present, every setting of its flag's
 * type and range; a setting it lacks (saved before the flag existed) takes the flag's default.
 * Anything else is a one-line FileError naming the file and the setting.
 */
export function readRunConfig(runDir: string): TrainConfig & { history?: unknown[] } {
  const path = join(runDir, CONFIG_FILE);
  const saved = readJsonFile(path);
  if (typeof saved !== "object" || saved === null || Array.isArray(saved) || typeof (saved as TrainConfig).opt !== "string" || typeof (saved as TrainConfig).steps !== "number") {
    throw new FileError(`${path}: not a run configuration (no opt or steps)`);
  }
  return savedConfig(path, saved as Record<string, unknown>);
}

const ROLE_NAMES: Record<DataRole, string> = { train: "the training file", heldOut: "the held-out file", init: "the --init weights" };

/** Refuses to continue a run whose checkpoints learnt from data other than the files `config` names now. */
function checkSameData(dir: string, runDir: string, config: TrainConfig): void {
  const recorded = checkpointData(runDir);
  if (recorded.length === 0) return;
  const now = dataFingerprint(config);
  const files = runDataFiles(config);
  for (const { step, data } of recorded) {
    const changed = changedData(data, now);
    if (changed.length === 0) continue;
    const which = changed.map((role) => `${ROLE_NAMES[role]} ${files[role]}`).join(" and ");
    throw new UsageError(
      `--resume ${dir}: ${which} holds other bytes than when the checkpoint of step ${step} was saved; a resumed run continues on the data it learnt from: restore it, or start a new run with --out`,
    );
  }
}

/** config.json keys that may differ from a checkpoint's record of them: the changeable flags', and what is not a setting. */
const MAY_DIFFER = new Set<string>([...CHANGEABLE_ON_RESUME.map((flag) => configKey(flag)), ...[...NOT_SETTINGS].map((flag) => configKey(flag)), "history"]);

/**
 * Refuses to continue a run whose config.json was edited since a checkpoint was saved in a setting
 * that changes the run's meaning (seed, batch, method, ...): each checkpoint records the config.json
 * it was trained under.
 */
function checkSameSettings(dir: string, runDir: string): void {
  const path = join(runDir, CONFIG_FILE);
  // Compared as resolved settings, so that a config.json of an older layout (damping for preset,
  // defaults left out) and the record of the same settings agree; a record that does not read as
  // settings is left to the checkpoint's own checks.
  const comparable = (raw: unknown) => resolvedConfig(savedConfig(path, raw as Record<string, unknown>));
  const now = comparable(readJsonFile(path));
  for (const { step, settings: recorded } of checkpointSettings(runDir)) {
    let settings: Record<string, unknown>;
    try {
      settings = comparable(recorded);
    } catch {
      continue;
    }
    const keys = [...new Set([...Object.keys(settings), ...Object.keys(now)])].filter((key) => !MAY_DIFFER.has(key));
    const edited = keys.filter((key) => JSON.stringify(settings[key]) !== JSON.stringify(now[key]));
    if (edited.length === 0) continue;
    const list = edited.map((key) => `${key} ${show(now[key])} (${show(settings[key])} at step ${step})`).join("; ");
    throw new UsageError(`--resume ${dir}: ${path} was edited since its checkpoint of step ${step} was saved: ${list}; a resumed run keeps the settings it trained with: restore them, or start a new run with --out`);
  }
}

const show = (value: unknown) => (value === undefined ? "unset" : JSON.stringify(value));

/** The saved config of the run in `dir` with the changeable flags given on the command line applied. */
export function resumeConfig(dir: string, commandLine: TrainConfig, given: ReadonlySet<string>): TrainConfig & { resumeChanges: ResumeChanges } {
  const runDir = resolve(dir);
  if (!existsSync(join(runDir, CONFIG_FILE))) throw new UsageError(`--resume ${dir}: no ${CONFIG_FILE} there; is it a run directory?`);
  const saved = readRunConfig(runDir);
  checkSameSettings(dir, runDir);
  const differences: string[] = [];
  const changes: ResumeChanges = {};
  for (const flag of given) {
    if (flag === "out" && commandLine.out !== undefined && resolve(commandLine.out) !== runDir) differences.push(`--out ${commandLine.out} (the run is ${runDir})`);
    if (NOT_SETTINGS.has(flag)) continue;
    const key = configKey(flag);
    const value = commandLine[key];
    const before = saved[key];
    if (JSON.stringify(value) === JSON.stringify(before)) continue;
    if ((CHANGEABLE_ON_RESUME as readonly string[]).includes(flag)) changes[key] = [before, value];
    else differences.push(`--${flag}: ${show(flag.startsWith("no-") ? !value : value)} here, ${show(flag.startsWith("no-") ? !before : before)} in the run`);
  }
  if (differences.length > 0) {
    throw new UsageError(
      `--resume ${dir}: ${differences.join("; ")}. A resumed run keeps its settings; only ${CHANGEABLE_ON_RESUME.map((f) => `--${f}`).join(", ")} may change (start a new run with --out for others)`,
    );
  }
  const applied = Object.fromEntries(Object.entries(changes).map(([key, [, value]]) => [key, value]));
  const resumed = { ...saved, ...applied, quiet: commandLine.quiet, help: false, resume: runDir, out: runDir, resumeChanges: changes };
  checkSameData(dir, runDir, resumed);
  return resumed;
}

/** Records accepted changes in the run's config.json: the new values, and a history entry (an old layout is rewritten with its settings as used). */
export function recordResumeChanges(runDir: string, changes: ResumeChanges, step: number): void {
  if (Object.keys(changes).length === 0) return;
  const saved = readRunConfig(runDir);
  const history = Array.isArray(saved.history) ? saved.history : [];
  for (const [key, [, value]] of Object.entries(changes)) (saved as unknown as Record<string, unknown>)[key] = value;
  const entry = { resumedAtStep: step, time: new Date().toISOString(), changed: Object.fromEntries(Object.entries(changes).map(([k, [from, to]]) => [k, { from, to }])) };
  writeFileAtomic(join(runDir, CONFIG_FILE), `${JSON.stringify({ ...withResolvedSettings(saved), history: [...history, entry] }, null, 2)}\n`);
}
