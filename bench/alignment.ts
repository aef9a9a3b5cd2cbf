// `bun run bench alignment [train flags] [--every 25] [--methods kfra,kflr,kfac] [--tolerance 1e-3]
// [--max-iterations 4000] [--out FILE]`: the alignment of the Kronecker-factored directions with the
// exact damped Gauss–Newton direction along a training run (paper appendix F.2, docs/algorithm.md
// §9.3). The run is the one the train flags describe (--opt kfra: the paper follows KFRA's
// trajectory), for --steps updates; before update 1 and every --every updates, on the minibatch of
// the next update, each method's direction δ̃ from that minibatch's factors with the run's γ is
// compared with x solving (Ḡ + (γ + η) I) x = ∇f, found by conjugate gradients run until the
// relative residual is below --tolerance (or --max-iterations). One JSON line of settings, then one
// per point; `bench alignment-report` draws several seeds' files together.
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import {
  allocLayers,
  allocLayersTogether,
  conjugateGradient,
  createEstimator,
  type CurvatureKind,
  forward,
  freeLayers,
  GaussNewtonOperator,
  gradientAndCurvature,
  KroneckerBlocks,
  type LayerTensors,
  parseFlags,
  type StackedLayers,
  UsageError,
  writeFileAtomic,
} from "../src/bench-internals.ts";
import { trainFlagsHelp } from "./_trainFlags.ts";
import { type Trajectory, openTrajectory, splitFlags } from "./_trajectory.ts";

const OWN_FLAGS = ["every", "methods", "tolerance", "max-iterations", "out", "help"] as const;
const METHODS: readonly CurvatureKind[] = ["kfra", "kflr", "kfac"];

/** The first line of the output: what was measured. */
export interface AlignmentSettings {
  type: "settings";
  trainFlags: string[];
  sizes: number[];
  batch: number;
  seed: number;
  damping: string;
  methods: string[];
  every: number;
  tolerance: number;
  maxIterations: number;
  weightDecay: number;
}

export interface AlignmentPoint {
  /** Updates taken before this point. */
  step: number;
  seed: number;
  /** The factor damping γ the directions and the exact solve use (λ = γ + η). */
  gamma: number;
  cg: { iterations: number; relativeResidual: number; seconds: number };
  /** cos(δ̃, x) over all parameters, per method, and of the gradient itself. */
  cosine: Record<string, number>;
  /** cos(δ̃_λ, x_λ) per layer, per method. */
  perLayer: Record<string, number[]>;
  /** ‖δ̃_λ‖² / ‖δ̃‖², the share of each layer in the direction's length, per method and for the exact x. */
  normShare?: Record<string, number[]>;
}

/** The points at which to measure: update 0, then every `every` updates up to `steps`. */
export function measurePoints(steps: number, every: number): number[] {
  const points: number[] = [];
  for (let t = 0; t <= steps; t += every) points.push(t);
  return points;
}

/** Each method's damped direction on the loaded minibatch (its own minibatch factors, ε = 0), and ∇f. */
function directions(t: Trajectory, methods: readonly CurvatureKind[], gamma: number) {
  const { backend, session, settings } = t;
  const { spec, weights, workspace: ws } = session;
  const eta = settings.weightDecay;
  const grads = allocLayersTogether(backend, spec);
  const out = new Map<string, StackedLayers>();
  for (const method of methods) {
    const blocks = new KroneckerBlocks(backend, spec);
    const estimator = createEstimator(method, backend, spec, settings.batchSize, settings.seed);
    forward(backend, spec, weights, ws);
    gradientAndCurvature(backend, spec, weights, ws, estimator, t.step + 1, eta, { grads: grads.layers, inputFactors: blocks.inputFactors, outputFactors: blocks.outputFactors });
    blocks.average(0);
    blocks.splitDamping();
    const delta = allocLayersTogether(backend, spec);
    blocks.solve(grads, Math.sqrt(gamma + eta), delta);
    out.set(method, delta);
    estimator.dispose();
    blocks.dispose();
  }
  return { grads, directions: out };
}

async function measure(t: Trajectory, methods: readonly CurvatureKind[], gamma: number, tolerance: number, maxIterations: number): Promise<AlignmentPoint> {
  const { backend, session, settings } = t;
  const { spec, weights, workspace: ws } = session;
  const { grads, directions: found } = directions(t, methods, gamma);
  forward(backend, spec, weights, ws);
  const op = new GaussNewtonOperator(backend, spec, weights, ws);
  const exact = allocLayers(backend, spec);
  const started = performance.now();
  const cg = await conjugateGradient(backend, spec, op, grads.layers, gamma + settings.weightDecay, exact, { maxIterations, tolerance });
  const seconds = (performance.now() - started) / 1000;
  // cos(a, b) = aᵀb / (‖a‖ ‖b‖), over all layers or one.
  const cosine = async (a: LayerTensors, b: LayerTensors, layer?: number) => (await op.dot(a, b, layer)) / Math.sqrt((await op.dot(a, a, layer)) * (await op.dot(b, b, layer)));
  const point: AlignmentPoint = { step: t.step, seed: settings.seed, gamma, cg: { ...cg, seconds }, cosine: {}, perLayer: {}, normShare: {} };
  // ‖v_λ‖² / ‖v‖² for every layer λ.
  const shares = async (v: LayerTensors) => {
    const total = await op.dot(v, v);
    const out: number[] = [];
    for (let l = 0; l < v.length; l++) out.push((await op.dot(v, v, l)) / total);
    return out;
  };
  for (const [name, d] of [...found, ["gradient", grads] as const]) {
    point.cosine[name] = await cosine(d.layers, exact);
    const perLayer: number[] = [];
    for (let l = 0; l < d.layers.length; l++) perLayer.push(await cosine(d.layers, exact, l));
    point.perLayer[name] = perLayer;
    point.normShare![name] = await shares(d.layers);
  }
  point.normShare!.exact = await shares(exact);
  op.dispose();
  freeLayers(backend, exact);
  for (const d of [...found.values(), grads]) backend.free(d.parent);
  return point;
}

export async function main(argv: string[]): Promise<void> {
  const split = splitFlags(argv, OWN_FLAGS);
  const { values } = parseFlags(split.own, {
    every: { type: "string", default: "25" },
    methods: { type: "string", default: METHODS.join(",") },
    tolerance: { type: "string", default: "1e-3" },
    "max-iterations": { type: "string", default: "4000" },
    out: { type: "string", default: "bench/results/alignment.ndjson" },
    help: { type: "boolean" },
  });
  if (values.help) {
    console.log(`usage: bun run bench alignment [train flags, e.g. --opt kfra --arch 784-256-128-64-16-64-128-256-784 --batch 250 --steps 500 --seed 0] [--every 25] [--methods kfra,kflr,kfac] [--tolerance 1e-3] [--max-iterations 4000] [--out bench/results/alignment.ndjson]\n\ntrain flags (as bun run train's):\n${trainFlagsHelp()}`);
    return;
  }
  const methods = values.methods!.split(",") as CurvatureKind[];
  for (const m of methods) if (!METHODS.includes(m)) throw new UsageError(`--methods: '${m}' is not one of ${METHODS.join(", ")}`);
  const every = Number(values.every);
  const tolerance = Number(values.tolerance);
  const maxIterations = Number(values["max-iterations"]);
  if (!(every >= 1) || !(tolerance > 0) || !(maxIterations >= 1)) throw new UsageError("--every, --tolerance and --max-iterations must be positive");
  const t = await openTrajectory(split.train);
  let gamma = t.settings.gamma0;
  const at = measurePoints(t.run.steps, every);
  mkdirSync(dirname(values.out!), { recursive: true });
  const settings: AlignmentSettings = { type: "settings", trainFlags: split.train, sizes: [...t.session.spec.sizes], batch: t.settings.batchSize, seed: t.settings.seed, damping: t.settings.preset, methods, every, tolerance, maxIterations, weightDecay: t.settings.weightDecay };
  writeFileAtomic(values.out!, `${JSON.stringify(settings)}\n`);
  try {
    while (true) {
      await t.loadNext();
      if (at.includes(t.step)) {
        const point = await measure(t, methods, gamma, tolerance, maxIterations);
        appendFileSync(values.out!, `${JSON.stringify({ type: "point", ...point })}\n`);
        console.log(`update ${String(t.step).padStart(5)}  CG ${point.cg.iterations} iterations, residual ${point.cg.relativeResidual.toExponential(2)} (${point.cg.seconds.toFixed(1)} s)  ${Object.entries(point.cosine).map(([k, v]) => `${k} ${v.toFixed(4)}`).join("  ")}`);
      }
      if (t.step >= t.run.steps) break;
      gamma = (await t.update()).gamma;
    }
  } finally {
    await t.close();
  }
  console.error(`bench alignment: wrote ${values.out}`);
}
