// Plots of run directories: the chart of src/plot/chart.ts fed from each run's metrics and config.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomicWrite.ts";
import { UsageError } from "../errors.ts";
import { readJsonFile } from "../io/json.ts";
import { PNG, SVG, checkOutput } from "../io/outputs.ts";
import { readMetrics } from "../run/metrics.ts";
import { CONFIG_FILE, METRICS_FILE } from "../run/runFiles.ts";
import { type ChartMetric, DEFAULT_TITLE, type RunSeries, chartPoints, chartSpec, renderChart, runLabel } from "./chart.ts";

/** Whether a run averaged its curvature factors over updates (second-order, momentum not turned off). */
export function hasFactorMomentum(config?: { opt?: string; factorMomentum?: boolean; factorDecay?: number }): boolean {
  return ["kfra", "kflr", "kfac"].includes(String(config?.opt)) && config?.factorMomentum !== false && config?.factorDecay !== 0;
}

/** Writes PREFIX.svg and PREFIX.png (never over a file of another kind); returns the number of points drawn. */
export async function plotRuns(dirs: string[], metric: ChartMetric, prefix: string, title = DEFAULT_TITLE[metric], warn?: (line: string) => void): Promise<number> {
  checkOutput(`${prefix}.svg`, SVG);
  checkOutput(`${prefix}.png`, PNG);
  const series: RunSeries[] = dirs.map((dir) => {
    const metricsPath = join(dir, METRICS_FILE);
    if (!existsSync(metricsPath)) throw new UsageError(`${dir}: no ${METRICS_FILE}; is it a run directory?`);
    const configPath = join(dir, CONFIG_FILE);
    const config = (existsSync(configPath) ? readJsonFile(configPath) : undefined) as { opt?: string; factorMomentum?: boolean; factorDecay?: number } | undefined;
    return { label: runLabel(dir, config as never), records: readMetrics(metricsPath, warn), factorMomentum: hasFactorMomentum(config) };
  });
  const points = chartPoints(series, metric);
  if (points.length === 0) throw new UsageError(`no ${metric} points in ${dirs.join(", ")} (try --metric minibatch)`);
  const { svg, png } = await renderChart(chartSpec(points, metric, title));
  writeFileAtomic(`${prefix}.svg`, svg);
  writeFileAtomic(`${prefix}.png`, png);
  return points.length;
}

/** A run's own chart, RUN/training-error.{svg,png}: whole-set training and held-out error when it was evaluated twice or more, else minibatch loss. */
export async function plotTrainingError(runDir: string, warn?: (line: string) => void): Promise<number> {
  const evaluations = readMetrics(join(runDir, METRICS_FILE), warn).filter((r) => r.type === "eval").length;
  return plotRuns([runDir], evaluations >= 2 ? "errors" : "minibatch", join(runDir, "training-error"), undefined, warn);
}
