// `sweep sweep SPEC --queue URL`: every run of the sweep becomes one BullMQ job whose id is
// `SWEEP/RUN_ID`, so enqueueing the same sweep again adds nothing; runs already finished are skipped.
import { Queue } from "bullmq";
import type { PlannedRun } from "../spec.ts";
import { UsageError } from "../../errors.ts";
import { type QueueAddress, QUEUE_NAME, QUEUE_PREFIX, checkSweepName, connectOnce, keys } from "./connection.ts";
import { isFinished } from "./store.ts";

/** What a worker needs to run one job: nothing from the enqueuing machine's filesystem. */
export interface RunJob {
  sweep: string;
  id: string;
  steps: number;
  argv: string[];
  settings: PlannedRun["settings"];
}

export interface RetryPolicy {
  /** Attempts per run before it is recorded as failed (a run that exits non-zero is retried). */
  attempts: number;
  /** Wait before the first retry; each further retry waits twice as long. */
  backoffMs: number;
}

export const jobId = (sweep: string, runId: string) => `${sweep}/${runId}`;

/** `sweepFile` is the sweep.json the local sweep would write; collect writes it back verbatim. */
/** With `retryFailed`, runs that failed for good are put back on the queue with fresh attempts. */
export async function enqueueSweep(address: QueueAddress, sweep: string, sweepFile: { runs: { id: string; argv: string[] }[] }, runs: PlannedRun[], retry: RetryPolicy, retryFailed = false) {
  checkSweepName(sweep);
  const client = await connectOnce(address);
  const queue = new Queue<RunJob>(QUEUE_NAME, { connection: client, prefix: QUEUE_PREFIX });
  try {
    const meta = JSON.stringify(sweepFile, null, 2);
    if ((await client.set(keys.meta(sweep), meta, "NX")) === null) {
      const existing = JSON.parse((await client.get(keys.meta(sweep)))!);
      if (JSON.stringify(existing.runs) !== JSON.stringify(sweepFile.runs)) {
        throw new UsageError(`sweep '${sweep}' is already on the queue at ${address.shown} with other runs; give this one another name with --name`);
      }
    }
    await client.sadd(keys.sweeps, sweep);
    let finished = 0;
    let present = 0;
    let retried = 0;
    const fresh: PlannedRun[] = [];
    for (const run of runs) {
      const job = await queue.getJob(jobId(sweep, run.id));
      if (retryFailed && job && (await job.getState()) === "failed") {
        await client.multi().hdel(keys.results(sweep), run.id).hdel(keys.status(sweep), run.id).exec();
        await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
        retried += 1;
      } else if (await isFinished(client, sweep, run.id)) finished += 1;
      else if (job) present += 1;
      else fresh.push(run);
    }
    await queue.addBulk(
      fresh.map((run) => ({
        name: run.id,
        data: { sweep, id: run.id, steps: run.steps, argv: run.argv, settings: run.settings },
        opts: { jobId: jobId(sweep, run.id), attempts: retry.attempts, backoff: { type: "exponential", delay: retry.backoffMs }, removeOnComplete: false, removeOnFail: false },
      })),
    );
    return { added: fresh.length, present, finished, retried };
  } finally {
    await queue.close();
    client.disconnect();
  }
}
