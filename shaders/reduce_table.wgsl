// Batched reductions with a fixed summation order (src/backend/webgpu/reduce.ts: dotMany's first
// pass, traceBatch). Workgroup (x, y) reduces line x of the entry in table row base + y: the rows
// x * rowsPerLine ... (cut at `rows`) of a rows x cols walk whose element (r, c) sits at
// off + r * step + c in input storage number buf, times the same element of the second operand when
// PRODUCT. Invocation q sums t = q, q + 64, q + 128, ... in order, then a fixed binary tree combines
// the 64 partials and out[outAt + x] = alpha * total. No atomics, so results are bit-for-bit repeatable.
// Placeholders: PRODUCT, OPERANDS (in0 ... with ld_in(b, i), and out), TABLE_BINDING, WORKGROUP_SUM.

struct Params { base: u32 }
@group(0) @binding(0) var<uniform> p: Params;
{{OPERANDS}}

struct Entry {
  bufA: u32, offA: u32, stepA: u32, bufB: u32,
  offB: u32, stepB: u32, rows: u32, cols: u32,
  rowsPerLine: u32, lines: u32, outAt: u32, alpha: f32,
}
@group(0) @binding({{TABLE_BINDING}}) var<storage, read> table: array<Entry>;

const PRODUCT: bool = {{PRODUCT}};
{{WORKGROUP_SUM}}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) q: u32) {
  let e = table[p.base + wid.y];
  let line = wid.x;
  if (line >= e.lines) { return; }
  let first = line * e.rowsPerLine;
  let rows = min(e.rowsPerLine, e.rows - first);
  let len = rows * e.cols;
  var s = 0.0;
  for (var t = q; t < len; t += WG) {
    let r = first + t / e.cols;
    let c = t % e.cols;
    var v = ld_in(e.bufA, e.offA + r * e.stepA + c);
    if (PRODUCT) { v *= ld_in(e.bufB, e.offB + r * e.stepB + c); }
    s += v;
  }
  let total = workgroup_sum(q, s);
  if (q == 0u) { st_out(e.outAt + line, e.alpha * total); }
}
