// The split of the factored Tikhonov damping between a layer's two factors (docs/algorithm.md §4,
// paper appendix B.1), computed on the device from the traces of the averaged factors, so that an
// update never waits for them; the damped solve itself is KroneckerBlocks.solve (block.ts).
import type { Backend, Tensor } from "../../backend/types.ts";
import { type NetworkSpec, layerCount } from "../../nn/spec.ts";

/**
 * Small device vectors in the factor stacks' order (G of every layer, then Q of every layer): the
 * traces, the reciprocal dimensions, and the scales 1/π_λ then π_λ by which the shift k multiplies
 * into Ḡ_λ + (k/π_λ) I and Q̄_λ + kπ_λ I.
 */
export class DampingSplit {
  /** 1/π_λ for the G factors, then π_λ for the Q factors: `Backend.addIdentityBatch`'s scales. */
  readonly scales: Tensor;
  private readonly storage: Tensor;
  private readonly traces: Tensor;
  private readonly inverseDims: Tensor;
  private readonly ones: Tensor;
  private readonly L: number;

  constructor(
    private readonly backend: Backend,
    spec: NetworkSpec,
  ) {
    const L = (this.L = layerCount(spec));
    this.storage = backend.alloc(7 * L, 1);
    const part = (start: number, rows: number) => backend.view(this.storage, start, 0, rows, 1);
    this.traces = part(0, 2 * L);
    this.inverseDims = part(2 * L, 2 * L);
    this.scales = part(4 * L, 2 * L);
    this.ones = part(6 * L, L);
    const dims = [...spec.sizes.slice(1), ...spec.sizes.slice(0, -1).map((d) => d + 1)];
    backend.upload(this.inverseDims, dims.map((d) => 1 / d));
    backend.fill(this.ones, 1);
  }

  // π_λ = √((tr Q̄_λ / dim Q_λ) / (tr Ḡ_λ / dim G_λ)): the damping split in proportion to the factors'
  // average eigenvalues (§4); π_λ = 1 where that ratio is not a finite positive number (a factor
  // with zero trace, e.g. a relu layer whose units are all dead on the minibatch).
  record(averages: readonly Tensor[]): void {
    const { backend, L } = this;
    const column = (t: Tensor, start: number) => backend.view(t, start, 0, L, 1);
    backend.traceBatch(averages, Array.from({ length: 2 * L }, (_, i) => backend.view(this.traces, i, 0, 1, 1)));
    backend.hadamard(this.traces, this.inverseDims, this.traces);
    const pis = column(this.scales, L);
    backend.quotient(column(this.traces, L), column(this.traces, 0), pis, { root: true, fallback: 1 });
    backend.quotient(this.ones, pis, column(this.scales, 0));
  }

  /** π_λ of every layer as last recorded (waits for the device; for tests and analysis). */
  async pis(): Promise<number[]> {
    return [...(await this.backend.download(this.backend.view(this.scales, this.L, 0, this.L, 1)))];
  }

  dispose(): void {
    this.backend.free(this.storage);
  }
}
