// The Kronecker-factored Gauss–Newton optimiser shared by KFRA, KFLR and KFAC (the paper's
// Algorithm 1 with appendix B): one forward and one backward pass form ∇f, Q_λ and G_λ; the factors
// are averaged (§3); each layer's direction is the factored damped solve (§4); the step size comes
// from the full Gauss–Newton quadratic through the R-op (§5); τ and γ adapt (§6); θ̂ is the Polyak
// average (§7).
import type { Backend, Tensor } from "../../backend/types.ts";
import { type CurvatureEstimator, type CurvatureKind, createEstimator, gradientAndCurvature } from "../../curvature/index.ts";
import { forward, meanLoss } from "../../nn/forward.ts";
import { type LayerTensors, type StackedLayers, allocLayers, allocLayersTogether, axpbyLayers, copyLayers, dotLayers } from "../../nn/params.ts";
import { RopWorkspace, rop } from "../../nn/rop.ts";
import { type NetworkSpec, layerCount } from "../../nn/spec.ts";
import type { BatchWorkspace } from "../../nn/workspace.ts";
import { type Optimizer, type OptimizerState, type RecordedUpdate, type StepReport, freeAll, reported } from "../optimizer.ts";
import { ScalarSlots } from "../scalars.ts";
import type { PhaseMarker } from "../phases.ts";
import { adaptTau, bestCandidate, gammaCandidates, optimalStep, raiseTau } from "./adaptation.ts";
import { factorDecay, polyakDecay } from "./averaging.ts";
import { KroneckerBlocks } from "./block.ts";
import type { PresetSettings } from "./presets.ts";

export { DAMPING_PRESETS, type DampingPreset, dampingPreset } from "./presets.ts";

/** A preset's settings (presets.ts) and what no preset gives. */
export interface KroneckerOptions extends PresetSettings {
  curvature: CurvatureKind;
  /** Weight decay η. */
  weightDecay: number;
  /** Seed of KFAC's sampled targets. */
  seed: number;
  /** Benchmarks only: told when each phase of the step begins. */
  phases?: PhaseMarker;
}

type Slot = "loss" | "thetaSq" | "newLoss" | "newThetaSq" | `trQ${number}` | `trG${number}` | `gd${number}` | `vhv${number}` | `dd${number}`;

export class KroneckerOptimizer implements Optimizer {
  readonly name: CurvatureKind;
  readonly averagedWeights: LayerTensors;
  private tau: number;
  private gamma: number;
  private readonly estimator: CurvatureEstimator;
  /** ∇f, layers stacked in one storage like the directions (so the solve copies it in one op). */
  private readonly grads: StackedLayers;
  /** Q_λ, G_λ, their averages and the damped solve of every layer. */
  private readonly blocks: KroneckerBlocks;
  /** One direction per γ candidate, each layer a view of one storage per candidate. */
  private readonly directions: StackedLayers[];
  private readonly rop: RopWorkspace;
  private readonly hessianTimesV: Tensor;
  private readonly scalars: ScalarSlots<Slot>;

  constructor(
    private readonly backend: Backend,
    private readonly spec: NetworkSpec,
    private readonly weights: LayerTensors,
    batchSize: number,
    private readonly options: KroneckerOptions,
  ) {
    this.name = options.curvature;
    this.tau = options.tau0;
    this.gamma = options.gamma0;
    const L = layerCount(spec);
    this.estimator = createEstimator(options.curvature, backend, spec, batchSize, options.seed);
    this.grads = allocLayersTogether(backend, spec);
    this.blocks = new KroneckerBlocks(backend, spec);
    const candidates = options.adapt && options.gammaPeriod > 0 ? 3 : 1;
    this.directions = Array.from({ length: candidates }, () => allocLayersTogether(backend, spec));
    this.averagedWeights = allocLayers(backend, spec);
    copyLayers(backend, weights, this.averagedWeights);
    this.rop = new RopWorkspace(backend, spec, batchSize);
    this.hessianTimesV = backend.alloc(spec.sizes[L], batchSize);
    const names: Slot[] = ["loss", "thetaSq", "newLoss", "newThetaSq"];
    for (let l = 0; l < L; l++) names.push(`trQ${l}`, `trG${l}`);
    for (let c = 0; c < candidates; c++) names.push(`gd${c}`, `vhv${c}`, `dd${c}`);
    this.scalars = new ScalarSlots(backend, names);
  }

  /** The report is known once the step's own reads are back; the update's last dispatches are left queued. */
  async step(ws: BatchWorkspace, step: number): Promise<RecordedUpdate> {
    return reported(await this.update(ws, step));
  }

  private async update(ws: BatchWorkspace, step: number): Promise<StepReport> {
    const { backend, spec, weights, options, scalars } = this;
    const L = layerCount(spec);
    const eta = options.weightDecay;

    const phases = options.phases;
    // Forward and the single backward pass: loss, ∇f, Q_λ, G_λ.
    await phases?.mark("forward");
    forward(backend, spec, weights, ws);
    meanLoss(backend, spec, ws, scalars.slot("loss"));
    dotLayers(backend, weights, weights, scalars.slot("thetaSq"));
    await phases?.mark("backward + curvature");
    const { blocks } = this;
    gradientAndCurvature(backend, spec, weights, ws, this.estimator, step, eta, {
      grads: this.grads.layers,
      inputFactors: blocks.inputFactors,
      outputFactors: blocks.outputFactors,
    });

    // Momentum on the factors (§3), then the traces that split the damping between them (§4).
    await phases?.mark("factor averages");
    blocks.average(factorDecay(step, options.factorDecay, options.rampSteps));
    const layers = Array.from({ length: L }, (_, l) => l);
    blocks.traces(layers.map((l) => scalars.slot(`trQ${l}`)), layers.map((l) => scalars.slot(`trG${l}`)));
    const first = await scalars.read();
    const f0 = first.loss + 0.5 * eta * first.thetaSq;
    const pis = blocks.splits(layers.map((l) => first[`trQ${l}`]), layers.map((l) => first[`trG${l}`]));

    // Directions for each γ candidate, and the pieces of their quadratic models.
    const searchGamma = options.adapt && this.directions.length > 1 && step % options.gammaPeriod === 0;
    const gammas = searchGamma ? gammaCandidates(this.gamma, options.gammaPeriod) : [this.gamma];
    for (let c = 0; c < gammas.length; c++) await this.direction(ws, gammas[c], pis, c);
    await phases?.mark("update");
    const second = await scalars.read();

    // α* and M(α*) for each candidate (§5); keep the lowest M (§6).
    const models = gammas.map((_, c) => {
      const curvature = second[`vhv${c}`] + (this.tau + eta) * second[`dd${c}`];
      return optimalStep(second[`gd${c}`], curvature);
    });
    const chosen = bestCandidate(models.map((m) => m.predicted));
    const report: StepReport = { loss: first.loss, tau: this.tau, gamma: this.gamma, alpha: NaN, predicted: NaN, rho: NaN, rejected: 0 };
    if (chosen < 0 || !Number.isFinite(models[chosen].alpha)) {
      this.reject(report);
      return report;
    }
    this.gamma = gammas[chosen];
    const { alpha, predicted } = models[chosen];
    const direction = this.directions[chosen].layers;
    axpbyLayers(backend, alpha, direction, 1, weights);
    Object.assign(report, { gamma: this.gamma, alpha, predicted });

    // ρ on the same minibatch, every T_τ updates (§6); a non-finite loss rejects the step.
    if (options.adapt && step % options.tauPeriod === 0) {
      await phases?.mark("adaptation");
      forward(backend, spec, weights, ws, false);
      meanLoss(backend, spec, ws, scalars.slot("newLoss"));
      dotLayers(backend, weights, weights, scalars.slot("newThetaSq"));
      const third = await scalars.read();
      const f1 = third.newLoss + 0.5 * eta * third.newThetaSq;
      if (!Number.isFinite(f1)) {
        axpbyLayers(backend, -alpha, direction, 1, weights);
        this.reject(report);
        return report;
      }
      report.rho = (f1 - f0) / predicted;
      this.tau = adaptTau(this.tau, report.rho, options.tauPeriod);
    }

    // θ̂ ← β θ̂ + (1−β) θ (§7).
    await phases?.mark("update");
    const beta = polyakDecay(step, options.polyakMax, options.rampSteps);
    axpbyLayers(backend, 1 - beta, weights, beta, this.averagedWeights);
    report.tau = this.tau;
    return report;
  }

  /** δ for one γ: k = √(γ+η), every layer's damped solve; then δᵀ∇f, (1/N)Σ vᵀH_Lv and ‖δ‖² into slots. */
  private async direction(ws: BatchWorkspace, gamma: number, pis: number[], candidate: number): Promise<void> {
    const { backend, spec, weights, scalars } = this;
    const k = Math.sqrt(gamma + this.options.weightDecay);
    const direction = this.directions[candidate];
    await this.options.phases?.mark("solves");
    this.blocks.solve(this.grads, k, pis, direction);
    dotLayers(backend, direction.layers, this.grads.layers, scalars.slot(`gd${candidate}`));
    dotLayers(backend, direction.layers, direction.layers, scalars.slot(`dd${candidate}`));
    await this.options.phases?.mark("R-op");
    rop(backend, spec, weights, direction.layers, ws, this.rop);
    backend.lossHessianVector(spec.loss, ws.output, ws.target, this.rop.output, this.hessianTimesV);
    backend.dot(this.rop.output, this.hessianTimesV, scalars.slot(`vhv${candidate}`), 1 / ws.batchSize);
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
