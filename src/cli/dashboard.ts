#!/usr/bin/env bun
// `bun run dashboard [RUNS_DIR...] [--port N] [--host H]`: a live web page of the runs and sweeps
// under the folders (default runs/), served by Bun on 127.0.0.1; see src/dashboard/.
import { existsSync, statSync } from "node:fs";
import { EXIT, UsageError } from "../errors.ts";
import { numberFlag, parseFlags } from "../flags.ts";
import { startDashboard } from "../dashboard/server.ts";
import { runCli } from "./runCli.ts";

/** The port tried first when --port is not given; a free one when it is taken. */
const DEFAULT_PORT = 8765;

const HELP = `usage: bun run dashboard [RUNS_DIR...] [--port N] [--host H]

A live web page of every run and sweep under the folders (default runs/): status, progress, ETA,
settings and environment, and charts of the chosen runs' training and held-out error. Read-only.
  --port N   the port (default ${DEFAULT_PORT}, or a free one when that is taken)
  --host H   the address to listen on (default 127.0.0.1: this machine only)`;

await runCli("dashboard", async () => {
  const { values, positionals } = parseFlags(process.argv.slice(2), { port: { type: "string" }, host: { type: "string", default: "127.0.0.1" }, help: { type: "boolean" } }, true);
  if (values.help) {
    console.log(HELP);
    return EXIT.ok;
  }
  const roots = positionals.length > 0 ? positionals : ["runs"];
  for (const root of roots) {
    if (!existsSync(root)) throw new UsageError(`${root}: no such folder (give the folders that hold your runs, e.g. bun run dashboard runs)`);
    if (!statSync(root).isDirectory()) throw new UsageError(`${root}: not a folder`);
  }
  const port = values.port === undefined ? undefined : numberFlag("port", values.port, "a port number from 0 to 65535", (n) => Number.isInteger(n) && n >= 0 && n <= 65535);
  let dashboard;
  try {
    dashboard = startDashboard({ roots, host: values.host!, port: port ?? DEFAULT_PORT });
  } catch (error) {
    const inUse = /EADDRINUSE|in use/i.test(String((error as Error).message)) || (error as { code?: string }).code === "EADDRINUSE";
    if (!inUse) throw new UsageError(`--host ${values.host}: cannot listen there (${(error as Error).message})`);
    if (port !== undefined) throw new UsageError(`--port ${port} is in use; choose another or leave --port out for a free one`);
    dashboard = startDashboard({ roots, host: values.host!, port: 0 });
  }
  console.log(`dashboard: ${dashboard.url} (${roots.join(", ")}; Ctrl-C to stop)`);
  const code = await new Promise<number>((resolve) => {
    process.once("SIGINT", () => resolve(EXIT.sigint));
    process.once("SIGTERM", () => resolve(EXIT.sigterm));
  });
  await dashboard.stop();
  return code;
});
