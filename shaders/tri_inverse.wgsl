// Inverts, in place and in workgroup memory, a 64 x 64 lower-triangular matrix held as the packed
// lower triangle `tri` (tri[ti(r, c)], c <= r), by recursive doubling over diagonal blocks:
//   inv([A 0; C D]) = [A^-1 0; -D^-1 (C A^-1) D^-1],
// first the 1 x 1 blocks (reciprocals), then pairs of s x s blocks for s = 1, 2, ..., 32, with
// T = C A^-1 of every pair staged in `tmp` (32 s <= 1024 values). Six levels of two parallel
// products each: a few hundred multiply-adds per invocation instead of a 64-step substitution.
// Included by shaders that declare `var<workgroup> tri: array<f32, 2080>` and `fn ti(r, c)`;
// call from uniform control flow with all 256 invocations (t = local_invocation_index).

var<workgroup> tmp: array<f32, 1024>;

// Element e of the level-s products: (pair p, row r, column c, first row b0 of the pair's block).
fn pair_element(e: u32, s: u32) -> vec4<u32> {
  let p = e / (s * s);
  return vec4<u32>(p, (e % (s * s)) / s, e % s, p * 2u * s);
}

fn invert_lower_in_place(t: u32) {
  if (t < 64u) { tri[ti(t, t)] = 1.0 / tri[ti(t, t)]; }
  workgroupBarrier();
  for (var s = 1u; s < 64u; s *= 2u) {
    // T = C A^-1 for each pair p: C rows b0 + s + r, columns b0 + k; A^-1 lower, so k >= c.
    for (var e = t; e < 32u * s; e += 256u) {
      let q = pair_element(e, s);
      var sum = 0.0;
      for (var k = q.z; k < s; k++) { sum += tri[ti(q.w + s + q.y, q.w + k)] * tri[ti(q.w + k, q.w + q.z)]; }
      tmp[e] = sum;
    }
    workgroupBarrier();
    // C = -D^-1 T; D^-1 lower, so k <= r.
    for (var e = t; e < 32u * s; e += 256u) {
      let q = pair_element(e, s);
      var sum = 0.0;
      for (var k = 0u; k <= q.y; k++) { sum += tri[ti(q.w + s + q.y, q.w + s + k)] * tmp[q.x * s * s + k * s + q.z]; }
      tri[ti(q.w + s + q.y, q.w + q.z)] = -sum;
    }
    workgroupBarrier();
  }
}
