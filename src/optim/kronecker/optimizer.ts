// The Kronecker-factored Gauss–Newton optimiser shared by KFRA, KFLR and KFAC (the paper's
// Algorithm 1 with appendix B): one forward and one backward pass form ∇f, Q_λ and G_λ; the factors
// are averaged (§3); each layer's direction is the factored damped solve (§4); the step size comes
// from the full Gauss–Newton quadratic through the R-op (§5); τ and γ adapt (§6); θ̂ is the Polyak
// average (§7).
import { type Backend, ShapeError, type Tensor } from "../../backend/types.ts";
import { type CurvatureEstimator, type CurvatureKind, createEstimator, gradientAndCurvature } from "../../curvature/index.ts";
import { forward, meanLoss } from "../../nn/forward.ts";
import { type LayerTensors, type StackedLayers, addScaledLayersIfFinite, allocLayers, allocLayersTogether, axpbyLayers, copyLayers, dotLayers } from "../../nn/params.ts";
import { RopWorkspace, rop } from "../../nn/rop.ts";
import { type NetworkSpec, layerCount } from "../../nn/spec.ts";
import type { BatchWorkspace } from "../../nn/workspace.ts";
import { type Optimizer, type OptimizerState, type RecordedUpdate, type StepReport, freeAll, reported } from "../optimizer.ts";
import { ScalarSlots } from "../scalars.ts";
import type { PhaseMarker } from "../phases.ts";
import { adaptTau, bestCandidate, gammaCandidates, raiseTau } from "./adaptation.ts";
import { factorDecay, polyakDecay } from "./averaging.ts";
import { KroneckerBlocks } from "./block.ts";
import { predictedChange, recordOptimalStep } from "./stepSize.ts";

/** The settings the Kronecker optimiser reads (their ranges and defaults: src/optim/settings.ts). */
export interface KroneckerOptions {
  curvature: CurvatureKind;
  /** Initial Levenberg–Marquardt damping τ₀ of the quadratic model. */
  tau0: number;
  /** Initial factor damping γ₀ (k = √(γ + η)). */
  gamma0: number;
  /** Adapt τ and γ (off: both stay at their initial values). */
  adapt: boolean;
  /** T_τ: updates between τ adaptations. */
  tauPeriod: number;
  /** T_γ: updates between greedy γ searches. */
  gammaPeriod: number;
  /** Momentum on the curvature factors; 0 turns it off. */
  factorDecay: number;
  /** Largest Polyak averaging constant. */
  polyakMax: number;
  /** Ramp factor decay and Polyak constant up over this many updates (0: no ramp). */
  rampSteps: number;
  /** Weight decay η. */
  weightDecay: number;
  /** Seed of KFAC's sampled targets. */
  seed: number;
  /** Benchmarks only: told when each phase of the step begins. */
  phases?: PhaseMarker;
}

type Slot = "loss" | "thetaSq" | "newLoss" | "newThetaSq" | `gd${number}` | `dd${number}` | `curvature${number}` | `alpha${number}`;

export class KroneckerOptimizer implements Optimizer {
  readonly name: CurvatureKind;
  readonly averagedWeights: LayerTensors;
  private tau: number;
  private gamma: number;
  private readonly estimator: CurvatureEstimator;
  /** ∇f, layers stacked in one storage like the directions (so the solve copies it in one op). */
  private readonly grads: StackedLayers;
  /** Q_λ, G_λ, their averages, the damping split and the damped solve of every layer. */
  private readonly blocks: KroneckerBlocks;
  /** One direction per γ candidate, each layer a view of one storage per candidate. */
  private readonly directions: StackedLayers[];
  private readonly rop: RopWorkspace;
  private readonly hessianTimesV: Tensor;
  private readonly scalars: ScalarSlots<Slot>;
  /**
   * The previous update's report once read back and acted on (a rejected step raises τ). The next
   * update waits for it only where it needs τ, after recording its solves, so the device is never
   * left idle for it.
   */
  private previous: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly backend: Backend,
    private readonly spec: NetworkSpec,
    private readonly weights: LayerTensors,
    /** The minibatch size this optimiser's buffers hold; a workspace of another size is refused. */
    readonly batchSize: number,
    private readonly options: KroneckerOptions,
  ) {
    this.name = options.curvature;
    this.tau = options.tau0;
    this.gamma = options.gamma0;
    this.estimator = createEstimator(options.curvature, backend, spec, batchSize, options.seed);
    this.grads = allocLayersTogether(backend, spec);
    this.blocks = new KroneckerBlocks(backend, spec);
    const candidates = options.adapt && options.gammaPeriod > 0 ? 3 : 1;
    this.directions = Array.from({ length: candidates }, () => allocLayersTogether(backend, spec));
    this.averagedWeights = allocLayers(backend, spec);
    copyLayers(backend, weights, this.averagedWeights);
    this.rop = new RopWorkspace(backend, spec, batchSize);
    this.hessianTimesV = backend.alloc(spec.sizes[layerCount(spec)], batchSize);
    const names: Slot[] = ["loss", "thetaSq", "newLoss", "newThetaSq"];
    for (let c = 0; c < candidates; c++) names.push(`gd${c}`, `dd${c}`, `curvature${c}`, `alpha${c}`);
    this.scalars = new ScalarSlots(backend, names);
  }

  /**
   * Records one update. An ordinary update never waits for the device: the damping split, α* and
   * the step are computed there, and the report is read back later. An update that must choose on
   * the host (a γ search, a τ adaptation with its second forward pass) waits for its scalars.
   */
  async step(ws: BatchWorkspace, step: number): Promise<RecordedUpdate> {
    const { backend, spec, weights, options, scalars, blocks } = this;
    if (ws.batchSize !== this.batchSize) throw new ShapeError(`${this.name}: a workspace of ${ws.batchSize} samples, but the optimiser was made for minibatches of ${this.batchSize}`);
    const eta = options.weightDecay;
    const adaptTauNow = options.adapt && step % options.tauPeriod === 0;
    const searchGamma = options.adapt && this.directions.length > 1 && step % options.gammaPeriod === 0;
    const gammas = searchGamma ? gammaCandidates(this.gamma, options.gammaPeriod) : [this.gamma];

    // Forward and the single backward pass: loss, ∇f, Q_λ, G_λ.
    const phases = options.phases;
    await phases?.mark("forward");
    forward(backend, spec, weights, ws);
    meanLoss(backend, spec, ws, scalars.slot("loss"));
    if (adaptTauNow) dotLayers(backend, weights, weights, scalars.slot("thetaSq"));
    await phases?.mark("backward + curvature");
    gradientAndCurvature(backend, spec, weights, ws, this.estimator, step, eta, {
      grads: this.grads.layers,
      inputFactors: blocks.inputFactors,
      outputFactors: blocks.outputFactors,
    });

    // Momentum on the factors (§3), then the split of the damping between them (§4).
    await phases?.mark("factor averages");
    blocks.average(factorDecay(step, options.factorDecay, options.rampSteps));
    blocks.splitDamping();

    // Directions for each γ candidate, and their quadratic models and step sizes α* (§5).
    for (let c = 0; c < gammas.length; c++) await this.direction(ws, gammas[c], c);
    await phases?.mark("update");
    if (gammas.length === 1 && !adaptTauNow) {
      addScaledLayersIfFinite(backend, scalars.slot("alpha0"), this.directions[0].layers, weights);
      this.averageWeights(step);
      return this.reportLater();
    }
    return reported(await this.chooseAndAdapt(ws, step, gammas, adaptTauNow));
  }

  /** θ̂ ← β θ̂ + (1−β) θ (§7), at every update, rejected or not. */
  private averageWeights(step: number): void {
    const beta = polyakDecay(step, this.options.polyakMax, this.options.rampSteps);
    axpbyLayers(this.backend, 1 - beta, this.weights, beta, this.averagedWeights);
  }

  /** The report of an update applied on the device: read back without waiting; a rejection raises τ when read. */
  private reportLater(): RecordedUpdate {
    const values = this.scalars.readLater();
    const { tau, gamma } = this;
    const report = values().then((v): StepReport => {
      const alpha = v.alpha0;
      const out: StepReport = { loss: v.loss, tau, gamma, alpha, predicted: predictedChange(alpha, v.gd0), rho: NaN, rejected: 0 };
      if (!Number.isFinite(alpha)) this.reject(out);
      return out;
    });
    report.catch(() => {});
    this.previous = report;
    return { report: () => report };
  }

  /** Waits for the candidates' models, takes the step with the lowest M(α*) (§6.2), and checks it by ρ (§6.1). */
  private async chooseAndAdapt(ws: BatchWorkspace, step: number, gammas: number[], adaptTauNow: boolean): Promise<StepReport> {
    const { backend, spec, weights, options, scalars } = this;
    const eta = options.weightDecay;
    const v = await scalars.read();
    const report: StepReport = { loss: v.loss, tau: this.tau, gamma: this.gamma, alpha: NaN, predicted: NaN, rho: NaN, rejected: 0 };
    const predicted = gammas.map((_, c) => predictedChange(v[`alpha${c}`], v[`gd${c}`]));
    const chosen = bestCandidate(predicted);
    if (chosen < 0) {
      this.reject(report);
      this.averageWeights(step);
      return report;
    }
    this.gamma = gammas[chosen];
    const alpha = v[`alpha${chosen}`];
    const direction = this.directions[chosen].layers;
    addScaledLayersIfFinite(backend, scalars.slot(`alpha${chosen}`), direction, weights);
    Object.assign(report, { gamma: this.gamma, alpha, predicted: predicted[chosen] });

    // ρ on the same minibatch (§6.1); a non-finite loss rejects the step.
    if (adaptTauNow) {
      await options.phases?.mark("adaptation");
      forward(backend, spec, weights, ws, false);
      meanLoss(backend, spec, ws, scalars.slot("newLoss"));
      dotLayers(backend, weights, weights, scalars.slot("newThetaSq"));
      const after = await scalars.read();
      const f0 = v.loss + 0.5 * eta * v.thetaSq;
      const f1 = after.newLoss + 0.5 * eta * after.newThetaSq;
      if (!Number.isFinite(f1)) {
        axpbyLayers(backend, -alpha, direction, 1, weights);
        this.reject(report);
      } else {
        report.rho = (f1 - f0) / report.predicted;
        this.tau = adaptTau(this.tau, report.rho, options.tauPeriod);
        report.tau = this.tau;
      }
    }
    await options.phases?.mark("update");
    this.averageWeights(step);
    return report;
  }

  /** δ for one γ: k = √(γ+η), every layer's damped solve; then δᵀ∇f, ‖δ‖², δᵀḠδ = (1/N)Σ vᵀH_Lv and α* into slots. */
  private async direction(ws: BatchWorkspace, gamma: number, candidate: number): Promise<void> {
    const { backend, spec, weights, scalars } = this;
    const k = Math.sqrt(gamma + this.options.weightDecay);
    const direction = this.directions[candidate];
    const slots = {
      gradientDot: scalars.slot(`gd${candidate}`),
      normSq: scalars.slot(`dd${candidate}`),
      curvature: scalars.slot(`curvature${candidate}`),
      alpha: scalars.slot(`alpha${candidate}`),
    };
    await this.options.phases?.mark("solves");
    this.blocks.solve(this.grads, k, direction);
    dotLayers(backend, direction.layers, this.grads.layers, slots.gradientDot);
    dotLayers(backend, direction.layers, direction.layers, slots.normSq);
    await this.options.phases?.mark("R-op");
    rop(backend, spec, weights, direction.layers, ws, this.rop);
    backend.lossHessianVector(spec.loss, ws.output, ws.target, this.rop.output, this.hessianTimesV);
    backend.dot(this.rop.output, this.hessianTimesV, slots.curvature, 1 / ws.batchSize);
    // τ as the previous update left it: its report is read back by now unless the device is still
    // on this update's earlier work, which is already recorded. A failed read is the trainer's to
    // report (through that update's report), not this update's.
    await this.previous.then(
      () => {},
      () => {},
    );
    recordOptimalStep(backend, slots, this.tau + this.options.weightDecay);
  }

  /** A step with a non-finite model or loss leaves θ unchanged and raises τ (§6). */
  private reject(report: StepReport): void {
    this.tau = raiseTau(this.tau, this.options.tauPeriod);
    report.rejected = 1;
    report.tau = this.tau;
  }

  state(): OptimizerState {
    const tensors: OptimizerState["tensors"] = this.blocks.stateTensors();
    this.averagedWeights.forEach((t, l) => (tensors[`polyak.${l}`] = t));
    return { tensors, scalars: { tau: this.tau, gamma: this.gamma } };
  }

  restoreScalars(scalars: Record<string, number>): void {
    this.tau = scalars.tau;
    this.gamma = scalars.gamma;
  }

  dispose(): void {
    this.estimator.dispose();
    this.rop.dispose();
    this.scalars.dispose();
    this.blocks.dispose();
    freeAll(this.backend, [this.grads.parent, ...this.directions.map((d) => d.parent), ...this.averagedWeights, this.hessianTimesV]);
  }
}
