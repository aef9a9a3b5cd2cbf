// Training-error charts of one or more runs, as a Vega-Lite specification rendered headless by Vega
// to SVG, and to PNG through sharp: error against updates, and against wall-clock seconds (log).
// The default ("errors"): one colour per run, its training-set error solid and its held-out error
// dashed. One error at a time ("train", "heldOut") is drawn as the paper's Figure 2: a second-order
// run with momentum on its curvature factors dashed, one without (and every first-order run) solid.
// θ and the Polyak average θ̂ get a row of panels each. A method run over several seeds is its mean
// line inside a shaded min–max band. Axes are fitted to the points (no rounding out to powers of 10).
import { basename } from "node:path";
import sharp from "sharp";
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { type EvalRecord, type MetricsRecord, type StepRecord } from "../run/metrics.ts";

export interface RunSeries {
  /** The legend label. */
  label: string;
  records: MetricsRecord[];
  /** Momentum on the curvature factors (second-order runs only): drawn dashed. */
  factorMomentum?: boolean;
}

/** One evaluation of a method over several seeds: the mean, and the band from min to max. */
export interface BandValue {
  update: number;
  seconds: number;
  mean: number;
  min: number;
  max: number;
}

export interface BandSeries {
  label: string;
  factorMomentum?: boolean;
  /** The mean and min–max of θ's error, and of θ̂'s where the runs have one. */
  theta: BandValue[];
  average?: BandValue[];
}

export type ChartMetric = "errors" | "train" | "minibatch" | "heldOut" | "accuracy";
export const CHART_METRICS: ChartMetric[] = ["errors", "train", "minibatch", "heldOut", "accuracy"];

export interface Point {
  run: string;
  /** THETA or AVERAGE: the row of panels the point is drawn in. */
  parameters: string;
  /** FACTOR_MOMENTUM (dashed) or NO_FACTOR_MOMENTUM (solid). */
  factors: string;
  update: number;
  seconds: number;
  error: number;
  /** TRAINING_SET or HELD_OUT_SET (the "errors" chart: solid or dashed). */
  set?: string;
  /** The band's lower and upper edge (a method over several seeds). */
  low?: number;
  high?: number;
}

export const THETA = "θ";
export const AVERAGE = "θ̂ (Polyak average)";
export const FACTOR_MOMENTUM = "momentum on the curvature factors";
export const NO_FACTOR_MOMENTUM = "no factor momentum, or first-order";
/** Stroke dash patterns [dash, gap] in px: factor momentum dashed, none solid (the paper's Figure 2). */
export const SOLID = [1, 0];
export const TRAINING_SET = "training set";
export const HELD_OUT_SET = "held-out set";
export const DASHED = [5, 3];

const factorsOf = (factorMomentum: boolean | undefined) => (factorMomentum ? FACTOR_MOMENTUM : NO_FACTOR_MOMENTUM);

/**
 * The points to draw: the whole-training-set error of θ and of θ̂ from the eval records, or the
 * minibatch loss of every step.
 */
export function chartPoints(series: RunSeries[], metric: ChartMetric): Point[] {
  const points: Point[] = [];
  for (const { label, records, factorMomentum } of series) {
    const factors = factorsOf(factorMomentum);
    if (metric === "minibatch") {
      for (const r of records) if (r.type === "step" && Number.isFinite((r as StepRecord).loss)) points.push({ run: label, parameters: THETA, factors, update: r.step, seconds: r.time, error: (r as StepRecord).loss });
      continue;
    }
    const evals = records.filter((r): r is EvalRecord => r.type === "eval");
    if (metric === "errors") {
      const finite = (v: number | null | undefined): v is number => typeof v === "number" && Number.isFinite(v);
      for (const r of evals) {
        const at = { run: label, factors, update: r.step, seconds: r.time };
        if (finite(r.train)) points.push({ ...at, parameters: THETA, set: TRAINING_SET, error: r.train });
        if (finite(r.heldOut)) points.push({ ...at, parameters: THETA, set: HELD_OUT_SET, error: r.heldOut });
        if (finite(r.trainAverage)) points.push({ ...at, parameters: AVERAGE, set: TRAINING_SET, error: r.trainAverage });
        if (finite(r.heldOutAverage)) points.push({ ...at, parameters: AVERAGE, set: HELD_OUT_SET, error: r.heldOutAverage });
      }
      continue;
    }
    const key = metric === "train" ? "train" : metric === "accuracy" ? "heldOutAccuracy" : "heldOut";
    const averageKey = metric === "train" ? "trainAverage" : metric === "accuracy" ? "heldOutAverageAccuracy" : "heldOutAverage";
    for (const r of evals) {
      const value = r[key];
      if (value !== undefined && Number.isFinite(value)) points.push({ run: label, parameters: THETA, factors, update: r.step, seconds: r.time, error: value });
      const avg = r[averageKey];
      if (avg !== undefined && avg !== null && Number.isFinite(avg)) points.push({ run: label, parameters: AVERAGE, factors, update: r.step, seconds: r.time, error: avg });
    }
  }
  return points;
}

/** The points of methods over several seeds: the mean as the line, min and max as the band's edges (none where they agree). */
export function bandPoints(series: BandSeries[]): Point[] {
  const points: Point[] = [];
  for (const { label, factorMomentum, theta, average } of series) {
    const factors = factorsOf(factorMomentum);
    for (const [parameters, values] of [[THETA, theta], [AVERAGE, average ?? []]] as const) {
      for (const v of values) {
        const point: Point = { run: label, parameters, factors, update: v.update, seconds: v.seconds, error: v.mean };
        if (v.max > v.min) Object.assign(point, { low: v.min, high: v.max });
        points.push(point);
      }
    }
  }
  return points;
}

const METRIC_TITLE: Record<ChartMetric, string> = {
  errors: "error per sample",
  train: "training error (whole set)",
  minibatch: "minibatch training error",
  heldOut: "held-out error",
  accuracy: "held-out accuracy",
};

/** A chart's title when none is given: what is drawn, in words. */
export const DEFAULT_TITLE: Record<ChartMetric, string> = {
  errors: "Training error (solid) and held-out error (dashed) on the whole sets",
  train: "Training error on the whole training set",
  minibatch: "Minibatch training error at each update",
  heldOut: "Held-out error on the whole held-out set",
  accuracy: "Held-out accuracy on the whole held-out set",
};

/** The rows of the "errors" chart in words. */
const PARAMETERS_WORDS: Record<string, string> = { [THETA]: "error per sample", [AVERAGE]: "averaged model's error per sample" };

export interface ChartOptions {
  /** The error axis's range; lines beyond it are clipped at the panel's edge. Default: all the points. */
  yDomain?: [number, number];
}

/** One panel: the bands (where the points have them) under the lines, against `x`. */
function panel(points: Point[], metric: ChartMetric, parameters: string, x: "update" | "seconds", options: ChartOptions) {
  // Errors on a log axis; accuracy, a fraction in [0, 1], on a linear one.
  const type = metric === "accuracy" ? ("linear" as const) : ("log" as const);
  const scale = options.yDomain ? { type, domain: options.yDomain, nice: false } : metric === "accuracy" ? { type, zero: false } : { type, nice: false, padding: 6 };
  const yTitle = metric === "errors" ? PARAMETERS_WORDS[parameters] : `${METRIC_TITLE[metric]}, ${parameters}`;
  const y = { field: "error", type: "quantitative" as const, title: yTitle, scale, axis: { tickCount: 6 } };
  const xEncoding =
    x === "update"
      ? { field: "update", type: "quantitative" as const, title: "updates", scale: { nice: false } }
      : { field: "seconds", type: "quantitative" as const, title: "training seconds (evaluations excluded)", scale: { type: "log" as const, nice: false } };
  const color = { field: "run", type: "nominal" as const, title: "run" };
  // The legend draws each entry as a dashed or solid line segment (with the line's points on,
  // Vega-Lite would otherwise draw both as the same circle).
  const setDash = {
    field: "set", type: "nominal" as const, title: "error on", scale: { domain: [TRAINING_SET, HELD_OUT_SET], range: [SOLID, DASHED] },
    legend: { symbolType: "stroke", symbolSize: 900, symbolStrokeWidth: 2, encode: { symbols: { update: { stroke: { value: "black" } } } } },
  };
  const factorDash = {
    field: "factors", type: "nominal" as const, title: "curvature factors", scale: { domain: [FACTOR_MOMENTUM, NO_FACTOR_MOMENTUM], range: [DASHED, SOLID] },
    legend: { symbolType: "stroke", symbolSize: 900, symbolStrokeWidth: 2, encode: { symbols: { update: { stroke: { value: "black" } } } } },
  };
  const shown = points.filter((p) => p.parameters === parameters && (x === "update" || p.update > 0));
  const layers: unknown[] = [];
  if (shown.some((p) => p.low !== undefined)) {
    layers.push({
      transform: [{ filter: "isValid(datum.low) && isValid(datum.high)" }],
      mark: { type: "area", opacity: 0.18, clip: true },
      encoding: { x: xEncoding, y: { ...y, field: "low" }, y2: { field: "high" }, color },
    });
  }
  const strokeDash = metric === "errors" ? setDash : factorDash;
  layers.push({ mark: { type: "line", point: shown.length < 400, clip: true }, encoding: { x: xEncoding, y, color, strokeDash } });
  return { width: 380, height: 280, data: { values: shown }, layer: layers };
}

export function chartSpec(points: Point[], metric: ChartMetric, title: string, options: ChartOptions = {}): vegaLite.TopLevelSpec {
  const rows = [THETA, AVERAGE].filter((parameters) => points.some((p) => p.parameters === parameters));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    vconcat: rows.map((parameters) => ({ hconcat: [panel(points, metric, parameters, "update", options), panel(points, metric, parameters, "seconds", options)] })),
    resolve: { scale: { color: "shared", strokeDash: "shared" } },
    config: { background: "white", font: "DejaVu Sans, sans-serif", legend: { labelLimit: 400, symbolOpacity: 1 } },
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
