// The training-error chart drawn as the paper's Figure 2: runs with momentum on the curvature
// factors dashed, runs without it (and first-order runs) solid, on the lines and in the legend; θ̂
// (the Polyak average) on its own row of panels; a method over several seeds as a band.
import { describe, expect, it } from "vitest";
import { AVERAGE, DASHED, FACTOR_MOMENTUM, NO_FACTOR_MOMENTUM, SOLID, THETA, bandPoints, chartPoints, chartSpec, renderChart } from "../../src/plot/chart.ts";
import type { MetricsRecord } from "../../src/run/metrics.ts";

function evalRecords(scale: number): MetricsRecord[] {
  const evals = [0, 50, 100, 150].map((step) => ({
    type: "eval", step, time: 1 + step / 10, train: scale / (step + 1) + 1, heldOut: scale / (step + 1) + 2,
    trainAverage: scale / (step + 2) + 1, heldOutAverage: scale / (step + 2) + 2,
  }));
  const steps = [1, 2, 3].map((step) => ({ type: "step", step, time: step / 10, loss: scale / step, dataWaitMs: 0 }));
  return [...steps, ...evals] as unknown as MetricsRecord[];
}

const series = [
  { label: "kfra", records: evalRecords(100), factorMomentum: true },
  { label: "kfra-no-momentum", records: evalRecords(90), factorMomentum: false },
  { label: "adam", records: evalRecords(80) },
];

type Panel = { data: { values: { parameters: string }[] }; layer: { mark: { type: string }; encoding: { strokeDash?: { field: string; scale: { domain: string[]; range: number[][] }; legend: { symbolType: string } } } }[] };
const panels = (spec: unknown) => (spec as { vconcat: { hconcat: Panel[] }[] }).vconcat.map((row) => row.hconcat);

/** Each line mark of the SVG: its run, its row (θ or θ̂) and its dash pattern. */
function lineMarks(svg: string) {
  return [...svg.matchAll(/<path aria-label="([^"]*)"[^>]*aria-roledescription="line mark"[^>]*stroke-dasharray="([^"]*)"/g)].map(([, label, dash]) => ({
    run: /run: ([^;]*)/.exec(label)![1],
    parameters: label.includes(AVERAGE) ? AVERAGE : THETA,
    dash,
  }));
}

describe("chart of Figure 2", () => {
  it("the spec dashes factor momentum and draws the rest solid, in every panel, with the legend as line segments", () => {
    const rows = panels(chartSpec(chartPoints(series, "train"), "train", "t"));
    expect(SOLID).toEqual([1, 0]);
    expect(DASHED[0]).toBeGreaterThan(0);
    expect(DASHED[1]).toBeGreaterThan(0);
    for (const row of rows) {
      for (const panel of row) {
        const dash = panel.layer.at(-1)!.encoding.strokeDash!;
        expect(dash.field).toBe("factors");
        expect(dash.scale.domain).toEqual([FACTOR_MOMENTUM, NO_FACTOR_MOMENTUM]);
        expect(dash.scale.range).toEqual([DASHED, SOLID]);
        // A circle (the default next to line points) cannot show a dash.
        expect(dash.legend.symbolType).toBe("stroke");
      }
    }
  });

  it("θ and θ̂ are on separate rows, each row holding only its own points", () => {
    const rows = panels(chartSpec(chartPoints(series, "train"), "train", "t"));
    expect(rows.length).toBe(2);
    rows.forEach((row, i) => {
      for (const panel of row) expect(new Set(panel.data.values.map((p) => p.parameters))).toEqual(new Set([[THETA, AVERAGE][i]]));
    });
    // Without θ̂ (first-order runs, the minibatch loss) there is one row.
    expect(panels(chartSpec(chartPoints(series, "minibatch"), "minibatch", "t")).length).toBe(1);
  });

  it("the rendered SVG draws every factor-momentum line dashed and every other line solid, in both rows; the legend says which is which", async () => {
    const { svg } = await renderChart(chartSpec(chartPoints(series, "train"), "train", "t"));
    const dash = DASHED.join(",");
    const solid = SOLID.join(",");
    const lines = lineMarks(svg);
    // 3 runs × 2 rows (θ, θ̂) × 2 panels (updates, seconds).
    expect(lines.length).toBe(12);
    for (const line of lines) expect(line.dash).toBe(line.run === "kfra" ? dash : solid);
    expect(lines.filter((l) => l.parameters === AVERAGE).length).toBe(6);
    const symbols = [...svg.matchAll(/role-legend-symbol[^>]*><path ([^>]*)>/g)].map((m) => m[1]).filter((attrs) => attrs.includes("stroke-dasharray"));
    expect(symbols.length).toBe(2);
    expect(symbols[0]).toContain(`stroke-dasharray="${dash}"`);
    expect(symbols[1]).toContain(`stroke-dasharray="${solid}"`);
    for (const attrs of symbols) expect(attrs).toMatch(/ stroke="(black|#000000)"/);
    expect(svg).toContain(FACTOR_MOMENTUM);
  });

  it("a method over several seeds is its mean line inside a min–max band; where the seeds agree there is no band", async () => {
    const theta = [
      { update: 0, seconds: 0, mean: 500, min: 500, max: 500 },
      { update: 50, seconds: 5, mean: 40, min: 35, max: 46 },
      { update: 100, seconds: 10, mean: 30, min: 28, max: 33 },
    ];
    const points = bandPoints([{ label: "kfra, 3 seeds", factorMomentum: true, theta }]);
    expect(points.map((p) => [p.error, p.low, p.high])).toEqual([[500, undefined, undefined], [40, 35, 46], [30, 28, 33]]);
    const { svg } = await renderChart(chartSpec(points, "train", "t"));
    const areas = [...svg.matchAll(/aria-roledescription="area mark"/g)];
    // One band per panel (updates, seconds) of the θ row.
    expect(areas.length).toBe(2);
    expect(lineMarks(svg).every((l) => l.dash === DASHED.join(","))).toBe(true);
  });

  it("a given error axis clips what lies beyond it", () => {
    const rows = panels(chartSpec(chartPoints(series, "train"), "train", "t", { yDomain: [1, 10] }));
    const line = rows[0][0].layer.at(-1) as unknown as { mark: { clip: boolean }; encoding: { y: { scale: { domain: number[] } } } };
    expect(line.mark.clip).toBe(true);
    expect(line.encoding.y.scale.domain).toEqual([1, 10]);
  });
});
