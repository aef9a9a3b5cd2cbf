// `bun run plot RUN_DIR... [--out PREFIX] [--metric errors|train|minibatch|heldOut|accuracy] [--title TEXT]`:
// the whole-set errors of each run against updates and training seconds, to PREFIX.svg and PREFIX.png.
// One run's chart goes in its own directory; a comparison goes to the current directory, never into a run's.
import { basename, isAbsolute, join, relative, resolve, sep } from "node:path";
import { parseFlags } from "../flags.ts";
import { CHART_METRICS, type ChartMetric } from "../plot/chart.ts";
import { plotRuns } from "../plot/runs.ts";
import { UsageError } from "../errors.ts";
import { runCli } from "./runCli.ts";

const HELP = `usage: bun run plot RUN_DIR... [--out PREFIX] [--metric errors|train|minibatch|heldOut|accuracy] [--title TEXT]

Plots each run's error against updates and against training seconds (log scale, axes fitted to the data).
  --out PREFIX     output files PREFIX.svg and PREFIX.png (default: one run, <run>/training-error;
                   several, compare-<run>-<run>… in the current directory; never inside a run's directory)
  --metric NAME    errors: training error (solid) and held-out error (dashed), one colour per run (default);
                   train or heldOut: one of them, with the Polyak average's and the paper's dashes for
                   momentum on the curvature factors; minibatch: every update's minibatch loss;
                   accuracy: the held-out accuracy of θ and θ̂ (classifiers), on a linear axis
  --title TEXT     the chart's title (default: what is drawn, in words)`;

/** Where a comparison is written by default: the current directory, named after the runs. */
function comparisonPrefix(dirs: string[]): string {
  const names = dirs.map((d) => basename(resolve(d)).replace(/[^A-Za-z0-9._-]+/g, "_"));
  const joined = names.join("-");
  return resolve(`compare-${joined.length <= 80 ? joined : `${names[0]}-and-${names.length - 1}-more`}`);
}

await runCli("plot", async () => {
  const { values, positionals } = parseFlags(
    process.argv.slice(2),
    { out: { type: "string" }, metric: { type: "string", default: "errors" }, title: { type: "string" }, help: { type: "boolean" } },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`no run directory given\n${HELP}`);
  const metric = values.metric as ChartMetric;
  if (!CHART_METRICS.includes(metric)) throw new UsageError(`--metric '${metric}': valid values are ${CHART_METRICS.join(", ")}`);
  const comparing = positionals.length > 1;
  const prefix = values.out ?? (comparing ? comparisonPrefix(positionals) : join(positionals[0], "training-error"));
  if (comparing) {
    const within = (dir: string) => {
      const rel = relative(resolve(dir), resolve(prefix));
      return rel === "" || !(rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel));
    };
    const inside = positionals.find(within);
    if (inside) throw new UsageError(`--out ${prefix} lies inside run ${inside}; a comparison is written outside the runs it compares (give --out)`);
  }
  const points = await plotRuns(positionals, metric, prefix, values.title);
  console.error(`plot: wrote ${prefix}.svg and ${prefix}.png (${positionals.length} run${comparing ? "s" : ""}, ${points} points)`);
});
