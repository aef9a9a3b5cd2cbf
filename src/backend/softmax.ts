// The softmax cross-entropy loss of docs/algorithm.md §11 for one sample (one column of h, K
// outputs), as plain functions shared by the host backends (reference and cpu). The WGSL copy is in
// shaders/loss.wgsl. The target is one class index y ∈ {0, …, K−1}, stored as a number.
//
//   p = softmax(h),  pᵢ = exp(hᵢ − m) / Σⱼ exp(hⱼ − m),  m = maxⱼ hⱼ
//   E = logΣⱼ exp(hⱼ) − h_y = m + log Σⱼ exp(hⱼ − m) − h_y
//   ∂E/∂h = p − e_y
//   ∇²E = diag(p) − p pᵀ   (independent of y, positive semi-definite: the Gauss–Newton output Hessian)
//   C = diag(√p) − p √pᵀ,  C Cᵀ = diag(p) − 2 p pᵀ + p (Σⱼ pⱼ) pᵀ = diag(p) − p pᵀ
//   KFAC's sample: ŷ = the first k with u·Σⱼ pⱼ < Σ_{j≤k} pⱼ, u uniform in (0, 1)

/** A class index from a stored target; labels are checked on load (src/data/targets.ts), so this only rounds. */
export function labelIndex(y: number): number {
  return Math.round(y);
}

/** p = softmax(h) into p[0..K−1]; returns log Σⱼ exp(hⱼ) (the log-partition), computed stably. */
export function softmaxInto(h: ArrayLike<number>, p: Float64Array): number {
  const k = h.length;
  let m = -Infinity;
  for (let i = 0; i < k; i++) m = Math.max(m, h[i]);
  let total = 0;
  for (let i = 0; i < k; i++) {
    p[i] = Math.exp(h[i] - m);
    total += p[i];
  }
  for (let i = 0; i < k; i++) p[i] /= total;
  return m + Math.log(total);
}

/** E = log Σⱼ exp(hⱼ) − h_y. */
export function softmaxValue(h: ArrayLike<number>, y: number, p: Float64Array): number {
  return softmaxInto(h, p) - h[labelIndex(y)];
}

/** ∂E/∂h = p − e_y into out[0..K−1]. */
export function softmaxGrad(h: ArrayLike<number>, y: number, out: Float64Array): void {
  softmaxInto(h, out);
  out[labelIndex(y)] -= 1;
}

/** (diag(p) − p pᵀ) v = p ⊙ v − p (pᵀ v) into out[0..K−1], p = softmax(h) in p. */
export function softmaxHessianVector(h: ArrayLike<number>, v: ArrayLike<number>, p: Float64Array, out: Float64Array): void {
  softmaxInto(h, p);
  let pv = 0;
  for (let i = 0; i < h.length; i++) pv += p[i] * v[i];
  for (let i = 0; i < h.length; i++) out[i] = p[i] * (v[i] - pv);
}

/** C[i][k] = δᵢₖ √pᵢ − pᵢ √pₖ (C Cᵀ = diag(p) − p pᵀ), row-major into out[0..K²−1] (out[K i + k] = C[i][k]). */
export function softmaxHessianSqrt(h: ArrayLike<number>, p: Float64Array, out: Float64Array): void {
  const k = h.length;
  softmaxInto(h, p);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) out[k * i + j] = (i === j ? Math.sqrt(p[i]) : 0) - p[i] * Math.sqrt(p[j]);
  }
}

/** The exact Hessian diag(p) − p pᵀ, row-major into out[0..K²−1]. */
export function softmaxHessian(h: ArrayLike<number>, p: Float64Array, out: Float64Array): void {
  const k = h.length;
  softmaxInto(h, p);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) out[k * i + j] = (i === j ? p[i] : 0) - p[i] * p[j];
  }
}

/**
 * ŷ ~ Categorical(p) by inversion of the cumulative sum with the uniform u: the first k with
 * u·S < p₀ + … + pₖ, S = Σⱼ pⱼ (scaling u by the sum as accumulated keeps a rounded S < 1 from
 * leaving u past the last class, and a class with pₖ = 0 is never chosen).
 */
export function softmaxSample(p: ArrayLike<number>, u: number): number {
  let total = 0;
  for (let i = 0; i < p.length; i++) total += p[i];
  const target = u * total;
  let cumulative = 0;
  for (let i = 0; i < p.length; i++) {
    cumulative += p[i];
    if (target < cumulative) return i;
  }
  return p.length - 1;
}
