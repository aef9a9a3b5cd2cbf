// The state of the sweeps on a queue: per sweep, how many runs are queued, running, done, diverged
// and failed, and which worker holds each running run and how far it has got.
import { type Job, Queue } from "bullmq";
import type IORedis from "ioredis";
import { QUEUE_NAME, QUEUE_PREFIX, keys } from "./connection.ts";
import type { RunJob } from "./enqueue.ts";
import { finishedStatuses } from "./store.ts";
import { ExpectedError } from "../../errors.ts";
import { validateSweepRecord } from "../spec.ts";
import type { RunProgress } from "./worker.ts";

export interface RunningRun {
  id: string;
  worker: string;
  step: number;
  steps: number;
  attempt: number;
  seconds: number;
}

export interface SweepStatus {
  sweep: string;
  planned: number;
  queued: number;
  /** Of the queued: waiting for a retry after a failed attempt. */
  retrying: number;
  running: RunningRun[];
  done: number;
  diverged: number;
  failed: { id: string; reason: string }[];
  /** Planned runs with neither a job nor a result (removed from the queue by hand). */
  missing: number;
  /** Worker starts per run, where a run was started more than once (retries, lost workers). */
  restarted: Record<string, number>;
}

export async function sweepStatus(client: IORedis, queue: Queue<RunJob>, sweep: string, now = Date.now()): Promise<SweepStatus | undefined> {
  const meta = await client.get(keys.meta(sweep));
  if (meta === null) return undefined;
  const where = `the queue's record of sweep '${sweep}' (${keys.meta(sweep)})`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(meta);
  } catch {
    throw new ExpectedError(`${where}: not valid JSON; the queue is damaged`);
  }
  const planned: string[] = validateSweepRecord(parsed, where).runs.map((r) => r.id);
  const ofSweep = (jobs: Job<RunJob>[]) => jobs.filter((j) => j?.data?.sweep === sweep);
  const [waiting, delayed, active, failedJobs, finished, starts] = await Promise.all([
    queue.getJobs(["waiting", "prioritized"]).then(ofSweep),
    queue.getJobs(["delayed"]).then(ofSweep),
    queue.getJobs(["active"]).then(ofSweep),
    queue.getJobs(["failed"]).then(ofSweep),
    finishedStatuses(client, sweep),
    client.hgetall(keys.starts(sweep)),
  ]);
  const running = active
    .filter((j) => !finished.has(j.data.id))
    .map((j) => {
      const p = (typeof j.progress === "object" ? j.progress : {}) as Partial<RunProgress>;
      return { id: j.data.id, worker: p.worker ?? j.processedBy ?? "?", step: p.step ?? 0, steps: p.steps ?? j.data.steps, attempt: p.attempt ?? j.attemptsMade + 1, seconds: p.startedAt ? (now - p.startedAt) / 1000 : 0 };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
  const statuses = [...finished.values()].map((f) => f.status);
  // Failed for good: recorded by the worker's last attempt, or failed by BullMQ itself (a run whose
  // workers kept dying past --max-stalled), with the first line of the last error.
  const failedIds = new Set([...[...finished.entries()].filter(([, f]) => f.status === "failed").map(([id]) => id), ...failedJobs.map((j) => j.data.id)]);
  const failed = [...failedIds].sort().map((id) => ({ id, reason: (failedJobs.find((j) => j.data.id === id)?.failedReason ?? "train failed").split("\n")[0] }));
  const known = new Set([...waiting, ...delayed, ...active, ...failedJobs].map((j) => j.data.id));
  for (const id of finished.keys()) known.add(id);
  return {
    sweep,
    planned: planned.length,
    queued: waiting.length + delayed.length,
    retrying: delayed.length,
    running,
    done: statuses.filter((s) => s === "done").length,
    diverged: statuses.filter((s) => s === "diverged").length,
    failed,
    missing: planned.filter((id) => !known.has(id)).length,
    restarted: Object.fromEntries(Object.entries(starts).filter(([, n]) => Number(n) > 1).map(([id, n]) => [id, Number(n)])),
  };
}

export async function queueStatus(client: IORedis, sweep?: string): Promise<{ sweeps: SweepStatus[]; workers: string[]; unknown?: string }> {
  const queue = new Queue<RunJob>(QUEUE_NAME, { connection: client, prefix: QUEUE_PREFIX });
  try {
    const names = sweep ? [sweep] : (await client.smembers(keys.sweeps)).sort();
    const sweeps: SweepStatus[] = [];
    for (const name of names) {
      const status = await sweepStatus(client, queue, name);
      if (status) sweeps.push(status);
      else return { sweeps, workers: [], unknown: name };
    }
    const workers = (await queue.getWorkers()).map((w) => String(w.rawname ?? w.name ?? "?").replace(/^.*?:w:/, ""));
    return { sweeps, workers: workers.sort() };
  } finally {
    await queue.close();
  }
}

export function formatStatus({ sweeps, workers }: { sweeps: SweepStatus[]; workers: string[] }): string {
  const lines: string[] = [];
  if (sweeps.length === 0) lines.push("no sweeps on this queue");
  for (const s of sweeps) {
    lines.push(`sweep ${s.sweep}: ${s.planned} runs: ${s.queued} queued${s.retrying ? ` (${s.retrying} waiting to retry)` : ""}, ${s.running.length} running, ${s.done} done, ${s.diverged} diverged, ${s.failed.length} failed${s.missing ? `, ${s.missing} not on the queue` : ""}`);
    if (s.running.length) {
      const width = Math.max(...s.running.map((r) => r.id.length), 3);
      const workerWidth = Math.max(...s.running.map((r) => r.worker.length), 6);
      lines.push(`  ${"run".padEnd(width)}  ${"worker".padEnd(workerWidth)}  update      attempt  running for`);
      for (const r of s.running) lines.push(`  ${r.id.padEnd(width)}  ${r.worker.padEnd(workerWidth)}  ${`${r.step}/${r.steps}`.padEnd(10)}  ${String(r.attempt).padEnd(7)}  ${r.seconds.toFixed(0)} s`);
    }
    for (const f of s.failed) lines.push(`  failed: ${f.id}: ${f.reason}`);
    const restarted = Object.entries(s.restarted);
    if (restarted.length) lines.push(`  started more than once: ${restarted.map(([id, n]) => `${id} (${n}×)`).join(", ")}`);
  }
  lines.push(`workers connected: ${workers.length ? workers.join(", ") : "none"}`);
  return lines.join("\n");
}
