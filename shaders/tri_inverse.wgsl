// Inverts, in place and in workgroup memory, a 64 x 64 lower-triangular matrix held as the packed
// lower triangle `tri` (tri[ti(r, c)], c <= r), by recursive doubling over diagonal blocks:
//   inv([A 0; C D]) = [A^-1 0; -D^-1 (C A^-1) D^-1],
// first the 1 x 1 blocks (reciprocals), then pairs of s x s blocks for s = 1, 2, ..., 32, with
// T = C A^-1 of every pair staged in `tmp` (32 s <= 1024 values). Six levels of two parallel
// products each: a few hundred multiply-adds per invocation instead of a 64-step substitution.
// Included by shaders that declare `var<workgroup> tri: array<f32, 2080>` and `fn ti(r, c)`;
// call from uniform control flow with all 256 invocations (t = local_invocation_index).

var<workgroup> tmp: array<f32, 1024>;

fn invert_lower_in_place(t: u32) {
  if (t < 64u) { tri[ti(t, t)] = 1.0 / tri[ti(t, t)]; }
  workgroupBarrier();
  for (var s = 1u; s < 64u; s *= 2u) {
    let block = s * s;
    // T = C A^-1 for each pair p: C rows p*2s + s + r, columns p*2s + k; A^-1 lower, so k >= c.
    for (var e = t; e < 32u * s; e += 256u) {
      let p = e / block;
      let r = (e % block) / s;
      let c = e % s;
      let b0 = p * 2u * s;
      var sum = 0.0;
      for (var k = c; k < s; k++) { sum += tri[ti(b0 + s + r, b0 + k)] * tri[ti(b0 + k, b0 + c)]; }
      tmp[e] = sum;
    }
    workgroupBarrier();
    // C = -D^-1 T; D^-1 lower, so k <= r.
    for (var e = t; e < 32u * s; e += 256u) {
      let p = e / block;
      let r = (e % block) / s;
      let c = e % s;
      let b0 = p * 2u * s;
      var sum = 0.0;
      for (var k = 0u; k <= r; k++) { sum += tri[ti(b0 + s + r, b0 + s + k)] * tmp[p * block + k * s + c]; }
      tri[ti(b0 + s + r, b0 + c)] = -sum;
    }
    workgroupBarrier();
  }
}
