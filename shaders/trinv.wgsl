// Inverses of the diagonal blocks (at most 64 x 64) of lower-triangular matrices, one workgroup per
// block (workgroup z takes row p.base + z of the parameter table). The block is staged in workgroup
// memory as a packed lower triangle, padded to 64 x 64 with the identity; invocation c solves
// L x = e_c by forward substitution, x_i = (delta_ic - sum_{c<=j<i} L_ij x_j) / L_ii, and writes
// column c of L^-1 into a dense 64 x 64 tile at outOff (row-major, stride 64; zero above the
// diagonal and outside the block, one on the diagonal of the padding).
// Placeholders: OPERANDS (l read-only, out), TABLE_BINDING, TRIANGLE (triangle_block.wgsl).

struct Params { base: u32 }
@group(0) @binding(0) var<uniform> p: Params;
{{OPERANDS}}

struct Entry { offL: u32, strL: u32, size: u32, outOff: u32 }
@group(0) @binding({{TABLE_BINDING}}) var<storage, read> table: array<Entry>;

{{TRIANGLE}}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) c: u32) {
  let e = table[p.base + wid.z];
  stage_triangle(c, e.offL, e.strL, e.size);
  var x: array<f32, 64>;
  for (var i = 0u; i < NB; i++) {
    var s = select(0.0, 1.0, i == c);
    for (var j = c; j < i; j++) { s -= tri[ti(i, j)] * x[j]; }
    x[i] = select(0.0, s / tri[ti(i, i)], i >= c);
  }
  for (var i = 0u; i < NB; i++) { st_out(e.outOff + i * NB + c, x[i]); }
}
