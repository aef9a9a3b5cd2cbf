// `bun run bench crosscheck [--opt kfra] [--steps 12]`: the same updates, from the same initial
// weights on the same minibatches, on the WebGPU backend and on the CPU (OpenBLAS) backend; prints
// both minibatch-loss sequences and the largest relative difference, and exits 1 past --tolerance.
//
// Why 1e-3 relative fits float32 over 12 updates: both backends round to float32 (ε = 2⁻²⁴ ≈ 6e-8)
// but sum in different orders (tiled WGSL gemm against OpenBLAS, blocked against LAPACK-style
// Cholesky), so each op differs by a few ε·√k ≈ 1e-6 relative. The damped solves amplify that by
// the condition number of the damped factors (≤ ~1e2–1e3 with these dampings), so the update
// direction differs by ≲ 1e-4 relative; the loss moves by a fraction of itself per update, so its
// difference stays well below 1e-4 after 12 updates (measured: ~1e-6, 6 significant digits, on
// lavapipe and on an H200). 1e-3 leaves a 10× margin above that estimate and is still far below
// what a real kernel bug does (a wrong block or a missed barrier moves the loss by percents).
import { type MethodName, OPTIMIZER_SETTINGS, createBackend } from "../src/index.ts";
import { isKronecker, numberFlag, parseFlags, positiveIntegerFlag, writeFileAtomic } from "../src/bench-internals.ts";
import { createSession } from "./_session.ts";
import { type BenchRun, parseTrainFlags, presetArgs } from "./_trainFlags.ts";
import { syntheticBatch } from "./step.ts";

const HELP = `usage: bun run bench crosscheck [flags]

  --opt LIST        optimisers, comma-separated (default kfra)
  --steps N         updates per backend (default 12)
  --batch N         minibatch size (default ${OPTIMIZER_SETTINGS.batchSize.default}, as bun run train)
  --arch SIZES      layer sizes (default: the CURVES autoencoder 784-1000-500-250-30-250-500-1000-784)
  --preset P        fixed | adaptive (default ${OPTIMIZER_SETTINGS.preset.default}, as bun run train; --damping is its old name)
  --tolerance X     largest allowed relative loss difference (default 1e-3)
  --out FILE        results (default bench/results/crosscheck.json)

Exit status: 0 within tolerance; 1 past it, a non-finite loss or a bad flag; 2 no backend.`;

interface Trajectory {
  device: string;
  losses: number[];
  weights: Float32Array[];
  seconds: number;
}

async function trajectory(device: "webgpu" | "cpu", run: BenchRun, steps: number): Promise<Trajectory> {
  const backend = await createBackend({ device });
  try {
    const session = createSession(backend, run.spec, run.optimizer);
    const losses: number[] = [];
    const start = performance.now();
    for (let t = 1; t <= steps; t++) losses.push((await session.optimizer.step({ x: syntheticBatch(run.batch, run.spec.sizes[0], t) })).loss);
    const seconds = (performance.now() - start) / 1000;
    const final = await session.network.getWeights();
    session.dispose();
    return { device: backend.info.device, losses, weights: final, seconds };
  } finally {
    backend.dispose();
  }
}

/** max over i of |a_i − b_i| / |b_i| (b the CPU reference); Infinity when either is not finite. */
export function largestRelativeDifference(a: number[], b: number[]): number {
  let worst = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) return Number.POSITIVE_INFINITY;
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), Number.MIN_VALUE));
  }
  return worst;
}

/** ‖a − b‖ / ‖b‖ over all layers (Frobenius). */
function relativeWeightDifference(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  let diff = 0;
  let norm = 0;
  a.forEach((layer, l) => {
    for (let i = 0; i < layer.length; i++) {
      diff += (layer[i] - b[l][i]) ** 2;
      norm += b[l][i] ** 2;
    }
  });
  return Math.sqrt(diff / norm);
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, {
    opt: { type: "string", default: "kfra" },
    steps: { type: "string", default: "12" },
    batch: { type: "string" },
    arch: { type: "string" },
    preset: { type: "string" },
    damping: { type: "string" },
    tolerance: { type: "string", default: "1e-3" },
    out: { type: "string", default: "bench/results/crosscheck.json" },
    help: { type: "boolean" },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const steps = positiveIntegerFlag("steps", values.steps);
  const tolerance = numberFlag("tolerance", values.tolerance, "a positive number", (n) => n > 0);
  const preset = presetArgs(values);
  const batch = values.batch === undefined ? OPTIMIZER_SETTINGS.batchSize.default : positiveIntegerFlag("batch", values.batch);
  // Every optimiser's settings are checked before the first one runs.
  const runs = values.opt!.split(",").map((opt) => {
    const trainArgs = ["--opt", opt, "--batch", String(batch), "--seed", "0"];
    if (isKronecker(opt as MethodName)) trainArgs.push(...preset);
    if (values.arch) trainArgs.push("--arch", values.arch);
    return { opt, run: parseTrainFlags(trainArgs) };
  });
  const results: Record<string, unknown>[] = [];
  let failed = false;
  for (const { opt, run } of runs) {
    const gpu = await trajectory("webgpu", run, steps);
    const cpu = await trajectory("cpu", run, steps);
    const worst = largestRelativeDifference(gpu.losses, cpu.losses);
    const weights = relativeWeightDifference(gpu.weights, cpu.weights);
    const ok = worst <= tolerance;
    failed ||= !ok;
    console.log(`\n${opt}, ${steps} updates, batch ${batch}: webgpu = ${gpu.device} (${gpu.seconds.toFixed(2)} s), cpu = ${cpu.device} (${cpu.seconds.toFixed(2)} s)`);
    console.log("  update   loss on webgpu     loss on cpu        relative difference");
    gpu.losses.forEach((l, i) => {
      const rel = Math.abs(l - cpu.losses[i]) / Math.abs(cpu.losses[i]);
      console.log(`  ${String(i + 1).padStart(6)}   ${l.toPrecision(9).padStart(14)}   ${cpu.losses[i].toPrecision(9).padStart(14)}   ${rel.toExponential(2).padStart(10)}`);
    });
    console.log(`  largest relative loss difference ${worst.toExponential(2)} (tolerance ${tolerance.toExponential(0)}): ${ok ? "ok" : "FAILED"}; final weights differ by ${weights.toExponential(2)} relative (Frobenius)`);
    results.push({ opt, steps, batch, webgpu: { device: gpu.device, losses: gpu.losses, seconds: gpu.seconds }, cpu: { device: cpu.device, losses: cpu.losses, seconds: cpu.seconds }, largestRelativeLossDifference: worst, relativeWeightDifference: weights, tolerance, ok });
  }
  writeFileAtomic(values.out!, `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
  console.log(`wrote ${values.out}`);
  if (failed) process.exitCode = 1;
}
