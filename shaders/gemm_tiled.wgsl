// Batched gemm: C = alpha * op(A) * op(B) + beta * C for every row of the parameter table (workgroup
// z takes row p.base + z), all entries with the same transposes, each with its own sizes, views
// and scalars. Classic shared-memory tiling: a workgroup of 256 invocations computes a 64 x 64 tile
// of C, staging 64 x 16 slices of op(A) and 16 x 64 of op(B) in workgroup memory; invocation
// (tx, ty) owns rows ty + 16r and columns tx + 16c (r, c < 4), so the workgroup-memory reads
// are broadcasts or consecutive. Rows/columns outside the operands load as zero.
// With beta = 0, C is never read. lowerOnly skips elements above the diagonal (Cholesky's update).
// Placeholders: TRANS_A, TRANS_B, OPERANDS (a, b read; c written), TABLE_BINDING.

struct Params { base: u32 }
@group(0) @binding(0) var<uniform> p: Params;
{{OPERANDS}}

struct Entry {
  m: u32, n: u32, k: u32, lowerOnly: u32,
  offA: u32, strA: u32, offB: u32, strB: u32,
  offC: u32, strC: u32, alpha: f32, beta: f32,
}
@group(0) @binding({{TABLE_BINDING}}) var<storage, read> table: array<Entry>;

const TRANS_A: bool = {{TRANS_A}};
const TRANS_B: bool = {{TRANS_B}};
const BM: u32 = 64u;
const BK: u32 = 16u;
const PAD: u32 = 65u;

var<workgroup> As: array<f32, 1040>;  // As[kk * PAD + i] = op(A)[row0 + i, k0 + kk]
var<workgroup> Bs: array<f32, 1040>;  // Bs[kk * PAD + j] = op(B)[k0 + kk, col0 + j]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let e = table[p.base + wid.z];
  let row0 = wid.y * BM;
  let col0 = wid.x * BM;
  if (row0 >= e.m || col0 >= e.n) { return; }
  if (e.lowerOnly != 0u && col0 > row0 + BM - 1u) { return; }
  let tx = t % 16u;
  let ty = t / 16u;
  var acc: array<vec4<f32>, 4>;  // acc[r][c]: row ty + 16r, column tx + 16c
  for (var k0 = 0u; k0 < e.k; k0 += BK) {
    for (var q = 0u; q < 4u; q++) {
      let idx = t + 256u * q;
      var i: u32;
      var kk: u32;
      if (TRANS_A) { kk = idx / BM; i = idx % BM; } else { i = idx / BK; kk = idx % BK; }
      let gi = row0 + i;
      let gk = k0 + kk;
      var v = 0.0;
      if (gi < e.m && gk < e.k) {
        if (TRANS_A) { v = ld_a(e.offA + gk * e.strA + gi); } else { v = ld_a(e.offA + gi * e.strA + gk); }
      }
      As[kk * PAD + i] = v;
    }
    for (var q = 0u; q < 4u; q++) {
      let idx = t + 256u * q;
      var j: u32;
      var kk: u32;
      if (TRANS_B) { j = idx / BK; kk = idx % BK; } else { kk = idx / BM; j = idx % BM; }
      let gj = col0 + j;
      let gk = k0 + kk;
      var v = 0.0;
      if (gj < e.n && gk < e.k) {
        if (TRANS_B) { v = ld_b(e.offB + gj * e.strB + gk); } else { v = ld_b(e.offB + gk * e.strB + gj); }
      }
      Bs[kk * PAD + j] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a = vec4<f32>(As[kk * PAD + ty], As[kk * PAD + ty + 16u], As[kk * PAD + ty + 32u], As[kk * PAD + ty + 48u]);
      let b = vec4<f32>(Bs[kk * PAD + tx], Bs[kk * PAD + tx + 16u], Bs[kk * PAD + tx + 32u], Bs[kk * PAD + tx + 48u]);
      acc[0] = fma(vec4<f32>(a.x), b, acc[0]);
      acc[1] = fma(vec4<f32>(a.y), b, acc[1]);
      acc[2] = fma(vec4<f32>(a.z), b, acc[2]);
      acc[3] = fma(vec4<f32>(a.w), b, acc[3]);
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let i = row0 + ty + 16u * r;
    if (i >= e.m) { continue; }
    for (var c = 0u; c < 4u; c++) {
      let j = col0 + tx + 16u * c;
      if (j >= e.n || (e.lowerOnly != 0u && j > i)) { continue; }
      let at = e.offC + i * e.strC + j;
      var v = e.alpha * acc[r][c];
      if (e.beta != 0.0) { v += e.beta * ld_c(at); }
      st_c(at, v);
    }
  }
}
