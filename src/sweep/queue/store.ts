// Finished runs kept in Redis, since workers on different machines share no filesystem: each run's
// result.json, config.json, environment.json and metrics.ndjson, gzipped, in one hash field per run,
// written at most once, so a run finished twice (a worker presumed dead that was not) counts once.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import type IORedis from "ioredis";
import { ExpectedError } from "../../errors.ts";
import { keys } from "./connection.ts";

/** The files of a run directory that travel back; checkpoints stay with the worker. */
export const RUN_FILES = ["result.json", "config.json", "environment.json", "metrics.ndjson"] as const;

export interface RunOutcome {
  id: string;
  status: "done" | "diverged" | "failed";
  [key: string]: unknown;
}

export interface StoredRun {
  result: RunOutcome;
  /** File name -> contents, for the RUN_FILES the run wrote. */
  files: Record<string, string>;
}

/** Reads a finished run directory (its result.json already written) into one gzipped record. */
export function packRun(runDir: string, result: RunOutcome): Buffer {
  const files: Record<string, string> = {};
  for (const name of RUN_FILES) {
    const path = join(runDir, name);
    if (existsSync(path)) files[name] = readFileSync(path, "utf8");
  }
  return gzipSync(JSON.stringify({ result, files } satisfies StoredRun));
}

/** A stored run, checked in shape: a result with a status, and only RUN_FILES, as text. */
export function unpackRun(packed: Buffer, where = "a stored run"): StoredRun {
  let stored: unknown;
  try {
    stored = JSON.parse(gunzipSync(packed).toString("utf8"));
  } catch (error) {
    throw new ExpectedError(`${where}: not gzipped JSON (${(error as Error).message}); the queue is damaged`);
  }
  const { result, files } = (stored ?? {}) as Partial<StoredRun>;
  const ok =
    typeof result === "object" && result !== null && ["done", "diverged", "failed"].includes(result.status) &&
    typeof files === "object" && files !== null && Object.entries(files).every(([name, text]) => (RUN_FILES as readonly string[]).includes(name) && typeof text === "string");
  if (!ok) throw new ExpectedError(`${where}: not a run's result and files; the queue is damaged`);
  return stored as StoredRun;
}

// Sets the run's files and its short status only if no result was stored before: one round trip, atomic.
const SAVE_ONCE = `if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  return 1
end
return 0`;

/** Stores a finished run; false when another worker stored it first (then nothing changes). */
export async function saveRunOnce(client: IORedis, sweep: string, result: RunOutcome, packed: Buffer): Promise<boolean> {
  const summary = JSON.stringify({ status: result.status, worker: result.worker, seconds: result.seconds, finishedAt: new Date().toISOString() });
  return (await client.eval(SAVE_ONCE, 2, keys.results(sweep), keys.status(sweep), result.id, packed, summary)) === 1;
}

export async function finishedStatuses(client: IORedis, sweep: string): Promise<Map<string, { status: string; worker?: string; seconds?: number }>> {
  const raw = await client.hgetall(keys.status(sweep));
  return new Map(
    Object.entries(raw).map(([id, json]) => {
      let status: unknown;
      try {
        status = JSON.parse(json);
      } catch {
        status = undefined;
      }
      if (typeof status !== "object" || status === null || typeof (status as { status?: unknown }).status !== "string") {
        throw new ExpectedError(`${keys.status(sweep)} ${id}: not a run's status; the queue is damaged`);
      }
      return [id, status as { status: string; worker?: string; seconds?: number }];
    }),
  );
}

export async function isFinished(client: IORedis, sweep: string, id: string): Promise<boolean> {
  return (await client.hexists(keys.results(sweep), id)) === 1;
}

export async function readStoredRun(client: IORedis, sweep: string, id: string): Promise<StoredRun | undefined> {
  const packed = await client.hgetBuffer(keys.results(sweep), id);
  return packed ? unpackRun(packed, `${keys.results(sweep)} ${id}`) : undefined;
}
