// `bun run plot RUN_DIR... [--out PREFIX] [--metric train|minibatch|heldOut|accuracy] [--title TEXT]`:
// training error of each run against updates and wall-clock seconds, to PREFIX.svg and PREFIX.png.
import { join } from "node:path";
import { parseFlags } from "../flags.ts";
import type { ChartMetric } from "../plot/chart.ts";
import { plotRuns } from "../plot/runs.ts";
import { UsageError } from "../errors.ts";
import { runCli } from "./runCli.ts";

const HELP = `usage: bun run plot RUN_DIR... [--out PREFIX] [--metric train|minibatch|heldOut|accuracy] [--title TEXT]

Plots the training error of each run against updates and against wall-clock seconds (log scale).
  --out PREFIX     output files PREFIX.svg and PREFIX.png (default: <first run>/training-error)
  --metric NAME    train: whole-training-set error of θ and θ̂ (default); minibatch: every step's
                   minibatch loss; heldOut: the held-out error; accuracy: the held-out accuracy (classifiers)`;

await runCli("plot", async () => {
  const { values, positionals } = parseFlags(
    process.argv.slice(2),
    { out: { type: "string" }, metric: { type: "string", default: "train" }, title: { type: "string" }, help: { type: "boolean" } },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`no run directory given\n${HELP}`);
  const metric = values.metric as ChartMetric;
  if (!["train", "minibatch", "heldOut", "accuracy"].includes(metric)) throw new UsageError(`--metric '${metric}': valid values are train, minibatch, heldOut, accuracy`);
  const prefix = values.out ?? join(positionals[0], "training-error");
  const points = await plotRuns(positionals, metric, prefix, values.title ?? (metric === "accuracy" ? "Held-out accuracy" : undefined));
  console.error(`plot: wrote ${prefix}.svg and ${prefix}.png (${positionals.length} run${positionals.length > 1 ? "s" : ""}, ${points} points)`);
});
