#!/usr/bin/env bun
// `bun run train`: see `bun run train --help`.
import { givenFlags, parseTrainArgs, trainHelp } from "../train/config.ts";
import { runCli } from "./runCli.ts";

await runCli("train", async () => {
  const argv = process.argv.slice(2);
  let config = parseTrainArgs(argv);
  if (config.help) {
    console.log(trainHelp());
    return 0;
  }
  const { resumeConfig, train } = await import("../train/trainer.ts");
  const { exitCodeFor } = await import("../train/stopSignals.ts");
  if (config.resume) config = resumeConfig(config.resume, config, givenFlags(argv));
  const result = await train(config);
  if (!config.quiet) {
    console.error(`train: ${result.steps} steps, final minibatch loss ${result.finalLoss.toPrecision(5)}; metrics and checkpoint in ${result.runDir}`);
  }
  return exitCodeFor(result.signal);
});
