// Where a sweep queue lives: the `--queue redis://[:PASSWORD@]HOST[:PORT][/DB]` flag (the password
// may come from KFRA_REDIS_PASSWORD instead), the Redis connections made from it, and the names of
// every key the queue uses.
import IORedis from "ioredis";
import { UsageError } from "../../src/errors.ts";

/** BullMQ queue name and key prefix: every key of the queue starts with `kfra:sweeps:`. */
export const QUEUE_NAME = "sweeps";
export const QUEUE_PREFIX = "kfra";

/** Keys of our own, beside BullMQ's. */
export const keys = {
  sweeps: "kfra:sweep-names",
  /** The sweep's sweep.json (spec, scale, planned runs), as the local sweep writes it. */
  meta: (sweep: string) => `kfra:sweep:${sweep}:meta`,
  /** Hash run id -> the finished run's files, gzipped JSON; written once (HSETNX). */
  results: (sweep: string) => `kfra:sweep:${sweep}:results`,
  /** Hash run id -> {status, worker, seconds, finishedAt}, set with results: what `bench status` reads. */
  status: (sweep: string) => `kfra:sweep:${sweep}:status`,
  /** Hash run id -> how many times a worker started it. */
  starts: (sweep: string) => `kfra:sweep:${sweep}:starts`,
};

export interface QueueAddress {
  url: string;
  /** The URL with its password replaced by ***, for messages. */
  shown: string;
}

export function parseQueueUrl(value: string | undefined, flag = "--queue"): QueueAddress {
  const usage = `expected redis://[:PASSWORD@]HOST[:PORT][/DB]`;
  if (!value) throw new UsageError(`${flag}: missing; ${usage}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} '${value}': not a URL; ${usage}`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new UsageError(`${flag} '${value}': the scheme must be redis:// or rediss://`);
  if (!url.hostname) throw new UsageError(`${flag} '${value}': no host; ${usage}`);
  if (url.pathname && url.pathname !== "/" && !/^\/\d+$/.test(url.pathname)) throw new UsageError(`${flag} '${value}': the path must be a database number such as /0`);
  // KFRA_REDIS_PASSWORD keeps the password off command lines (which `ps` and `bun run` show).
  const password = process.env.KFRA_REDIS_PASSWORD;
  if (!url.password && password) {
    url.password = encodeURIComponent(password);
    return { url: url.toString(), shown: `${value} (password from KFRA_REDIS_PASSWORD)` };
  }
  const shown = url.password ? value.replace(`:${url.password}@`, ":***@") : value;
  return { url: value, shown };
}

/** Rewrites ioredis's connection errors into one line that names the server. */
function describe(error: Error, address: QueueAddress): UsageError {
  const message = error.message ?? String(error);
  if (/NOAUTH|WRONGPASS|invalid password|AUTH/i.test(message)) return new UsageError(`Redis at ${address.shown} refused the password (${message.split("\n")[0]}); give it as redis://:PASSWORD@HOST:PORT`);
  return new UsageError(`cannot reach Redis at ${address.shown} (${message.split("\n")[0]})`);
}

/**
 * A client for short commands (enqueue, status, collect): it gives up after a few failed
 * connection attempts instead of retrying for ever, so a wrong address ends in one clear line.
 */
export async function connectOnce(address: QueueAddress): Promise<IORedis> {
  const client = new IORedis(address.url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000, retryStrategy: (times) => (times > 3 ? null : 200 * times) });
  let cause: Error | undefined; // the first error event says more than "Connection is closed"
  client.on("error", (error: Error) => {
    cause ??= error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw describe(cause ?? (error as Error), address);
  }
  return client;
}

/**
 * A client for BullMQ workers and queues: it reconnects for ever (Redis restarting mid-sweep is
 * expected) and never fails a command for want of a connection (`maxRetriesPerRequest: null`,
 * which BullMQ requires of a worker's connection).
 */
export const FOREVER = { maxRetriesPerRequest: null, retryStrategy: (times: number) => Math.min(200 * times, 2000) };

export function connectForever(address: QueueAddress, onError: (error: Error) => void): IORedis {
  const client = new IORedis(address.url, FOREVER);
  client.on("error", onError);
  return client;
}

/** A logger that says each distinct message once until `reset` (a connection error repeats every retry). */
export function onceEach(log: (line: string) => void) {
  let last = "";
  return {
    say: (line: string) => {
      if (line !== last) log(line);
      last = line;
    },
    reset: () => {
      last = "";
    },
  };
}

/** Sweep names become part of job ids and keys: no ':' (BullMQ's separator) and no spaces. */
export function checkSweepName(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new UsageError(`sweep name '${name}': use letters, digits, '.', '_' and '-' only`);
  return name;
}
