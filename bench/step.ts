// `bun run bench step [--opt kfra,kfac,adam] [--device cpu,webgpu] [--steps 8] [--batch 1000]`:
// median seconds per optimiser update on the CURVES autoencoder 784-1000-500-250-30-250-500-1000-784
// (or --dataset/--task's network, e.g. the odd/even classifier for KFLR) at batch 1000, split by phase, and (CPU backend) the share of time inside gemm and inside the
// Cholesky/triangular-solve calls. Writes bench/results/step.json.
import { UsageError } from "../src/errors.ts";
import { parseFlags } from "../src/flags.ts";
import { createBackend, parseDevice } from "../src/backend/index.ts";
import { allocLayers, initialWeights, uploadLayers } from "../src/nn/params.ts";
import { BatchWorkspace } from "../src/nn/workspace.ts";
import { PhaseTimer } from "../src/optim/phases.ts";
import { parseTrainArgs } from "../src/train/config.ts";
import { createOptimizer, networkFor } from "../src/train/setup.ts";
import { writeFileAtomic } from "../src/io/atomicWrite.ts";
import { seedKey, threefry2x32 } from "../src/backend/random.ts";
import { timedBackend } from "./_opTimer.ts";

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** A CURVES-like batch: pixels k/255 (no subnormal floats), mostly 0, as rendered strokes are. */
function syntheticBatch(batch: number, dim: number): Float32Array {
  const [k0, k1] = seedKey(1);
  return Float32Array.from({ length: batch * dim }, (_, i) => {
    const word = threefry2x32(k0, k1, i, 0)[0];
    return word % 5 === 0 ? (word >>> 24) / 255 : 0;
  });
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, {
    opt: { type: "string", default: "kfra,kflr,kfac,adam" },
    device: { type: "string", default: "cpu" },
    steps: { type: "string", default: "8" },
    batch: { type: "string", default: "1000" },
    damping: { type: "string", default: "adaptive" },
    dataset: { type: "string", default: "curves" },
    task: { type: "string", default: "autoencoder" },
    help: { type: "boolean" },
  });
  if (values.help) {
    console.log("usage: bun run bench step [--opt kfra,kflr,kfac,adam] [--device cpu,webgpu] [--steps 8] [--batch 1000] [--damping adaptive|fixed] [--dataset curves] [--task autoencoder|odd-even]");
    return;
  }
  const positive = (flag: string, text: string) => {
    const v = Number(text);
    if (!Number.isSafeInteger(v) || v < 1) throw new UsageError(`--${flag} '${text}': expected a positive integer`);
    return v;
  };
  const steps = positive("steps", values.steps!);
  const batch = positive("batch", values.batch!);
  const rows: Record<string, unknown>[] = [];
  for (const device of values.device!.split(",").map((d) => parseDevice(d))) {
    for (const opt of values.opt!.split(",")) {
      const base = await createBackend({ device });
      const { backend, totals: opTotals } = timedBackend(base);
      // Adaptive damping (the default here) exercises every phase, the τ adaptation included.
      const config = parseTrainArgs(["--opt", opt, "--batch", String(batch), "--damping", values.damping!, "--dataset", values.dataset!, "--task", values.task!]);
      const spec = networkFor(config);
      const weights = allocLayers(backend, spec);
      uploadLayers(backend, weights, initialWeights(spec, 0));
      const phases = new PhaseTimer(base);
      const optimizer = createOptimizer(config, backend, spec, weights, phases);
      const ws = new BatchWorkspace(backend, spec, batch);
      ws.loadBatch(syntheticBatch(batch, spec.sizes[0]), config.task === "odd-even" ? Array.from({ length: batch }, (_, i) => i % 2) : undefined);
      const perStep: number[] = [];
      const phaseSamples = new Map<string, number[]>();
      const opSamples = new Map<string, number[]>();
      for (let t = 1; t <= steps + 2; t++) {
        phases.reset();
        opTotals.clear();
        await base.flush();
        const start = performance.now();
        await optimizer.step(ws, t);
        await phases.stop();
        const seconds = (performance.now() - start) / 1000;
        if (t <= 2) continue; // warm-up: pipelines, pools, first-step factor copies
        perStep.push(seconds);
        for (const [k, v] of phases.totals) phaseSamples.set(k, [...(phaseSamples.get(k) ?? []), v / 1000]);
        for (const [k, v] of opTotals) opSamples.set(k, [...(opSamples.get(k) ?? []), v / 1000]);
      }
      const row: Record<string, unknown> = {
        device: base.info.name,
        adapter: base.info.device,
        opt,
        network: spec.sizes.join("-"),
        batch,
        medianSeconds: median(perStep),
        phases: Object.fromEntries([...phaseSamples].map(([k, v]) => [k, median(v)])),
        ops: base.info.name === "webgpu" ? undefined : Object.fromEntries([...opSamples].map(([k, v]) => [k, median(v)])),
      };
      rows.push(row);
      printRow(row);
      optimizer.dispose();
      ws.dispose();
      base.dispose();
    }
  }
  writeFileAtomic("bench/results/step.json", `${JSON.stringify({ date: new Date().toISOString(), steps, rows }, null, 2)}\n`);
  console.log("wrote bench/results/step.json");
}

function printRow(row: Record<string, unknown>): void {
  const total = row.medianSeconds as number;
  const pct = (x: number) => `${((100 * x) / total).toFixed(0)}%`;
  console.log(`\n${row.opt} on ${row.device} (${row.adapter}), network ${row.network}, batch ${row.batch}: median ${total.toFixed(3)} s per update`);
  console.log("  phase                      median s   share");
  for (const [k, v] of Object.entries(row.phases as Record<string, number>)) console.log(`  ${k.padEnd(26)} ${v.toFixed(4).padStart(8)}   ${pct(v).padStart(5)}`);
  if (row.ops) {
    console.log("  inside ops (CPU, exact)");
    for (const [k, v] of Object.entries(row.ops as Record<string, number>)) console.log(`  ${k.padEnd(26)} ${v.toFixed(4).padStart(8)}   ${pct(v).padStart(5)}`);
  }
}
