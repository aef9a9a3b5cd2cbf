// `bun run sweep SPEC [--scale F] [--out DIR] [--jobs N] [--device D] [--dry-run]`: runs every run of
// a sweep spec (bench/sweeps/SPEC.json, or a file; src/sweep/spec.ts) as its own `train` process (the
// library's train() in a run directory, src/run), at most N at a time, shows each run's progress
// (update N of M, its loss and last whole-set error), and records each run's outcome (done,
// diverged, failed) beside its metrics, with the train arguments and the data it ran on. A finished
// run is skipped only when both match the spec and the data now; a failed run is run again; an
// unfinished one is resumed (so a crashed or interrupted sweep resumes, and one killed after a
// run's last checkpoint finds that run finished). A run directory made with other settings or data
// is never reused nor removed: the sweep refuses, before anything runs. One sweep at a time holds
// DIR (its lock); nothing in DIR is ever deleted. --out is resolved once against the working
// directory. --dry-run lists the runs with the sweep's updates and its time on this machine
// (estimate.ts). Ctrl-C or SIGTERM stops the running `train` processes (they save a checkpoint) and
// exits 130 / 143; a run that failed makes the sweep exit 1. With --queue it only enqueues the runs
// for `sweep worker` processes on other machines (src/sweep/queue/).
import { existsSync } from "node:fs";
import { DEVICE_FLAGS } from "../backend/index.ts";
import { basename, join, resolve } from "node:path";
import { numberFlag, parseFlags, positiveIntegerFlag } from "../flags.ts";
import { writeFileAtomic } from "../io/atomicWrite.ts";
import { readJsonFile } from "../io/json.ts";
import { type PlannedRun, type RunResult, checkRunArgv, planSweep, scaleNotes, specHelp, validateRunResult, validateSweepRecord, validateSweepSpec } from "./spec.ts";
import { EXIT, ExpectedError, UsageError } from "../errors.ts";
import { type DataFingerprint, changedData, dataFingerprint, isDataFingerprint } from "../run/dataIdentity.ts";
import { readRunConfig } from "../run/resume.ts";
import { resolvedConfig } from "../run/config.ts";
import { RunLock } from "../run/runLock.ts";
import { CONFIG_FILE } from "../run/runFiles.ts";
import { runCli } from "../io/program.ts";
import { RESULT_FILE } from "./runs.ts";
import { type Cost, costFromRun, costKey, evaluationsOf, flagValue, formatSeconds, missingData, probeCost, runSeconds } from "./estimate.ts";
import { queueModule } from "./optional.ts";
import { describePosition, runPosition } from "./progress.ts";
import { readdirSync } from "node:fs";

export { RESULT_FILE };
const ROOT = resolve(import.meta.dirname, "..", "..");

export function loadSweepSpec(nameOrPath: string) {
  const path = existsSync(nameOrPath) ? nameOrPath : join(ROOT, "bench", "sweeps", `${nameOrPath}.json`);
  if (!existsSync(path)) throw new UsageError(`sweep spec '${nameOrPath}' not found (looked for ${path})`);
  return { path, spec: validateSweepSpec(readJsonFile(path), path) };
}

// Linux's parent-death signal (util-linux `setpriv`): a train process dies with the sweep or worker
// that started it, so a worker killed with SIGKILL leaves no orphan training behind.
const DIE_WITH_PARENT = existsSync("/usr/bin/setpriv") ? ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"] : [];
/** The train program each run executes: the sources, or (an offline GPU bundle sets it) a bundled train.js. */
const TRAIN_ENTRY = process.env.KFRA_TRAIN_ENTRY || join(ROOT, "src/cli/train.ts");
/** Environment variables a train process is not given: it needs no queue password. */
const SECRETS = ["KFRA_REDIS_PASSWORD"];

/** What every run's `train` is told: draw no chart of its own (the report draws them all). */
export const TRAIN_ENV = { KFRA_NO_RUN_CHART: "1" };

/** The `train` processes running now, to be stopped with the sweep. */
const running = new Set<ReturnType<typeof Bun.spawn>>();

/** The data a run's arguments name, by content (files missing now are left out). */
function runData(argv: string[]): DataFingerprint {
  return dataFingerprint(checkRunArgv(argv, "the run"));
}

/** Where the run directory's settings (config.json) differ from the run's train arguments, in words. */
export function settingsDifferences(runDir: string, argv: string[]): string[] {
  const saved = resolvedConfig(readRunConfig(runDir));
  const planned = resolvedConfig(checkRunArgv(argv, runDir));
  const ignored = new Set(["out", "resume", "device", "quiet", "help", "dataDir", "history"]);
  const keys = new Set([...Object.keys(saved), ...Object.keys(planned)].filter((k) => !ignored.has(k)));
  const show = (v: unknown) => (v === undefined ? "unset" : JSON.stringify(v));
  return [...keys].filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(planned[k])).map((k) => `${k} ${show(saved[k])} there, ${show(planned[k])} now`);
}

/**
 * Why a finished run's result may not stand for `run` now (other train arguments, other data), or
 * undefined when it may. `legacy` is told of a result that predates data records.
 */
function staleResult(result: RunResult, run: Pick<PlannedRun, "argv">, legacy: () => void): string | undefined {
  if (JSON.stringify(result.argv) !== JSON.stringify(run.argv)) return `made with other settings (${(result.argv ?? []).join(" ")})`;
  if (!isDataFingerprint(result.data)) {
    legacy();
    return undefined;
  }
  const changed = changedData(result.data, runData(run.argv));
  return changed.length > 0 ? `made from other data (its ${changed.join(" and ")} file holds other bytes now)` : undefined;
}

/**
 * Runs one run as its own `train` process in `runDir`; the local sweep and `sweep worker` share it.
 * A directory holding a run of these settings is resumed (from its checkpoint, or from update 0),
 * one of other settings is refused as a failed run, and nothing is ever removed.
 */
export async function runOne(run: Pick<PlannedRun, "id" | "argv" | "settings">, runDir: string, device: string, onStart?: (child: Bun.Subprocess) => void): Promise<Record<string, unknown>> {
  const started = performance.now();
  const outcome = (status: string, exitCode: number, stderr: string) => ({
    id: run.id,
    status,
    exitCode,
    seconds: (performance.now() - started) / 1000,
    settings: run.settings,
    argv: run.argv,
    data: runData(run.argv),
    stderr: stderr.split("\n").slice(-12).join("\n"),
  });
  const resume = existsSync(join(runDir, CONFIG_FILE));
  if (resume) {
    let differences: string[];
    try {
      differences = settingsDifferences(runDir, run.argv);
    } catch (error) {
      if (!(error instanceof ExpectedError)) throw error;
      return outcome("failed", EXIT.expected, `sweep: ${error.message}`);
    }
    if (differences.length > 0) return outcome("failed", EXIT.expected, `sweep: ${runDir} holds a run of other settings (${differences.join("; ")}); it is left as it is`);
  }
  const argv = resume ? ["--resume", runDir] : [...run.argv, "--device", device, "--out", runDir];
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !SECRETS.includes(name))), ...TRAIN_ENV };
  const child = Bun.spawn([...DIE_WITH_PARENT, process.execPath, TRAIN_ENTRY, ...argv, "--quiet"], { cwd: ROOT, env, stdout: "ignore", stderr: "pipe" });
  running.add(child);
  onStart?.(child);
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  running.delete(child);
  const status = code === 0 ? "done" : /non-finite|has diverged/.test(stderr) ? "diverged" : "failed";
  return outcome(status, code, stderr);
}

/** The specs under bench/sweeps/, each with its runs and updates at --scale 1; the one of fewest updates is the quick one. */
function specList(): string[] {
  const folder = join(ROOT, "bench", "sweeps");
  if (!existsSync(folder)) return [];
  const specs = readdirSync(folder)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const runs = planSweep(validateSweepSpec(readJsonFile(join(folder, f)), f), 1);
      return { name: f.slice(0, -5), runs: runs.length, updates: runs.reduce((n, r) => n + r.steps, 0) };
    });
  const quick = specs.reduce((a, b) => (b.updates < a.updates ? b : a), specs[0]);
  return specs.map((s) => `    ${s.name.padEnd(26)} ${String(s.runs).padStart(3)} runs, ${s.updates.toLocaleString("en-US").padStart(9)} updates${s === quick ? "   <- the quick one (fewest updates)" : ""}`);
}

function usage(program: string): string {
  return [
    `usage: bun run ${program} SPEC [--scale F] [--out DIR] [--jobs N] [--device auto|cpu|webgpu] [--dry-run]`,
    `       bun run ${program} SPEC [--scale F] --queue redis://[:PASSWORD@]HOST:PORT[/DB] [--name SWEEP] [--attempts 3] [--backoff-ms 30000] [--retry-failed]`,
    "       bun run sweep report DIR | status DIR | status --queue URL [SWEEP] | worker --queue URL | collect --queue URL SWEEP",
    "",
    "  SPEC        a file (examples/sweep-own-data.json: your own data), or a name under bench/sweeps/:",
    ...specList(),
    "  --scale F   F < 1: the CPU-sized grid (each group's `scaled` replacements) and every group's updates times F",
    "              (a group's scaled.steps, its count at --scale 0.05, times F / 0.05, at most its steps)",
    "  --out DIR   where the runs go (default runs/sweeps/NAME[-scaleF]); a sweep rerun on DIR resumes it",
    "  --jobs N    runs at a time (default 1)",
    "  --dry-run   list the runs, their updates and the time they take on this machine (measured by two short",
    "              probe runs per kind of run, or taken from finished runs in DIR); nothing is written",
    "  --queue     enqueue every run as a job for `sweep worker` on any machine, and return; SWEEP (default: the",
    "              local sweep's directory name) names it for `sweep status` and `sweep collect`",
    "",
    specHelp(),
  ].join("\n");
}

/** Lines of each running run's progress: when it passes a tenth of its updates, or every 30 s. */
class SweepProgress {
  private readonly watches = new Set<{ id: string; runDir: string; steps: number; tenth: number; said: number }>();
  private readonly timer: ReturnType<typeof setInterval>;
  private started = 0;

  constructor(private readonly total: number) {
    this.timer = setInterval(() => this.tick(), 1000);
  }

  start(id: string, runDir: string, steps: number) {
    this.started += 1;
    const resumed = runPosition(runDir).step;
    console.error(`[${this.started}/${this.total}] ${id}: started${resumed > 0 ? ` (resuming; update ${resumed} logged)` : ""}`);
    const watch = { id, runDir, steps, tenth: -1, said: performance.now() };
    this.watches.add(watch);
    return watch;
  }

  stop(watch: { id: string }) {
    this.watches.delete(watch as never);
  }

  private tick() {
    for (const w of this.watches) {
      const position = runPosition(w.runDir);
      const tenth = Math.floor((10 * position.step) / w.steps);
      if (position.step === 0 || position.step >= w.steps || (tenth === w.tenth && performance.now() - w.said < 30_000)) continue;
      w.tenth = tenth;
      w.said = performance.now();
      console.error(`  ${w.id}: ${describePosition(position, w.steps)}`);
    }
  }

  close() {
    clearInterval(this.timer);
  }
}

/** --dry-run: every run with its updates and estimated time; the sweep's total; what is finished already. */
async function dryRun(runs: PlannedRun[], dir: string, device: string, jobs: number): Promise<void> {
  const costs = new Map<string, Cost | string>();
  // Finished runs in DIR measure their own kind of run.
  for (const run of runs) {
    const resultPath = join(dir, "runs", run.id, RESULT_FILE);
    if (costs.has(costKey(run.argv)) || !existsSync(resultPath)) continue;
    const result = validateRunResult(readJsonFile(resultPath), resultPath);
    const evaluations = evaluationsOf(run.steps, Number(flagValue(run.argv, "--eval-every")));
    const cost = result.status === "done" && JSON.stringify(result.argv) === JSON.stringify(run.argv) ? costFromRun(join(dir, "runs", run.id), Number(result.seconds), evaluations) : undefined;
    if (cost) costs.set(costKey(run.argv), cost);
  }
  for (const run of runs) {
    const key = costKey(run.argv);
    if (costs.has(key)) continue;
    const missing = missingData(run.argv);
    if (missing) {
      costs.set(key, `no estimate: ${missing} is missing`);
      continue;
    }
    console.error(`sweep: measuring ${run.opt} runs like ${run.id} (two short probe runs)`);
    costs.set(key, await probeCost(TRAIN_ENTRY, run.argv, device, TRAIN_ENV));
  }
  let total = 0;
  let remaining = 0;
  let unknown = 0;
  for (const run of runs) {
    const cost = costs.get(costKey(run.argv))!;
    const finished = existsSync(join(dir, "runs", run.id, RESULT_FILE));
    const seconds = typeof cost === "string" ? undefined : runSeconds(cost, run.steps, evaluationsOf(run.steps, Number(flagValue(run.argv, "--eval-every"))));
    if (seconds === undefined) unknown += 1;
    else if (!finished) remaining += seconds;
    console.log(`${run.id}: ${run.steps.toLocaleString("en-US")} updates, ${seconds === undefined ? (cost as string) : `about ${formatSeconds(seconds)}`}${finished ? " (finished in DIR)" : ""}\n    bun run train ${run.argv.join(" ")}`);
    total += run.steps;
  }
  for (const [key, cost] of costs) {
    if (typeof cost !== "string") console.log(`cost of \`${key}\`: ${cost.perUpdate.toPrecision(3)} s per update, ${cost.perEvaluation.toPrecision(3)} s per evaluation, ${cost.start.toFixed(1)} s to start and end (${cost.source})`);
  }
  const parallel = jobs > 1 ? ` with --jobs ${jobs} (if ${jobs} cores are free; else more)` : "";
  console.log(`${runs.length} run${runs.length === 1 ? "" : "s"}, ${total.toLocaleString("en-US")} updates; estimated time on this machine: ${formatSeconds(remaining / jobs)}${parallel}${unknown ? ` (${unknown} run${unknown === 1 ? "" : "s"} not estimated)` : ""}`);
}

export async function main(argv: string[], program = "sweep"): Promise<void> {
  await runCli(program, async () => {
    const { values, positionals } = parseFlags(
      argv,
      {
        scale: { type: "string", default: "1" },
        out: { type: "string" },
        jobs: { type: "string", default: "1" },
        device: { type: "string", default: "auto" },
        "dry-run": { type: "boolean" },
        queue: { type: "string" },
        name: { type: "string" },
        attempts: { type: "string", default: "3" },
        "backoff-ms": { type: "string", default: "30000" },
        "retry-failed": { type: "boolean" },
        help: { type: "boolean" },
      },
      true,
    );
    if (values.help || positionals.length !== 1) {
      console.log(usage(program));
      return values.help ? 0 : 1;
    }
    const scale = numberFlag("scale", values.scale, "a number in (0, 1]", (n) => n > 0 && n <= 1);
    const jobs = positiveIntegerFlag("jobs", values.jobs);
    if (!(DEVICE_FLAGS as readonly string[]).includes(values.device!)) throw new UsageError(`--device '${values.device}': expected one of ${DEVICE_FLAGS.join(", ")}`);
    const { path, spec } = loadSweepSpec(positionals[0]);
    const runs = planSweep(spec, scale);
    for (const note of scaleNotes(spec, scale)) console.error(note);
    for (const run of runs) checkRunArgv(run.argv, `${path}: run ${run.id}`);
    const dir = resolve(values.out ?? join("runs", "sweeps", `${spec.name}${scale < 1 ? `-scale${scale}` : ""}`));
    if (values["dry-run"]) {
      await dryRun(runs, dir, values.device!, jobs);
      return 0;
    }
    if (values.queue !== undefined) {
      for (const flag of ["out", "jobs", "device"] as const) {
        if (argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`))) throw new UsageError(`--${flag} has no meaning with --queue (workers choose their device: sweep worker --device; sweep collect --out writes the results)`);
      }
      const attempts = positiveIntegerFlag("attempts", values.attempts);
      const backoffMs = numberFlag("backoff-ms", values["backoff-ms"], "a whole number of milliseconds from 0 to 86400000 (a day)", (n) => Number.isSafeInteger(n) && n >= 0 && n <= 86_400_000);
      // Loaded only for --queue, so a local sweep needs neither Redis client (nor does the GPU bundle).
      const { parseQueueUrl } = await queueModule(() => import("./queue/connection.ts"));
      const { enqueueSweep } = await queueModule(() => import("./queue/enqueue.ts"));
      const address = parseQueueUrl(values.queue);
      const sweep = values.name ?? basename(dir);
      const sweepFile = { spec, scale, device: "chosen by each worker", runs: runs.map((r) => ({ id: r.id, argv: r.argv })) };
      const { added, present, finished, retried } = await enqueueSweep(address, sweep, sweepFile, runs, { attempts, backoffMs }, values["retry-failed"]);
      console.error(`sweep ${sweep}: ${runs.length} runs; ${added} enqueued, ${present} already on the queue, ${finished} already finished${values["retry-failed"] ? `, ${retried} failed runs put back` : ""} (${address.shown})`);
      console.error(`  watch: bun run sweep status --queue URL ${sweep}    results: bun run sweep collect --queue URL ${sweep} --out DIR`);
      return 0;
    }
    const missing = [...new Set(runs.map((run) => missingData(run.argv, false)).filter((m) => m !== undefined))];
    if (missing.length > 0) throw new UsageError(`${path}: its data ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} missing; make ${missing.length > 1 ? "them" : "it"} first (bun run prep import FILE.csv --targets COLUMNS --out FILE.arrow for your own table)`);
    RunLock.acquire(dir, (line) => console.error(line), program);
    // A sweep.json there must be a sweep's: the folder is no one else's.
    if (existsSync(join(dir, "sweep.json"))) validateSweepRecord(readJsonFile(join(dir, "sweep.json")), join(dir, "sweep.json"));
    const runDir = (run: PlannedRun) => join(dir, "runs", run.id);
    let legacy = 0;
    const stale: string[] = [];
    const pending = runs.filter((run) => {
      const resultPath = join(runDir(run), RESULT_FILE);
      if (existsSync(resultPath)) {
        const result = validateRunResult(readJsonFile(resultPath), resultPath);
        if (result.status !== "failed") {
          const why = staleResult(result, run, () => (legacy += 1));
          if (why) stale.push(`runs/${run.id} was ${why}`);
          return false;
        }
      }
      if (existsSync(join(runDir(run), CONFIG_FILE))) {
        const differences = settingsDifferences(runDir(run), run.argv);
        if (differences.length > 0) stale.push(`runs/${run.id} holds a run of other settings (${differences.join("; ")})`);
      }
      return true;
    });
    if (stale.length > 0) {
      throw new UsageError(
        `--out ${dir} holds ${stale.length} run${stale.length > 1 ? "s" : ""} that this spec would count as its own: ${stale.slice(0, 2).join("; ")}${stale.length > 2 ? `; and ${stale.length - 2} more` : ""}. Nothing was run or removed: choose another --out, or move those runs away`,
      );
    }
    writeFileAtomic(join(dir, "sweep.json"), `${JSON.stringify({ spec, scale, device: values.device, runs: runs.map((r) => ({ id: r.id, argv: r.argv })) }, null, 2)}\n`);
    console.error(`sweep ${spec.name} (scale ${scale}): ${runs.length} runs, ${runs.length - pending.length} already finished, ${pending.length} to run, ${jobs} at a time; results in ${dir}`);
    if (legacy > 0) console.error(`${program}: ${legacy} finished run${legacy > 1 ? "s" : ""} predate data records; their data is not checked`);
    let next = 0;
    let finished = 0;
    const failed: string[] = [];
    let stopping: "SIGINT" | "SIGTERM" | undefined;
    const stop = (signal: "SIGINT" | "SIGTERM") => () => {
      if (stopping) return;
      stopping = signal;
      // SIGTERM, not SIGINT: a train that already got the terminal's Ctrl-C would take a second one as "exit at once".
      for (const child of running) child.kill("SIGTERM");
      console.error(`${program}: ${signal}; the running train processes save a checkpoint and stop; finished runs are kept, and the sweep resumes where it stopped`);
    };
    process.on("SIGINT", stop("SIGINT"));
    process.on("SIGTERM", stop("SIGTERM"));
    const progress = new SweepProgress(pending.length);
    const worker = async () => {
      while (!stopping && next < pending.length) {
        const run = pending[next++];
        const watch = progress.start(run.id, runDir(run), run.steps);
        const result = await runOne(run, runDir(run), values.device!);
        progress.stop(watch);
        if (stopping && result.status !== "done") break;
        writeFileAtomic(join(runDir(run), RESULT_FILE), `${JSON.stringify(result, null, 2)}\n`);
        finished += 1;
        if (result.status === "failed") failed.push(run.id);
        const final = runPosition(runDir(run)).evaluation;
        console.error(`[${finished}/${pending.length}] ${run.id}: ${result.status} in ${(result.seconds as number).toFixed(0)} s${final && result.status === "done" ? `, train error ${final.train.toPrecision(4)} at update ${final.step}` : ""}${result.status === "failed" ? `\n${result.stderr}` : ""}`);
      }
    };
    await Promise.all(Array.from({ length: jobs }, worker));
    progress.close();
    if (stopping) return stopping === "SIGTERM" ? EXIT.sigterm : EXIT.sigint;
    if (failed.length > 0) {
      console.error(`${program}: ${failed.length} of ${pending.length} runs failed (${failed.slice(0, 3).join(", ")}${failed.length > 3 ? ", ..." : ""}); each one's stderr is in its ${RESULT_FILE}; run the sweep again to retry them`);
      return EXIT.expected;
    }
    return EXIT.ok;
  });
}
