// `bun run sweep report SWEEP_DIR [--out DIR] [--target E[,E…]] [--note TEXT]`: a Markdown report of a sweep.
// Runs that differ only in seed form one method, drawn as its mean over the seeds inside a min–max
// band. Figures of training error per update and per second (every second-order method, the best
// Adam setting, the mean of the top 10 and top 20 Adam settings and Adam at the default 1e-3, as in
// the paper's Figure 2: factor momentum dashed); the updates and seconds each method needs to reach
// a target (the best Adam's final error, or --target) as mean and min–max over the seeds that reach
// it; a table per method of every evaluation over its seeds; a table of every run; the spec. Where the
// runs are classifiers (their evaluations record accuracy), a figure of held-out accuracy per update
// and per second, and held-out accuracy of θ and θ̂ in the tables.
import { join } from "node:path";
import { parseDecimal, parseFlags } from "../flags.ts";
import { writeFileAtomic } from "../io/atomicWrite.ts";
import { type BandSeries, type Point, type RunSeries, bandPoints, chartPoints, chartSpec, renderChart } from "../plot/chart.ts";
import type { EvalRecord } from "../run/metrics.ts";
import { PNG, SVG, checkOutput, makeOutputDir } from "../io/outputs.ts";
import { UsageError } from "../errors.ts";
import { runCli } from "../io/program.ts";
import { type AccuracyKey, type BandPoint, type ErrorKey, type Spread, firstReaching, formatSpread, groupBySeed, seedBand, spread, toTarget } from "./seeds.ts";
import { type RunOutcome, loadSweepRuns } from "./runs.ts";

const SECOND_ORDER = ["kfra", "kflr", "kfac"];

interface Method {
  key: string;
  label: string;
  runs: RunOutcome[];
  /** The runs with evaluations (a failed run has none). */
  evaluated: RunOutcome[];
  band: BandPoint[];
  secondOrder: boolean;
  factorMomentum: boolean;
}

const fmt = (x: number | undefined | null, digits = 4) => (x === undefined || x === null || !Number.isFinite(x) ? "–" : x.toPrecision(digits));
const whole = (x: number) => Math.round(x).toLocaleString("en-US");
/** Accuracy as a percentage to 0.01 (one sample in 10,000 held-out samples). */
const percent = (x: number) => `${(100 * x).toFixed(2)}%`;
const fmtPercent = (x: number | undefined | null) => (x === undefined || x === null || !Number.isFinite(x) ? "–" : percent(x));

/** Grid axes the labels below name in words; any other (hidden, batch, data, ...) is named as "key value". */
const NAMED_AXES = ["opt", "seed", "lr", "decayFraction", "factorMomentum", "damping"];

function label(settings: Record<string, unknown>): string {
  const s = settings;
  const others = Object.entries(s).filter(([k]) => !NAMED_AXES.includes(k)).map(([k, v]) => `${k} ${v}`).join(", ");
  const more = others ? `; ${others}` : "";
  if (!SECOND_ORDER.includes(String(s.opt))) {
    if (s.lr === undefined) return `${s.opt}${others ? ` (${others})` : ""}`;
    return `${s.opt} lr ${fmt(s.lr as number, 3)}${s.decayFraction ? `, halved every ${(s.decayFraction as number) * 100}%` : ""}${more}`;
  }
  const details = [s.factorMomentum === false ? "no factor momentum" : "", s.damping === "adaptive" ? "adaptive damping" : "", others].filter(Boolean);
  return `${s.opt}${details.length ? ` (${details.join(", ")})` : ""}`;
}

function methodsOf(runs: RunOutcome[]): Method[] {
  const methods: Method[] = [];
  for (const [key, seeds] of groupBySeed(runs.filter((r) => r.status !== "not run"))) {
    const evaluated = seeds.filter((r) => r.evals.length > 0);
    const settings = seeds[0].settings;
    const secondOrder = SECOND_ORDER.includes(String(settings.opt));
    methods.push({ key, label: label(settings), runs: seeds, evaluated, band: seedBand(evaluated.map((r) => r.evals)), secondOrder, factorMomentum: secondOrder && settings.factorMomentum !== false });
  }
  // Methods told apart only by their group's extra flags are named by their group too.
  const shared = methods.filter((m) => methods.some((o) => o !== m && o.label === m.label));
  for (const m of shared) m.label = `${m.runs[0].group}: ${m.label}`;
  return methods;
}

const lastPoint = (m: Method) => m.band.at(-1);
const finalTrain = (m: Method) => lastPoint(m)?.errors.train?.mean ?? Infinity;

type BandKey = ErrorKey | AccuracyKey;
const bandValue = (p: BandPoint, k: BandKey): Spread | undefined => (p.errors as Record<string, Spread>)[k] ?? (p.accuracy as Record<string, Spread>)[k];
const BAND_KEYS: Record<"train" | "heldOut" | "accuracy", [BandKey, BandKey]> = {
  train: ["train", "trainAverage"],
  heldOut: ["heldOut", "heldOutAverage"],
  accuracy: ["heldOutAccuracy", "heldOutAverageAccuracy"],
};

/** The method's band of one error (or of held-out accuracy) as chart values. */
function bandSeries(m: Method, metric: "train" | "heldOut" | "accuracy", name = m.label): BandSeries {
  const [key, averageKey] = BAND_KEYS[metric];
  const values = (k: BandKey) =>
    m.band.flatMap((p) => {
      const v = bandValue(p, k);
      return v ? [{ update: p.step, seconds: p.seconds.mean, mean: v.mean, min: v.min, max: v.max }] : [];
    });
  return { label: name, factorMomentum: m.factorMomentum, theta: values(key), average: values(averageKey) };
}

/** The mean over methods of their mean curves, at the updates all of them were evaluated at. */
function meanOfMethods(methods: Method[]): EvalRecord[] {
  const steps = methods[0].band.map((p) => p.step).filter((s) => methods.every((m) => m.band.some((p) => p.step === s)));
  return steps.map((step) => {
    const at = methods.map((m) => m.band.find((p) => p.step === step)!);
    const mean = (f: (p: BandPoint) => number | undefined) => spread(at.map(f))?.mean ?? NaN;
    return { type: "eval", step, time: mean((p) => p.seconds.mean), train: mean((p) => p.errors.train?.mean), heldOut: mean((p) => p.errors.heldOut?.mean), heldOutAccuracy: mean((p) => p.accuracy.heldOutAccuracy?.mean) };
  });
}

/**
 * The error axis of the report's figures: from the lowest value drawn to the highest after update 0,
 * so that the initial error (hundreds on the autoencoders) does not flatten everything after it; an
 * accuracy axis, the other way round: from the lowest after update 0 (chance, at update 0) to the highest.
 */
function errorAxis(points: Point[], accuracy = false): [number, number] | undefined {
  const later = points.filter((p) => p.update > 0);
  const low = Math.min(...(accuracy ? later : points).map((p) => p.low ?? p.error));
  const high = Math.max(...(accuracy ? points : later).map((p) => p.high ?? p.error));
  return Number.isFinite(low) && Number.isFinite(high) && high > low ? [low, high] : undefined;
}

/** The smallest gap between a method's evaluations: the resolution of "updates to target". */
function evalPeriod(methods: Method[]): number | undefined {
  const gaps = methods.flatMap((m) => m.band.slice(1).map((p, i) => p.step - m.band[i].step));
  return gaps.length ? Math.min(...gaps) : undefined;
}

function seedsCell(m: Method): string {
  const counts: Record<string, number> = {};
  for (const r of m.runs) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return Object.entries(counts).map(([status, n]) => `${n} ${status}`).join(", ");
}

export async function main(argv: string[], program = "sweep report"): Promise<void> {
  await runCli(program, async () => {
    const { values, positionals } = parseFlags(argv, { out: { type: "string" }, target: { type: "string" }, note: { type: "string" }, help: { type: "boolean" } }, true);
    if (values.help || positionals.length !== 1) {
      console.log("usage: bun run sweep report SWEEP_DIR [--out DIR] [--target E[,E…]] [--note TEXT]   (default DIR: SWEEP_DIR; default target: the best Adam setting's final training error; --note: a paragraph under the description)");
      return values.help ? 0 : 1;
    }
    const dir = positionals[0];
    const out = values.out ?? dir;
    const givenTargets = values.target === undefined ? undefined : values.target.split(",").map((t) => parseDecimal(t) ?? Number.NaN);
    if (givenTargets?.some((t) => !Number.isFinite(t) || t <= 0)) throw new UsageError(`--target '${values.target}': expected positive numbers, comma-separated`);
    const { sweep, runs } = loadSweepRuns(dir);
    // Written only over earlier reports: a folder's own report.md or images are left as they are.
    checkOutput(join(out, "report.md"), { ext: "md", name: "a sweep report", magic: "# Sweep report" });
    for (const name of ["training-error", "held-out-error", "held-out-accuracy"]) {
      checkOutput(join(out, `${name}.svg`), SVG);
      checkOutput(join(out, `${name}.png`), PNG);
    }
    makeOutputDir(out);
    const methods = methodsOf(runs);
    const secondOrder = methods.filter((m) => m.secondOrder && m.evaluated.length > 0);
    const adam = methods.filter((m) => m.runs[0].group === "adam" && m.runs.every((r) => r.status === "done")).sort((a, b) => finalTrain(a) - finalTrain(b));
    const adamDefault = methods.find((m) => m.runs[0].group === "adam-default" && m.evaluated.length > 0);
    const best = adam[0];
    const targets = givenTargets ?? (best ? [finalTrain(best)] : []);
    const title = `${sweep.spec.name}${sweep.scale < 1 ? ` (scale ${sweep.scale})` : ""}`;
    const classifier = methods.some((m) => m.band.some((p) => p.accuracy.heldOutAccuracy));
    const accuracyCells = (p: BandPoint | undefined) => (classifier ? ` ${formatSpread(p?.accuracy.heldOutAccuracy, percent)} | ${formatSpread(p?.accuracy.heldOutAverageAccuracy, percent)} |` : "");
    const accuracyHeads = classifier ? " held-out accuracy θ | held-out accuracy θ̂ |" : "";
    const accuracyRule = classifier ? "---|---|" : "";

    const figures: string[] = [];
    const figureKinds: ["train" | "heldOut" | "accuracy", string][] = [["train", "training-error"], ["heldOut", "held-out-error"], ...(classifier ? [["accuracy", "held-out-accuracy"] as ["accuracy", string]] : [])];
    for (const [metric, name] of figureKinds) {
      const bands: BandSeries[] = secondOrder.map((m) => bandSeries(m, metric));
      if (best) bands.push(bandSeries(best, metric, `best Adam (${best.label})`));
      if (adamDefault) bands.push(bandSeries(adamDefault, metric, "Adam lr 1e-3 (default)"));
      const lines: RunSeries[] = [];
      for (const k of [10, 20]) if (adam.length > 1 && adam.length >= Math.min(k, 3)) lines.push({ label: `Adam: mean of top ${Math.min(k, adam.length)}`, records: meanOfMethods(adam.slice(0, k)) });
      const points = [...bandPoints(bands), ...chartPoints(lines, metric)];
      if (points.length === 0) continue;
      const { svg, png } = await renderChart(chartSpec(points, metric, title, { yDomain: errorAxis(points, metric === "accuracy") }));
      writeFileAtomic(join(out, `${name}.svg`), svg);
      writeFileAtomic(join(out, `${name}.png`), png);
      figures.push(name);
    }

    const lines: string[] = [];
    const env = runs.find((r) => r.environment)?.environment ?? {};
    const count = (status: string) => runs.filter((r) => r.status === status).length;
    lines.push(`# Sweep report: ${sweep.spec.name}${sweep.scale < 1 ? ` at scale ${sweep.scale}` : ""}`, "", sweep.spec.description, "");
    if (values.note) lines.push(values.note, "");
    lines.push(`Runs: ${runs.length} (planned or found), ${count("done")} finished, ${count("diverged")} diverged, ${count("failed")} failed, ${count("cut")} cut short, ${count("not run")} not run. Machine: ${env.cpu ?? "?"} (${env.cores ?? "?"} cores), backend ${env.backend ?? "?"} (${env.device ?? "?"}), revision ${env.revision ?? "?"}. Times are training seconds (whole-set evaluations excluded).`, "");
    const seeded = methods.filter((m) => m.evaluated.length > 1);
    if (seeded.length > 0) lines.push("Runs that differ only in seed form one method: its figures and tables give the mean over the seeds and, in parentheses or as the shaded band, the smallest and largest value (min–max). A seed cut short counts only at the evaluations it reached.", "");
    for (const m of methods) {
      const fewer = m.band.find((p) => p.seconds.n < m.evaluated.length);
      if (fewer) lines.push(`- ${m.label}: from update ${fewer.step} on, over ${fewer.seconds.n} of its ${m.evaluated.length} seeds (${m.runs.filter((r) => r.status === "cut").map((r) => `${r.id} cut short, last evaluated at update ${r.evals.at(-1)?.step ?? 0}`).join("; ") || "runs of different lengths"}).`);
      const failed = m.runs.filter((r) => r.status === "failed");
      for (const reason of new Set(failed.map((r) => r.reason ?? "no reason recorded"))) lines.push(`- ${failed.filter((r) => (r.reason ?? "no reason recorded") === reason).map((r) => r.id).join(", ")} failed: ${reason}`);
    }
    if (lines.at(-1) !== "") lines.push("");

    if (targets.length > 0) {
      const period = evalPeriod(secondOrder);
      lines.push(givenTargets ? `Targets (given): ${targets.map((t) => `**${fmt(t)}**`).join(", ")}.` : `Target: the best Adam setting's final training error, **${fmt(targets[0])}** (${best.label}, ${formatSpread(lastPoint(best)?.errors.train)} after ${lastPoint(best)!.step} updates, ${formatSpread(lastPoint(best)?.seconds, (x) => x.toPrecision(3))} s).`);
      lines.push(`"To target" is the first whole-set evaluation at or below it${period ? ` (second-order runs are evaluated every ${period} updates, so that is its resolution)` : ""}; mean (min–max) over the seeds that reach it.`, "");
      lines.push("| method | target | seeds reaching it | updates to target | seconds to target | θ̂: seeds reaching it | θ̂: updates to target |", "|---|---|---|---|---|---|---|");
      for (const m of [...secondOrder, ...adam.slice(0, 1)]) {
        const seeds = m.evaluated.map((r) => ({ evals: r.evals, finished: r.status !== "cut" }));
        for (const t of targets) {
          const hit = toTarget(seeds, t, "train");
          const hitAverage = toTarget(seeds, t, "trainAverage");
          const reached = (h: typeof hit) => `${h.reached} of ${h.seeds}${h.cut ? ` (${h.cut} cut short before it)` : ""}`;
          lines.push(`| ${m.label} | ${fmt(t)} | ${reached(hit)} | ${formatSpread(hit.updates, whole)} | ${formatSpread(hit.seconds, (x) => x.toPrecision(3))} | ${m.secondOrder ? reached(hitAverage) : "–"} | ${m.secondOrder ? formatSpread(hitAverage.updates, whole) : "–"} |`);
        }
      }
      lines.push("");
    }
    if (figures.length > 0) lines.push(`The figures' error axes start after update 0 (the initial error lies above them${classifier ? "; the accuracy axis starts at the lowest accuracy after update 0, chance lies below it" : ""}); dashed: momentum on the curvature factors, solid: none (or first-order), as in the paper's Figure 2; the lower row is the Polyak average θ̂.`, "");
    for (const f of figures) lines.push(`![${f}](${f}.png)`, "");

    lines.push("## Methods at their last evaluation", "", "Mean (min–max) over the seeds evaluated there.", "");
    lines.push(`| method | seeds | update | seconds | train error θ | θ̂ | held-out θ |${accuracyHeads}`, `|---|---|---|---|---|---|---|${accuracyRule}`);
    for (const m of [...secondOrder, ...adam, ...methods.filter((x) => !secondOrder.includes(x) && !adam.includes(x))]) {
      const p = lastPoint(m);
      lines.push(`| ${m.label} | ${seedsCell(m)} | ${p?.step ?? "–"} | ${formatSpread(p?.seconds)} | ${formatSpread(p?.errors.train)} | ${formatSpread(p?.errors.trainAverage)} | ${formatSpread(p?.errors.heldOut)} |${accuracyCells(p)}`);
    }
    lines.push("");

    if (seeded.length > 0) {
      lines.push("## Every evaluation, per method", "");
      for (const m of seeded) {
        // τ and γ where the run adapts them: as the update at that evaluation left them.
        const adapted = m.runs.some((r) => new Set([...r.damping.values()].map((d) => `${d.tau},${d.gamma}`)).size > 1);
        const damping = (step: number, key: "tau" | "gamma") => formatSpread(spread(m.evaluated.map((r) => r.damping.get(step)?.[key])), (x) => x.toPrecision(3));
        lines.push(`### ${m.label}`, "", `| update | seeds | seconds | train error θ | θ̂ | held-out θ |${accuracyHeads}${adapted ? " τ | γ |" : ""}`, `|---|---|---|---|---|---|${accuracyRule}${adapted ? "---|---|" : ""}`);
        for (const p of m.band) lines.push(`| ${p.step} | ${p.seconds.n} | ${formatSpread(p.seconds)} | ${formatSpread(p.errors.train)} | ${formatSpread(p.errors.trainAverage)} | ${formatSpread(p.errors.heldOut)} |${accuracyCells(p)}${adapted ? ` ${damping(p.step, "tau")} | ${damping(p.step, "gamma")} |` : ""}`);
        lines.push("");
      }
    }

    lines.push("## Runs", "");
    lines.push(`| run | status | updates | seconds | final train error θ | θ̂ | held-out θ | updates to target | seconds to target |${accuracyHeads}`, `|---|---|---|---|---|---|---|---|---|${accuracyRule}`);
    const ordered = [...secondOrder, ...adam, ...methods.filter((x) => !secondOrder.includes(x) && !adam.includes(x))].flatMap((m) => m.runs);
    for (const r of [...ordered, ...runs.filter((x) => !ordered.includes(x))]) {
      const hit = targets.length > 0 ? firstReaching(r.evals, targets[0]) : undefined;
      const f = r.final;
      lines.push(`| ${r.id} | ${r.status} | ${f?.step ?? "–"} | ${fmt(f?.time, 4)} | ${fmt(f?.train)} | ${fmt(f?.trainAverage)} | ${fmt(f?.heldOut)} | ${hit?.step ?? "–"} | ${fmt(hit?.time, 4)} |${classifier ? ` ${fmtPercent(f?.heldOutAccuracy)} | ${fmtPercent(f?.heldOutAverageAccuracy)} |` : ""}`);
    }
    const regenerate = `bun run sweep ${sweep.spec.name} --scale ${sweep.scale}\` then \`bun run sweep report ${dir}${givenTargets ? ` --target ${values.target}` : ""}${values.note ? " --note …" : ""}`;
    lines.push("", "## Spec", "", "```json", JSON.stringify(sweep.spec, null, 2), "```", "", `Scale: ${sweep.scale}. Regenerate with \`${regenerate}\`.`, "");
    writeFileAtomic(join(out, "report.md"), lines.join("\n"));
    console.error(`report: wrote ${join(out, "report.md")}${figures.length ? ` and ${figures.map((f) => `${f}.png`).join(", ")}` : ""}`);
  });
}
