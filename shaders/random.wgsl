// The project's counter-based generator, bit-identical to src/backend/random.ts:
// Threefry-2x32-20 (Salmon et al., SC 2011) of counter (c0, c1) under key (k0, k1);
// uniform u = ((x >> 8) + 0.5) * 2^-24 (exact in f32); normal z = sqrt(-2 ln u(x0)) cos(2 pi u(x1)).
// Library functions only: included by random_fill.wgsl and loss.wgsl.

fn rotl32(x: u32, r: u32) -> u32 {
  return (x << r) | (x >> (32u - r));
}

fn threefry2x32(k0: u32, k1: u32, c0: u32, c1: u32) -> vec2<u32> {
  let ks = array<u32, 3>(k0, k1, 0x1bd11bdau ^ k0 ^ k1);
  var x0 = c0 + k0;
  var x1 = c1 + k1;
  // Five groups of four rounds; rotations 13 15 26 6 in even groups, 17 29 16 24 in odd ones;
  // after group g the key schedule injects ks[(g+1) % 3], ks[(g+2) % 3] + g + 1.
  for (var g = 0u; g < 5u; g++) {
    let odd = (g & 1u) == 1u;
    x0 += x1; x1 = rotl32(x1, select(13u, 17u, odd)) ^ x0;
    x0 += x1; x1 = rotl32(x1, select(15u, 29u, odd)) ^ x0;
    x0 += x1; x1 = rotl32(x1, select(26u, 16u, odd)) ^ x0;
    x0 += x1; x1 = rotl32(x1, select(6u, 24u, odd)) ^ x0;
    let inj = g + 1u;
    x0 += ks[inj % 3u];
    x1 += ks[(inj + 1u) % 3u] + inj;
  }
  return vec2<u32>(x0, x1);
}

fn word_to_uniform(x: u32) -> f32 {
  return (f32(x >> 8u) + 0.5) * 5.9604644775390625e-8;
}

fn words_to_normal(w: vec2<u32>) -> f32 {
  return sqrt(-2.0 * log(word_to_uniform(w.x))) * cos(6.283185307179586 * word_to_uniform(w.y));
}
