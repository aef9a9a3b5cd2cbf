#!/usr/bin/env bun
// `bun run train`: see `bun run train --help`. The program parses the command line into the
// library's settings, then runs the library's train() inside a run directory (src/run/): it
// prepares a missing dataset, shows a progress bar fed by the run's hooks, draws the run's chart.
import { join } from "node:path";
import { givenFlags, parseTrainArgs, trainHelp } from "../run/config.ts";
import { ProgressReporter } from "../io/progress.ts";
import { resumeConfig } from "../run/resume.ts";
import { runCli } from "./runCli.ts";

/** The run's own chart (whole-set error when it was evaluated twice or more, else minibatch loss); a failure to draw is only reported. */
async function plotRun(runDir: string, log: (line: string) => void, warn: (line: string) => void): Promise<void> {
  try {
    // Inside the try: where sharp or vega cannot load (an offline GPU machine's bundle), the run still ends normally.
    const { plotTrainingError } = await import("../plot/runs.ts");
    await plotTrainingError(runDir, warn);
  } catch (error) {
    log(`train: could not draw ${join(runDir, "training-error.png")}: ${(error as Error).message}`);
  }
}

await runCli("train", async () => {
  const argv = process.argv.slice(2);
  let config = parseTrainArgs(argv);
  if (config.help) {
    console.log(trainHelp());
    return 0;
  }
  const { trainFromConfig } = await import("./plan.ts");
  const { exitCodeFor } = await import("../run/stopSignals.ts");
  if (config.resume) config = resumeConfig(config.resume, config, givenFlags(argv));
  const log = (line: string) => config.quiet || console.error(line);
  let progress: ProgressReporter | undefined;
  let result: Awaited<ReturnType<typeof trainFromConfig>>;
  try {
    result = await trainFromConfig(config, {
      onStart: ({ step, steps }) => {
        progress = new ProgressReporter("train", steps, {
          quiet: config.quiet,
          start: step,
          format: "{bar} {value}/{total} | loss {loss} | {rate} steps/s | ETA {eta_formatted}",
          plain: (f) => `step ${f.value}/${f.total}  loss ${f.loss}  ${f.rate} steps/s  ETA ${f.eta}`,
          lines: 20,
          initial: { loss: "-", rate: "-" },
        });
      },
      onStep: (record) => progress?.update(record.step, { loss: record.loss.toPrecision(5), rate: progress.rate(record.step).toFixed(2) }),
      onNote: (line) => (progress ? progress.note(line) : log(line)),
      onFinish: (runDir) => {
        progress?.stop();
        // A sweep's runs (KFRA_NO_RUN_CHART=1) leave the charts to `sweep report`: drawing one costs seconds.
        return process.env.KFRA_NO_RUN_CHART === "1" ? Promise.resolve() : plotRun(runDir, log, (line) => console.error(line));
      },
    });
  } finally {
    progress?.stop();
  }
  if (!config.quiet) {
    console.error(`train: ${result.steps} steps, final minibatch loss ${result.finalLoss.toPrecision(5)}; metrics and checkpoint in ${result.runDir}`);
  }
  return exitCodeFor(result.signal);
});
