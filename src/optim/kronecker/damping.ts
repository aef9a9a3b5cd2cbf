// The split of the factored Tikhonov damping between a layer's two factors (ALGORITHM.md §4,
// paper appendix B.1); the damped solve itself is KroneckerBlocks.solve (block.ts).

/**
 * π_λ = √( (tr Q_λ / dim Q_λ) / (tr G_λ / dim G_λ) ), which splits the damping between the two
 * factors in proportion to their average eigenvalues. A factor with zero trace (e.g. every unit of
 * a relu layer dead on the minibatch) gives π = 1 rather than 0 or ∞.
 */
export function dampingSplit(traceQ: number, dimQ: number, traceG: number, dimG: number): number {
  const ratio = traceQ / dimQ / (traceG / dimG);
  return Number.isFinite(ratio) && ratio > 0 ? Math.sqrt(ratio) : 1;
}
