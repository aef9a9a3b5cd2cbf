// `bun run sweep worker --queue redis://[:PASSWORD@]HOST:PORT[/DB] [--device D] [--concurrency 1] ...`:
// takes sweep runs enqueued by `sweep SPEC --queue` and runs them on this machine, any number
// of workers on any number of machines (src/sweep/queue/worker.ts).
import { DEVICE_FLAGS } from "../backend/index.ts";
import { UsageError } from "../errors.ts";
import { numberFlag, parseFlags, positiveIntegerFlag } from "../flags.ts";
import { runCli } from "../io/program.ts";
import { queueModule } from "./optional.ts";

const USAGE = `usage: bun run sweep worker --queue redis://[:PASSWORD@]HOST:PORT[/DB] [flags]
  --device auto|cpu|webgpu   the device every run uses (default auto)
  --concurrency N            runs at a time (default 1)
  --name NAME                shown by sweep status (default HOST-PID)
  --work-dir DIR             where runs execute and their checkpoints stay, in DIR/SWEEP/ARGS/runs/RUN_ID
                             with ARGS a hash of the run's train arguments (default runs/queue)
  --lock-ms MS               how long a run's lock lasts without renewal; a worker silent this long is
                             presumed dead and its run is rerun elsewhere (default 30000)
  --stalled-ms MS            how often this worker looks for runs whose lock expired (default 30000)
  --max-stalled N            reruns after lost locks before a run is failed (default 2)
  --until-empty              exit once nothing is waiting or running on the queue`;

/** The longest wait a timer can take (2³¹ − 1 ms, about 24 days). */
export const LONGEST_TIMER_MS = 2 ** 31 - 1;

const milliseconds = (flag: string, value: string | undefined) =>
  numberFlag(flag, value, `a positive whole number of milliseconds, at most ${LONGEST_TIMER_MS}`, (n) => Number.isSafeInteger(n) && n >= 1 && n <= LONGEST_TIMER_MS);

export async function main(argv: string[], program = "sweep worker"): Promise<void> {
  await runCli(program, async () => {
    const { values, positionals } = parseFlags(
      argv,
      {
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
      true,
    );
    if (values.help || positionals.length > 0 || values.queue === undefined) {
      console.log(USAGE);
      return values.help ? 0 : 1;
    }
    const { parseQueueUrl } = await queueModule(() => import("./queue/connection.ts"));
    const { defaultWorkerName, runWorker } = await queueModule(() => import("./queue/worker.ts"));
    if (!(DEVICE_FLAGS as readonly string[]).includes(values.device!)) throw new UsageError(`--device '${values.device}': expected one of ${DEVICE_FLAGS.join(", ")}`);
    return await runWorker({
      address: parseQueueUrl(values.queue),
      name: values.name ?? defaultWorkerName(),
      device: values.device!,
      concurrency: positiveIntegerFlag("concurrency", values.concurrency),
      workDir: values["work-dir"]!,
      lockMs: milliseconds("lock-ms", values["lock-ms"]),
      stalledMs: milliseconds("stalled-ms", values["stalled-ms"]),
      maxStalled: positiveIntegerFlag("max-stalled", values["max-stalled"]),
      untilEmpty: values["until-empty"] ?? false,
    });
  });
}
