// Cholesky building blocks (the blocked algorithm lives in src/backend/webgpu/cholesky.ts).
// MODE 0, factor one diagonal block in place (a single invocation; the block is at most 64 x 64):
//   for j: d = a_jj - sum_{k<j} l_jk^2; l_jj = sqrt(d); l_ij = (a_ij - sum_{k<j} l_ik l_jk) / l_jj (i > j).
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
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (MODE == 0u) {
    if (gid.x != 0u) { return; }
    for (var j = 0u; j < p.b; j++) {
      var d = ld_a(at(j, j));
      for (var k = 0u; k < j; k++) { let l = ld_a(at(j, k)); d -= l * l; }
      if (!is_positive(d) && ld_status(0u) == 0.0) {
        st_status(0u, 1.0);
        st_status(1u, f32(p.n));
        st_status(2u, d);
        st_status(3u, f32(p.k0 + j));
      }
      let ljj = sqrt(d);
      st_a(at(j, j), ljj);
      for (var i = j + 1u; i < p.b; i++) {
        var s = ld_a(at(i, j));
        for (var k = 0u; k < j; k++) { s -= ld_a(at(i, k)) * ld_a(at(j, k)); }
        st_a(at(i, j), s / ljj);
      }
    }
    return;
  }
  let e = gid.x + gid.y * p.gridX;
  if (e >= p.n * p.n) { return; }
  let i = e / p.n;
  let j = e % p.n;
  if (j > i) { st_a(at(i, j), 0.0); }
}
