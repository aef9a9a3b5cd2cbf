// `bun run bench alignment-report FILE… --out DIR [--note TEXT] [--command TEXT]`: the files of `bench alignment`
// (one per seed) as a Markdown report: per method, the cosine with the exact damped Gauss–Newton
// direction at each measured update as mean (min–max) over the seeds, drawn as a line in a band;
// the conjugate-gradient iterations and final relative residuals; the paired comparison of the
// methods point by point; the cosines per layer.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bandChartSpec, parseFlags, renderChart, UsageError, writeFileAtomic } from "../src/bench-internals.ts";
import { type Spread, formatSpread, spread } from "./_seeds.ts";
import type { AlignmentPoint, AlignmentSettings } from "./alignment.ts";

export interface AlignmentRun {
  settings: AlignmentSettings;
  points: AlignmentPoint[];
}

export function readAlignmentFile(path: string): AlignmentRun {
  const lines = readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
  const settings = lines.find((l) => l.type === "settings");
  if (!settings) throw new UsageError(`${path}: no settings line; is it a bench alignment file?`);
  return { settings, points: lines.filter((l) => l.type === "point") };
}

/** Per measured update: each series' cosine spread over the runs that measured it there. */
export function cosineBands(runs: AlignmentRun[], series: string[]): { step: number; cosine: Record<string, Spread | undefined>; iterations: Spread; residual: Spread }[] {
  const steps = [...new Set(runs.flatMap((r) => r.points.map((p) => p.step)))].sort((a, b) => a - b);
  return steps.map((step) => {
    const at = runs.map((r) => r.points.find((p) => p.step === step)).filter((p): p is AlignmentPoint => p !== undefined);
    return {
      step,
      cosine: Object.fromEntries(series.map((s) => [s, spread(at.map((p) => p.cosine[s]))])),
      iterations: spread(at.map((p) => p.cg.iterations))!,
      residual: spread(at.map((p) => p.cg.relativeResidual))!,
    };
  });
}

/** Over every (run, update) pair: how often series a's cosine exceeds b's, and the mean difference a − b. */
export function pairedComparison(runs: AlignmentRun[], a: string, b: string): { pairs: number; aHigher: number; meanDifference: number; difference: Spread | undefined } {
  const differences = runs.flatMap((r) => r.points.map((p) => p.cosine[a] - p.cosine[b])).filter(Number.isFinite);
  const s = spread(differences);
  return { pairs: differences.length, aHigher: differences.filter((d) => d > 0).length, meanDifference: s?.mean ?? NaN, difference: s };
}

const three = (x: number) => x.toFixed(3);

export async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, { out: { type: "string" }, command: { type: "string" }, note: { type: "string" }, help: { type: "boolean" } }, true);
  const usage = "usage: bun run bench alignment-report FILE… --out DIR [--note TEXT] [--command TEXT]   (FILE: bench alignment's output, one per seed; --note: a paragraph on the setting)";
  if (values.help) {
    console.log(usage);
    return;
  }
  if (positionals.length === 0 || !values.out) throw new UsageError(usage);
  const runs = positionals.map(readAlignmentFile);
  const first = runs[0].settings;
  const series = [...first.methods, "gradient"];
  const bands = cosineBands(runs, series);
  mkdirSync(values.out, { recursive: true });

  const chartPoints = bands.flatMap((b) => series.filter((s) => b.cosine[s]).map((s) => ({ series: s === "gradient" ? "gradient ∇f" : s, x: b.step, mean: b.cosine[s]!.mean, min: b.cosine[s]!.min, max: b.cosine[s]!.max })));
  const title = `cos(δ̃, exact damped Gauss–Newton direction), ${first.sizes.join("-")}, batch ${first.batch}`;
  const { svg, png } = await renderChart(bandChartSpec(chartPoints, { title, x: "updates (KFRA trajectory)", y: "cosine similarity" }));
  writeFileAtomic(join(values.out, "alignment.svg"), svg);
  writeFileAtomic(join(values.out, "alignment.png"), png);

  const lines: string[] = [];
  lines.push(`# Alignment with the exact damped Gauss–Newton direction along training`, "");
  const trajectories = runs.map((r) => `seed ${r.settings.seed}: \`train ${r.settings.trainFlags.join(" ")}\`, measured up to update ${Math.max(...r.points.map((p) => p.step))}`).join("; ");
  lines.push(`Network ${first.sizes.join("-")}, batch ${first.batch}, damping preset ${first.damping}; trajectories (${trajectories}). Before update 1 and every ${first.every} updates, on the minibatch of the next update, each method's direction δ̃ = (Q ⊗ G + factored damping)⁻¹ ∇f is formed from that minibatch's own factors (no momentum) with the run's γ, and compared with x solving (Ḡ + (γ + η) I) x = ∇f, η = ${first.weightDecay}, found by conjugate gradients until the relative residual ‖∇f − (Ḡ + (γ+η)I) x‖ / ‖∇f‖ is below ${first.tolerance} (at most ${first.maxIterations} iterations). "gradient" is ∇f itself, for scale. Cosines over all parameters; mean (min–max) over the seeds.`, "");
  if (values.note) lines.push(values.note, "");
  const unconverged = runs.flatMap((r) => r.points.filter((p) => !(p.cg.relativeResidual < first.tolerance)).map((p) => `seed ${r.settings.seed} update ${p.step} (${p.cg.relativeResidual.toExponential(2)})`));
  const allResiduals = spread(runs.flatMap((r) => r.points.map((p) => p.cg.relativeResidual)))!;
  const allIterations = spread(runs.flatMap((r) => r.points.map((p) => p.cg.iterations)))!;
  lines.push(`Conjugate gradients: ${allIterations.n} solves, ${formatSpread(allIterations, (x) => x.toFixed(0))} iterations, final relative residual ${formatSpread(allResiduals, (x) => x.toExponential(2))}; ${unconverged.length === 0 ? `every solve reached ${first.tolerance}` : `not below ${first.tolerance}: ${unconverged.join(", ")}`}.`, "");
  lines.push("![alignment](alignment.png)", "");

  lines.push("## Over the whole run", "", "| method | cosine, mean over all updates and seeds (min–max) |", "|---|---|");
  for (const s of series) lines.push(`| ${s} | ${formatSpread(spread(runs.flatMap((r) => r.points.map((p) => p.cosine[s]))), three)} |`);
  lines.push("", "Paired, point by point (same seed, same update, same minibatch):", "");
  lines.push("| comparison | pairs | first higher | difference, mean (min–max) |", "|---|---|---|---|");
  for (const [a, b] of [["kfra", "kfac"], ["kflr", "kfac"], ["kfra", "kflr"]]) {
    if (!series.includes(a) || !series.includes(b)) continue;
    const c = pairedComparison(runs, a, b);
    lines.push(`| ${a} − ${b} | ${c.pairs} | ${c.aHigher} | ${formatSpread(c.difference, three)} |`);
  }
  lines.push("");

  lines.push("## At each measured update", "", `| update | ${series.join(" | ")} | CG iterations | CG residual |`, `|---|${series.map(() => "---|").join("")}---|---|`);
  for (const b of bands) lines.push(`| ${b.step} | ${series.map((s) => formatSpread(b.cosine[s], three)).join(" | ")} | ${formatSpread(b.iterations, (x) => x.toFixed(0))} | ${formatSpread(b.residual, (x) => x.toExponential(2))} |`);
  lines.push("");

  const layers = runs[0].points[0]?.perLayer[series[0]]?.length ?? 0;
  lines.push("## Per layer", "", "cos(δ̃_λ, x_λ) of each layer's part of the directions, mean over all updates and seeds (min–max).", "");
  lines.push(`| layer | ${series.join(" | ")} |`, `|---|${series.map(() => "---|").join("")}`);
  for (let l = 0; l < layers; l++) lines.push(`| ${l + 1} (${first.sizes[l]}→${first.sizes[l + 1]}) | ${series.map((s) => formatSpread(spread(runs.flatMap((r) => r.points.map((p) => p.perLayer[s]?.[l]))), three)).join(" | ")} |`);
  lines.push("");
  const withShares = runs.flatMap((r) => r.points).filter((p) => p.normShare);
  if (withShares.length > 0) {
    const columns = [...series, "exact"];
    lines.push("## Each layer's share of the direction's length", "", `‖v_λ‖² / ‖v‖² for each direction v and for the exact solution x, mean over the ${withShares.length} points that recorded it (min–max). A direction whose shares differ from the exact ones is mis-scaled between layers, which lowers its whole-vector cosine even where every layer's own cosine is high.`, "");
    lines.push(`| layer | ${columns.join(" | ")} |`, `|---|${columns.map(() => "---|").join("")}`);
    for (let l = 0; l < layers; l++) lines.push(`| ${l + 1} | ${columns.map((s) => formatSpread(spread(withShares.map((p) => p.normShare![s]?.[l])), three)).join(" | ")} |`);
    lines.push("");
  }
  if (values.command) lines.push("## Commands", "", "```sh", values.command, "```", "");
  writeFileAtomic(join(values.out, "report.md"), lines.join("\n"));
  console.error(`alignment-report: wrote ${join(values.out, "report.md")} and alignment.png`);
}
