// `bun run bench report SWEEP_DIR [--out DIR]`: a Markdown report of a sweep — figures of training
// error per update and per second (the best Adam, the mean of its top 10 and top 20 settings, the
// default 1e-3, and every second-order run, as in the paper's Figure 2), a table of final errors and
// of the updates and seconds each run needs to reach the best Adam's final error, and the spec.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseFlags } from "../src/flags.ts";
import { writeFileAtomic } from "../src/io/atomicWrite.ts";
import { readJsonFile } from "../src/io/json.ts";
import { PNG, SVG, checkOutput } from "../src/io/outputs.ts";
import { type RunSeries, chartPoints, chartSpec, renderChart } from "../src/plot/chart.ts";
import { type EvalRecord, readMetrics } from "../src/run/metrics.ts";
import { UsageError } from "../src/errors.ts";
import { runCli } from "../src/cli/runCli.ts";
import { RESULT_FILE } from "./sweep.ts";
import { validateRunResult, validateSweepRecord } from "./sweep-spec.ts";

interface RunOutcome {
  id: string;
  group: string;
  status: string;
  settings: Record<string, unknown>;
  evals: EvalRecord[];
  environment?: Record<string, unknown>;
  final?: EvalRecord;
}

function loadRuns(dir: string): { sweep: ReturnType<typeof validateSweepRecord>; runs: RunOutcome[] } {
  const sweepPath = join(dir, "sweep.json");
  if (!existsSync(sweepPath)) throw new UsageError(`${dir}: no sweep.json; is it a sweep directory?`);
  const sweep = validateSweepRecord(readJsonFile(sweepPath), sweepPath);
  const runs: RunOutcome[] = [];
  for (const { id } of sweep.runs) {
    const runDir = join(dir, "runs", id);
    const resultPath = join(runDir, RESULT_FILE);
    if (!existsSync(resultPath)) {
      runs.push({ id, group: id.split("/")[0], status: "not run", settings: {}, evals: [] });
      continue;
    }
    const result = validateRunResult(readJsonFile(resultPath), resultPath);
    const metricsPath = join(runDir, "metrics.ndjson");
    const evals = existsSync(metricsPath) ? readMetrics(metricsPath).filter((r): r is EvalRecord => r.type === "eval") : [];
    const envPath = join(runDir, "environment.json");
    const environment = existsSync(envPath) ? readJsonFile(envPath) : undefined;
    runs.push({
      id,
      group: id.split("/")[0],
      status: result.status,
      settings: result.settings,
      evals,
      environment: typeof environment === "object" && environment !== null && !Array.isArray(environment) ? (environment as Record<string, unknown>) : undefined,
      final: evals.at(-1),
    });
  }
  return { sweep, runs };
}

/** The mean curve of several runs evaluated at the same updates (error and time averaged). */
function meanCurve(runs: RunOutcome[]): EvalRecord[] {
  const steps = runs[0].evals.map((e) => e.step).filter((s) => runs.every((r) => r.evals.some((e) => e.step === s)));
  return steps.map((step) => {
    const at = runs.map((r) => r.evals.find((e) => e.step === step)!);
    return { type: "eval", step, time: at.reduce((s, e) => s + e.time, 0) / at.length, train: at.reduce((s, e) => s + e.train, 0) / at.length, heldOut: at.reduce((s, e) => s + (e.heldOut ?? NaN), 0) / at.length };
  });
}

/** First evaluation at which `key` is at or below the target. */
function reach(evals: EvalRecord[], target: number, key: "train" | "trainAverage"): EvalRecord | undefined {
  return evals.find((e) => typeof e[key] === "number" && (e[key] as number) <= target);
}

const fmt = (x: number | undefined, digits = 4) => (x === undefined || x === null || !Number.isFinite(x) ? "–" : x.toPrecision(digits));

export async function main(argv: string[]): Promise<void> {
  await runCli("bench report", async () => {
    const { values, positionals } = parseFlags(argv, { out: { type: "string" }, help: { type: "boolean" } }, true);
    if (values.help || positionals.length !== 1) {
      console.log("usage: bun run bench report SWEEP_DIR [--out DIR]   (default DIR: SWEEP_DIR)");
      return values.help ? 0 : 1;
    }
    const dir = positionals[0];
    const out = values.out ?? dir;
    mkdirSync(out, { recursive: true });
    const { sweep, runs } = loadRuns(dir);
    // Written only over earlier reports: a folder's own report.md or images are left as they are.
    checkOutput(join(out, "report.md"), { ext: "md", name: "a sweep report", magic: "# Sweep report" });
    for (const name of ["training-error", "held-out-error"]) {
      checkOutput(join(out, `${name}.svg`), SVG);
      checkOutput(join(out, `${name}.png`), PNG);
    }
    const done = runs.filter((r) => r.status === "done" && r.final);
    const adam = done.filter((r) => r.group === "adam").sort((a, b) => a.final!.train - b.final!.train);
    const secondOrder = done.filter((r) => ["kfra", "kflr", "kfac"].includes(String(r.settings.opt)));
    const series: RunSeries[] = [];
    const label = (r: RunOutcome) => {
      const s = r.settings;
      if (s.opt === "adam") return `adam lr ${fmt(s.lr as number, 3)}${s.decayFraction ? `, halved every ${(s.decayFraction as number) * 100}%` : ""}`;
      return `${s.opt}${s.factorMomentum === false ? " (no factor momentum)" : ""}`;
    };
    for (const r of secondOrder) series.push({ label: label(r), records: r.evals });
    if (adam.length > 0) series.push({ label: `best Adam (${label(adam[0])})`, records: adam[0].evals });
    for (const k of [10, 20]) if (adam.length >= Math.min(k, 3) && adam.length > 1) series.push({ label: `Adam: mean of top ${Math.min(k, adam.length)}`, records: meanCurve(adam.slice(0, k)) });
    const adamDefault = done.find((r) => r.group === "adam-default");
    if (adamDefault) series.push({ label: "Adam lr 1e-3 (default)", records: adamDefault.evals });

    const figures: string[] = [];
    if (series.length > 0) {
      for (const [metric, name] of [["train", "training-error"], ["heldOut", "held-out-error"]] as const) {
        const points = chartPoints(series, metric);
        const { svg, png } = await renderChart(chartSpec(points, metric, `${sweep.spec.name}${sweep.scale < 1 ? ` (scale ${sweep.scale})` : ""}`));
        writeFileAtomic(join(out, `${name}.svg`), svg);
        writeFileAtomic(join(out, `${name}.png`), png);
        figures.push(name);
      }
    }

    const target = adam[0]?.final?.train;
    const lines: string[] = [];
    const env = done[0]?.environment ?? {};
    lines.push(`# Sweep report: ${sweep.spec.name}${sweep.scale < 1 ? ` at scale ${sweep.scale}` : ""}`, "");
    lines.push(sweep.spec.description, "");
    lines.push(`Runs: ${runs.length} planned, ${done.length} finished, ${runs.filter((r) => r.status === "diverged").length} diverged, ${runs.filter((r) => r.status === "failed").length} failed, ${runs.filter((r) => r.status === "not run").length} not run. Machine: ${env.cpu ?? "?"} (${env.cores ?? "?"} cores), backend ${env.backend ?? "?"} (${env.device ?? "?"}), revision ${env.revision ?? "?"}. Times are training seconds (whole-set evaluations excluded).`, "");
    if (target !== undefined) {
      lines.push(`Target: the best Adam's final training error, **${fmt(target)}** (${label(adam[0])}, after ${adam[0].final!.step} updates, ${fmt(adam[0].final!.time, 3)} s).`, "");
      for (const r of secondOrder) {
        const hit = reach(r.evals, target, "train");
        const hitAvg = reach(r.evals, target, "trainAverage");
        lines.push(`- **${label(r)}**: ${hit ? `reaches it at update ${hit.step}, ${fmt(hit.time, 3)} s` : `does not reach it in ${r.final!.step} updates (final ${fmt(r.final!.train)})`}${hitAvg ? `; its Polyak average θ̂ at update ${hitAvg.step}, ${fmt(hitAvg.time, 3)} s` : ""}.`);
      }
      lines.push("");
    }
    for (const f of figures) lines.push(`![${f}](${f}.png)`, "");
    lines.push("| run | status | updates | seconds | final train error θ | θ̂ | held-out θ | updates to target | seconds to target |", "|---|---|---|---|---|---|---|---|---|");
    for (const r of [...secondOrder, ...adam, ...done.filter((d) => !secondOrder.includes(d) && !adam.includes(d)), ...runs.filter((x) => x.status !== "done")]) {
      const hit = target !== undefined ? reach(r.evals, target, "train") : undefined;
      const f = r.final;
      lines.push(`| ${r.id} | ${r.status} | ${f?.step ?? "–"} | ${fmt(f?.time, 4)} | ${fmt(f?.train)} | ${fmt(f?.trainAverage)} | ${fmt(f?.heldOut)} | ${hit?.step ?? "–"} | ${fmt(hit?.time, 4)} |`);
    }
    lines.push("", "## Spec", "", "```json", JSON.stringify(sweep.spec, null, 2), "```", "", `Scale: ${sweep.scale}. Regenerate with \`bun run bench sweep ${sweep.spec.name} --scale ${sweep.scale}\` then \`bun run bench report ${dir}\`.`, "");
    writeFileAtomic(join(out, "report.md"), lines.join("\n"));
    console.error(`report: wrote ${join(out, "report.md")}${figures.length ? ` and ${figures.map((f) => `${f}.png`).join(", ")}` : ""}`);
  });
}
