// Branch-free scalar maths for the CPU backend's hot loops (a mispredicted branch per element
// costs more than the arithmetic). Each agrees with its textbook form to a few float64 ulps, far
// below the float32 rounding applied when the result is stored.

// σ(x) = 1/(1 + e⁻ˣ): for x → −∞, e⁻ˣ overflows to ∞ and σ to 0, so no branch is needed.
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

// tanh x = 1 − 2/(e²ˣ + 1) (saturates to ±1 without overflow trouble). Below |x| = 0.01 that
// cancels (relative error ≈ 2⁻⁵²/|x|), so there the series x − x³/3 + 2x⁵/15 (error < x⁷/18).
export function tanh(x: number): number {
  if (Math.abs(x) < 0.01) {
    const x2 = x * x;
    return x * (1 - x2 * (1 / 3 - x2 * (2 / 15)));
  }
  return 1 - 2 / (Math.exp(2 * x) + 1);
}

// log(1 + e) for e ∈ [0, 1], accurate for tiny e: with u = fl(1 + e), log(u)·e/(u − 1)
// (Goldberg's correction; Math.log1p is several times slower in JavaScriptCore).
function log1pSmall(e: number): number {
  const u = 1 + e;
  return u === 1 ? e : (Math.log(u) * e) / (u - 1);
}

// softplus(x) = log(1 + eˣ) = max(x, 0) + log(1 + e^−|x|), with max(x, 0) = (x + |x|)/2.
export function softplus(x: number): number {
  const ax = Math.abs(x);
  return 0.5 * (x + ax) + log1pSmall(Math.exp(-ax));
}
