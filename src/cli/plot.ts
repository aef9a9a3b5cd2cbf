// `bun run plot RUN_DIR... [--out PREFIX] [--metric train|minibatch|heldOut] [--title TEXT]`:
// training error of each run against updates and wall-clock seconds, to PREFIX.svg and PREFIX.png.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../io/atomicWrite.ts";
import { type ChartMetric, type RunSeries, chartPoints, chartSpec, renderChart, runLabel } from "../plot/chart.ts";
import { UsageError } from "../train/config.ts";
import { readMetrics } from "../train/metrics.ts";
import { CONFIG_FILE, METRICS_FILE } from "../train/runFiles.ts";
import { runCli } from "./runCli.ts";

const HELP = `usage: bun run plot RUN_DIR... [--out PREFIX] [--metric train|minibatch|heldOut] [--title TEXT]

Plots the training error of each run against updates and against wall-clock seconds (log scale).
  --out PREFIX     output files PREFIX.svg and PREFIX.png (default: <first run>/training-error)
  --metric NAME    train: whole-training-set error of θ and θ̂ (default); minibatch: every step's
                   minibatch loss; heldOut: the held-out error`;

await runCli("plot", async () => {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: { out: { type: "string" }, metric: { type: "string", default: "train" }, title: { type: "string" }, help: { type: "boolean" } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`no run directory given\n${HELP}`);
  const metric = values.metric as ChartMetric;
  if (!["train", "minibatch", "heldOut"].includes(metric)) throw new UsageError(`--metric '${metric}': valid values are train, minibatch, heldOut`);
  const series: RunSeries[] = positionals.map((dir) => {
    const metricsPath = join(dir, METRICS_FILE);
    if (!existsSync(metricsPath)) throw new UsageError(`${dir}: no ${METRICS_FILE}; is it a run directory?`);
    const configPath = join(dir, CONFIG_FILE);
    const config = existsSync(configPath) ? JSON.parse(readFileSync(configPath, "utf8")) : undefined;
    return { label: runLabel(dir, config), records: readMetrics(metricsPath) };
  });
  const points = chartPoints(series, metric);
  if (points.length === 0) throw new UsageError(`no ${metric} points in ${positionals.join(", ")} (try --metric minibatch)`);
  const prefix = values.out ?? join(positionals[0], "training-error");
  const { svg, png } = await renderChart(chartSpec(points, metric, values.title ?? "Training error"));
  writeFileAtomic(`${prefix}.svg`, svg);
  writeFileAtomic(`${prefix}.png`, png);
  console.error(`plot: wrote ${prefix}.svg and ${prefix}.png (${series.length} run${series.length > 1 ? "s" : ""}, ${points.length} points)`);
});
