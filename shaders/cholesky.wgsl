// Cholesky building blocks (the blocked algorithm lives in src/backend/webgpu/cholesky.ts).
// MODE 0, factor one diagonal block (at most 64 x 64) in place with one workgroup, right-looking:
//   for j: l_jj = sqrt(a_jj); l_ij = a_ij / l_jj (i > j); a_ic -= l_ij l_cj (j < c <= i),
//   which is l_jj = sqrt(a_jj - sum_{k<j} l_jk^2), l_ij = (a_ij - sum_{k<j} l_ik l_jk) / l_jj.
//   A pivot d that is not > 0 (or NaN) records [1, size, bits(d), index] in the status buffer (first
//   failure only); the next download/flush raises NotPositiveDefiniteError.
// MODE 1, zero the strict upper triangle of the n x n matrix (one invocation per element).
// Placeholders: MODE, OPERANDS (a, status).

struct Params {
  n: u32, off: u32, stride: u32, b: u32,
  k0: u32, gridX: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
{{OPERANDS}}

const MODE: u32 = {{MODE}}u;

fn at(i: u32, j: u32) -> u32 { return p.off + i * p.stride + j; }

fn is_positive(x: f32) -> bool {
  // Bit test instead of x > 0 so that NaN (which a compiler may assume absent) also fails.
  let bits = bitcast<u32>(x);
  return bits != 0u && bits <= 0x7f800000u;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  if (MODE == 0u) {
    // One workgroup; invocation t owns row t of the block. Right-looking, column by column:
    // pivot, scale the column below it, update the lower triangle to its right.
    for (var j = 0u; j < p.b; j++) {
      if (t == 0u) {
        let d = ld_a(at(j, j));
        if (!is_positive(d) && ld_status(0u) == 0.0) {
          st_status(0u, 1.0);
          st_status(1u, f32(p.n));
          st_status(2u, d);
          st_status(3u, f32(p.k0 + j));
        }
        st_a(at(j, j), sqrt(d));
      }
      storageBarrier();
      workgroupBarrier();
      let ljj = ld_a(at(j, j));
      if (t > j && t < p.b) { st_a(at(t, j), ld_a(at(t, j)) / ljj); }
      storageBarrier();
      workgroupBarrier();
      if (t > j && t < p.b) {
        let lij = ld_a(at(t, j));
        for (var c = j + 1u; c <= t; c++) { st_a(at(t, c), ld_a(at(t, c)) - lij * ld_a(at(c, j))); }
      }
      storageBarrier();
      workgroupBarrier();
    }
    return;
  }
  let e = gid.x + gid.y * p.gridX;
  if (e >= p.n * p.n) { return; }
  let i = e / p.n;
  let j = e % p.n;
  if (j > i) { st_a(at(i, j), 0.0); }
}
