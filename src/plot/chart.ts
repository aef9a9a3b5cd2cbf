// Training-error charts of one or more runs, as a Vega-Lite specification rendered headless by Vega
// to SVG, and to PNG through sharp: error against updates, and against wall-clock seconds (log).
import { basename } from "node:path";
import sharp from "sharp";
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { type EvalRecord, type MetricsRecord, type StepRecord } from "../run/metrics.ts";

export interface RunSeries {
  /** The legend label. */
  label: string;
  records: MetricsRecord[];
}

export type ChartMetric = "train" | "minibatch" | "heldOut";

interface Point {
  run: string;
  /** "θ", or "θ̂ (Polyak average)". */
  parameters: string;
  update: number;
  seconds: number;
  error: number;
}

const AVERAGE = "θ̂ (Polyak average)";
/** Stroke dash patterns [dash, gap] in px: θ solid, θ̂ dashed. */
export const SOLID = [1, 0];
export const DASHED = [5, 3];

/**
 * The points to draw: the whole-training-set error of θ (and of θ̂, dashed) from the eval
 * records, or the minibatch loss of every step.
 */
export function chartPoints(series: RunSeries[], metric: ChartMetric): Point[] {
  const points: Point[] = [];
  for (const { label, records } of series) {
    if (metric === "minibatch") {
      for (const r of records) if (r.type === "step" && Number.isFinite((r as StepRecord).loss)) points.push({ run: label, parameters: "θ", update: r.step, seconds: r.time, error: (r as StepRecord).loss });
      continue;
    }
    const evals = records.filter((r): r is EvalRecord => r.type === "eval");
    const key = metric === "train" ? "train" : "heldOut";
    const averageKey = metric === "train" ? "trainAverage" : "heldOutAverage";
    for (const r of evals) {
      const value = r[key];
      if (value !== undefined && Number.isFinite(value)) points.push({ run: label, parameters: "θ", update: r.step, seconds: r.time, error: value });
      const avg = r[averageKey];
      if (avg !== undefined && avg !== null && Number.isFinite(avg)) points.push({ run: label, parameters: AVERAGE, update: r.step, seconds: r.time, error: avg });
    }
  }
  return points;
}

const METRIC_TITLE: Record<ChartMetric, string> = {
  train: "training error (whole set)",
  minibatch: "minibatch training error",
  heldOut: "held-out error",
};

export function chartSpec(points: Point[], metric: ChartMetric, title: string): vegaLite.TopLevelSpec {
  const y = { field: "error", type: "quantitative" as const, title: METRIC_TITLE[metric], scale: { type: "log" as const } };
  const color = { field: "run", type: "nominal" as const, title: "run" };
  // The legend draws each parameters entry as a dashed or solid line segment (with the line's points
  // on, Vega-Lite would otherwise draw both as the same circle).
  const strokeDash = {
    field: "parameters", type: "nominal" as const, title: "parameters", scale: { domain: ["θ", AVERAGE], range: [SOLID, DASHED] },
    legend: { symbolType: "stroke", symbolSize: 900, symbolStrokeWidth: 2, encode: { symbols: { update: { stroke: { value: "black" } } } } },
  };
  const detail = { field: "parameters", type: "nominal" as const };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    data: { values: points },
    hconcat: [
      { width: 380, height: 280, mark: { type: "line", point: points.length < 400 }, encoding: { x: { field: "update", type: "quantitative", title: "updates" }, y, color, strokeDash, detail } },
      { width: 380, height: 280, transform: [{ filter: "datum.update > 0" }], mark: { type: "line", point: points.length < 400 }, encoding: { x: { field: "seconds", type: "quantitative", title: "wall-clock seconds", scale: { type: "log" } }, y, color, strokeDash, detail } },
    ],
    config: { background: "white", font: "DejaVu Sans, sans-serif", legend: { labelLimit: 400 } },
  } as vegaLite.TopLevelSpec;
}

/** Renders a Vega-Lite spec to SVG text and PNG bytes. */
export async function renderChart(spec: vegaLite.TopLevelSpec): Promise<{ svg: string; png: Buffer }> {
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  const png = await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer();
  return { svg, png };
}

export function runLabel(dir: string, config?: { opt?: string; lr?: number; damping?: string }): string {
  if (!config?.opt) return basename(dir);
  const detail = config.lr !== undefined && ["sgd", "momentum", "nesterov", "adam"].includes(config.opt) ? ` lr ${config.lr}` : "";
  return `${basename(dir)} (${config.opt}${detail})`;
}
