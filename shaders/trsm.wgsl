// Triangular solve with one diagonal block (at most 64 x 64) of a lower-triangular L, for many
// right-hand-side lines at once: one invocation per line x (a column of B for left solves, a row
// for right solves), elements x_t at off + line * lineStep + t * elemStep.
//   UPPER 0 (forward, with L):   x_i = (b_i - sum_{j<i} L_ij x_j) / L_ii
//   UPPER 1 (backward, with L^T): x_i = (b_i - sum_{j>i} L_ji x_j) / L_ii
// (left: L x = b or L^T x = b; right: x L^T = b is L x^T = b^T, x L = b is L^T x^T = b^T.)
// Placeholders: UPPER, OPERANDS (l, b).

struct Params {
  size: u32, lines: u32, gridX: u32, offL: u32,
  strL: u32, offB: u32, lineStep: u32, elemStep: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
{{OPERANDS}}

const UPPER: bool = {{UPPER}};

fn l_at(i: u32, j: u32) -> f32 { return ld_l(p.offL + i * p.strL + j); }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let line = gid.x + gid.y * p.gridX;
  if (line >= p.lines) { return; }
  let base = p.offB + line * p.lineStep;
  var x: array<f32, 64>;
  for (var t = 0u; t < p.size; t++) { x[t] = ld_b(base + t * p.elemStep); }
  if (UPPER) {
    for (var q = 0u; q < p.size; q++) {
      let i = p.size - 1u - q;
      var s = x[i];
      for (var j = i + 1u; j < p.size; j++) { s -= l_at(j, i) * x[j]; }
      x[i] = s / l_at(i, i);
    }
  } else {
    for (var i = 0u; i < p.size; i++) {
      var s = x[i];
      for (var j = 0u; j < i; j++) { s -= l_at(i, j) * x[j]; }
      x[i] = s / l_at(i, i);
    }
  }
  for (var t = 0u; t < p.size; t++) { st_b(base + t * p.elemStep, x[t]); }
}
