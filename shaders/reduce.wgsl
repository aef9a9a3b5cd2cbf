// Reductions with a fixed summation order: out[o] = alpha * sum_t a(o, t) [* b(o, t)] for
// o < count, t < len. One workgroup of 64 per output: invocation q sums t = q, q + 64, q + 128, ...
// in order, then a fixed binary tree combines the 64 partials. No atomics, so results are
// bit-for-bit repeatable. Element t of line o sits at off + o * line + (t / inner) * row + (t % inner) * col,
// which covers sum/dot (inner = cols), rowSums, colSums and trace (inner = 1, row = stride + 1).
// A large sum/dot runs in two passes (src/backend/webgpu/reduce.ts): lines of `rowsPerLine` whole
// rows each, the last one cut at `rowLimit` rows (element t of line o exists while
// o * rowsPerLine + t / inner < rowLimit), then one line over their partial sums.
// Placeholders: PRODUCT (0: a, 1: a * b), OPERANDS (a, b, out), WORKGROUP_SUM (workgroup_sum.wgsl).

struct Params {
  count: u32, len: u32, inner: u32, gridX: u32,
  offA: u32, lineA: u32, rowA: u32, colA: u32,
  offB: u32, lineB: u32, rowB: u32, colB: u32,
  offO: u32, strO: u32, rowsPerLine: u32, rowLimit: u32,
  alpha: f32,
}
@group(0) @binding(0) var<uniform> p: Params;
{{OPERANDS}}

const PRODUCT: bool = {{PRODUCT}};
{{WORKGROUP_SUM}}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) q: u32) {
  let o = wid.x + wid.y * p.gridX;
  var s = 0.0;
  if (o < p.count) {
    for (var t = q; t < p.len; t += WG) {
      let r = t / p.inner;
      if (o * p.rowsPerLine + r >= p.rowLimit) { break; }
      let c = t % p.inner;
      var v = ld_a(p.offA + o * p.lineA + r * p.rowA + c * p.colA);
      if (PRODUCT) { v *= ld_b(p.offB + o * p.lineB + r * p.rowB + c * p.colB); }
      s += v;
    }
  }
  let total = workgroup_sum(q, s);
  if (q == 0u && o < p.count) { st_out(p.offO + o * p.strO, p.alpha * total); }
}
