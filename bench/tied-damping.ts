// `bun run bench tied-damping [train flags] --out RUN_DIR [--eval-every 25]`: a second-order run
// whose factor damping follows τ, γ = τ (so k = √(τ + η), Martens & Grosse's simpler alternative to
// the greedy γ search of docs/algorithm.md §6.2), with τ adapted as in §6.1. No optimiser code
// changes: before every update γ is set to the current τ through the optimiser's restoreScalars,
// and the γ search is turned off (--gamma-period beyond the run). Writes RUN_DIR/config.json,
// metrics.ndjson (step and whole-training-set eval records, as train writes them) and result.json,
// so that `bench report` finds it beside a sweep's runs (DIR/runs/GROUP/NAME).
import { join } from "node:path";
import { MetricsLog, UsageError, isKronecker, parseFlags, writeFileAtomic } from "../src/bench-internals.ts";
import { trainFlagsHelp } from "./_trainFlags.ts";
import { openTrajectory, splitFlags, wholeTrainingSet } from "./_trajectory.ts";
import { RESULT_FILE } from "./_sweepRuns.ts";

const OWN_FLAGS = ["out", "eval-every", "help"] as const;

export async function main(argv: string[]): Promise<void> {
  const split = splitFlags(argv, OWN_FLAGS);
  const { values } = parseFlags(split.own, { out: { type: "string" }, "eval-every": { type: "string", default: "25" }, help: { type: "boolean" } });
  const usage = "usage: bun run bench tied-damping [train flags, e.g. --opt kfra --preset adaptive --steps 300 --seed 0] --out RUN_DIR [--eval-every 25]";
  if (values.help) {
    console.log(`${usage}\n\ntrain flags (as bun run train's):\n${trainFlagsHelp()}`);
    return;
  }
  if (!values.out) throw new UsageError(usage);
  const evalEvery = Number(values["eval-every"]);
  if (!(evalEvery >= 1)) throw new UsageError("--eval-every must be a positive integer");
  const t = await openTrajectory([...split.train, "--gamma-period", "1000000000"]);
  const { run, settings, session } = t;
  if (!isKronecker(run.method) || settings.preset !== "adaptive") {
    await t.close();
    throw new UsageError("bench tied-damping runs a second-order optimiser with --preset adaptive");
  }
  const trainSet = wholeTrainingSet(run);
  const metrics = new MetricsLog(join(values.out, "metrics.ndjson"));
  writeFileAtomic(join(values.out, "metrics.ndjson"), "");
  // As train's config.json: the run's settings as used, under train's names.
  const { batchSize: batch, ...optimizer } = settings;
  const config = { opt: run.method, dataset: run.dataset, task: run.task, arch: run.spec.sizes.join("-"), steps: run.steps, batch, ...optimizer, tieGammaToTau: true, out: values.out };
  writeFileAtomic(join(values.out, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  let tau = settings.tau0;
  let evalSeconds = 0;
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000 - evalSeconds;
  const evaluate = async () => {
    const before = performance.now();
    const average = session.optimizer.averagedWeights;
    metrics.append({ type: "eval", step: t.step, time: elapsed(), train: (await session.network.evaluate(trainSet)).loss, trainAverage: average ? (await session.network.evaluate(trainSet, average)).loss : undefined });
    evalSeconds += (performance.now() - before) / 1000;
  };
  try {
    await evaluate();
    while (t.step < run.steps) {
      await t.loadNext();
      session.engine.restoreScalars({ tau, gamma: tau });
      const report = await t.update();
      tau = report.tau;
      metrics.append({ type: "step", step: t.step, time: elapsed(), dataWaitMs: 0, ...report });
      if (t.step % evalEvery === 0 || t.step === run.steps) await evaluate();
    }
  } finally {
    await t.close();
  }
  const id = values.out.split("/").slice(-2).join("/");
  writeFileAtomic(join(values.out, RESULT_FILE), `${JSON.stringify({ id, status: "done", exitCode: 0, settings: { opt: run.method, damping: settings.preset, seed: settings.seed, tieGammaToTau: true }, argv: ["bench", "tied-damping", ...argv] }, null, 2)}\n`);
  console.error(`bench tied-damping: wrote ${values.out}`);
}
