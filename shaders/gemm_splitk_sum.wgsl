// Split-K gemm, second pass: C = alpha * (P_0 + P_1 + ... + P_{S-1}) + beta * C for every row of
// the parameter table (workgroup z takes row p.base + z), where P_s = op(A)[:, K_s] op(B)[K_s, :] is
// the product over the s-th k-slice, written by the tiled gemm into partials (m x n each, dense,
// slice after slice from offP). The slices are summed in order 0, 1, ..., S-1, so the result does
// not depend on scheduling. Workgroup y is row i, x a 256-column block. With beta = 0, C is never
// read. lowerOnly skips elements above the diagonal (their partials were never written).
// Placeholders: OPERANDS (part read; c written), TABLE_BINDING.

struct Params { base: u32 }
@group(0) @binding(0) var<uniform> p: Params;
{{OPERANDS}}

struct Entry {
  m: u32, n: u32, lowerOnly: u32, slices: u32,
  offP: u32, offC: u32, strC: u32, alpha: f32, beta: f32,
}
@group(0) @binding({{TABLE_BINDING}}) var<storage, read> table: array<Entry>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let e = table[p.base + wid.z];
  let i = wid.y;
  let j = wid.x * 256u + t;
  if (i >= e.m || j >= e.n || (e.lowerOnly != 0u && j > i)) { return; }
  let slice = e.m * e.n;
  var s = 0.0;
  for (var q = 0u; q < e.slices; q++) { s += ld_part(e.offP + q * slice + i * e.n + j); }
  let at = e.offC + i * e.strC + j;
  var v = e.alpha * s;
  if (e.beta != 0.0) { v += e.beta * ld_c(at); }
  st_c(at, v);
}
