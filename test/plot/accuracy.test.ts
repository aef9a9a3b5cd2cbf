// `plot --metric accuracy`: the held-out accuracy of θ and θ̂ from the eval records, on a linear axis.
import { describe, expect, test } from "vitest";
import { AVERAGE, THETA, chartPoints, chartSpec } from "../../src/plot/chart.ts";
import type { MetricsRecord } from "../../src/run/metrics.ts";

describe("the accuracy chart", () => {
  const records: MetricsRecord[] = [
    { type: "step", step: 1, time: 0.1, loss: 0.7, dataWaitMs: 0 },
    { type: "eval", step: 0, time: 0, train: 0.7, heldOut: 0.71, heldOutAverage: 0.71, heldOutAccuracy: 0.5, heldOutAverageAccuracy: 0.5 },
    { type: "eval", step: 10, time: 1, train: 0.3, heldOut: 0.35, heldOutAverage: 0.33, heldOutAccuracy: 0.9, heldOutAverageAccuracy: 0.92 },
    { type: "eval", step: 20, time: 2, train: 0.3, heldOut: 0.35 }, // a run without accuracy (a regression) draws nothing
  ];

  test("points are the held-out accuracy at θ and θ̂, drawn on a linear axis", () => {
    const points = chartPoints([{ label: "run", records }], "accuracy");
    expect(points.map((p) => [p.parameters, p.update, p.error])).toEqual([[THETA, 0, 0.5], [AVERAGE, 0, 0.5], [THETA, 10, 0.9], [AVERAGE, 10, 0.92]]);
    const spec = JSON.stringify(chartSpec(points, "accuracy", "Held-out accuracy"));
    expect(spec).toContain('"title":"held-out accuracy, θ"');
    expect(spec).toContain('"type":"linear"');
  });
});
