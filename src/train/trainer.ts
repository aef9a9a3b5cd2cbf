// The training loop: data stream → workspace → optimiser step → metrics, progress, evaluation,
// checkpoints; resumable, and stopped cleanly by Ctrl-C.
import { ExpectedError } from "../errors.ts";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createBackend } from "../backend/index.ts";
import type { Backend } from "../backend/types.ts";
import { datasetFiles, ensureDataset, loadDataset } from "../data/dataset.ts";
import { MinibatchStream } from "../data/stream.ts";
import { writeFileAtomic } from "../io/atomicWrite.ts";
import { allocLayers, initialWeights, uploadLayers } from "../nn/params.ts";
import { type NetworkSpec, describeSpec, parameterCount } from "../nn/spec.ts";
import { BatchWorkspace } from "../nn/workspace.ts";
import { loadCheckpoint, readModelWeights, saveCheckpoint } from "./checkpoint.ts";
import { type TrainConfig, UsageError } from "./config.ts";
import { createOptimizer, networkFor } from "./setup.ts";
import { type EvalData, Evaluator } from "./evaluate.ts";
import { MetricsLog, type StepRecord, readMetrics } from "./metrics.ts";
import { ProgressReporter } from "../cli/progress.ts";
import { CONFIG_FILE, ENVIRONMENT_FILE, METRICS_FILE, describeEnvironment } from "./runFiles.ts";


export class NonFiniteLossError extends ExpectedError {
  constructor(step: number, runDir: string) {
    super(`the minibatch loss became non-finite at step ${step}; stopped. The last finite checkpoint is in ${runDir}`);
  }
}

export interface TrainResult {
  runDir: string;
  steps: number;
  interrupted: boolean;
  finalLoss: number;
}

function defaultRunDir(config: TrainConfig): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  return join("runs", `${config.dataset}-${config.opt}-${stamp}`);
}

/** For --resume: the saved config of the run, with --steps taken from the command line if given. */
export function resumeConfig(dir: string, commandLine: TrainConfig, stepsGiven: boolean): TrainConfig {
  const path = join(dir, CONFIG_FILE);
  if (!existsSync(path)) throw new UsageError(`--resume ${dir}: no ${CONFIG_FILE} there; is it a run directory?`);
  const saved = JSON.parse(readFileSync(path, "utf8")) as TrainConfig;
  return { ...saved, resume: dir, out: dir, steps: stepsGiven ? commandLine.steps : saved.steps, quiet: commandLine.quiet, device: commandLine.device };
}

function evalData(file: string, spec: NetworkSpec, task: TrainConfig["task"]): EvalData {
  const { info, x, labels } = loadDataset(file);
  return {
    x,
    count: info.count,
    dim: info.dim,
    targets: task === "odd-even" && labels ? Float32Array.from(labels, (l) => l % 2) : undefined,
  };
}

/** The run's own chart (whole-set error when it was evaluated twice or more, else minibatch loss). */
async function plotRun(runDir: string, log: (line: string) => void): Promise<void> {
  const evaluations = readMetrics(join(runDir, METRICS_FILE)).filter((r) => r.type === "eval").length;
  const { plotRuns } = await import("../plot/runs.ts");
  try {
    await plotRuns([runDir], evaluations >= 2 ? "train" : "minibatch", join(runDir, "training-error"));
  } catch (error) {
    log(`train: could not draw ${join(runDir, "training-error.png")}: ${(error as Error).message}`);
  }
}

export async function train(config: TrainConfig): Promise<TrainResult> {
  const runDir = config.resume ?? config.out ?? defaultRunDir(config);
  if (!config.resume && existsSync(join(runDir, CONFIG_FILE))) {
    throw new UsageError(`--out ${runDir} already holds a run; continue it with --resume ${runDir}, or choose another --out`);
  }
  const spec = networkFor(config);
  await ensureDataset(config.dataset, config.dataDir);
  const files = datasetFiles(config.dataset, config.dataDir);
  const backend = await createBackend({ device: config.device });
  const log = (line: string) => config.quiet || console.error(line);
  log(`train: ${config.opt} on ${config.dataset} (${describeSpec(spec)}, ${parameterCount(spec).toLocaleString("en")} parameters), batch ${config.batch}, ${backend.info.name} backend (${backend.info.device})`);

  const weights = allocLayers(backend, spec);
  uploadLayers(backend, weights, config.init ? readModelWeights(config.init, spec) : initialWeights(spec, config.seed));
  const optimizer = createOptimizer(config, backend, spec, weights);
  const ws = new BatchWorkspace(backend, spec, config.batch);
  const evaluator = new Evaluator(backend, spec, ws);
  mkdirSync(runDir, { recursive: true });
  const metrics = new MetricsLog(join(runDir, METRICS_FILE));

  let loop = { step: 0, elapsedSeconds: 0, stream: { epoch: 0, batch: 0 } };
  if (config.resume) {
    loop = loadCheckpoint(runDir, backend, spec, weights, optimizer);
    metrics.truncateAfter(loop.step, config.evalEvery);
    log(`train: resuming ${runDir} at step ${loop.step}`);
  } else {
    writeFileAtomic(join(runDir, CONFIG_FILE), `${JSON.stringify({ ...config, out: runDir }, null, 2)}\n`);
    writeFileAtomic(join(runDir, ENVIRONMENT_FILE), `${JSON.stringify(describeEnvironment(backend), null, 2)}\n`);
    metrics.truncateAfter(-1);
  }

  const stream = await MinibatchStream.open({
    file: files.train,
    batchSize: config.batch,
    seed: config.seed,
    workers: config.workers,
    shuffle: config.shuffle,
    start: loop.stream,
  });
  const trainSet = evalData(files.train, spec, config.task);
  const heldOutSet = evalData(files.heldOut, spec, config.task);

  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  process.on("SIGINT", onInterrupt);
  const progress = new ProgressReporter("train", config.steps, {
    quiet: config.quiet,
    start: loop.step,
    format: "{bar} {value}/{total} | loss {loss} | {rate} steps/s | ETA {eta_formatted}",
    plain: (f) => `step ${f.value}/${f.total}  loss ${f.loss}  ${f.rate} steps/s  ETA ${f.eta}`,
    lines: 20,
    initial: { loss: "-", rate: "-" },
  });
  const startedAt = performance.now();
  // Training time: wall-clock seconds since the start, less the time spent evaluating on the whole
  // sets (so runs that evaluate more often are not charged for it), continued across --resume.
  let evalSeconds = 0;
  const elapsed = () => loop.elapsedSeconds + (performance.now() - startedAt) / 1000 - evalSeconds;
  const checkpoint = () => saveCheckpoint(runDir, backend, spec, weights, optimizer, { step, elapsedSeconds: elapsed(), stream: nextPosition });
  let step = loop.step;
  let nextPosition = loop.stream;
  let finalLoss = NaN;

  const evaluate = async () => {
    const average = optimizer.averagedWeights;
    const evalStart = performance.now();
    const time = elapsed();
    const record = {
      type: "eval" as const,
      step,
      time,
      train: await evaluator.meanLoss(weights, trainSet),
      trainAverage: average ? await evaluator.meanLoss(average, trainSet) : undefined,
      heldOut: await evaluator.meanLoss(weights, heldOutSet),
      heldOutAverage: average ? await evaluator.meanLoss(average, heldOutSet) : undefined,
    };
    evalSeconds += (performance.now() - evalStart) / 1000;
    metrics.append(record);
  };

  try {
    if (step === 0 && config.evalEvery > 0) await evaluate();
    while (step < config.steps && !interrupted) {
      const waitBefore = stream.waitTimeMs();
      const batch = await stream.next();
      nextPosition = batch.batch + 1 < stream.batchesPerEpoch ? { epoch: batch.epoch, batch: batch.batch + 1 } : { epoch: batch.epoch + 1, batch: 0 };
      const dataWaitMs = stream.waitTimeMs() - waitBefore;
      ws.loadBatch(batch.x, config.task === "odd-even" && batch.labels ? Array.from(batch.labels, (l) => l % 2) : undefined);
      const report = await optimizer.step(ws, step + 1);
      if (!Number.isFinite(report.loss)) throw new NonFiniteLossError(step + 1, runDir);
      step += 1;
      finalLoss = report.loss;
      const record: StepRecord = { type: "step", step, time: elapsed(), dataWaitMs, ...report };
      metrics.append(record);
      progress.update(step, { loss: report.loss.toPrecision(5), rate: progress.rate(step).toFixed(2) });
      if (config.evalEvery > 0 && step % config.evalEvery === 0) await evaluate();
      if (config.saveEvery > 0 && step % config.saveEvery === 0) await checkpoint();
    }
    if (interrupted) progress.note(`train: interrupted at step ${step}; saving a checkpoint to ${runDir} (continue with --resume ${runDir})`);
    else if (config.evalEvery === 0 || step % config.evalEvery !== 0) await evaluate();
    await checkpoint();
    await plotRun(runDir, log);
  } finally {
    progress.stop();
    process.off("SIGINT", onInterrupt);
    await stream.close();
    evaluator.dispose();
    ws.dispose();
    optimizer.dispose();
    backend.dispose();
  }
  return { runDir, steps: step, interrupted, finalLoss };
}
