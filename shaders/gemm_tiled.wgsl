// Batched gemm: C = alpha * op(A) * op(B) + beta * C for every row of the parameter table (workgroup
// z takes row p.base + z), all entries with the same transposes, each with its own sizes, views
// and scalars. Classic shared-memory tiling: a workgroup of 16 x 16 invocations computes a BM x BN
// tile of C (BM = 16 TM, BN = 16 TN), staging BM x BK slices of op(A) and BK x BN of op(B) in
// workgroup memory; invocation (tx, ty) owns rows ty + 16r (r < TM) and columns tx + 16c (c < TN),
// so the workgroup-memory reads are broadcasts or consecutive. Outside the operands loads are zero.
// With beta = 0, C is never read. lowerOnly skips elements above the diagonal (Cholesky's update).
// Placeholders: OPERANDS (a, b read; c written), GEMM_COMMON (gemm_common.wgsl: TM 1, 2, 4 or 8, TN 4 or 8).

{{GEMM_COMMON}}
{{OPERANDS}}

const PADA: u32 = BM + 1u;
const PADB: u32 = BN + 1u;
const NH: u32 = TN / 4u;

var<workgroup> As: array<f32, BK * PADA>;  // As[kk * PADA + i] = op(A)[row0 + i, k0 + kk]
var<workgroup> Bs: array<f32, BK * PADB>;  // Bs[kk * PADB + j] = op(B)[k0 + kk, col0 + j]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let e = table[p.base + wid.z];
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;
  if (row0 >= e.m || col0 >= e.n) { return; }
  if (e.lowerOnly != 0u && col0 > row0 + BM - 1u) { return; }
  let tx = t % 16u;
  let ty = t / 16u;
  var acc: array<vec4<f32>, TM * NH>;  // acc[NH r + h][e]: row ty + 16r, column tx + 16(4h + e)
  for (var k0 = 0u; k0 < e.k; k0 += BK) {
    for (var q = 0u; q < BM * BK / 256u; q++) {
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
      As[kk * PADA + i] = v;
    }
    for (var q = 0u; q < BN * BK / 256u; q++) {
      let idx = t + 256u * q;
      var j: u32;
      var kk: u32;
      if (TRANS_B) { j = idx / BK; kk = idx % BK; } else { kk = idx / BN; j = idx % BN; }
      let gj = col0 + j;
      let gk = k0 + kk;
      var v = 0.0;
      if (gj < e.n && gk < e.k) {
        if (TRANS_B) { v = ld_b(e.offB + gj * e.strB + gk); } else { v = ld_b(e.offB + gk * e.strB + gj); }
      }
      Bs[kk * PADB + j] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var b: array<vec4<f32>, NH>;
      for (var h = 0u; h < NH; h++) {
        let j = kk * PADB + tx + 64u * h;
        b[h] = vec4<f32>(Bs[j], Bs[j + 16u], Bs[j + 32u], Bs[j + 48u]);
      }
      for (var r = 0u; r < TM; r++) {
        let a = vec4<f32>(As[kk * PADA + ty + 16u * r]);
        for (var h = 0u; h < NH; h++) { acc[NH * r + h] = fma(a, b[h], acc[NH * r + h]); }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < TM; r++) {
    let i = row0 + ty + 16u * r;
    if (i >= e.m) { continue; }
    for (var c = 0u; c < TN; c++) {
      let j = col0 + tx + 16u * c;
      if (j >= e.n || (e.lowerOnly != 0u && j > i)) { continue; }
      let at = e.offC + i * e.strC + j;
      var v = e.alpha * acc[NH * r + c / 4u][c % 4u];
      if (e.beta != 0.0) { v += e.beta * ld_c(at); }
      st_c(at, v);
    }
  }
}
