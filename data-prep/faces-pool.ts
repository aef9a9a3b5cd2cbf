// Spreads the FACES images over worker threads (data-prep/faces-worker.ts). A task is one source
// image of one split: the worker makes its `pairs` outputs with sharp and posts them back; each
// worker holds at most TASKS_PER_WORKER tasks, so the load balances itself. Every output depends only
// on (seed, split, index, source image), so the files do not depend on the number of workers.
import { availableParallelism } from "node:os";
import type { Progress } from "./progress.ts";

export interface FacesTask {
  /** Split stream (0 train, 1 test): the counter-based generator's stream. */
  stream: number;
  /** Source image (0–399). */
  image: number;
  /** Index within the split of this image's first output. */
  first: number;
}

export interface FacesJob {
  /** All source images, n×n bytes each, row-major. */
  images: Uint8Array;
  n: number;
  m: number;
  pairs: number;
  seed: number;
}

export type ToFacesWorker = ({ type: "init" } & FacesJob) | ({ type: "task" } & FacesTask);
export type FromFacesWorker =
  | { type: "ready" }
  | { type: "done"; stream: number; image: number; pixels: Uint8Array }
  | { type: "error"; message: string };

const TASKS_PER_WORKER = 2;

/** Default worker count: one per core, at most 8. */
export function defaultFacesWorkers(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/**
 * Runs every task on `workers` threads; `deliver` receives each task's pixels (pairs·m² bytes).
 * Rejects with the first worker error and stops every worker.
 */
export async function runFacesTasks(
  job: FacesJob, tasks: FacesTask[], workers: number, deliver: (task: FacesTask, pixels: Uint8Array) => void, progress?: Progress,
): Promise<void> {
  if (!(Number.isSafeInteger(workers) && workers >= 1)) throw new Error(`faces: worker count must be a positive integer, got ${workers}`);
  const threads = Array.from({ length: Math.min(workers, tasks.length) }, () => new Worker(new URL("./faces-worker.ts", import.meta.url).href));
  const byKey = new Map(tasks.map((task) => [`${task.stream}/${task.image}`, task]));
  let next = 0, done = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      if (tasks.length === 0) return resolve();
      const send = (thread: Worker) => {
        if (next < tasks.length) thread.postMessage({ type: "task", ...tasks[next++] } satisfies ToFacesWorker);
      };
      for (const thread of threads) {
        thread.onerror = (event: ErrorEvent) => reject(new Error(`faces worker failed: ${event.message}`));
        thread.onmessage = (event: MessageEvent<FromFacesWorker>) => {
          const message = event.data;
          if (message.type === "ready") {
            thread.postMessage({ type: "init", ...job } satisfies ToFacesWorker);
            for (let i = 0; i < TASKS_PER_WORKER; i++) send(thread);
          } else if (message.type === "error") {
            reject(new Error(message.message));
          } else {
            deliver(byKey.get(`${message.stream}/${message.image}`)!, message.pixels);
            progress?.advance(job.pairs);
            if (++done === tasks.length) resolve();
            else send(thread);
          }
        };
      }
    });
  } finally {
    await Promise.all(threads.map((thread) => thread.terminate()));
  }
}
