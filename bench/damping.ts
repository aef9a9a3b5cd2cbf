// `bun run bench damping [train flags] [--at 0,20,60] [--gammas 1e-4,…] [--taus 1e-3,150] [--out FILE]`:
// what the greedy γ search of docs/algorithm.md §6.2 sees. A training run (the train flags: --opt,
// --preset, --seed, …) is followed update by update; before each update listed in --at it forms,
// on that update's minibatch and with the optimiser's own averaged factors, the direction δ(γ) of
// every γ in --gammas, and reports for each: cos(δ, ∇f), the Rayleigh quotient δᵀḠδ/‖δ‖² of the
// exact Gauss–Newton matrix, the model's predicted change M(α*) at the run's current τ and at each
// of --taus, and the reduction ratio ρ of the step actually taken at the current τ. Also, per layer,
// the Kronecker factors' curvature along the gradient against the exact Gauss–Newton block's.
import { type Tensor } from "../src/index.ts";
import {
  allocLayers,
  allocLayersTogether,
  axpbyLayers,
  copyLayers,
  createEstimator,
  dotLayers,
  factorDecay,
  forward,
  freeLayers,
  isKronecker,
  GaussNewtonOperator,
  gradientAndCurvature,
  KroneckerBlocks,
  type LayerTensors,
  meanLoss,
  parseFlags,
  UsageError,
  writeFileAtomic,
} from "../src/bench-internals.ts";
import { trainFlagsHelp } from "./_trainFlags.ts";
import { openTrajectory, splitFlags, type Trajectory } from "./_trajectory.ts";

const OWN_FLAGS = ["at", "gammas", "taus", "out", "help"] as const;
const DEFAULT_GAMMAS = [1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 150, 1e3, 1e4, 1e5, 1e6, 1e7];

/** One γ candidate at one point of the run. */
export interface CandidateRow {
  gamma: number;
  cosineWithGradient: number;
  /** δᵀḠδ / ‖δ‖²: the exact Gauss–Newton curvature along δ. */
  rayleigh: number;
  /** M(α*) = −½ (δᵀ∇f)² / (δᵀḠδ + (τ + η)‖δ‖²) at the run's τ, then at each --taus value. */
  predicted: number;
  predictedAt: Record<string, number>;
  /** α* at the run's τ, and ρ = (f(θ + α*δ) − f(θ)) / M(α*) on the same minibatch. */
  alpha: number;
  rho: number;
}

// M(α*) = ½ α* δᵀ∇f with α* = −δᵀ∇f / (δᵀḠδ + (τ + η)‖δ‖²) (docs/algorithm.md §5).
export function modelAtOptimum(gradientDot: number, curvature: number, normSq: number, dampingTotal: number): { alpha: number; predicted: number } {
  const alpha = -gradientDot / (curvature + dampingTotal * normSq);
  return { alpha, predicted: 0.5 * alpha * gradientDot };
}

const parseList = (flag: string, text: string) => {
  const values = text.split(",").map(Number);
  if (values.some((v) => !Number.isFinite(v) || v < 0)) throw new UsageError(`--${flag} '${text}': expected non-negative numbers, comma-separated`);
  return values;
};

async function objective(t: Trajectory, scalar: Tensor): Promise<number> {
  const { backend, session } = t;
  meanLoss(backend, session.spec, session.workspace, scalar);
  const loss = (await backend.download(scalar))[0];
  dotLayers(backend, session.weights, session.weights, scalar);
  return loss + 0.5 * t.settings.weightDecay * (await backend.download(scalar))[0];
}

/** The analysis before update t.step + 1, on its minibatch (already loaded). */
async function analyse(t: Trajectory, tau: number, gamma: number, gammas: number[], taus: number[]) {
  const { backend, session, settings } = t;
  const { spec, weights, workspace: ws } = session;
  const eta = settings.weightDecay;
  const blocks = new KroneckerBlocks(backend, spec);
  const grads = allocLayersTogether(backend, spec);
  const delta = allocLayersTogether(backend, spec);
  const gDelta = allocLayers(backend, spec);
  const saved = allocLayers(backend, spec);
  const scalar = backend.alloc(1, 1);
  const estimator = createEstimator(t.run.method as "kfra" | "kflr" | "kfac", backend, spec, settings.batchSize, settings.seed);
  try {
    forward(backend, spec, weights, ws);
    const f0 = await objective(t, scalar);
    gradientAndCurvature(backend, spec, weights, ws, estimator, t.step + 1, eta, { grads: grads.layers, inputFactors: blocks.inputFactors, outputFactors: blocks.outputFactors });
    // The optimiser's averages before this update, then this minibatch's factors averaged in as the update would (§3.5).
    const state = session.engine.state().tensors;
    blocks.blocks.forEach((b, l) => {
      backend.copy(state[`factors.Q.${l}`], b.inputAverage);
      backend.copy(state[`factors.G.${l}`], b.outputAverage);
    });
    blocks.average(factorDecay(t.step + 1, settings.factorMomentum ? settings.factorDecay : 0, settings.rampSteps));
    blocks.splitDamping();
    const op = new GaussNewtonOperator(backend, spec, weights, ws);
    const dot = (a: LayerTensors, b: LayerTensors, layer?: number) => op.dot(a, b, layer);
    const gradNormSq = await dot(grads.layers, grads.layers);

    // Per layer: gᵀ(Q̄ ⊗ Ḡ)g = tr(gᵀ Ḡ g Q̄) against gᵀ Ḡ_λλ g, the exact block's.
    const layers: { layer: number; kronecker: number; exact: number }[] = [];
    for (let l = 0; l < weights.length; l++) {
      const g = grads.layers[l];
      const left = backend.alloc(g.rows, g.cols);
      const right = backend.alloc(g.rows, g.cols);
      backend.gemm(blocks.blocks[l].outputAverage, g, left);
      backend.gemm(g, blocks.blocks[l].inputAverage, right);
      backend.dot(left, right, scalar);
      const kronecker = (await backend.download(scalar))[0];
      backend.free(left);
      backend.free(right);
      op.apply(grads.layers, gDelta, 0, l);
      layers.push({ layer: l + 1, kronecker, exact: await dot(grads.layers, gDelta, l) });
    }

    const rows: CandidateRow[] = [];
    for (const candidate of [...new Set([...gammas, gamma])].sort((a, b) => a - b)) {
      forward(backend, spec, weights, ws);
      blocks.solve(grads, Math.sqrt(candidate + eta), delta);
      const gd = await dot(delta.layers, grads.layers);
      const dd = await dot(delta.layers, delta.layers);
      op.apply(delta.layers, gDelta, 0);
      const curvature = await dot(delta.layers, gDelta);
      const { alpha, predicted } = modelAtOptimum(gd, curvature, dd, tau + eta);
      const predictedAt = Object.fromEntries(taus.map((x) => [String(x), modelAtOptimum(gd, curvature, dd, x + eta).predicted]));
      copyLayers(backend, weights, saved);
      axpbyLayers(backend, alpha, delta.layers, 1, weights);
      forward(backend, spec, weights, ws, false);
      const f1 = await objective(t, scalar);
      copyLayers(backend, saved, weights);
      rows.push({ gamma: candidate, cosineWithGradient: gd / Math.sqrt(dd * gradNormSq), rayleigh: curvature / dd, predicted, predictedAt, alpha, rho: (f1 - f0) / predicted });
    }
    op.dispose();
    return { step: t.step, tau, gamma, objective: f0, gradientNorm: Math.sqrt(gradNormSq), layers, rows };
  } finally {
    estimator.dispose();
    blocks.dispose();
    for (const parent of [grads.parent, delta.parent, scalar]) backend.free(parent);
    freeLayers(backend, gDelta);
    freeLayers(backend, saved);
  }
}

export async function main(argv: string[]): Promise<void> {
  const split = splitFlags(argv, OWN_FLAGS);
  const { values } = parseFlags(split.own, { at: { type: "string", default: "0,20,60,120" }, gammas: { type: "string" }, taus: { type: "string", default: "0.001,150" }, out: { type: "string", default: "bench/results/damping.json" }, help: { type: "boolean" } });
  if (values.help) {
    console.log(`usage: bun run bench damping [train flags, e.g. --opt kfra --preset adaptive --seed 0] [--at 0,20,60,120] [--gammas 1e-4,…,1e7] [--taus 0.001,150] [--out bench/results/damping.json]\n\ntrain flags (as bun run train's):\n${trainFlagsHelp()}`);
    return;
  }
  const at = parseList("at", values.at!).sort((a, b) => a - b);
  const gammas = values.gammas ? parseList("gammas", values.gammas) : DEFAULT_GAMMAS;
  const taus = parseList("taus", values.taus!);
  const t = await openTrajectory(split.train);
  if (!isKronecker(t.run.method)) {
    await t.close();
    throw new UsageError(`--opt ${t.run.method}: bench damping follows a second-order run (kfra, kflr, kfac)`);
  }
  let tau = t.settings.tau0;
  let gamma = t.settings.gamma0;
  const points = [];
  try {
    while (t.step <= at.at(-1)!) {
      await t.loadNext();
      if (at.includes(t.step)) {
        const point = await analyse(t, tau, gamma, gammas, taus);
        points.push(point);
        const best = point.rows.reduce((a, b) => (b.predicted < a.predicted ? b : a));
        console.log(`\nbefore update ${t.step + 1}: τ ${tau.toPrecision(3)}, γ ${gamma.toPrecision(3)}, f ${point.objective.toPrecision(5)}; lowest M(α*) at γ ${best.gamma}`);
        console.log(`  layer  gᵀ(Q̄⊗Ḡ)g / gᵀḠ_λλg: ${point.layers.map((l) => (l.kronecker / l.exact).toPrecision(3)).join("  ")}`);
        console.log(`  ${"γ".padStart(8)} ${"cos(δ,∇f)".padStart(10)} ${"δᵀḠδ/‖δ‖²".padStart(11)} ${"M(α*) at τ".padStart(11)} ${taus.map((x) => `M at τ=${x}`.padStart(13)).join(" ")} ${"α*".padStart(10)} ${"ρ".padStart(7)}`);
        for (const r of point.rows) {
          console.log(`  ${r.gamma.toExponential(0).padStart(8)} ${r.cosineWithGradient.toFixed(4).padStart(10)} ${r.rayleigh.toExponential(2).padStart(11)} ${r.predicted.toExponential(3).padStart(11)} ${taus.map((x) => r.predictedAt[String(x)].toExponential(3).padStart(13)).join(" ")} ${r.alpha.toExponential(2).padStart(10)} ${r.rho.toFixed(3).padStart(7)}`);
        }
      }
      if (t.step === at.at(-1)) break;
      const report = await t.update();
      tau = report.tau;
      gamma = report.gamma;
    }
  } finally {
    await t.close();
  }
  writeFileAtomic(values.out!, `${JSON.stringify({ date: new Date().toISOString(), trainFlags: split.train, gammas, taus, points }, null, 2)}\n`);
  console.error(`bench damping: wrote ${values.out}`);
}
