// `bun run sweep collect --queue redis://… SWEEP [--out DIR]`: writes the finished runs of a queued
// sweep into the layout the local sweep produces (DIR/sweep.json, DIR/runs/RUN_ID/{result.json,
// config.json, environment.json, metrics.ndjson}), so `sweep report DIR` works unchanged. A DIR that
// holds another sweep (its sweep.json plans other runs) is refused, so no run of it is mixed into
// this one's report.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../io/atomicWrite.ts";
import { UsageError } from "../errors.ts";
import { parseFlags } from "../flags.ts";
import { runCli } from "../io/program.ts";
import { queueModule } from "./optional.ts";
import { readJsonFile } from "../io/json.ts";
import { RunLock } from "../run/runLock.ts";
import { validateSweepRecord } from "./spec.ts";

const plan = (runs: { id: string; argv?: string[] }[]) => JSON.stringify(runs.map(({ id, argv }) => ({ id, argv })));

export async function main(argv: string[], program = "sweep collect"): Promise<void> {
  await runCli(program, async () => {
    const { values, positionals } = parseFlags(argv, { queue: { type: "string" }, out: { type: "string" }, help: { type: "boolean" } }, true);
    if (values.help || positionals.length !== 1 || values.queue === undefined) {
      console.log("usage: bun run sweep collect --queue redis://[:PASSWORD@]HOST:PORT[/DB] SWEEP [--out DIR]   (default DIR: runs/sweeps/SWEEP)");
      return values.help ? 0 : 1;
    }
    const { checkSweepName, connectOnce, keys, parseQueueUrl } = await queueModule(() => import("./queue/connection.ts"));
    const { readStoredRun } = await queueModule(() => import("./queue/store.ts"));
    const sweep = checkSweepName(positionals[0]);
    const out = resolve(values.out ?? join("runs", "sweeps", sweep));
    const address = parseQueueUrl(values.queue);
    const client = await connectOnce(address);
    try {
      const meta = await client.get(keys.meta(sweep));
      if (meta === null) throw new UsageError(`no sweep '${sweep}' on the queue at ${address.shown}`);
      const where = `the queue's record of sweep '${sweep}' (${keys.meta(sweep)})`;
      let parsed: unknown;
      try {
        parsed = JSON.parse(meta);
      } catch {
        throw new UsageError(`${where}: not valid JSON; the queue is damaged`);
      }
      const { runs } = validateSweepRecord(parsed, where);
      const existing = join(out, "sweep.json");
      if (existsSync(existing)) {
        const held = validateSweepRecord(readJsonFile(existing), existing);
        if (plan(held.runs) !== plan(runs)) {
          throw new UsageError(`--out ${out} holds another sweep ('${held.spec.name}', ${held.runs.length} runs planned otherwise); its runs would be mixed into this one's: choose another --out`);
        }
      }
      const lock = RunLock.acquire(out, (line) => console.error(line), program);
      const counts: Record<string, number> = {};
      for (const { id } of runs) {
        const stored = await readStoredRun(client, sweep, id);
        if (!stored) continue;
        for (const [name, text] of Object.entries(stored.files)) writeFileAtomic(join(out, "runs", id, name), text);
        counts[stored.result.status] = (counts[stored.result.status] ?? 0) + 1;
      }
      writeFileAtomic(join(out, "sweep.json"), `${meta}\n`);
      const collected = Object.values(counts).reduce((a, b) => a + b, 0);
      const detail = Object.entries(counts).map(([status, n]) => `${n} ${status}`).join(", ");
      console.error(`collect: ${collected} of ${runs.length} runs into ${out}${detail ? ` (${detail})` : ""}${collected < runs.length ? `; ${runs.length - collected} not finished yet (sweep status shows where they are)` : ""}`);
      console.error(`  report: bun run sweep report ${out}`);
      lock.release();
    } finally {
      client.disconnect();
    }
  });
}
