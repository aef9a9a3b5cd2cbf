// The step size along a direction δ from the Gauss–Newton quadratic (docs/algorithm.md §5), recorded
// on the device so that the update can be applied without waiting for it.
import type { Backend, Tensor } from "../../backend/types.ts";

/** The 1×1 device slots of one direction's quadratic model M(α) = α δᵀ∇f + ½ α² δᵀC̄δ. */
export interface ModelSlots {
  /** δᵀ∇f. */
  gradientDot: Tensor;
  /** ‖δ‖². */
  normSq: Tensor;
  /** δᵀḠδ when recorded; δᵀC̄δ = δᵀḠδ + (τ + η)‖δ‖² after `recordOptimalStep`. */
  curvature: Tensor;
  /** α*, NaN when it is not finite. */
  alpha: Tensor;
}

// α* = −δᵀ∇f / δᵀC̄δ with δᵀC̄δ = δᵀḠδ + (τ + η)‖δ‖², `damping` = τ + η (§5). A quotient that is not
// finite gives NaN, which `Backend.addScaledIfFinite` skips: the step is rejected (§6).
export function recordOptimalStep(backend: Backend, slots: ModelSlots, damping: number): void {
  backend.axpby(damping, slots.normSq, 1, slots.curvature);
  backend.quotient(slots.gradientDot, slots.curvature, slots.alpha, { scale: -1 });
}

/** M(α*) = α* δᵀ∇f + ½ α*² δᵀC̄δ = ½ α* δᵀ∇f at the minimiser (§5); NaN for a rejected step. */
export function predictedChange(alpha: number, gradientDot: number): number {
  return 0.5 * alpha * gradientDot;
}
