// The three-output mixture loss of docs/algorithm.md §1.2 (paper eq. 27) for one sample, as pure scalar
// functions shared by the host backends (reference and cpu). The WGSL copy is in shaders/.
//
//   p(y | h) = σ(h₁) σ(s h₂) + σ(−h₁) σ(s h₃),   s = 2y − 1,   E = −log p.
// With a = logσ(h₁) + logσ(s h₂), b = logσ(−h₁) + logσ(s h₃) and r = σ(a − b) (the posterior of the
// first component):
//   ∂E/∂h = (σ(h₁) − r,  −r s (1 − σ(s h₂)),  −(1 − r) s (1 − σ(s h₃)))
//   ∇²E  = diag(σ₁(1−σ₁), r σ₂(1−σ₂), (1−r) σ₃(1−σ₃)) − r(1−r) u uᵀ,
//          u = (1, s(1 − σ(s h₂)), −s(1 − σ(s h₃))).
// ∇²E is not always PSD; the Gauss–Newton output Hessian is its PSD projection (eigenvalues
// clamped at 0), the **choice** of docs/algorithm.md §1.2.

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** log σ(x) = −softplus(−x), stable for large |x|. */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

/** softplus(x) = log(1 + eˣ), stable for large |x|. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

interface MixtureTerms {
  s: number;
  a: number;
  b: number;
  r: number;
}

function terms(h1: number, h2: number, h3: number, y: number): MixtureTerms {
  const s = 2 * y - 1;
  const a = logSigmoid(h1) + logSigmoid(s * h2);
  const b = logSigmoid(-h1) + logSigmoid(s * h3);
  return { s, a, b, r: sigmoid(a - b) };
}

/** E = −log(eᵃ + eᵇ). */
export function mixtureValue(h1: number, h2: number, h3: number, y: number): number {
  const { a, b } = terms(h1, h2, h3, y);
  const m = Math.max(a, b);
  return -(m + Math.log(Math.exp(a - m) + Math.exp(b - m)));
}

/** ∂E/∂h, written into out[0..2]. */
export function mixtureGrad(h1: number, h2: number, h3: number, y: number, out: Float64Array): void {
  const { s, r } = terms(h1, h2, h3, y);
  out[0] = sigmoid(h1) - r;
  out[1] = -r * s * (1 - sigmoid(s * h2));
  out[2] = -(1 - r) * s * (1 - sigmoid(s * h3));
}

/** The exact 3×3 Hessian ∇²E, row-major into out[0..8]. */
export function mixtureHessian(h1: number, h2: number, h3: number, y: number, out: Float64Array): void {
  const { s, r } = terms(h1, h2, h3, y);
  const s1 = sigmoid(h1);
  const s2 = sigmoid(h2);
  const s3 = sigmoid(h3);
  const u = [1, s * (1 - sigmoid(s * h2)), -s * (1 - sigmoid(s * h3))];
  const d = [s1 * (1 - s1), r * s2 * (1 - s2), (1 - r) * s3 * (1 - s3)];
  const w = r * (1 - r);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) out[3 * i + j] = (i === j ? d[i] : 0) - w * u[i] * u[j];
  }
}

const JACOBI_SWEEPS = 8;

/**
 * Eigen-decomposition of a symmetric 3×3 matrix by cyclic Jacobi rotations (a fixed number of
 * sweeps, so the result is deterministic): m = V diag(λ) Vᵀ. Writes λ into values[0..2] and the
 * eigenvectors as the columns of the row-major vectors[0..8].
 */
export function symmetricEigen3(m: ArrayLike<number>, values: Float64Array, vectors: Float64Array): void {
  const a = Float64Array.from({ length: 9 }, (_, i) => m[i]);
  vectors.fill(0);
  vectors[0] = vectors[4] = vectors[8] = 1;
  for (let sweep = 0; sweep < JACOBI_SWEEPS; sweep++) {
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]] as const) {
      const apq = a[3 * p + q];
      if (Math.abs(apq) < 1e-300) continue;
      // Rotation angle that zeroes a[p][q]: tan 2θ = 2 a_pq / (a_qq − a_pp).
      const theta = (a[3 * q + q] - a[3 * p + p]) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const sn = t * c;
      for (let k = 0; k < 3; k++) {
        const akp = a[3 * k + p];
        const akq = a[3 * k + q];
        a[3 * k + p] = c * akp - sn * akq;
        a[3 * k + q] = sn * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[3 * p + k];
        const aqk = a[3 * q + k];
        a[3 * p + k] = c * apk - sn * aqk;
        a[3 * q + k] = sn * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = vectors[3 * k + p];
        const vkq = vectors[3 * k + q];
        vectors[3 * k + p] = c * vkp - sn * vkq;
        vectors[3 * k + q] = sn * vkp + c * vkq;
      }
    }
  }
  values[0] = a[0];
  values[1] = a[4];
  values[2] = a[8];
}

/**
 * C with C Cᵀ = PSD projection of ∇²E: C = V diag(√max(λ, 0)), row-major into out[0..8]
 * (out[3i + k] = C[i][k]).
 */
export function mixtureHessianSqrt(h1: number, h2: number, h3: number, y: number, out: Float64Array): void {
  const hess = new Float64Array(9);
  const values = new Float64Array(3);
  const vectors = new Float64Array(9);
  mixtureHessian(h1, h2, h3, y, hess);
  symmetricEigen3(hess, values, vectors);
  for (let k = 0; k < 3; k++) {
    const root = Math.sqrt(Math.max(values[k], 0));
    for (let i = 0; i < 3; i++) out[3 * i + k] = vectors[3 * i + k] * root;
  }
}

/** The PSD-projected Hessian C Cᵀ, row-major into out[0..8]. */
export function mixtureGaussNewton(h1: number, h2: number, h3: number, y: number, out: Float64Array): void {
  const c = new Float64Array(9);
  mixtureHessianSqrt(h1, h2, h3, y, c);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      out[3 * i + j] = c[3 * i] * c[3 * j] + c[3 * i + 1] * c[3 * j + 1] + c[3 * i + 2] * c[3 * j + 2];
    }
  }
}
