// `bun run bench step [--opt kfra,kfac,adam] [--device cpu,webgpu] [--steps 8] [--batch 1000] [--profile]`:
// seconds per optimiser update on the CURVES autoencoder 784-1000-500-250-30-250-500-1000-784 (or
// --arch, or --dataset/--task's network, e.g. the odd/even classifier for KFLR) at batch 1000.
// Four passes over one optimiser, after two warm-up updates:
//  1. phased (--steps updates): median seconds, split by phase (the timer waits for the queue at
//     each phase boundary), and (CPU backend) the share of time inside gemm and Cholesky/solves;
//  2. counted (--count-steps updates, each alone: a wait for the device before and after, no phase
//     waits): seconds, and per update the machine-independent counts: GFLOP (from operand shapes,
//     bench/_opCounter.ts), and on WebGPU the dispatches, submits and read-backs (downloads +
//     flushes started during the update; the first-order optimisers' loss read is not waited for
//     until the next update is recorded);
//  3. as in training (--train-runs runs of --train-steps updates): the updates recorded back to
//     back as the trainer runs them — the batch uploaded, each update's report awaited once the
//     next is recorded, one wait at the end — seconds per update = run time / updates, median;
//  4. profiled (--profile, WebGPU with the timestamp-query feature, --profile-steps updates): GPU
//     milliseconds per kernel label per update (src/backend/webgpu/profiler.ts).
// Writes --out (default bench/results/step.json) and, with --profile, profile-<adapter>.json beside it.
import { dirname, join } from "node:path";
import { type Backend, type MethodName, OPTIMIZER_SETTINGS, createBackend } from "../src/index.ts";
import {
  type KernelTime,
  type PhaseMarker,
  PhaseTimer,
  type ProfilingControl,
  type RecordedUpdate,
  createWebGpuBackend,
  isKronecker,
  oddEvenTargets,
  parseDevice,
  parseFlags,
  positiveIntegerFlag,
  seedKey,
  threefry2x32,
  writeFileAtomic,
  yieldToEventLoop,
} from "../src/bench-internals.ts";
import { createSession } from "./_session.ts";
import { BENCH_RUN_SETTINGS, parseTrainFlags, presetArgs } from "./_trainFlags.ts";
import { timedBackend } from "./_opTimer.ts";
import { countedBackend, totalFlops } from "./_opCounter.ts";

const HELP = `usage: bun run bench step [flags]

  --opt LIST          optimisers, comma-separated (default kfra,kflr,kfac,adam)
  --device LIST       backends, comma-separated: cpu, webgpu (default cpu)
  --steps N           phased updates timed after 2 warm-up updates (default 8)
  --count-steps N     updates counted one at a time, each alone: a wait for the device before and
                      after, no phase waits (default 5: one τ-adaptation period)
  --train-steps N     updates per run timed as in training: recorded back to back as the trainer
                      runs them (batch upload, each report awaited after the next update is
                      recorded, one wait at the end); seconds per update = run time / N (default 10)
  --train-runs N      such runs; their median is reported (default 3)
  --batch N           minibatch size (default ${OPTIMIZER_SETTINGS.batchSize.default}, as train)
  --arch SIZES        layer sizes, e.g. 64-32-16-32-64 (default: the dataset's network)
  --preset P          fixed | adaptive (default ${OPTIMIZER_SETTINGS.preset.default}, as train; adaptive times the τ
                      adaptation too; --damping is its old name)
  --dataset D, --task T   network of that dataset/task (default ${BENCH_RUN_SETTINGS.dataset.default}, ${BENCH_RUN_SETTINGS.task.default})
  --profile           WebGPU: GPU time per kernel by timestamp queries, after the other passes
  --profile-steps N   profiled updates (default 3)
  --top N             kernel labels printed in the profile table (default 15)
  --out FILE          results file (default bench/results/step.json); the profile goes beside it`;

const median = (xs: number[]) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A CURVES-like batch: pixels k/255 (no subnormal floats), mostly 0, as rendered strokes are. */
export function syntheticBatch(batch: number, dim: number, seed = 1): Float32Array {
  const [k0, k1] = seedKey(seed);
  return Float32Array.from({ length: batch * dim }, (_, i) => {
    const word = threefry2x32(k0, k1, i, 0)[0];
    return word % 5 === 0 ? (word >>> 24) / 255 : 0;
  });
}

const positiveInt = positiveIntegerFlag;

/** Phase marks that can be switched off, so that the counted pass runs as training does. */
class SwitchablePhases implements PhaseMarker {
  enabled = true;
  constructor(readonly timer: PhaseTimer) {}
  mark(phase: string): Promise<void> {
    return this.enabled ? this.timer.mark(phase) : Promise.resolve();
  }
}

interface WebGpuStats {
  stats: { dispatches: number; submits: number; readBacks: number };
  profiling: ProfilingControl | null;
  adapter: { name: string };
  kernels: Record<string, unknown>;
  dawnToggles: { enabled: string[]; validationSkipped: boolean | null };
}

async function openBackend(device: string, profile: boolean): Promise<Backend> {
  if (device === "webgpu" && profile) {
    return createWebGpuBackend({ timestampQuery: true });
  }
  return createBackend({ device: parseDevice(device) });
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, {
    opt: { type: "string", default: "kfra,kflr,kfac,adam" },
    device: { type: "string", default: "cpu" },
    steps: { type: "string", default: "8" },
    "count-steps": { type: "string", default: "5" },
    "train-steps": { type: "string", default: "10" },
    "train-runs": { type: "string", default: "3" },
    batch: { type: "string" },
    arch: { type: "string" },
    preset: { type: "string" },
    damping: { type: "string" },
    dataset: { type: "string" },
    task: { type: "string" },
    profile: { type: "boolean", default: false },
    "profile-steps": { type: "string", default: "3" },
    top: { type: "string", default: "15" },
    out: { type: "string", default: "bench/results/step.json" },
    help: { type: "boolean" },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const steps = positiveInt("steps", values.steps);
  const countSteps = positiveInt("count-steps", values["count-steps"]);
  const trainSteps = positiveInt("train-steps", values["train-steps"]);
  const trainRuns = positiveInt("train-runs", values["train-runs"]);
  const profileSteps = positiveInt("profile-steps", values["profile-steps"]);
  const top = positiveInt("top", values.top);
  const batch = values.batch === undefined ? OPTIMIZER_SETTINGS.batchSize.default : positiveInt("batch", values.batch);
  const devices = values.device!.split(",").map((d) => parseDevice(d));
  const preset = presetArgs(values);
  const rows: Record<string, unknown>[] = [];
  const profiles: Record<string, Record<string, unknown>[]> = {};
  // Every method's settings and network are checked before the first is timed.
  const runs = values.opt!.split(",").map((opt) => {
    const trainArgs = ["--opt", opt, "--batch", String(batch)];
    if (values.dataset) trainArgs.push("--dataset", values.dataset);
    if (values.task) trainArgs.push("--task", values.task);
    if (isKronecker(opt as MethodName)) trainArgs.push(...preset);
    if (values.arch) trainArgs.push("--arch", values.arch);
    const run = parseTrainFlags(trainArgs);
    return { opt, run, spec: run.spec };
  });
  for (const device of devices) {
    for (const { opt, run, spec } of runs) {
      const base = await openBackend(device, values.profile!);
      const gpu = base.info.name === "webgpu" ? (base as unknown as WebGpuStats) : undefined;
      const { backend: timed, totals: opTotals } = timedBackend(base);
      const counted = countedBackend(timed);
      const backend = counted.backend;
      if (gpu?.profiling) counted.onOp = (op) => gpu.profiling!.setScope(op);
      const timer = new PhaseTimer(base);
      const phases = new SwitchablePhases(timer);
      // Seed 0 (--seed's default): every benchmark row starts from the same weights.
      const session = createSession(backend, spec, run.optimizer, phases);
      const { engine, workspace: ws } = session;
      const x = syntheticBatch(batch, spec.sizes[0]);
      const targets = run.task === "odd-even" ? oddEvenTargets(Array.from({ length: batch }, (_, i) => i)) : undefined;
      const loadBatch = () => ws.loadBatch(x, targets);
      loadBatch();
      let t = 0;

      // 1. phased
      const perStep: number[] = [];
      const phaseSamples = new Map<string, number[]>();
      const opSamples = new Map<string, number[]>();
      for (let i = 1; i <= steps + 2; i++) {
        timer.reset();
        opTotals.clear();
        await base.flush();
        const start = performance.now();
        await engine.step(ws, ++t);
        await timer.stop();
        const seconds = (performance.now() - start) / 1000;
        if (i <= 2) continue; // warm-up: pipelines, pools, first-step factor copies
        perStep.push(seconds);
        for (const [k, v] of timer.totals) phaseSamples.set(k, [...(phaseSamples.get(k) ?? []), v / 1000]);
        for (const [k, v] of opTotals) opSamples.set(k, [...(opSamples.get(k) ?? []), v / 1000]);
      }

      // 2. counted, each update alone (no phase waits)
      phases.enabled = false;
      const samples = { seconds: [] as number[], dispatches: [] as number[], submits: [] as number[], readBacks: [] as number[], waitedReadBacks: [] as number[], gflop: [] as number[] };
      const gflopByOp = new Map<string, number>();
      const uncounted = new Set<string>();
      for (let i = 0; i < countSteps; i++) {
        await base.flush();
        counted.reset();
        const before = gpu ? { ...gpu.stats } : undefined;
        const start = performance.now();
        await engine.step(ws, ++t);
        const after = gpu ? { ...gpu.stats } : undefined;
        // A read-back already complete when the update returns is one the update waited for.
        samples.waitedReadBacks.push(counted.counts.completedReadBacks);
        await base.flush();
        samples.seconds.push((performance.now() - start) / 1000);
        const c = counted.counts;
        samples.gflop.push(totalFlops(c) / 1e9);
        for (const [k, v] of c.flops) gflopByOp.set(k, (gflopByOp.get(k) ?? 0) + v / 1e9 / countSteps);
        for (const k of c.uncounted) uncounted.add(k);
        if (before && after) {
          samples.dispatches.push(after.dispatches - before.dispatches);
          samples.submits.push(after.submits - before.submits);
          samples.readBacks.push(after.readBacks - before.readBacks);
        } else {
          samples.readBacks.push(c.downloads + c.flushes);
        }
      }
      const counts = {
        updates: countSteps,
        medianSeconds: median(samples.seconds),
        gflop: mean(samples.gflop),
        gflopPerSecond: mean(samples.gflop) / median(samples.seconds),
        gflopByOp: Object.fromEntries([...gflopByOp].sort((a, b) => b[1] - a[1])),
        dispatches: gpu ? mean(samples.dispatches) : undefined,
        submits: gpu ? mean(samples.submits) : undefined,
        readBacks: mean(samples.readBacks),
        waitedReadBacks: mean(samples.waitedReadBacks),
        perUpdate: samples,
        uncountedOps: [...uncounted],
      };

      // 3. as in training: updates back to back, one wait at the end of each run
      const runSeconds: number[] = [];
      for (let run = 0; run < trainRuns; run++) {
        await base.flush();
        const start = performance.now();
        let previous: RecordedUpdate | undefined;
        for (let i = 0; i < trainSteps; i++) {
          loadBatch();
          const update = await engine.step(ws, ++t);
          await previous?.report();
          previous = update;
          await yieldToEventLoop();
        }
        await previous?.report();
        await base.flush();
        runSeconds.push((performance.now() - start) / 1000);
      }
      const asInTraining = { updatesPerRun: trainSteps, runs: trainRuns, secondsPerRun: runSeconds, medianSeconds: median(runSeconds) / trainSteps };

      const row: Record<string, unknown> = {
        device: base.info.name,
        adapter: base.info.device,
        kernels: gpu?.kernels,
        dawnToggles: gpu?.dawnToggles,
        opt,
        network: spec.sizes.join("-"),
        batch,
        medianSeconds: median(perStep),
        phases: Object.fromEntries([...phaseSamples].map(([k, v]) => [k, median(v)])),
        ops: base.info.name === "webgpu" ? undefined : Object.fromEntries([...opSamples].map(([k, v]) => [k, median(v)])),
        asInTraining,
        counts,
      };
      rows.push(row);
      printRow(row);

      // 3. profiled
      if (values.profile) {
        const kernels = await profileUpdates(base, gpu, engine.step.bind(engine, ws), () => ++t, profileSteps);
        if (kernels) {
          const key = slug(gpu!.adapter.name);
          const profile = { opt, network: row.network, batch, updates: profileSteps, ...kernels };
          (profiles[key] ??= []).push(profile);
          printProfile(profile, top);
        }
      }
      session.dispose();
      base.dispose();
    }
  }
  const date = new Date().toISOString();
  writeFileAtomic(values.out!, `${JSON.stringify({ date, steps, countSteps, trainSteps, trainRuns, rows }, null, 2)}\n`);
  console.log(`wrote ${values.out}`);
  for (const [key, list] of Object.entries(profiles)) {
    const file = join(dirname(values.out!), `profile-${key}.json`);
    writeFileAtomic(file, `${JSON.stringify({ date, adapter: key, profiles: list }, null, 2)}\n`);
    console.log(`wrote ${file}`);
  }
}

/** Runs `updates` updates with every dispatch timestamped; null (after one line saying why) when impossible. */
async function profileUpdates(
  base: Backend,
  gpu: WebGpuStats | undefined,
  step: (t: number) => Promise<unknown>,
  nextT: () => number,
  updates: number,
): Promise<{ gpuMsPerUpdate: number; wallMsPerUpdate: number; kernels: (KernelTime & { msPerUpdate: number; share: number; countPerUpdate: number })[] } | null> {
  if (!gpu) {
    console.log(`\nprofile: the ${base.info.name} backend has no GPU timestamps; the op timing above is its profile`);
    return null;
  }
  if (!gpu.profiling) {
    console.log(`\nprofile: adapter '${gpu.adapter.name}' does not offer the timestamp-query feature; no per-kernel GPU times`);
    return null;
  }
  await base.flush();
  gpu.profiling.start();
  const start = performance.now();
  for (let i = 0; i < updates; i++) await step(nextT());
  const times = await gpu.profiling.stop();
  const wallMs = performance.now() - start;
  const totalMs = times.reduce((s, k) => s + k.ms, 0);
  return {
    gpuMsPerUpdate: totalMs / updates,
    wallMsPerUpdate: wallMs / updates,
    kernels: times.map((k) => ({ ...k, msPerUpdate: k.ms / updates, share: totalMs > 0 ? k.ms / totalMs : 0, countPerUpdate: k.count / updates })),
  };
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "adapter";
}

function fmt(x: number | undefined, digits = 0): string {
  return x === undefined ? "—" : x.toFixed(digits);
}

function printRow(row: Record<string, unknown>): void {
  const total = row.medianSeconds as number;
  const pct = (x: number) => `${((100 * x) / total).toFixed(0)}%`;
  console.log(`\n${row.opt} on ${row.device} (${row.adapter}), network ${row.network}, batch ${row.batch}: median ${total.toFixed(4)} s per update (phased)`);
  if (row.kernels) console.log(`  kernel choices: ${JSON.stringify(row.kernels)}`);
  const toggles = row.dawnToggles as WebGpuStats["dawnToggles"] | undefined;
  if (toggles && toggles.enabled.length > 0) {
    const skip = toggles.validationSkipped === null ? "" : ` (skip_validation ${toggles.validationSkipped ? "in effect" : "NOT in effect"})`;
    console.log(`  Dawn toggles enabled: ${toggles.enabled.join(", ")}${skip}`);
  }
  console.log("  phase                      median s   share");
  for (const [k, v] of Object.entries(row.phases as Record<string, number>)) console.log(`  ${k.padEnd(26)} ${v.toFixed(4).padStart(8)}   ${pct(v).padStart(5)}`);
  if (row.ops) {
    console.log("  inside ops (CPU, exact)");
    for (const [k, v] of Object.entries(row.ops as Record<string, number>)) console.log(`  ${k.padEnd(26)} ${v.toFixed(4).padStart(8)}   ${pct(v).padStart(5)}`);
  }
  const a = row.asInTraining as { updatesPerRun: number; runs: number; medianSeconds: number };
  console.log(`  as in training (${a.updatesPerRun} updates back to back, one wait at the end; median of ${a.runs} runs): ${a.medianSeconds.toFixed(4)} s per update`);
  const c = row.counts as { updates: number; medianSeconds: number; gflop: number; gflopPerSecond: number; gflopByOp: Record<string, number>; dispatches?: number; submits?: number; readBacks: number; waitedReadBacks: number; uncountedOps: string[] };
  console.log(`  per update alone (a wait before and after, no phase waits; mean of ${c.updates}, median ${c.medianSeconds.toFixed(4)} s):`);
  console.log(`    dispatches ${fmt(c.dispatches)}   submits ${fmt(c.submits)}   read-backs ${fmt(c.readBacks, 1)} (waited for ${fmt(c.waitedReadBacks, 1)})   GFLOP ${c.gflop.toFixed(2)} (${c.gflopPerSecond.toFixed(1)} GFLOP/s)`);
  const byOp = Object.entries(c.gflopByOp).filter(([, v]) => v >= 0.005 * c.gflop);
  console.log(`    GFLOP by op: ${byOp.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")}`);
  if (c.uncountedOps.length > 0) console.log(`    no flop rule in bench/_opCounter.ts for: ${c.uncountedOps.join(", ")} (counted as 0)`);
}

function printProfile(p: { opt: string; updates: number; gpuMsPerUpdate: number; wallMsPerUpdate: number; kernels: { label: string; msPerUpdate: number; share: number; countPerUpdate: number }[] }, top: number): void {
  console.log(`\nprofile of ${p.opt}: GPU time ${p.gpuMsPerUpdate.toFixed(2)} ms per update (sum over kernels, one timestamped pass per dispatch), wall ${p.wallMsPerUpdate.toFixed(1)} ms, ${p.updates} updates`);
  console.log(`  ${"kernel".padEnd(56)} ms/update   share   count/update`);
  for (const k of p.kernels.slice(0, top)) {
    console.log(`  ${k.label.padEnd(56)} ${k.msPerUpdate.toFixed(3).padStart(10)}  ${(100 * k.share).toFixed(1).padStart(5)}%  ${k.countPerUpdate.toFixed(1).padStart(12)}`);
  }
  if (p.kernels.length > top) {
    const rest = p.kernels.slice(top);
    const ms = rest.reduce((s, k) => s + k.msPerUpdate, 0);
    console.log(`  (${rest.length} more labels: ${ms.toFixed(3)} ms per update)`);
  }
}
