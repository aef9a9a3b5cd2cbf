// `sweep worker`: a BullMQ worker that takes sweep runs off the queue and runs each with the local
// sweep's runner (one `train` process per run), then stores the run's files in Redis.
//
// Exactly once: a finished run is stored with HSETNX and a job whose run is already stored returns
// at once, so a run is counted once however often its job is delivered. A worker that dies stops
// renewing its job's lock; after `lockMs` the stalled-job check (every `stalledMs`, run by every
// worker) puts the job back and another worker reruns it from update 0 — workers share no
// filesystem, and a run is deterministic given its seed, so the rerun gives the same result.
//
// A run executes in WORK_DIR/SWEEP/ARGS/runs/RUN_ID, ARGS a hash of its train arguments: a job of
// the same name but other settings (a sweep enqueued again after the queue was emptied) never
// resumes the checkpoint of the other. A job whose arguments `train` would refuse, or that sets a
// flag the runner sets itself, fails at once without retries.
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import { type Job, Queue, UnrecoverableError, WaitingError, Worker } from "bullmq";
import { ExpectedError } from "../../errors.ts";
import { checkRunArgv, isSafeRunId } from "../spec.ts";
import { writeFileAtomic } from "../../io/atomicWrite.ts";
import { RESULT_FILE, runOne } from "../sweep.ts";
import { FOREVER, type QueueAddress, QUEUE_NAME, QUEUE_PREFIX, checkSweepName, connectForever, connectOnce, keys, onceEach } from "./connection.ts";
import type { RunJob } from "./enqueue.ts";
import { runPosition } from "../progress.ts";
import { type RunOutcome, isFinished, packRun, saveRunOnce } from "./store.ts";

export interface WorkerOptions {
  address: QueueAddress;
  name: string;
  device: string;
  concurrency: number;
  /** Where runs execute and their checkpoints stay: WORK_DIR/SWEEP/runs/RUN_ID. */
  workDir: string;
  lockMs: number;
  stalledMs: number;
  /** Times a job may be found stalled (its worker gone) and rerun before it is failed. */
  maxStalled: number;
  /** Exit once no job is waiting, delayed or running anywhere on the queue. */
  untilEmpty: boolean;
}

export interface RunProgress {
  worker: string;
  startedAt: number;
  step: number;
  steps: number;
  attempt: number;
}

export const defaultWorkerName = () => `${hostname()}-${process.pid}`;

/** Where a job's run executes: WORK_DIR/SWEEP/ARGS/runs/RUN_ID, ARGS the first 12 hex digits of sha256 of its train arguments. */
export function jobRunDir(workDir: string, job: Pick<RunJob, "sweep" | "id" | "argv">): string {
  const args = createHash("sha256").update(JSON.stringify(job.argv)).digest("hex").slice(0, 12);
  return join(workDir, job.sweep, args, "runs", job.id);
}

/** What is wrong with a job's data (it comes from whoever can write to the queue), or undefined. */
function jobProblem(data: unknown): string | undefined {
  const job = data as Partial<RunJob> | null;
  if (typeof job !== "object" || job === null) return "the job carries no run";
  try {
    checkSweepName(String(job.sweep));
  } catch (error) {
    return (error as Error).message;
  }
  if (!isSafeRunId(job.id)) return `run id ${JSON.stringify(job.id)} is not of the form GROUP/RUN`;
  if (!Number.isSafeInteger(job.steps) || (job.steps as number) < 1) return `steps ${JSON.stringify(job.steps)} is not a positive whole number`;
  try {
    checkRunArgv(job.argv as unknown[], `run ${job.id}`);
  } catch (error) {
    if (error instanceof ExpectedError) return error.message;
    throw error;
  }
  return undefined;
}

/** "train exited with code 1: <its last line on stderr>" */
const failure = (result: RunOutcome) => `train exited with code ${result.exitCode}: ${String(result.stderr).trim().split("\n").at(-1) || "(nothing on stderr)"}`;

const log = (line: string) => console.error(`[worker ${new Date().toISOString().slice(11, 19)}] ${line}`);

export async function runWorker(options: WorkerOptions): Promise<number> {
  (await connectOnce(options.address)).disconnect(); // a wrong address or password fails here, in one line
  const errors = onceEach(log);
  const client = connectForever(options.address, (error) => errors.say(`Redis ${options.address.shown}: ${error.message}`));
  client.on("ready", errors.reset);
  // BullMQ makes its own connections (one of them blocking) from these options.
  const connection = { url: options.address.url, ...FOREVER };
  const children = new Set<Bun.Subprocess>();
  let stopping = false;

  const processor = async (job: Job<RunJob>, token?: string) => {
    const problem = jobProblem(job.data);
    if (problem) {
      log(`${job.id}: refused: ${problem}`);
      throw new UnrecoverableError(`refused by ${options.name}: ${problem}`);
    }
    const { sweep, id, steps } = job.data;
    if (await isFinished(client, sweep, id)) {
      log(`${sweep}/${id}: already finished; not run again`);
      return { id, status: "already finished" };
    }
    const attempt = job.attemptsMade + 1;
    const attempts = job.opts.attempts ?? 1;
    await client.hincrby(keys.starts(sweep), id, 1);
    const progress: RunProgress = { worker: options.name, startedAt: Date.now(), step: 0, steps, attempt };
    await job.updateProgress({ ...progress });
    log(`${sweep}/${id}: started (attempt ${attempt} of ${attempts})`);
    const runDir = jobRunDir(options.workDir, job.data);
    const ticker = setInterval(() => {
      const { step } = runPosition(runDir);
      if (step !== progress.step) job.updateProgress({ ...progress, step: (progress.step = step) }).catch(() => {});
    }, 1000);
    let child: Bun.Subprocess | undefined;
    let result: RunOutcome;
    try {
      result = (await runOne(job.data, runDir, options.device, (c) => children.add((child = c)))) as RunOutcome;
    } finally {
      clearInterval(ticker);
      if (child) children.delete(child);
    }
    if (stopping) {
      // Stopped by Ctrl-C or SIGTERM: the run goes back to the queue for another worker, and this
      // interruption does not count as one of its attempts.
      await job.moveToWait(token);
      log(`${sweep}/${id}: interrupted; back on the queue`);
      throw new WaitingError();
    }
    Object.assign(result, { worker: options.name, attempt });
    if (result.status === "failed" && attempt < attempts) {
      log(`${sweep}/${id}: failed (exit ${result.exitCode}), attempt ${attempt} of ${attempts}; retried later`);
      throw new Error(`${failure(result)} on ${options.name}, attempt ${attempt} of ${attempts}\n${result.stderr}`);
    }
    writeFileAtomic(join(runDir, RESULT_FILE), `${JSON.stringify(result, null, 2)}\n`);
    const stored = await saveRunOnce(client, sweep, result, packRun(runDir, result));
    log(`${sweep}/${id}: ${result.status} in ${(result.seconds as number).toFixed(1)} s${stored ? "" : " (another worker had already stored it; this copy is dropped)"}`);
    if (result.status === "failed") throw new Error(`${failure(result)} on ${options.name}, last attempt (${attempt} of ${attempts})\n${result.stderr}`);
    return { id, status: result.status, seconds: result.seconds, worker: options.name, stored };
  };

  const worker = new Worker<RunJob>(QUEUE_NAME, processor, {
    connection,
    prefix: QUEUE_PREFIX,
    name: options.name,
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: options.stalledMs,
    maxStalledCount: options.maxStalled,
  });
  const queue = new Queue<RunJob>(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
  worker.on("error", (error) => errors.say(`Redis ${options.address.shown}: ${error.message}`));
  queue.on("error", (error) => errors.say(`Redis ${options.address.shown}: ${error.message}`));
  worker.on("failed", (job, error) => {
    if (job && !(error instanceof WaitingError) && job.attemptsMade >= (job.opts.attempts ?? 1)) log(`${job.id}: failed for good: ${error.message.split("\n")[0]}`);
  });
  log(`${options.name}: taking runs from ${options.address.shown}, ${options.concurrency} at a time on device ${options.device}; runs in ${options.workDir}`);

  return await new Promise<number>((resolve) => {
    let exitCode = 0;
    const stop = async (code: number) => {
      if (stopping) process.exit(code); // a second signal: leave at once
      stopping = true;
      exitCode = code;
      if (children.size) log(`stopping: interrupting ${children.size} run(s); they go back on the queue`);
      for (const c of children) c.kill("SIGINT");
      // A clean close needs Redis; when it is unreachable, leave after a while anyway (the runs go
      // back to the queue when their locks expire).
      const closed = worker.close().then(() => queue.close()).then(() => true);
      if (!(await Promise.race([closed, Bun.sleep(15_000).then(() => false)]))) log("Redis did not answer: leaving without a clean close");
      client.disconnect();
      resolve(exitCode);
    };
    process.on("SIGINT", () => void stop(130));
    process.on("SIGTERM", () => void stop(143));
    if (options.untilEmpty) {
      const check = setInterval(async () => {
        try {
          const counts = await queue.getJobCounts("waiting", "active", "delayed", "prioritized");
          if (Object.values(counts).every((n) => n === 0) && children.size === 0 && !stopping) {
            clearInterval(check);
            log("queue empty: stopping");
            await stop(0);
          }
        } catch {
          // Redis unreachable for a moment: check again later.
        }
      }, 1000);
    }
  });
}
