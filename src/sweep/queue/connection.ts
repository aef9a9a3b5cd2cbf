// Where a sweep queue lives: the `--queue redis://[:PASSWORD@]HOST[:PORT][/DB]` flag (the password
// may come from KFRA_REDIS_PASSWORD instead), the Redis connections made from it, and the names of
// every key the queue uses.
import IORedis from "ioredis";
import { UsageError } from "../../errors.ts";

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
  /** Hash run id -> {status, worker, seconds, finishedAt}, set with results: what `sweep status` reads. */
  status: (sweep: string) => `kfra:sweep:${sweep}:status`,
  /** Hash run id -> how many times a worker started it. */
  starts: (sweep: string) => `kfra:sweep:${sweep}:starts`,
};

export interface QueueAddress {
  url: string;
  /** The URL with its password replaced by ***, for messages. */
  shown: string;
  /** The database number (the URL's /DB, 0 when absent). */
  db: number;
}

/** How long a short command, or the connection and its first answer, may take. */
export const ANSWER_TIMEOUT_MS = 5000;

/** `value` with whatever sits between the scheme and the last '@' (user and password) replaced by ***: safe to print even when it is no URL. */
function redacted(value: string): string {
  return value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)(.*)@/s, (_, scheme: string, credentials: string) => `${scheme}${credentials.startsWith(":") || !credentials.includes(":") ? "" : credentials.slice(0, credentials.indexOf(":"))}:***@`);
}

export function parseQueueUrl(value: string | undefined, flag = "--queue"): QueueAddress {
  const usage = `expected redis://[:PASSWORD@]HOST[:PORT][/DB]`;
  if (!value) throw new UsageError(`${flag}: missing; ${usage}`);
  const safe = redacted(value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} '${safe}': not a URL; ${usage} (percent-encode a password's '#', '/', '?' and '@', or give it in KFRA_REDIS_PASSWORD)`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new UsageError(`${flag} '${safe}': the scheme must be redis:// or rediss://`);
  if (!url.hostname) throw new UsageError(`${flag} '${safe}': no host; ${usage}`);
  if (url.pathname && url.pathname !== "/" && !/^\/\d{1,9}$/.test(url.pathname)) throw new UsageError(`${flag} '${safe}': the path must be a database number such as /0`);
  if (url.search || url.hash) throw new UsageError(`${flag} '${safe}': unexpected '${url.search || url.hash}' after the address; ${usage}`);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  const shownOf = (u: URL) => `${u.protocol}//${u.username || u.password ? `${u.username}:***@` : ""}${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  // KFRA_REDIS_PASSWORD keeps the password off command lines (which `ps` and `bun run` show).
  const password = process.env.KFRA_REDIS_PASSWORD;
  if (!url.password && password) {
    url.password = encodeURIComponent(password);
    return { url: url.toString(), shown: `${shownOf(new URL(value))} (password from KFRA_REDIS_PASSWORD)`, db };
  }
  const escaped = escapeRawPercents(url);
  return { url: escaped ? url.toString() : value, shown: shownOf(url), db };
}

/**
 * Makes the credentials of `url` safe for ioredis, which percent-decodes them (a raw '%' not
 * followed by two hex digits was a URIError stack trace): such a '%' is taken literally and
 * written as %25. Returns whether anything changed.
 */
function escapeRawPercents(url: URL): boolean {
  const escape = (text: string) => text.replace(/%(?![0-9A-Fa-f]{2})/g, "%25");
  const password = escape(url.password), username = escape(url.username);
  if (password === url.password && username === url.username) return false;
  url.password = password;
  url.username = username;
  return true;
}

/** Rewrites ioredis's connection errors into one line that names the server. */
function describe(error: Error, address: QueueAddress): UsageError {
  const message = (error.message ?? String(error)).split("\n")[0];
  if (/NOAUTH|WRONGPASS|invalid password|AUTH/i.test(message)) return new UsageError(`Redis at ${address.shown} refused the password (${message}); give it as redis://:PASSWORD@HOST:PORT`);
  if (/DB index is out of range/i.test(message)) return new UsageError(`Redis at ${address.shown} has no database ${address.db} (${message})`);
  if (/timed out|timeout/i.test(message)) return new UsageError(`Redis at ${address.shown} did not answer within ${ANSWER_TIMEOUT_MS / 1000} s (${message}); is it a Redis server, and is it running?`);
  return new UsageError(`cannot reach Redis at ${address.shown} (${message})`);
}

/** Rejects with a "timed out" error when `work` takes longer than `ms`. */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A client for short commands (enqueue, status, collect, a worker's first check): it gives up after
 * a few failed connection attempts instead of retrying for ever, fails a command that gets no
 * answer within ANSWER_TIMEOUT_MS (a server that accepts connections but never answers), and checks
 * that the URL's database exists, so a wrong address ends in one clear line.
 */
export async function connectOnce(address: QueueAddress): Promise<IORedis> {
  const client = new IORedis(address.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: ANSWER_TIMEOUT_MS,
    commandTimeout: ANSWER_TIMEOUT_MS,
    retryStrategy: (times) => (times > 3 ? null : 200 * times),
  });
  let cause: Error | undefined; // the first error event says more than "Connection is closed"
  client.on("error", (error: Error) => {
    cause ??= error;
  });
  try {
    await within(client.connect(), ANSWER_TIMEOUT_MS, "connecting");
    await client.ping();
    // ioredis reports a failed SELECT only as an error event and stays on database 0.
    if ((await client.select(address.db)) !== "OK") throw new Error(`SELECT ${address.db} failed`);
  } catch (error) {
    client.disconnect();
    throw describe(cause && !/timed out/.test((error as Error).message) ? cause : (error as Error), address);
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
