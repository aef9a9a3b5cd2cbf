// How long a sweep will take on this machine, before it runs (`sweep SPEC --dry-run`). A run costs
//   seconds = start + first + (steps − 1) · perUpdate + evaluations · perEvaluation,
// `start` the process start, data load and exit, `first` its first update with the warm-up of the
// first few (JIT, first allocations, BLAS threads waking). The four are measured per cost class (runs
// that differ only in seed, learning rate and other values that change no work) by two probes, each a
// real `train` process in a temporary folder doing PROBE_STEPS updates, one evaluated every
// PROBE_EVAL_EVERY (7 evaluations), one at both ends (2). Training seconds (metrics.ndjson's `time`,
// evaluations left out) give perUpdate (the rate over the second half) and first; the rest of each
// probe's wall-clock time is start + evaluations · perEvaluation: two equations for the two unknowns.
// A finished run of the class in the sweep's folder is measured already and is used instead.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExpectedError } from "../errors.ts";
import { missingDatasetFile } from "../data/dataset.ts";
import { readMetrics, type StepRecord } from "../run/metrics.ts";
import { checkRunArgv } from "./spec.ts";

/** Flags whose values change no work per update: runs differing only in them cost the same. */
const COST_FREE_FLAGS = ["--seed", "--steps", "--eval-every", "--save-every", "--lr", "--decay-period", "--momentum", "--weight-decay", "--beta1", "--beta2", "--epsilon", "--tau0", "--gamma0", "--factor-decay", "--polyak-max"];
const COST_FREE_SWITCHES = ["--no-factor-momentum"];

export const PROBE_STEPS = 30;
const PROBE_EVAL_EVERY = 5;

/** The cost class of a run: its train arguments without the values that change no work. */
export function costKey(argv: readonly string[]): string {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (COST_FREE_FLAGS.includes(argv[i])) i++;
    else if (!COST_FREE_SWITCHES.includes(argv[i])) kept.push(argv[i]);
  }
  return kept.join(" ");
}

/** Seconds of one run's parts, as measured. */
export interface Cost {
  start: number;
  first: number;
  perUpdate: number;
  perEvaluation: number;
  /** How it was measured, in words. */
  source: string;
}

/** Whole-set evaluations of a run: at update 0, every evalEvery, and at the end when off that schedule. */
export function evaluationsOf(steps: number, evalEvery: number): number {
  if (evalEvery <= 0) return 1;
  return Math.floor(steps / evalEvery) + 1 + (steps % evalEvery === 0 ? 0 : 1);
}

export function runSeconds(cost: Cost, steps: number, evaluations: number): number {
  return cost.start + cost.first + Math.max(steps - 1, 0) * cost.perUpdate + evaluations * cost.perEvaluation;
}

/** The value after `flag` in argv. */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** The training seconds of each update, from a run's metrics.ndjson. */
function updateTimes(runDir: string): number[] {
  const path = join(runDir, "metrics.ndjson");
  if (!existsSync(path)) return [];
  return readMetrics(path, () => {})
    .filter((r): r is StepRecord => r.type === "step")
    .map((r) => r.time);
}

/** A run's data file that is missing now, or undefined; with `datasets`, a named dataset not prepared yet too (train prepares those itself). */
export function missingData(argv: readonly string[], datasets = true): string | undefined {
  const config = checkRunArgv(argv, "the run");
  if (config.data) return [config.data, config.valid].find((f) => f !== undefined && !existsSync(f));
  if (!datasets) return undefined;
  const missing = missingDatasetFile(config.dataset, config.dataDir);
  return missing && `${missing} (bun run prep ${config.dataset})`;
}

/** Runs `train` with argv in a fresh folder; its wall-clock seconds and the training seconds of its updates. */
async function timedTrain(trainEntry: string, argv: string[], device: string, env: Record<string, string>): Promise<{ wall: number; times: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), "kfra-probe-"));
  try {
    const started = performance.now();
    const child = Bun.spawn([process.execPath, trainEntry, ...argv, "--device", device, "--out", join(dir, "run"), "--quiet"], { env: { ...process.env, ...env }, stdout: "ignore", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
    const wall = (performance.now() - started) / 1000;
    if (code !== 0) throw new ExpectedError(`the probe run (train ${argv.join(" ")}) failed: ${stderr.trim().split("\n").at(-1)}`);
    return { wall, times: updateTimes(join(dir, "run")) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Replaces or appends `flag value` in argv. */
function withFlag(argv: readonly string[], flag: string, value: string): string[] {
  const out = [...argv];
  const i = out.indexOf(flag);
  if (i >= 0) out[i + 1] = value;
  else out.push(flag, value);
  return out;
}

/** Measures a cost class with two short `train` processes (see the top of this file). */
export async function probeCost(trainEntry: string, argv: readonly string[], device: string, env: Record<string, string> = {}): Promise<Cost> {
  const probe = (evalEvery: number) => timedTrain(trainEntry, withFlag(withFlag(argv, "--steps", String(PROBE_STEPS)), "--eval-every", String(evalEvery)), device, env);
  const often = await probe(PROBE_EVAL_EVERY);
  const rarely = await probe(PROBE_STEPS);
  // The steady rate from each probe's second half (the first updates are slower: JIT, first
  // allocations, BLAS threads waking); `first` is what the first half took beyond that rate.
  const half = PROBE_STEPS / 2;
  const at = (p: typeof often, step: number) => p.times[step - 1] ?? 0;
  const perUpdate = Math.max((at(often, PROBE_STEPS) - at(often, half) + at(rarely, PROBE_STEPS) - at(rarely, half)) / (2 * half), 0);
  const first = Math.max((at(often, half) + at(rarely, half)) / 2 - (half - 1) * perUpdate, 0);
  // Wall-clock time outside the updates: start + often's evaluations, start + 2.
  const evaluationsOften = evaluationsOf(PROBE_STEPS, PROBE_EVAL_EVERY);
  const restOften = often.wall - at(often, PROBE_STEPS);
  const restRarely = rarely.wall - at(rarely, PROBE_STEPS);
  const perEvaluation = Math.max((restOften - restRarely) / (evaluationsOften - 2), 0);
  const start = Math.max(restRarely - 2 * perEvaluation, 0);
  return { start, first, perUpdate, perEvaluation, source: "probe" };
}

/** The cost of a class from a finished run of it: `seconds` its wall-clock time, runDir its metrics. */
export function costFromRun(runDir: string, seconds: number, evaluations: number): Cost | undefined {
  const times = updateTimes(runDir);
  if (times.length < 2) return undefined;
  const trained = times.at(-1)!;
  const perUpdate = (trained - times[0]) / (times.length - 1);
  // Its start and evaluations are not told apart: the rest of its time counts as start.
  return { start: Math.max(seconds - trained, 0), first: times[0], perUpdate, perEvaluation: 0, source: `an earlier run (${evaluations} evaluations)` };
}

/** "45 s", "12 min", "3.2 h". */
export function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
