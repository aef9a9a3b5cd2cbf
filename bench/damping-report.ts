// `bun run bench damping-report FILE… --out DIR [--command TEXT]`: the files of `bench damping` as a
// Markdown report: for each run and each analysed update, the γ candidates' cosine with the gradient,
// Gauss–Newton curvature along δ, predicted change M(α*) at the run's τ and at the other τ values,
// α* and ρ, and the Kronecker factors' curvature along the gradient against the exact blocks'; and a
// figure of −M(α*) against γ at each analysed update, the γ the run held marked.
import { mkdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type * as vegaLite from "vega-lite";
import { UsageError, parseFlags, renderChart, writeFileAtomic } from "../src/bench-internals.ts";
import type { CandidateRow } from "./damping.ts";

interface DampingPoint {
  step: number;
  tau: number;
  gamma: number;
  objective: number;
  layers: { layer: number; kronecker: number; exact: number }[];
  rows: CandidateRow[];
}

interface DampingFile {
  trainFlags: string[];
  taus: number[];
  points: DampingPoint[];
}

const e = (x: number, digits = 2) => (Number.isFinite(x) ? x.toExponential(digits) : "–");

function landscapeSpec(name: string, points: DampingPoint[]): vegaLite.TopLevelSpec {
  const values = points.flatMap((p) => p.rows.map((r) => ({ update: `before update ${p.step + 1} (τ ${p.tau.toPrecision(2)})`, order: p.step, gamma: r.gamma, decrease: -r.predicted, held: r.gamma === p.gamma })));
  const color = { field: "update", type: "nominal" as const, title: "", sort: { field: "order" } };
  const x = { field: "gamma", type: "quantitative" as const, title: "γ of the candidate direction", scale: { type: "log" as const } };
  const y = { field: "decrease", type: "quantitative" as const, title: "predicted decrease −M(α*) at the run's τ", scale: { type: "log" as const } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: name,
    width: 480,
    height: 320,
    data: { values },
    layer: [
      { mark: { type: "line", point: true }, encoding: { x, y, color, order: { field: "gamma" } } },
      { transform: [{ filter: "datum.held" }], mark: { type: "point", shape: "diamond", size: 160, filled: true }, encoding: { x, y, color } },
    ],
    config: { background: "white", font: "DejaVu Sans, sans-serif", legend: { labelLimit: 400 } },
  } as vegaLite.TopLevelSpec;
}

export async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, { out: { type: "string" }, command: { type: "string" }, help: { type: "boolean" } }, true);
  const usage = "usage: bun run bench damping-report FILE… --out DIR [--command TEXT]   (FILE: bench damping's output)";
  if (values.help) {
    console.log(usage);
    return;
  }
  if (positionals.length === 0 || !values.out) throw new UsageError(usage);
  mkdirSync(values.out, { recursive: true });
  const lines = ["# What the greedy γ search sees (bench damping)", ""];
  lines.push("Before the listed updates of each run, on that update's minibatch and with the run's own averaged factors, the direction δ(γ) for each candidate γ (docs/algorithm.md §6.2): its cosine with ∇f, the exact Gauss–Newton curvature along it δᵀḠδ/‖δ‖², the predicted change M(α*) = −½(δᵀ∇f)²/(δᵀḠδ + (τ+η)‖δ‖²) at the run's τ and at other τ, α* at the run's τ and the reduction ratio ρ of that step on the same minibatch. **held**: the γ the run held then. The layer line is gᵀ(Q̄⊗Ḡ)g / gᵀḠ_λλg per layer: the factors' curvature along the gradient over the exact Gauss–Newton block's (1 = same scale). The figures draw −M(α*) against γ, the held γ as a diamond.", "");
  for (const file of positionals) {
    const data = JSON.parse(readFileSync(file, "utf8")) as DampingFile;
    const name = basename(file).replace(/\.json$/, "");
    const { svg, png } = await renderChart(landscapeSpec(`${name}: train ${data.trainFlags.join(" ")}`, data.points));
    writeFileAtomic(join(values.out, `${name}.svg`), svg);
    writeFileAtomic(join(values.out, `${name}.png`), png);
    lines.push(`## ${name}`, "", `\`train ${data.trainFlags.join(" ")}\``, "", `![${name}](${name}.png)`, "");
    for (const p of data.points) {
      const best = p.rows.reduce((a, b) => (b.predicted < a.predicted ? b : a));
      lines.push(`### Before update ${p.step + 1}: τ ${p.tau.toPrecision(3)}, γ ${p.gamma.toPrecision(3)}, f ${p.objective.toPrecision(5)}; lowest M(α*) at γ ${best.gamma}`, "");
      lines.push(`gᵀ(Q̄⊗Ḡ)g / gᵀḠ_λλg by layer: ${p.layers.map((l) => (l.kronecker / l.exact).toPrecision(3)).join(", ")}`, "");
      lines.push(`| γ | cos(δ, ∇f) | δᵀḠδ/‖δ‖² | M(α*) at τ ${p.tau.toPrecision(3)} | ${data.taus.map((t) => `M(α*) at τ ${t}`).join(" | ")} | α* | ρ |`, `|---|---|---|---|${data.taus.map(() => "---|").join("")}---|---|`);
      for (const r of p.rows) lines.push(`| ${r.gamma.toPrecision(4)}${r.gamma === p.gamma ? " (held)" : ""} | ${r.cosineWithGradient.toFixed(4)} | ${e(r.rayleigh)} | ${e(r.predicted, 3)} | ${data.taus.map((t) => e(r.predictedAt[String(t)], 3)).join(" | ")} | ${e(r.alpha)} | ${r.rho.toFixed(3)} |`);
      lines.push("");
    }
  }
  if (values.command) lines.push("## Commands", "", "```sh", values.command, "```", "");
  writeFileAtomic(join(values.out, "report.md"), lines.join("\n"));
  console.error(`damping-report: wrote ${join(values.out, "report.md")}`);
}
