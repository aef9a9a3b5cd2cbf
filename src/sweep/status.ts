// `bun run bench status --queue redis://… [SWEEP] [--json]`: queued / running / done / diverged /
// failed runs of each sweep on the queue, and which worker holds which run (bench/queue/status.ts).
import { UsageError } from "../errors.ts";
import { parseFlags } from "../flags.ts";
import { runCli } from "../cli/runCli.ts";
import { connectOnce, parseQueueUrl } from "./queue/connection.ts";
import { formatStatus, queueStatus } from "./queue/status.ts";

export async function main(argv: string[], program = "sweep status"): Promise<void> {
  await runCli(program, async () => {
    const { values, positionals } = parseFlags(argv, { queue: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean" } }, true);
    if (values.help || positionals.length > 1 || values.queue === undefined) {
      console.log("usage: bun run bench status --queue redis://[:PASSWORD@]HOST:PORT[/DB] [SWEEP] [--json]");
      return values.help ? 0 : 1;
    }
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
