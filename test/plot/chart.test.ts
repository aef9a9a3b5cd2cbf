// The training-error chart: θ̂ (the Polyak average) is dashed both on the lines and in the legend.
import { describe, expect, it } from "vitest";
import { DASHED, SOLID, chartPoints, chartSpec, renderChart } from "../../src/plot/chart.ts";
import type { MetricsRecord } from "../../src/run/metrics.ts";

function evalRecords(scale: number): MetricsRecord[] {
  return [0, 50, 100, 150].map((step) => ({
    type: "eval", step, time: 1 + step / 10, train: scale / (step + 1) + 1, heldOut: scale / (step + 1) + 2,
    trainAverage: scale / (step + 2) + 1, heldOutAverage: scale / (step + 2) + 2,
  }) as unknown as MetricsRecord);
}

const series = [{ label: "kfra", records: evalRecords(100) }, { label: "adam", records: evalRecords(80) }];

describe("chart of θ and θ̂", () => {
  it("the spec gives θ a solid and θ̂ a dashed stroke in both panels, and draws the parameters legend as line segments", () => {
    const spec = chartSpec(chartPoints(series, "train"), "train", "t") as unknown as { hconcat: { encoding: { strokeDash: { scale: { domain: string[]; range: number[][] }; legend: { symbolType: string } } } }[] };
    expect(SOLID).toEqual([1, 0]);
    expect(DASHED[0]).toBeGreaterThan(0);
    expect(DASHED[1]).toBeGreaterThan(0);
    for (const panel of spec.hconcat) {
      const dash = panel.encoding.strokeDash;
      expect(dash.scale.domain).toEqual(["θ", "θ̂ (Polyak average)"]);
      expect(dash.scale.range).toEqual([SOLID, DASHED]);
      // A circle (the default next to line points) cannot show a dash.
      expect(dash.legend.symbolType).toBe("stroke");
    }
  });

  it("the rendered SVG draws every θ̂ line and the θ̂ legend entry dashed, and θ solid", async () => {
    const { svg } = await renderChart(chartSpec(chartPoints(series, "train"), "train", "t"));
    const dash = `stroke-dasharray="${DASHED.join(",")}"`;
    const solid = `stroke-dasharray="${SOLID.join(",")}"`;
    const lines = [...svg.matchAll(/<path aria-label="[^"]*parameters: ([^"]*)"[^>]*aria-roledescription="line mark"[^>]*>/g)];
    // 2 runs × 2 parameter sets × 2 panels.
    expect(lines.length).toBe(8);
    for (const [path, parameters] of lines) expect(path).toContain(parameters === "θ" ? solid : dash);
    const symbols = [...svg.matchAll(/role-legend-symbol[^>]*><path ([^>]*)>/g)].map((m) => m[1]).filter((attrs) => attrs.includes("stroke-dasharray"));
    // The parameters legend: θ then θ̂, each a visible (stroked) segment.
    expect(symbols.length).toBe(2);
    expect(symbols[0]).toContain(solid);
    expect(symbols[1]).toContain(dash);
    for (const attrs of symbols) expect(attrs).toMatch(/ stroke="(black|#000000)"/);
  });
});
