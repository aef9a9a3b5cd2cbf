// A chart of quantities measured over several seeds against one axis: per series, the mean as a line
// with its points and the min–max over the seeds as a shaded band (linear axes). Rendered with
// renderChart of chart.ts.
import type * as vegaLite from "vega-lite";

export interface BandChartPoint {
  series: string;
  x: number;
  mean: number;
  min: number;
  max: number;
}

export function bandChartSpec(points: BandChartPoint[], options: { title: string; x: string; y: string; yDomain?: [number, number] }): vegaLite.TopLevelSpec {
  const x = { field: "x", type: "quantitative" as const, title: options.x };
  const y = { field: "mean", type: "quantitative" as const, title: options.y, scale: options.yDomain ? { domain: options.yDomain, nice: false } : { zero: false } };
  const color = { field: "series", type: "nominal" as const, title: "" };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title,
    width: 480,
    height: 300,
    data: { values: points },
    layer: [
      { mark: { type: "area", opacity: 0.2 }, encoding: { x, y: { ...y, field: "min" }, y2: { field: "max" }, color } },
      { mark: { type: "line", point: true }, encoding: { x, y, color } },
    ],
    config: { background: "white", font: "DejaVu Sans, sans-serif", legend: { labelLimit: 400, symbolOpacity: 1 } },
  } as vegaLite.TopLevelSpec;
}
