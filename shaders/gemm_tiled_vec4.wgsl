// Batched gemm, vec4 inner loop: C = alpha * op(A) * op(B) + beta * C for every row of the parameter
// table (workgroup z takes row p.base + z), the same contract as gemm_tiled.wgsl. A workgroup of
// 16 x 16 invocations computes a BM x BN tile of C (BM = 16 TM, BN = 16 TN). The k-slices of op(A)
// (BM x BK) and op(B) (BK x BN) are staged in workgroup arrays of vec4 along i and j, so for each kk
// an invocation reads its op(A) rows as ceil(TM/4) vec4s (a broadcast: one or two distinct rows per
// 32 invocations) and its op(B) columns as TN/4 consecutive vec4s: TM/4 + TN/4 loads for TM TN FMAs,
// against TM + TN in gemm_tiled.wgsl. Invocation (tx, ty) owns rows ty TM + r (r < TM) and columns
// 4 (tx + 16 h) + c (h < TN/4, c < 4). The next k-slice is read from global memory into registers
// before the FMAs on the current one, so its latency overlaps them. Global reads are consecutive
// along each operand's rows in all four transpose cases; outside the operands they are zero.
// With beta = 0, C is never read. lowerOnly skips elements above the diagonal (Cholesky's update).
// Placeholders: OPERANDS (a, b read; c written), GEMM_COMMON (gemm_common.wgsl: TM 1, 2, 4 or 8,
// TN 4 or 8).

{{GEMM_COMMON}}
{{OPERANDS}}

const AV: u32 = BM / 4u + 1u;  // vec4s per kk in As, one of them padding (fewer bank conflicts on stores)
const BV: u32 = BN / 4u + 1u;
const NH: u32 = TN / 4u;
const AG: u32 = (TM + 3u) / 4u;  // vec4s of As holding an invocation's TM rows
const LA: u32 = BM * BK / 256u;  // op(A) elements each invocation stages per k-slice
const LB: u32 = BN * BK / 256u;

var<workgroup> As: array<vec4<f32>, BK * AV>;  // As[kk AV + i / 4][i % 4] = op(A)[row0 + i, k0 + kk]
var<workgroup> Bs: array<vec4<f32>, BK * BV>;  // Bs[kk BV + j / 4][j % 4] = op(B)[k0 + kk, col0 + j]

// (i, kk) of the idx-th staged element of op(A): consecutive idx run along A's rows in memory.
fn coordA(idx: u32) -> vec2<u32> {
  if (TRANS_A) { return vec2<u32>(idx % BM, idx / BM); }
  return vec2<u32>(idx / BK, idx % BK);
}

// (kk, j) of the idx-th staged element of op(B).
fn coordB(idx: u32) -> vec2<u32> {
  if (TRANS_B) { return vec2<u32>(idx % BK, idx / BK); }
  return vec2<u32>(idx / BN, idx % BN);
}

fn fetchA(e: Entry, row0: u32, k0: u32, t: u32) -> array<f32, LA> {
  var v: array<f32, LA>;
  for (var q = 0u; q < LA; q++) {
    let c = coordA(t + 256u * q);
    let gi = row0 + c.x;
    let gk = k0 + c.y;
    if (gi < e.m && gk < e.k) {
      if (TRANS_A) { v[q] = ld_a(e.offA + gk * e.strA + gi); } else { v[q] = ld_a(e.offA + gi * e.strA + gk); }
    }
  }
  return v;
}

fn fetchB(e: Entry, col0: u32, k0: u32, t: u32) -> array<f32, LB> {
  var v: array<f32, LB>;
  for (var q = 0u; q < LB; q++) {
    let c = coordB(t + 256u * q);
    let gk = k0 + c.x;
    let gj = col0 + c.y;
    if (gj < e.n && gk < e.k) {
      if (TRANS_B) { v[q] = ld_b(e.offB + gj * e.strB + gk); } else { v[q] = ld_b(e.offB + gk * e.strB + gj); }
    }
  }
  return v;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let e = table[p.base + wid.z];
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;
  if (row0 >= e.m || col0 >= e.n) { return; }
  if (e.lowerOnly != 0u && col0 > row0 + BM - 1u) { return; }
  let tx = t % 16u;
  let ty = t / 16u;
  let aFirst = ty * TM / 4u;  // As vec4 holding row ty TM, at component aLane
  let aLane = ty * TM % 4u;
  var acc: array<vec4<f32>, TM * NH>;  // acc[NH r + h][c]: row ty TM + r, column 4 (tx + 16 h) + c
  var ra = fetchA(e, row0, 0u, t);
  var rb = fetchB(e, col0, 0u, t);
  for (var k0 = 0u; k0 < e.k; k0 += BK) {
    workgroupBarrier();
    for (var q = 0u; q < LA; q++) {
      let c = coordA(t + 256u * q);
      As[c.y * AV + c.x / 4u][c.x % 4u] = ra[q];
    }
    for (var q = 0u; q < LB; q++) {
      let c = coordB(t + 256u * q);
      Bs[c.x * BV + c.y / 4u][c.y % 4u] = rb[q];
    }
    workgroupBarrier();
    if (k0 + BK < e.k) {
      ra = fetchA(e, row0, k0 + BK, t);
      rb = fetchB(e, col0, k0 + BK, t);
    }
    for (var kk = 0u; kk < BK; kk++) {
      var b: array<vec4<f32>, NH>;
      for (var h = 0u; h < NH; h++) { b[h] = Bs[kk * BV + tx + 16u * h]; }
      var a: array<vec4<f32>, AG>;
      for (var g = 0u; g < AG; g++) { a[g] = As[kk * AV + aFirst + g]; }
      for (var r = 0u; r < TM; r++) {
        let ar = vec4<f32>(a[(aLane + r) / 4u][(aLane + r) % 4u]);
        for (var h = 0u; h < NH; h++) { acc[NH * r + h] = fma(ar, b[h], acc[NH * r + h]); }
      }
    }
  }
  for (var r = 0u; r < TM; r++) {
    let i = row0 + ty * TM + r;
    if (i >= e.m) { break; }
    for (var h = 0u; h < NH; h++) {
      for (var c = 0u; c < 4u; c++) {
        let j = col0 + 4u * (tx + 16u * h) + c;
        if (j >= e.n || (e.lowerOnly != 0u && j > i)) { continue; }
        let at = e.offC + i * e.strC + j;
        var v = e.alpha * acc[NH * r + h][c];
        if (e.beta != 0.0) { v += e.beta * ld_c(at); }
        st_c(at, v);
      }
    }
  }
}
