// Adaptive damping (docs/algorithm.md §6, paper appendix B.3): Levenberg–Marquardt for τ and a greedy
// search for γ, both as pure functions of the measured quantities.

/** ω = 0.95^period: the factor by which τ and γ move when adapted every `period` updates (§6). */
export function adaptationRatio(period: number): number {
  return 0.95 ** period;
}

/**
 * Levenberg–Marquardt rule, applied every `period` updates: ρ = (f(θ + α*δ) − f(θ)) / M(α*);
 * ω = 0.95^period; ρ > 0.75 ⇒ τ ← ωτ; ρ < 0.25 ⇒ τ ← τ/ω (the thresholds of Martens & Grosse; the
 * paper's text has 0.75 twice, a typo — docs/algorithm.md §6.1).
 */
export function adaptTau(tau: number, rho: number, period: number): number {
  if (rho > 0.75) return adaptationRatio(period) * tau;
  if (rho < 0.25 || !Number.isFinite(rho)) return raiseTau(tau, period);
  return tau;
}

/** τ ← τ/ω: the step was poor or rejected (§6). */
export function raiseTau(tau: number, period: number): number {
  return tau / adaptationRatio(period);
}

/** The γ values tried every `period` updates: {ωγ, γ, γ/ω} with ω = 0.95^period. */
export function gammaCandidates(gamma: number, period: number): number[] {
  const omega = adaptationRatio(period);
  return [omega * gamma, gamma, gamma / omega];
}

/** Index of the candidate with the lowest finite predicted change M (−1 when none is finite). */
export function bestCandidate(predicted: number[]): number {
  let best = -1;
  predicted.forEach((m, i) => {
    if (Number.isFinite(m) && (best < 0 || m < predicted[best])) best = i;
  });
  return best;
}
