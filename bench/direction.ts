// `bun run bench direction [--dataset curves] [--arch SIZES] [--warmup 50] [--gamma 1e-3] [--iterations 300]`:
// how close the Kronecker-factored directions are to the exact damped Gauss–Newton direction
// (docs/algorithm.md §9.3, paper appendix F.2). After `warmup` KFRA updates, on a fresh minibatch: δ̃ from
// KFRA and KFAC (this minibatch's factors, damping γ), and x solving (Ḡ + (γ+η)I) x = ∇f by CG,
// for the full Gauss–Newton matrix and for its block diagonal. Prints the cosine similarities.
import {
  GaussNewtonOperator,
  KroneckerBlocks,
  type LayerTensors,
  allocLayers,
  allocLayersTogether,
  conjugateGradient,
  createEstimator,
  forward,
  gradientAndCurvature,
  numberFlag,
  parseFlags,
  positiveIntegerFlag,
  writeFileAtomic,
} from "../src/bench-internals.ts";
import { openTrajectory } from "./_trajectory.ts";

export async function main(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, {
    dataset: { type: "string", default: "curves" },
    arch: { type: "string" },
    warmup: { type: "string", default: "50" },
    gamma: { type: "string", default: "0.001" },
    iterations: { type: "string", default: "300" },
    device: { type: "string", default: "auto" },
    help: { type: "boolean" },
  });
  if (values.help) {
    console.log("usage: bun run bench direction [--dataset curves] [--arch SIZES] [--warmup 50] [--gamma 1e-3] [--iterations 300] [--device auto|cpu|webgpu]");
    return;
  }
  const warmup = numberFlag("warmup", values.warmup, "a non-negative integer", (n) => Number.isSafeInteger(n) && n >= 0);
  const gamma = numberFlag("gamma", values.gamma, "a positive number", (n) => n > 0);
  const iterations = positiveIntegerFlag("iterations", values.iterations);
  const flags = ["--dataset", values.dataset!, "--device", values.device!, ...(values.arch ? ["--arch", values.arch] : [])];
  // KFRA (--opt's default) from the seed-0 weights, on the seed-0 minibatch order.
  const t = await openTrajectory(flags);
  const { backend, session, settings, run } = t;
  const { spec, weights, workspace: ws } = session;
  for (let i = 1; i <= warmup; i++) {
    await t.loadNext();
    await t.update();
  }
  await t.loadNext();
  forward(backend, spec, weights, ws);

  const eta = settings.weightDecay;
  const L = weights.length;
  const op = new GaussNewtonOperator(backend, spec, weights, ws);
  const dot = (a: LayerTensors, b: LayerTensors, layer?: number) => op.dot(a, b, layer);
  const cosine = async (a: LayerTensors, b: LayerTensors, layer?: number) => (await dot(a, b, layer)) / Math.sqrt((await dot(a, a, layer)) * (await dot(b, b, layer)));

  const directions = new Map<string, LayerTensors>();
  let grads: LayerTensors = [];
  for (const kind of ["kfra", "kfac"] as const) {
    const blocks = new KroneckerBlocks(backend, spec);
    const gradients = allocLayersTogether(backend, spec);
    const out = { grads: gradients.layers, inputFactors: blocks.inputFactors, outputFactors: blocks.outputFactors };
    forward(backend, spec, weights, ws);
    gradientAndCurvature(backend, spec, weights, ws, createEstimator(kind, backend, spec, settings.batchSize, 0), 1, eta, out);
    blocks.average(0);
    blocks.splitDamping();
    const delta = allocLayersTogether(backend, spec);
    blocks.solve(gradients, Math.sqrt(gamma + eta), delta);
    directions.set(kind, delta.layers);
    grads = out.grads;
  }
  directions.set("gradient", grads);

  forward(backend, spec, weights, ws);
  const exact = allocLayers(backend, spec);
  const started = performance.now();
  const full = await conjugateGradient(backend, spec, op, grads, gamma + eta, exact, { maxIterations: iterations, tolerance: 1e-6 });
  const fullSeconds = (performance.now() - started) / 1000;
  const block = allocLayers(backend, spec);
  const blockResults = [];
  for (let l = 0; l < L; l++) blockResults.push(await conjugateGradient(backend, spec, op, grads, gamma + eta, block, { maxIterations: iterations, tolerance: 1e-6, layer: l }));

  const rows: Record<string, unknown>[] = [];
  console.log(`\n${run.dataset} ${spec.sizes.join("-")}, batch ${settings.batchSize}, after ${warmup} KFRA updates; damping γ + η = ${gamma + eta}; ${backend.info.name} backend`);
  console.log(`CG full Gauss–Newton: ${full.iterations} iterations, relative residual ${full.relativeResidual.toExponential(2)} (${fullSeconds.toFixed(1)} s); block-diagonal: max residual ${Math.max(...blockResults.map((r) => r.relativeResidual)).toExponential(2)}`);
  console.log("direction      cos(·, exact GN)   cos(·, block-diagonal GN)");
  for (const [name, d] of directions) {
    const row = { direction: name, cosineFull: await cosine(d, exact), cosineBlock: await cosine(d, block), perLayerBlock: await Promise.all(d.map((_, l) => cosine(d, block, l))) };
    rows.push(row);
    console.log(`${name.padEnd(14)} ${row.cosineFull.toFixed(4).padStart(16)}   ${row.cosineBlock.toFixed(4).padStart(22)}`);
  }
  console.log(`block-diagonal vs full: ${(await cosine(block, exact)).toFixed(4)}`);
  writeFileAtomic("bench/results/direction.json", `${JSON.stringify({ date: new Date().toISOString(), spec, warmup, gamma, eta, full, blockResults, rows }, null, 2)}\n`);
  await t.close();
}
