// `bun run sweep status DIR`: the runs of a local sweep: how many are done, diverged, failed, running
// (a live `train` holds the run's lock) with its update and error, cut short (stopped, to be resumed)
// and not run yet. `bun run sweep status --queue redis://… [SWEEP] [--json]`: the same for the sweeps
// on a queue, and which worker holds which run (queue/status.ts).
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError } from "../errors.ts";
import { parseFlags } from "../flags.ts";
import { processAlive } from "../io/atomicWrite.ts";
import { runCli } from "../io/program.ts";
import { LOCK_FILE } from "../run/runLock.ts";
import { queueModule } from "./optional.ts";
import { describePosition, runPosition } from "./progress.ts";
import { loadSweepRuns } from "./runs.ts";
import { flagValue } from "./estimate.ts";

/** Whether a live process on this machine holds the run directory's lock. */
function running(runDir: string): boolean {
  try {
    const owner = JSON.parse(readFileSync(join(runDir, LOCK_FILE), "utf8")) as { pid?: unknown };
    return typeof owner.pid === "number" && processAlive(owner.pid);
  } catch {
    return false;
  }
}

/** The local sweep in `dir`, in lines. */
export function localStatus(dir: string): { lines: string[]; counts: Record<string, number> } {
  const { sweep, runs } = loadSweepRuns(dir);
  const planned = new Map(sweep.runs.map((r) => [r.id, r.argv ?? []]));
  const counts: Record<string, number> = { done: 0, diverged: 0, failed: 0, running: 0, cut: 0, "not run": 0 };
  const details: string[] = [];
  for (const run of runs) {
    const runDir = join(dir, "runs", run.id);
    const status = (run.status === "cut" || run.status === "not run") && running(runDir) ? "running" : run.status;
    counts[status] += 1;
    const steps = Number(flagValue(planned.get(run.id) ?? [], "--steps") ?? 0);
    if (status === "running" || status === "cut") details.push(`  ${status}: ${run.id}: ${describePosition(runPosition(runDir), steps)}`);
    if (status === "failed") details.push(`  failed: ${run.id}: ${run.reason ?? "no reason recorded"}`);
  }
  const summary = Object.entries(counts).filter(([, n]) => n > 0).map(([status, n]) => `${n} ${status}`).join(", ");
  return { lines: [`sweep ${sweep.spec.name} in ${dir}: ${runs.length} runs; ${summary}`, ...details], counts };
}

export async function main(argv: string[], program = "sweep status"): Promise<void> {
  await runCli(program, async () => {
    const { values, positionals } = parseFlags(argv, { queue: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean" } }, true);
    if (values.help || positionals.length > 1 || (values.queue === undefined && positionals.length !== 1)) {
      console.log("usage: bun run sweep status DIR                   a local sweep's runs (its --out)\n       bun run sweep status --queue redis://[:PASSWORD@]HOST:PORT[/DB] [SWEEP] [--json]");
      return values.help ? 0 : 1;
    }
    if (values.queue === undefined) {
      const dir = resolve(positionals[0]);
      if (!existsSync(join(dir, "sweep.json"))) throw new UsageError(`${positionals[0]}: no sweep.json; give a local sweep's --out folder, or --queue URL`);
      const { lines, counts } = localStatus(dir);
      console.log(values.json ? JSON.stringify(counts, null, 2) : lines.join("\n"));
      return 0;
    }
    const { connectOnce, parseQueueUrl } = await queueModule(() => import("./queue/connection.ts"));
    const { formatStatus, queueStatus } = await queueModule(() => import("./queue/status.ts"));
    const address = parseQueueUrl(values.queue);
    const client = await connectOnce(address);
    try {
      const status = await queueStatus(client, positionals[0]);
      if (status.unknown) throw new UsageError(`no sweep '${status.unknown}' on the queue at ${address.shown}`);
      console.log(values.json ? JSON.stringify(status, null, 2) : formatStatus(status));
    } finally {
      client.disconnect();
    }
  });
}
