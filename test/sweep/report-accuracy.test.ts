// `sweep report` on classifier runs: the held-out accuracy of θ and θ̂ in the tables (mean and
// min–max over the seeds, and each run's final value) equals the runs' metrics.ndjson values, and a
// held-out accuracy figure is drawn; runs without accuracy (an autoencoder) get neither.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sweep } from "./helpers.ts";

interface Final {
  heldOutAccuracy: number;
  heldOutAverageAccuracy: number;
}

const RUNS: Record<string, { settings: Record<string, unknown>; final: Final }> = {
  "kronecker/kfra-seed0": { settings: { opt: "kfra", seed: 0 }, final: { heldOutAccuracy: 0.9621, heldOutAverageAccuracy: 0.9633 } },
  "kronecker/kfra-seed1": { settings: { opt: "kfra", seed: 1 }, final: { heldOutAccuracy: 0.9687, heldOutAverageAccuracy: 0.9701 } },
  "kronecker/kfra-seed2": { settings: { opt: "kfra", seed: 2 }, final: { heldOutAccuracy: 0.9655, heldOutAverageAccuracy: 0.9642 } },
  "adam/adam-lr0.001-seed0": { settings: { opt: "adam", lr: 0.001, seed: 0 }, final: { heldOutAccuracy: 0.9402, heldOutAverageAccuracy: Number.NaN } },
  "adam/adam-lr0.001-seed1": { settings: { opt: "adam", lr: 0.001, seed: 1 }, final: { heldOutAccuracy: 0.9518, heldOutAverageAccuracy: Number.NaN } },
};

/** A sweep folder of finished runs, each evaluated at updates 0, 10 and 20 (accuracy only where `classifier`). */
function sweepDir(classifier: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), "kfra-report-"));
  const spec = { name: "report-test", description: "synthetic runs", seeds: [0, 1, 2], groups: [] };
  writeFileSync(join(dir, "sweep.json"), JSON.stringify({ spec, scale: 1, runs: Object.keys(RUNS).map((id) => ({ id })) }));
  for (const [id, { settings, final }] of Object.entries(RUNS)) {
    const runDir = join(dir, "runs", id);
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, "result.json"), JSON.stringify({ id, status: "done", settings }));
    const second = settings.opt !== "adam";
    const lines = [0, 10, 20].map((step, i) => {
      const record: Record<string, unknown> = { type: "eval", step, time: step * 1.5, train: 2.3 / (1 + i), heldOut: 2.3 / (1 + i) + 0.01 };
      if (second) Object.assign(record, { trainAverage: record.train, heldOutAverage: record.heldOut });
      if (classifier) {
        const at = (x: number) => (i === 2 ? x : 0.1 + (i * (x - 0.1)) / 2);
        Object.assign(record, { trainAccuracy: at(final.heldOutAccuracy), heldOutAccuracy: at(final.heldOutAccuracy) });
        if (second) Object.assign(record, { trainAverageAccuracy: at(final.heldOutAverageAccuracy), heldOutAverageAccuracy: at(final.heldOutAverageAccuracy) });
      }
      return JSON.stringify(record);
    });
    writeFileSync(join(runDir, "metrics.ndjson"), `${lines.join("\n")}\n`);
  }
  return dir;
}

const percent = (x: number) => `${(100 * x).toFixed(2)}%`;
const spreadText = (xs: number[]) => `${percent(xs.reduce((s, x) => s + x, 0) / xs.length)} (${percent(Math.min(...xs))}–${percent(Math.max(...xs))})`;
const cells = (row: string) => row.split("|").slice(1, -1).map((c) => c.trim());
/** The table under `heading` as rows of cells, keyed by its first cell. */
function table(report: string, heading: string): { head: string[]; rows: Map<string, string[]> } {
  const lines = report.slice(report.indexOf(heading)).split("\n");
  const start = lines.findIndex((l) => l.startsWith("|"));
  const end = lines.findIndex((l, i) => i > start && !l.startsWith("|"));
  const [head, , ...rows] = lines.slice(start, end);
  return { head: cells(head), rows: new Map(rows.map((r) => [cells(r)[0], cells(r)])) };
}

describe("sweep report: held-out accuracy", () => {
  let classifier: string;
  let autoencoder: string;
  beforeAll(async () => {
    classifier = sweepDir(true);
    autoencoder = sweepDir(false);
    for (const dir of [classifier, autoencoder]) {
      const done = await sweep(["report", dir]);
      expect(done.stderr).toContain("report: wrote");
      expect(done.code).toBe(0);
    }
  }, 120_000);
  afterAll(() => {
    for (const dir of [classifier, autoencoder]) rmSync(dir, { recursive: true, force: true });
  });

  test("methods at their last evaluation: accuracy of θ and θ̂, mean (min–max) over the seeds", () => {
    const { head, rows } = table(readFileSync(join(classifier, "report.md"), "utf8"), "## Methods at their last evaluation");
    const theta = head.indexOf("held-out accuracy θ");
    const average = head.indexOf("held-out accuracy θ̂");
    expect(theta).toBeGreaterThan(0);
    expect(average).toBeGreaterThan(0);
    const kfra = Object.entries(RUNS).filter(([id]) => id.startsWith("kronecker/")).map(([, r]) => r.final);
    expect(rows.get("kfra")?.[theta]).toBe(spreadText(kfra.map((f) => f.heldOutAccuracy)));
    expect(rows.get("kfra")?.[theta]).toBe("96.54% (96.21%–96.87%)");
    expect(rows.get("kfra")?.[average]).toBe(spreadText(kfra.map((f) => f.heldOutAverageAccuracy)));
    const adam = [...rows.entries()].find(([k]) => k.startsWith("adam"))![1];
    expect(adam[theta]).toBe(spreadText([0.9402, 0.9518]));
    expect(adam[average]).toBe("–");
  });

  test("every run's final accuracy", () => {
    const { head, rows } = table(readFileSync(join(classifier, "report.md"), "utf8"), "## Runs");
    const theta = head.indexOf("held-out accuracy θ");
    expect(theta).toBeGreaterThan(0);
    for (const [id, { final }] of Object.entries(RUNS)) {
      expect(rows.get(id)?.[theta]).toBe(percent(final.heldOutAccuracy));
      expect(rows.get(id)?.[theta + 1]).toBe(Number.isFinite(final.heldOutAverageAccuracy) ? percent(final.heldOutAverageAccuracy) : "–");
    }
  });

  test("every evaluation of a method, and the figure", () => {
    const report = readFileSync(join(classifier, "report.md"), "utf8");
    const { head, rows } = table(report, "### kfra");
    const theta = head.indexOf("held-out accuracy θ");
    expect(rows.get("0")?.[theta]).toBe("10.00% (10.00%–10.00%)");
    expect(rows.get("20")?.[theta]).toBe("96.54% (96.21%–96.87%)");
    expect(report).toContain("![held-out-accuracy](held-out-accuracy.png)");
    expect(readFileSync(join(classifier, "held-out-accuracy.png")).subarray(1, 4).toString()).toBe("PNG");
    expect(readFileSync(join(classifier, "held-out-accuracy.svg"), "utf8")).toContain("held-out accuracy");
  });

  test("runs without accuracy: no accuracy column, no accuracy figure", () => {
    const report = readFileSync(join(autoencoder, "report.md"), "utf8");
    expect(report).not.toMatch(/accuracy/i);
    expect(report).toContain("![held-out-error](held-out-error.png)");
    expect(() => readFileSync(join(autoencoder, "held-out-accuracy.png"))).toThrow();
  });
});
