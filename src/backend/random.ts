// The project's counter-based random generator, defined once here and implemented identically by
// every backend (the WGSL copy lives in shaders/random.wgsl).
//
// Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011): key (k0, k1) = (seed mod 2³², ⌊seed / 2³²⌋), counter (c0, c1) = (i, counter) where i is
// the element's row-major index in the output tensor. It uses only 32-bit add, xor and rotate, so
// WGSL, float32 and float64 backends produce bit-identical words.
//   uniform:   u = ((x0 >>> 8) + 0.5) · 2⁻²⁴                       in (0, 1); float32 backends
//              round it to nearest (it needs 25 bits for u ≥ ½), so their words agree bit for bit
//              and their uniforms equal Math.fround of this one
//   normal:    z = √(−2 ln u(x0)) · cos(2π u(x1))                   (Box–Muller, first output)
//   bernoulli: 1 if u(x0) < p else 0

const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24] as const;
const SKEIN_PARITY = 0x1bd11bda;

function rotl32(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

/** Threefry-2x32-20 of counter (c0, c1) under key (k0, k1); returns the two output words. */
export function threefry2x32(k0: number, k1: number, c0: number, c1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (SKEIN_PARITY ^ k0 ^ k1) >>> 0];
  let x0 = (c0 + ks[0]) >>> 0;
  let x1 = (c1 + ks[1]) >>> 0;
  for (let round = 0; round < 20; round++) {
    x0 = (x0 + x1) >>> 0;
    x1 = rotl32(x1, ROTATIONS[round % 8]) ^ x0;
    if (round % 4 === 3) {
      const injection = (round + 1) / 4;
      x0 = (x0 + ks[injection % 3]) >>> 0;
      x1 = (x1 + ks[(injection + 1) % 3] + injection) >>> 0;
    }
  }
  return [x0 >>> 0, x1 >>> 0];
}

export function seedKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  return [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];
}

/** The uniform value in (0, 1) carried by one 32-bit word. */
export function wordToUniform(word: number): number {
  return ((word >>> 8) + 0.5) * 2 ** -24;
}

/** Standard normal from the two words of one counter (Box–Muller). */
export function wordsToNormal(x0: number, x1: number): number {
  return Math.sqrt(-2 * Math.log(wordToUniform(x0))) * Math.cos(2 * Math.PI * wordToUniform(x1));
}
