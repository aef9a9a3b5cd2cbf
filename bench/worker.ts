// `bun run bench worker --queue redis://[:PASSWORD@]HOST:PORT[/DB] [--device D] [--concurrency 1] ...`:
// takes sweep runs enqueued by `bench sweep SPEC --queue` and runs them on this machine, any number
// of workers on any number of machines (bench/queue/worker.ts).
import { parseArgs } from "node:util";
import { DEVICE_FLAGS } from "../src/backend/index.ts";
import { UsageError } from "../src/errors.ts";
import { runCli } from "../src/cli/runCli.ts";
import { parseQueueUrl } from "./queue/connection.ts";
import { defaultWorkerName, runWorker } from "./queue/worker.ts";

const USAGE = `usage: bun run bench worker --queue redis://[:PASSWORD@]HOST:PORT[/DB] [flags]
  --device auto|cpu|webgpu   the device every run uses (default auto)
  --concurrency N            runs at a time (default 1)
  --name NAME                shown by bench status (default HOST-PID)
  --work-dir DIR             where runs execute and their checkpoints stay (default runs/queue)
  --lock-ms MS               how long a run's lock lasts without renewal; a worker silent this long is
                             presumed dead and its run is rerun elsewhere (default 30000)
  --stalled-ms MS            how often this worker looks for runs whose lock expired (default 30000)
  --max-stalled N            reruns after lost locks before a run is failed (default 2)
  --until-empty              exit once nothing is waiting or running on the queue`;

function positiveInteger(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} '${value}': expected a positive integer`);
  return n;
}

export async function main(argv: string[]): Promise<void> {
  await runCli("worker", async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        queue: { type: "string" },
        device: { type: "string", default: "auto" },
        concurrency: { type: "string", default: "1" },
        name: { type: "string" },
        "work-dir": { type: "string", default: "runs/queue" },
        "lock-ms": { type: "string", default: "30000" },
        "stalled-ms": { type: "string", default: "30000" },
        "max-stalled": { type: "string", default: "2" },
        "until-empty": { type: "boolean" },
        help: { type: "boolean" },
      },
      allowPositionals: true,
    });
    if (values.help || positionals.length > 0 || values.queue === undefined) {
      console.log(USAGE);
      return values.help ? 0 : 1;
    }
    if (!(DEVICE_FLAGS as readonly string[]).includes(values.device!)) throw new UsageError(`--device '${values.device}': expected one of ${DEVICE_FLAGS.join(", ")}`);
    return await runWorker({
      address: parseQueueUrl(values.queue),
      name: values.name ?? defaultWorkerName(),
      device: values.device!,
      concurrency: positiveInteger("concurrency", values.concurrency!),
      workDir: values["work-dir"]!,
      lockMs: positiveInteger("lock-ms", values["lock-ms"]!),
      stalledMs: positiveInteger("stalled-ms", values["stalled-ms"]!),
      maxStalled: positiveInteger("max-stalled", values["max-stalled"]!),
      untilEmpty: values["until-empty"] ?? false,
    });
  });
}
