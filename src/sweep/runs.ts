// The runs of a sweep directory for `sweep report`: those its sweep.json plans, and any other run
// directory under DIR/runs/GROUP/ (a sweep run in pieces, one invocation per seed, rewrites
// sweep.json with its own piece). A run with a result.json is done, diverged or failed as that file
// says; one with metrics but no result was cut short (its process was stopped); one with neither
// has not run.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../errors.ts";
import { readJsonFile } from "../io/json.ts";
import { type EvalRecord, readMetrics } from "../run/metrics.ts";
import { validateRunResult, validateSweepRecord } from "./spec.ts";
import { methodKey } from "./seeds.ts";

/** Each finished run's outcome, beside its metrics: written by `sweep sweep` and `sweep worker`. */
export const RESULT_FILE = "result.json";

export type RunStatus = "done" | "diverged" | "failed" | "cut" | "not run";

export interface RunOutcome {
  id: string;
  group: string;
  status: RunStatus;
  /** The sweep's axes for this run: opt, lr, decayFraction, factorMomentum, damping, seed. */
  settings: Record<string, unknown>;
  evals: EvalRecord[];
  /** τ and γ as the update at each evaluation left them (second-order runs). */
  damping: Map<number, { tau: number; gamma: number }>;
  environment?: Record<string, unknown>;
  final?: EvalRecord;
  /** Why a failed run failed (the last line of its stderr). */
  reason?: string;
}

export interface SweepRuns {
  /** The sweep.json: spec, scale, device, planned runs. */
  sweep: { spec: { name: string; description: string; seeds: number[] } & Record<string, unknown>; scale: number; runs: { id: string; argv?: string[] }[] };
  runs: RunOutcome[];
}

/** Run directories on disk, DIR/runs/GROUP/NAME, as ids "GROUP/NAME". */
function runIdsOnDisk(dir: string): string[] {
  const root = join(dir, "runs");
  if (!existsSync(root)) return [];
  const ids: string[] = [];
  for (const group of readdirSync(root).sort()) {
    if (!statSync(join(root, group)).isDirectory()) continue;
    for (const name of readdirSync(join(root, group)).sort()) if (statSync(join(root, group, name)).isDirectory()) ids.push(`${group}/${name}`);
  }
  return ids;
}

/** A run's sweep axes from its train config.json, for a run whose result.json is missing. */
function settingsFromConfig(config: Record<string, unknown>): Record<string, unknown> {
  const settings: Record<string, unknown> = { opt: config.opt, seed: config.seed };
  if (["kfra", "kflr", "kfac"].includes(String(config.opt))) Object.assign(settings, { damping: config.preset ?? config.damping, factorMomentum: config.factorMomentum });
  else Object.assign(settings, { lr: config.lr, decayFraction: Number(config.decayPeriod) > 0 ? Number(config.decayPeriod) / Number(config.steps) : 0 });
  return settings;
}

function loadRun(dir: string, id: string): RunOutcome {
  const runDir = join(dir, "runs", id);
  const group = id.split("/")[0];
  const metricsPath = join(runDir, "metrics.ndjson");
  const records = existsSync(metricsPath) ? readMetrics(metricsPath) : [];
  const evals = records.filter((r): r is EvalRecord => r.type === "eval");
  const evalSteps = new Set(evals.map((e) => e.step));
  const damping = new Map<number, { tau: number; gamma: number }>();
  for (const r of records) if (r.type === "step" && evalSteps.has(r.step) && typeof r.tau === "number") damping.set(r.step, { tau: r.tau, gamma: r.gamma as number });
  const envPath = join(runDir, "environment.json");
  const environment = existsSync(envPath) ? (readJsonFile(envPath) as Record<string, unknown>) : undefined;
  const resultPath = join(runDir, RESULT_FILE);
  const configPath = join(runDir, "config.json");
  let status: RunStatus;
  let settings: Record<string, unknown> = {};
  let reason: string | undefined;
  if (existsSync(resultPath)) {
    const result = validateRunResult(readJsonFile(resultPath), resultPath) as { status: RunStatus; settings: Record<string, unknown>; stderr?: string };
    status = result.status;
    settings = result.settings;
    if (status === "failed") reason = result.stderr?.trim().split("\n").at(-1);
  } else {
    status = existsSync(metricsPath) ? "cut" : "not run";
    if (existsSync(configPath)) settings = settingsFromConfig(readJsonFile(configPath) as Record<string, unknown>);
  }
  return { id, group, status, settings, evals, damping, environment, final: evals.at(-1), reason };
}

const seedOf = (id: string) => Number(/-seed(\d+)$/.exec(id)?.[1] ?? 0);

/**
 * Every run of the sweep in DIR, planned or found on disk: groups in the order the plan (then the
 * disk) first names them, and within a group by method, then seed.
 */
export function loadSweepRuns(dir: string): SweepRuns {
  const sweepPath = join(dir, "sweep.json");
  if (!existsSync(sweepPath)) throw new UsageError(`${dir}: no sweep.json; is it a sweep directory?`);
  const sweep = validateSweepRecord(readJsonFile(sweepPath), sweepPath) as unknown as SweepRuns["sweep"];
  const ids = [...new Set([...sweep.runs.map((r) => r.id), ...runIdsOnDisk(dir)])];
  const groups = [...new Set(ids.map((id) => id.split("/")[0]))];
  const order = (id: string) => groups.indexOf(id.split("/")[0]);
  ids.sort((a, b) => order(a) - order(b) || methodKey(a).localeCompare(methodKey(b)) || seedOf(a) - seedOf(b));
  return { sweep, runs: ids.map((id) => loadRun(dir, id)) };
}
