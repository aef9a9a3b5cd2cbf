// `bun run bench sweep SPEC [--scale F] [--out DIR] [--jobs N] [--device D] [--dry-run]`:
// runs every run of a sweep spec (bench/sweeps/SPEC.json) as its own `train` process, at most N at
// a time, skipping runs whose result.json exists and resuming runs that have a checkpoint (so a
// crashed or interrupted sweep resumes), and records each run's outcome (done, diverged, failed)
// beside its metrics. --out is resolved once against the working directory. Ctrl-C or SIGTERM stops
// the running `train` processes (they save a checkpoint) and exits 130 / 143. With --queue it only
// enqueues the runs for `bench worker` processes on other machines (bench/queue/).
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseFlags } from "../src/flags.ts";
import { writeFileAtomic } from "../src/io/atomicWrite.ts";
import { readJsonFile } from "../src/io/json.ts";
import { type PlannedRun, planSweep, validateSweepSpec } from "./sweep-spec.ts";
import { EXIT, UsageError } from "../src/errors.ts";
import { listCheckpoints } from "../src/train/checkpoint.ts";
import { runCli } from "../src/cli/runCli.ts";
import { RESULT_FILE } from "./_sweepRuns.ts";

export { RESULT_FILE };
const ROOT = resolve(import.meta.dir, "..");

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

/** The `train` processes running now, to be stopped with the sweep. */
const running = new Set<ReturnType<typeof Bun.spawn>>();

/** Runs one run as its own `train` process in DIR/runs/ID; the local sweep and `bench worker` share it. */
export async function runOne(run: Pick<PlannedRun, "id" | "argv" | "settings">, dir: string, device: string, onStart?: (child: Bun.Subprocess) => void): Promise<Record<string, unknown>> {
  const runDir = join(dir, "runs", run.id);
  const resumable = listCheckpoints(runDir).length > 0;
  if (!resumable) rmSync(runDir, { recursive: true, force: true });
  const argv = resumable ? ["--resume", runDir] : [...run.argv, "--device", device, "--out", runDir];
  const started = performance.now();
  const child = Bun.spawn([...DIE_WITH_PARENT, process.execPath, TRAIN_ENTRY, ...argv, "--quiet"], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  running.add(child);
  onStart?.(child);
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  running.delete(child);
  const status = code === 0 ? "done" : /non-finite|has diverged/.test(stderr) ? "diverged" : "failed";
  return { id: run.id, status, exitCode: code, seconds: (performance.now() - started) / 1000, settings: run.settings, argv: run.argv, stderr: stderr.split("\n").slice(-12).join("\n") };
}

export async function main(argv: string[]): Promise<void> {
  await runCli("bench sweep", async () => {
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
      console.log(
        "usage: bun run bench sweep SPEC [--scale F] [--out DIR] [--jobs N] [--device auto|cpu|webgpu] [--dry-run]\n" +
          "       bun run bench sweep SPEC [--scale F] --queue redis://[:PASSWORD@]HOST:PORT[/DB] [--name SWEEP] [--attempts 3] [--backoff-ms 30000] [--retry-failed]\n" +
          "  SPEC: a name under bench/sweeps/ (fig2-curves, fig2-faces, fig2-mnist, fig3-oddeven) or a file\n" +
          "  --queue: enqueue every run as a job for `bench worker` on any machine, and return; SWEEP (default: the\n" +
          "  local sweep's directory name) names it for `bench status` and `bench collect`",
      );
      return values.help ? 0 : 1;
    }
    const scale = Number(values.scale);
    if (!(scale > 0 && scale <= 1)) throw new UsageError(`--scale '${values.scale}': expected a number in (0, 1]`);
    const jobs = Number(values.jobs);
    if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs '${values.jobs}': expected a positive integer`);
    const { spec } = loadSweepSpec(positionals[0]);
    const runs = planSweep(spec, scale);
    const dir = resolve(values.out ?? join("runs", "sweeps", `${spec.name}${scale < 1 ? `-scale${scale}` : ""}`));
    if (values["dry-run"]) {
      for (const r of runs) console.log(`${r.id}\n    bun run train ${r.argv.join(" ")}`);
      console.log(`${runs.length} runs`);
      return 0;
    }
    if (values.queue !== undefined) {
      for (const flag of ["out", "jobs", "device"] as const) {
        if (argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`))) throw new UsageError(`--${flag} has no meaning with --queue (workers choose their device: bench worker --device; bench collect --out writes the results)`);
      }
      const attempts = Number(values.attempts);
      if (!Number.isInteger(attempts) || attempts < 1) throw new UsageError(`--attempts '${values.attempts}': expected a positive integer`);
      const backoffMs = Number(values["backoff-ms"]);
      if (!(backoffMs >= 0)) throw new UsageError(`--backoff-ms '${values["backoff-ms"]}': expected a non-negative number of milliseconds`);
      // Loaded only for --queue, so a local sweep needs neither Redis client (nor does the GPU bundle).
      const { parseQueueUrl } = await import("./queue/connection.ts");
      const { enqueueSweep } = await import("./queue/enqueue.ts");
      const address = parseQueueUrl(values.queue);
      const sweep = values.name ?? basename(dir);
      const sweepFile = { spec, scale, device: "chosen by each worker", runs: runs.map((r) => ({ id: r.id, argv: r.argv })) };
      const { added, present, finished, retried } = await enqueueSweep(address, sweep, sweepFile, runs, { attempts, backoffMs }, values["retry-failed"]);
      console.error(`sweep ${sweep}: ${runs.length} runs; ${added} enqueued, ${present} already on the queue, ${finished} already finished${values["retry-failed"] ? `, ${retried} failed runs put back` : ""} (${address.shown})`);
      console.error(`  watch: bun run bench status --queue URL ${sweep}    results: bun run bench collect --queue URL ${sweep} --out DIR`);
      return 0;
    }
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, "sweep.json"), `${JSON.stringify({ spec, scale, device: values.device, runs: runs.map((r) => ({ id: r.id, argv: r.argv })) }, null, 2)}\n`);
    const pending = runs.filter((r) => !existsSync(join(dir, "runs", r.id, RESULT_FILE)));
    console.error(`sweep ${spec.name} (scale ${scale}): ${runs.length} runs, ${runs.length - pending.length} already done, ${pending.length} to run, ${jobs} at a time; results in ${dir}`);
    let next = 0;
    let finished = 0;
    let stopping: "SIGINT" | "SIGTERM" | undefined;
    const stop = (signal: "SIGINT" | "SIGTERM") => () => {
      if (stopping) return;
      stopping = signal;
      // SIGTERM, not SIGINT: a train that already got the terminal's Ctrl-C would take a second one as "exit at once".
      for (const child of running) child.kill("SIGTERM");
      console.error(`bench sweep: ${signal}; the running train processes save a checkpoint and stop; finished runs are kept, and the sweep resumes where it stopped`);
    };
    process.on("SIGINT", stop("SIGINT"));
    process.on("SIGTERM", stop("SIGTERM"));
    const worker = async () => {
      while (!stopping && next < pending.length) {
        const run = pending[next++];
        const result = await runOne(run, dir, values.device!);
        if (stopping && result.status !== "done") break;
        writeFileAtomic(join(dir, "runs", run.id, RESULT_FILE), `${JSON.stringify(result, null, 2)}\n`);
        finished += 1;
        console.error(`[${finished}/${pending.length}] ${run.id}: ${result.status} in ${(result.seconds as number).toFixed(0)} s${result.status === "failed" ? `\n${result.stderr}` : ""}`);
      }
    };
    await Promise.all(Array.from({ length: jobs }, worker));
    return stopping === "SIGTERM" ? EXIT.sigterm : stopping === "SIGINT" ? EXIT.sigint : EXIT.ok;
  });
}
