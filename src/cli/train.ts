#!/usr/bin/env bun
// `bun run train`: see `bun run train --help`. The program parses the command line into the
// library's settings, then runs the library's train() inside a run directory (src/run/): it
// prepares a missing dataset, shows a progress bar and an ETA (src/io/eta.ts) fed by the run's hooks, a line per
// evaluation, draws the run's chart; --quiet leaves errors and the final line.
import { join } from "node:path";
import { givenFlags, parseTrainArgs, trainHelp } from "../run/config.ts";
import { EtaEstimator } from "../io/eta.ts";
import { ProgressReporter } from "../io/progress.ts";
import { evalLine } from "../run/evalLine.ts";
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
  let eta: EtaEstimator | undefined;
  let total = config.steps;
  let spinner: ReturnType<typeof setInterval> | undefined;
  const stopSpinner = () => {
    if (spinner) clearInterval(spinner);
    spinner = undefined;
  };
  const status = (step: number, extra: Record<string, string> = {}) => progress?.update(step, { timeLeft: eta!.format(), ...extra });
  let result: Awaited<ReturnType<typeof trainFromConfig>>;
  try {
    result = await trainFromConfig(config, {
      onStart: ({ step, steps }) => {
        total = steps;
        eta = new EtaEstimator({ startStep: step, steps, evalEvery: config.evalEvery });
        progress = new ProgressReporter("train", steps, {
          quiet: config.quiet,
          start: step,
          format: "{bar} {value}/{total} | loss {loss} | {rate} steps/s | ETA {timeLeft}{activity}",
          plain: (f) => `step ${f.value}/${f.total}  loss ${f.loss}  ${f.rate} steps/s  ETA ${f.timeLeft}`,
          lines: 20,
          initial: { loss: "-", rate: "-", timeLeft: "estimating…", activity: "" },
        });
      },
      onStep: (record) => {
        eta?.update(record.step);
        status(record.step, { loss: record.loss.toPrecision(5), rate: progress!.rate(record.step).toFixed(2), activity: "" });
      },
      onEvalStart: ({ step }) => {
        eta?.evalStart();
        if (config.quiet || !progress) return;
        if (!progress.live) {
          progress.note(`train: evaluating the whole sets at update ${step}…`);
          return;
        }
        let frame = 0;
        const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
        const draw = () => status(step, { activity: ` | ${frames[frame++ % frames.length]} evaluating at update ${step}` });
        draw();
        spinner = setInterval(draw, 120);
        spinner.unref();
      },
      onEval: (record) => {
        stopSpinner();
        const seconds = eta?.evalEnd();
        if (!config.quiet) progress ? progress.note(evalLine(record, total, seconds)) : log(evalLine(record, total, seconds));
        if (progress?.live) status(record.step, { activity: "" });
      },
      onNote: (line) => (progress ? progress.note(line) : log(line)),
      onFinish: (runDir) => {
        stopSpinner();
        progress?.stop();
        // A sweep's runs (KFRA_NO_RUN_CHART=1) leave the charts to `sweep report`: drawing one costs seconds.
        return process.env.KFRA_NO_RUN_CHART === "1" ? Promise.resolve() : plotRun(runDir, log, (line) => console.error(line));
      },
    });
  } finally {
    stopSpinner();
    progress?.stop();
  }
  const final = result.final ? `, final training error ${result.final.train.toPrecision(5)}${result.final.heldOut === undefined ? "" : `, held-out ${result.final.heldOut.toPrecision(5)}`}` : "";
  console.error(`train: ${result.steps} steps, final minibatch loss ${result.finalLoss.toPrecision(5)}${final}; metrics and checkpoint in ${result.runDir}`);
  return exitCodeFor(result.signal);
});
