// The dashboard's web server (Bun.serve): the page and its script from src/dashboard/page/, uPlot
// from node_modules, and the runs' state as server-sent events (/events: a snapshot, then every
// change; the folders are polled every `pollMs`). Read only; it serves fixed files and what it found
// under the given folders, looked up by id, so no path from a request ever reaches the file system.
// Every response carries a strict Content-Security-Policy; the page writes all text as text.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type EvalPoint, type Found, type RunSummary, RunWatch, type SweepSummary, findRuns } from "./runs.ts";

export interface DashboardOptions {
  roots: string[];
  host: string;
  port: number;
  /** Milliseconds between two reads of the folders (default 1000). */
  pollMs?: number;
}

export interface Dashboard {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Evaluations of one run sent in a snapshot, at most (a longer log is thinned evenly, its last kept). */
export const SNAPSHOT_POINTS = 600;

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const SECURITY_HEADERS = { "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-store" };

const HERE = dirname(fileURLToPath(import.meta.url));
const PAGE_DIR = join(HERE, "page");
const UPLOT_DIR = join(dirname(createRequire(import.meta.url).resolve("uplot/package.json")), "dist");
/** Every file the server sends: URL path → file and type. */
const STATIC: Record<string, { file: string; type: string }> = {
  "/": { file: join(PAGE_DIR, "index.html"), type: "text/html; charset=utf-8" },
  "/app.js": { file: join(PAGE_DIR, "app.js"), type: "text/javascript; charset=utf-8" },
  "/app.css": { file: join(PAGE_DIR, "app.css"), type: "text/css; charset=utf-8" },
  "/vendor/uPlot.js": { file: join(UPLOT_DIR, "uPlot.iife.min.js"), type: "text/javascript; charset=utf-8" },
  "/vendor/uPlot.css": { file: join(UPLOT_DIR, "uPlot.min.css"), type: "text/css; charset=utf-8" },
};

/** At most `max` points of `points`, evenly spaced, the last included. */
export function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const stride = points.length / (max - 1);
  const kept: T[] = [];
  for (let i = 0; i < max - 1; i++) kept.push(points[Math.floor(i * stride)]);
  kept.push(points[points.length - 1]);
  return kept;
}

interface Change {
  runs: RunSummary[];
  /** New evaluations per run id. */
  evals: Record<string, EvalPoint[]>;
  /** Runs whose metrics were read again from the start (their evaluations are all in `evals`). */
  reset: string[];
  removed: string[];
  sweeps?: SweepSummary[];
}

/** The runs and sweeps under the roots, followed. */
class Watcher {
  readonly runs = new Map<string, RunWatch>();
  private summaries = new Map<string, string>();
  sweeps: SweepSummary[] = [];

  constructor(private readonly roots: string[]) {}

  /** Looks for new runs, reads every run's new lines; returns what changed. */
  poll(): Change {
    const found: Found = findRuns(this.roots);
    const change: Change = { runs: [], evals: {}, reset: [], removed: [] };
    const sweeps = JSON.stringify(found.sweeps);
    if (sweeps !== JSON.stringify(this.sweeps)) {
      this.sweeps = found.sweeps;
      change.sweeps = found.sweeps;
    }
    const seen = new Set<string>();
    for (const { dir, base } of found.runs) {
      seen.add(base.id);
      if (!this.runs.has(base.id)) this.runs.set(base.id, new RunWatch(dir, base));
    }
    for (const id of [...this.runs.keys()]) {
      if (seen.has(id)) continue;
      this.runs.delete(id);
      this.summaries.delete(id);
      change.removed.push(id);
    }
    for (const [id, run] of this.runs) {
      const { added, reset } = run.poll();
      if (reset) {
        change.reset.push(id);
        change.evals[id] = thin(run.evals, SNAPSHOT_POINTS);
      } else if (added.length > 0) change.evals[id] = added;
      const summary = run.summary();
      const text = JSON.stringify(summary);
      if (text !== this.summaries.get(id)) {
        this.summaries.set(id, text);
        change.runs.push(summary);
      }
    }
    return change;
  }

  snapshot(): Change & { roots: string[] } {
    const runs = [...this.runs.values()];
    return {
      roots: this.roots,
      sweeps: this.sweeps,
      runs: runs.map((r) => r.summary()),
      evals: Object.fromEntries(runs.map((r) => [r.base.id, thin(r.evals, SNAPSHOT_POINTS)])),
      reset: [],
      removed: [],
    };
  }
}

const isLoopback = (host: string) => host === "127.0.0.1" || host === "localhost" || host === "::1";

export function startDashboard(options: DashboardOptions): Dashboard {
  const watcher = new Watcher(options.roots);
  watcher.poll();
  const clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const encoder = new TextEncoder();
  /** Sends to one client; a client that went away is forgotten. */
  const write = (controller: ReadableStreamDefaultController<Uint8Array>, text: string) => {
    try {
      controller.enqueue(encoder.encode(text));
    } catch {
      clients.delete(controller);
    }
  };
  const send = (controller: ReadableStreamDefaultController<Uint8Array>, event: string, data: unknown) => write(controller, `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  /** Reads the folders and sends what changed to every client (a comment line when nothing did, which keeps the connection open). */
  const refresh = () => {
    const change = watcher.poll();
    const empty = change.runs.length === 0 && change.removed.length === 0 && change.reset.length === 0 && !change.sweeps && Object.keys(change.evals).length === 0;
    for (const c of clients) empty ? write(c, ": alive\n\n") : send(c, "change", change);
  };
  const timer = setInterval(() => clients.size > 0 && refresh(), options.pollMs ?? 1000);

  const server: Bun.Server<undefined> = Bun.serve({
    hostname: options.host,
    port: options.port,
    idleTimeout: 0,
    fetch(request): Response {
      const url = new URL(request.url);
      // A page on another site must not reach this one by a name that resolves to 127.0.0.1 (DNS rebinding).
      if (isLoopback(options.host)) {
        const host = request.headers.get("host") ?? "";
        const allowed: string[] = [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `[::1]:${server.port}`];
        if (!allowed.includes(host)) return refuse(403, `host '${host}' is not this dashboard's address`);
      }
      if (request.method !== "GET" && request.method !== "HEAD") return refuse(405, "the dashboard is read-only");
      const file = STATIC[url.pathname];
      if (file) return new Response(readFileSync(file.file), { headers: { ...SECURITY_HEADERS, "Content-Type": file.type } });
      if (url.pathname === "/events") {
        let self: ReadableStreamDefaultController<Uint8Array>;
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            self = controller;
            // The others get what changed since the last read; the newcomer starts from the state after it.
            refresh();
            clients.add(controller);
            send(controller, "snapshot", watcher.snapshot());
          },
          cancel() {
            clients.delete(self);
          },
        });
        return new Response(stream, { headers: { ...SECURITY_HEADERS, "Content-Type": "text/event-stream; charset=utf-8", Connection: "keep-alive" } });
      }
      if (url.pathname === "/favicon.ico") return new Response(null, { status: 204, headers: SECURITY_HEADERS });
      if (url.pathname === "/api/state") {
        refresh();
        return Response.json(watcher.snapshot(), { headers: SECURITY_HEADERS });
      }
      return refuse(404, "not found: the dashboard serves its page and the runs it found, nothing else");
    },
  });

  return {
    url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${server.port}/`,
    port: server.port as number,
    async stop() {
      clearInterval(timer);
      for (const c of clients) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      clients.clear();
      await server.stop(true);
    },
  };
}

function refuse(status: number, message: string): Response {
  return new Response(`${message}\n`, { status, headers: { ...SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8" } });
}
