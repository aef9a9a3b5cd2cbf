// One Kronecker block per layer: the layer's Gauss–Newton block approximated by Q_λ ⊗ G_λ
// (docs/algorithm.md §3), with the factors of the current minibatch, their moving averages and
// the damped solve (§4). `KroneckerBlocks` holds the blocks of a network so that each piece of
// bookkeeping is one op for all 2L factors: the minibatch factors, their averages and the Cholesky
// factors are three stacks of the same layout (G of every layer, then Q of every layer, as views of
// one storage each), so averaging is one axpby and forming the damped factors one copy and one
// batched shift; each stage of the factorisation and of the four triangular solves is one batched
// op (on WebGPU, one dispatch per 64-column block step).
import type { Backend, Tensor } from "../../backend/types.ts";
import { allocFactorsTogether } from "../../curvature/index.ts";
import type { StackedLayers } from "../../nn/params.ts";
import { type NetworkSpec, layerCount } from "../../nn/spec.ts";
import { DampingSplit } from "./damping.ts";

export interface KroneckerBlock {
  /** Q_λ of the current minibatch, (D_{λ−1}+1)²: written by the curvature pass. */
  readonly inputFactor: Tensor;
  /** G_λ of the current minibatch, D_λ². */
  readonly outputFactor: Tensor;
  /** Q̄_λ, the moving average of Q_λ. */
  readonly inputAverage: Tensor;
  /** Ḡ_λ. */
  readonly outputAverage: Tensor;
  /** L_Q with L_Q L_Qᵀ = Q̄_λ + kπ I (after `solve`): a view into the blocks' shared storage. */
  readonly inputCholesky: Tensor;
  /** L_G with L_G L_Gᵀ = Ḡ_λ + (k/π) I. */
  readonly outputCholesky: Tensor;
}

export class KroneckerBlocks {
  readonly blocks: readonly KroneckerBlock[];
  /** The parents of the three stacks: minibatch factors, averages, Cholesky factors. */
  private readonly factorStorage: Tensor;
  private readonly averageStorage: Tensor;
  private readonly choleskyStorage: Tensor;
  private readonly split: DampingSplit;

  constructor(
    private readonly backend: Backend,
    spec: NetworkSpec,
  ) {
    const L = layerCount(spec);
    const factors = allocFactorsTogether(backend, spec);
    const averages = allocFactorsTogether(backend, spec);
    const cholesky = allocFactorsTogether(backend, spec);
    this.factorStorage = factors.parent;
    this.averageStorage = averages.parent;
    this.choleskyStorage = cholesky.parent;
    this.split = new DampingSplit(backend, spec);
    this.blocks = Array.from({ length: L }, (_, l) => ({
      inputFactor: factors.inputFactors[l],
      outputFactor: factors.outputFactors[l],
      inputAverage: averages.inputFactors[l],
      outputAverage: averages.outputFactors[l],
      outputCholesky: cholesky.outputFactors[l],
      inputCholesky: cholesky.inputFactors[l],
    }));
  }

  /** The minibatch factors, as the curvature pass writes them. */
  get inputFactors(): Tensor[] {
    return this.blocks.map((b) => b.inputFactor);
  }
  get outputFactors(): Tensor[] {
    return this.blocks.map((b) => b.outputFactor);
  }

  // Q̄ ← ε Q̄ + (1−ε) Q and Ḡ ← ε Ḡ + (1−ε) G (§3, momentum on the factors), every layer at once.
  average(epsilon: number): void {
    this.backend.axpby(1 - epsilon, this.factorStorage, epsilon, this.averageStorage);
  }

  // π_λ of every layer from the traces of its averaged factors (§4), on the device.
  splitDamping(): void {
    this.split.record([...this.blocks.map((b) => b.outputAverage), ...this.blocks.map((b) => b.inputAverage)]);
  }

  /** π_λ of every layer as last split (waits for the device; for tests and analysis). */
  pis(): Promise<number[]> {
    return this.split.pis();
  }

  // δ_λ = (Ḡ_λ + (k/π_λ) I)⁻¹ g_λ (Q̄_λ + kπ_λ I)⁻¹ for every layer (§4.2, batched as in §4.3): the inverse of
  // (Q̄ + kπI) ⊗ (Ḡ + (k/π)I) applied to g, by (A ⊗ B) vec(V) = vec(B V Aᵀ). With the Cholesky
  // factors L_G L_Gᵀ and L_Q L_Qᵀ of the damped factors, δ = L_G⁻ᵀ L_G⁻¹ g L_Q⁻ᵀ L_Q⁻¹: four
  // triangular solves (on a GPU, products with the inverted triangular factors, §4.3).
  // Gradients and directions are stacks of the same layout (allocLayersTogether): g is copied in one
  // op and the solves batch over the layers; π_λ comes from `splitDamping`, already on the device.
  solve(gradients: StackedLayers, k: number, directions: StackedLayers): void {
    const { backend, blocks } = this;
    const lg = blocks.map((b) => b.outputCholesky);
    const lq = blocks.map((b) => b.inputCholesky);
    backend.copy(this.averageStorage, this.choleskyStorage);
    backend.addIdentityBatch(new Array<number>(2 * blocks.length).fill(k), [...lg, ...lq], this.split.scales);
    backend.copy(gradients.parent, directions.parent);
    backend.choleskyBatch([...lg, ...lq]);
    backend.kroneckerSolveBatch(lg, lq, directions.layers);
  }

  /** Averages and minibatch factors by name, for checkpoints. */
  stateTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.blocks.forEach((b, l) => (out[`factors.Q.${l}`] = b.inputAverage));
    this.blocks.forEach((b, l) => (out[`factors.G.${l}`] = b.outputAverage));
    return out;
  }

  dispose(): void {
    for (const t of [this.factorStorage, this.averageStorage, this.choleskyStorage]) this.backend.free(t);
    this.split.dispose();
  }
}
