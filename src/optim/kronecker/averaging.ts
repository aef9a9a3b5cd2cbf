// Moving averages: momentum on the curvature factors (docs/algorithm.md §3.5) and Polyak averaging of the
// parameters (§7). The "fixed" preset ramps both constants linearly to their maximum over the first
// `rampSteps` updates, as the authors' public code does.

/** ε_t for Q̄ ← ε Q̄ + (1−ε) Q: 0 at the first step (the factors themselves), then `decay`, or the ramp. */
export function factorDecay(step: number, decay: number, rampSteps: number): number {
  if (step <= 1) return 0;
  return rampSteps > 0 ? decay * Math.min(1, step / rampSteps) : decay;
}

/** β_t for θ̂ ← β θ̂ + (1−β) θ: min(max, 1 − 1/t) (§7), or max · min(1, t/rampSteps) with the ramp. */
export function polyakDecay(step: number, max: number, rampSteps: number): number {
  if (rampSteps > 0) return step <= 1 ? 0 : max * Math.min(1, step / rampSteps);
  return Math.min(max, 1 - 1 / step);
}
