// One Kronecker block per layer: the layer's Gauss–Newton block approximated by Q_λ ⊗ G_λ
// (docs/algorithm.md §3), with the factors of the current minibatch, their moving averages and
// the damped solve (§4). `KroneckerBlocks` holds the blocks of a network so that the damped
// factors of every layer are factored and solved together: their Cholesky factors live side by
// side in one storage, and each stage of the factorisation and of the four triangular solves is
// one batched op for all 2L factors (on WebGPU, one dispatch per 64-column block step).
import { allocStacked } from "../../backend/stacked.ts";
import type { Backend, Tensor } from "../../backend/types.ts";
import { allocInputFactors, allocOutputFactors } from "../../curvature/index.ts";
import type { LayerTensors } from "../../nn/params.ts";
import { type NetworkSpec, layerCount } from "../../nn/spec.ts";
import { dampingSplit } from "./damping.ts";

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
  private readonly choleskyStorage: Tensor;

  constructor(
    private readonly backend: Backend,
    private readonly spec: NetworkSpec,
  ) {
    const L = layerCount(spec);
    const inputs = allocInputFactors(backend, spec);
    const outputs = allocOutputFactors(backend, spec);
    const inputAverages = allocInputFactors(backend, spec);
    const outputAverages = allocOutputFactors(backend, spec);
    // Rows: L_G of every layer, then L_Q of every layer.
    const sizes = [...spec.sizes.slice(1), ...spec.sizes.slice(0, -1).map((d) => d + 1)];
    const { parent, views } = allocStacked(backend, sizes.map((n): [number, number] => [n, n]));
    this.choleskyStorage = parent;
    this.blocks = Array.from({ length: L }, (_, l) => ({
      inputFactor: inputs[l],
      outputFactor: outputs[l],
      inputAverage: inputAverages[l],
      outputAverage: outputAverages[l],
      outputCholesky: views[l],
      inputCholesky: views[L + l],
    }));
  }

  /** The minibatch factors, as the curvature pass writes them. */
  get inputFactors(): Tensor[] {
    return this.blocks.map((b) => b.inputFactor);
  }
  get outputFactors(): Tensor[] {
    return this.blocks.map((b) => b.outputFactor);
  }

  // Q̄ ← ε Q̄ + (1−ε) Q and Ḡ ← ε Ḡ + (1−ε) G (§3, momentum on the factors).
  average(epsilon: number): void {
    for (const b of this.blocks) {
      this.backend.axpby(1 - epsilon, b.inputFactor, epsilon, b.inputAverage);
      this.backend.axpby(1 - epsilon, b.outputFactor, epsilon, b.outputAverage);
    }
  }

  /** tr Q̄_λ and tr Ḡ_λ into `inputOut[λ]`, `outputOut[λ]` (1×1 each), for π_λ. */
  traces(inputOut: readonly Tensor[], outputOut: readonly Tensor[]): void {
    this.blocks.forEach((b, l) => {
      this.backend.trace(b.inputAverage, inputOut[l]);
      this.backend.trace(b.outputAverage, outputOut[l]);
    });
  }

  /** π_λ of every layer from the traces of its averaged factors (§4). */
  splits(traceQ: readonly number[], traceG: readonly number[]): number[] {
    return this.blocks.map((_, l) => dampingSplit(traceQ[l], this.spec.sizes[l] + 1, traceG[l], this.spec.sizes[l + 1]));
  }

  // δ_λ = (Ḡ_λ + (k/π_λ) I)⁻¹ g_λ (Q̄_λ + kπ_λ I)⁻¹ for every layer (§4.2, batched as in §4.3): the inverse of
  // (Q̄ + kπI) ⊗ (Ḡ + (k/π)I) applied to g, by (A ⊗ B) vec(V) = vec(B V Aᵀ). With the Cholesky
  // factors L_G L_Gᵀ and L_Q L_Qᵀ of the damped factors, δ = L_G⁻ᵀ L_G⁻¹ g L_Q⁻ᵀ L_Q⁻¹: four
  // triangular solves (on a GPU, products with the inverted triangular factors, §4.3). `directions` should be views of one storage (see
  // allocLayersTogether) so that the solves batch over the layers.
  solve(gradients: LayerTensors, k: number, pis: readonly number[], directions: LayerTensors): void {
    const { backend, blocks } = this;
    blocks.forEach((b, l) => {
      backend.copy(b.outputAverage, b.outputCholesky);
      backend.addIdentity(k / pis[l], b.outputCholesky);
      backend.copy(b.inputAverage, b.inputCholesky);
      backend.addIdentity(k * pis[l], b.inputCholesky);
      backend.copy(gradients[l], directions[l]);
    });
    const lg = blocks.map((b) => b.outputCholesky);
    const lq = blocks.map((b) => b.inputCholesky);
    backend.choleskyBatch([...lg, ...lq]);
    backend.kroneckerSolveBatch(lg, lq, directions);
  }

  /** Averages and minibatch factors by name, for checkpoints. */
  stateTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.blocks.forEach((b, l) => (out[`factors.Q.${l}`] = b.inputAverage));
    this.blocks.forEach((b, l) => (out[`factors.G.${l}`] = b.outputAverage));
    return out;
  }

  dispose(): void {
    for (const b of this.blocks) for (const t of [b.inputFactor, b.outputFactor, b.inputAverage, b.outputAverage]) this.backend.free(t);
    this.backend.free(this.choleskyStorage);
  }
}
