// Triangular solve with one diagonal block (at most 64 x 64) of a lower-triangular L, for many
// right-hand-side lines at once and for a batch of matrices (workgroup z takes row p.base + z of
// the parameter table). The block is staged in workgroup memory as a packed lower triangle, padded
// to 64 x 64 with the identity so that every loop has a constant trip count. One invocation per
// line x (a column of B for left solves, a row for right solves); x_t at offB + line * lineStep +
// t * elemStep.
//   UPPER false (forward, with L):   x_i = (b_i - sum_{j<i} L_ij x_j) / L_ii
//   UPPER true (backward, with L^T): x_i = (b_i - sum_{j>i} L_ji x_j) / L_ii
// (left: L x = b or L^T x = b; right: x L^T = b is L x^T = b^T, x L = b is L^T x^T = b^T.)
// Placeholders: UPPER, OPERANDS (l read-only, b), TABLE_BINDING, TRIANGLE (triangle_block.wgsl).

struct Params { base: u32 }
@group(0) @binding(0) var<uniform> p: Params;
{{OPERANDS}}

struct Entry { size: u32, lines: u32, offL: u32, strL: u32, offB: u32, lineStep: u32, elemStep: u32, pad: u32 }
@group(0) @binding({{TABLE_BINDING}}) var<storage, read> table: array<Entry>;

const UPPER: bool = {{UPPER}};
{{TRIANGLE}}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let e = table[p.base + wid.z];
  stage_triangle(t, NB, e.offL, e.strL, e.size);
  let line = wid.x * NB + t;
  if (line >= e.lines) { return; }
  let base = e.offB + line * e.lineStep;
  var x: array<f32, 64>;
  for (var i = 0u; i < NB; i++) {
    if (i < e.size) { x[i] = ld_b(base + i * e.elemStep); } else { x[i] = 0.0; }
  }
  if (UPPER) {
    for (var q = 0u; q < NB; q++) {
      let i = NB - 1u - q;
      var s = x[i];
      for (var j = i + 1u; j < NB; j++) { s -= tri[ti(j, i)] * x[j]; }
      x[i] = s / tri[ti(i, i)];
    }
  } else {
    for (var i = 0u; i < NB; i++) {
      var s = x[i];
      for (var j = 0u; j < i; j++) { s -= tri[ti(i, j)] * x[j]; }
      x[i] = s / tri[ti(i, i)];
    }
  }
  for (var i = 0u; i < e.size; i++) { st_b(base + i * e.elemStep, x[i]); }
}
