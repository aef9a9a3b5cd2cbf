// `bun run plot`: training and held-out error together by default (held-out dashed, one colour per
// run), a title that says what is drawn, axes fitted to the data, and a comparison of runs A and B
// written outside both, leaving every file of A and B as it was.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseTrainArgs } from "../../src/run/config.ts";
import { trainFromConfig } from "../../src/cli/plan.ts";
import { DASHED, DEFAULT_TITLE, HELD_OUT_SET, SOLID, TRAINING_SET, chartPoints, chartSpec, renderChart } from "../../src/plot/chart.ts";
import { readMetrics } from "../../src/run/metrics.ts";
import { type Workspace, cli, quick, workspace } from "../faults/helpers.ts";

/** Every file under `dir` and a hash of its bytes. */
function fingerprint(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[path] = createHash("sha256").update(readFileSync(path)).digest("hex");
  }
  return files;
}

describe("plot", () => {
  let ws: Workspace;
  let a: string;
  let b: string;
  beforeAll(async () => {
    ws = await workspace("plot");
    a = join(ws.root, "runs", "a");
    b = join(ws.root, "runs", "b");
    await trainFromConfig(parseTrainArgs(["--steps", "8", "--out", a, "--quiet", ...quick(ws.dataDir, "--eval-every", "4")]));
    await trainFromConfig(parseTrainArgs(["--steps", "8", "--out", b, "--quiet", ...quick(ws.dataDir, "--eval-every", "4", "--opt", "adam", "--lr", "0.01")]));
  });
  afterAll(() => ws?.remove());

  it("draws training error solid and held-out error dashed by default, titled in words, the error axis fitted to the points", async () => {
    const series = [{ label: "a", records: readMetrics(join(a, "metrics.ndjson")) }];
    const points = chartPoints(series, "errors");
    const evals = series[0].records.filter((r) => r.type === "eval");
    expect(points.filter((p) => p.set === TRAINING_SET && p.parameters === "θ").map((p) => p.error)).toEqual(evals.map((e) => e.train));
    expect(points.filter((p) => p.set === HELD_OUT_SET && p.parameters === "θ").map((p) => p.error)).toEqual(evals.map((e) => e.heldOut));
    const spec = chartSpec(points, "errors", DEFAULT_TITLE.errors) as unknown as { title: string; vconcat: { hconcat: { layer: { encoding: { strokeDash: { field: string; scale: { range: number[][] } }; y: { scale: { nice: boolean } } } }[] }[] }[] };
    expect(spec.title).toBe("Training error (solid) and held-out error (dashed) on the whole sets");
    for (const panel of spec.vconcat.flatMap((row) => row.hconcat)) {
      const line = panel.layer.at(-1)!.encoding;
      expect(line.strokeDash.field).toBe("set");
      expect(line.strokeDash.scale.range).toEqual([SOLID, DASHED]);
      expect(line.y.scale.nice).toBe(false);
    }
    const { svg } = await renderChart(spec as never);
    expect(svg).toContain("held-out set");
    // No axis rounded out to a power of ten: every error lies between 100 and 600, so no tick reads 10 or 1000.
    const all = points.map((p) => p.error);
    expect(Math.min(...all)).toBeGreaterThan(100);
    const ticks = [...svg.matchAll(/aria-roledescription="axis"[^]*?<\/g><\/g><\/g>/g)].flatMap((m) => [...m[0].matchAll(/>([\d.,]+)<\/text>/g)].map((t) => Number(t[1].replace(/,/g, ""))));
    expect(ticks.length).toBeGreaterThan(0);
    expect(ticks).not.toContain(10);
    expect(ticks).not.toContain(1000);
  });

  it("plot A B writes its comparison outside A and B and leaves every file of theirs unchanged", () => {
    const before = { a: fingerprint(a), b: fingerprint(b) };
    const result = cli("src/cli/plot.ts", [a, b], { cwd: ws.root });
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(join(ws.root, "compare-a-b.png"))).toBe(true);
    expect(existsSync(join(ws.root, "compare-a-b.svg"))).toBe(true);
    expect(fingerprint(a)).toEqual(before.a);
    expect(fingerprint(b)).toEqual(before.b);
  });

  it("refuses a comparison's --out inside one of the runs, writing nothing", () => {
    const before = fingerprint(a);
    const result = cli("src/cli/plot.ts", [a, b, "--out", join(a, "training-error")]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^plot: --out .* lies inside run .*; a comparison is written outside the runs it compares/);
    expect(fingerprint(a)).toEqual(before);
  });

  it("plot A draws A's own chart in A", () => {
    const result = cli("src/cli/plot.ts", [a]);
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(join(a, "training-error.png"))).toBe(true);
  });
});
