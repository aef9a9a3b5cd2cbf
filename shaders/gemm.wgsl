// gemm: C = alpha * op(A) * op(B) + beta * C, row-major strided views (offsets/strides in elements).
// Each invocation owns a TM x TN tile of C held in registers (TM * TN / 4 vec4 accumulators); k
// advances 4 at a time with vec4 loads along each operand's contiguous dimension; no workgroup
// memory, no barriers (on lavapipe register tiling beats shared-memory tiling: docs/toolchain.md). A
// workgroup is one row of tiles, so the row index (and every A load) is uniform across it.
// With beta = 0, C is never read. lowerOnly skips elements above the diagonal (Cholesky's update).
// Placeholders: TRANS_A, TRANS_B (true/false), TM, TN (multiples of 4), WGX, WGY (WGY = 1),
// BINDINGS (one per distinct buffer, array<f32> or array<vec4<f32>>), LOADERS (ldA4/ldA/ldB4/ldB/
// ldC/stC over those bindings).

struct Params {
  m: u32, n: u32, k: u32, lowerOnly: u32,
  offA: u32, strA: u32, offB: u32, strB: u32,
  offC: u32, strC: u32, alpha: f32, beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
{{BINDINGS}}

const TRANS_A: bool = {{TRANS_A}};
const TRANS_B: bool = {{TRANS_B}};
const TM: u32 = {{TM}}u;
const TN: u32 = {{TN}}u;
const NH: u32 = TN / 4u;

{{LOADERS}}

// Element index of op(A)[i, kk] and op(B)[kk, j].
fn idxA(i: u32, kk: u32) -> u32 {
  if (TRANS_A) { return p.offA + kk * p.strA + i; }
  return p.offA + i * p.strA + kk;
}
fn idxB(kk: u32, j: u32) -> u32 {
  if (TRANS_B) { return p.offB + j * p.strB + kk; }
  return p.offB + kk * p.strB + j;
}

@compute @workgroup_size({{WGX}}, {{WGY}})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let r0 = wid.y * TM;
  let c0 = gid.x * TN;
  if (r0 >= p.m || c0 >= p.n) { return; }
  if (p.lowerOnly != 0u && c0 > r0 + TM - 1u) { return; }
  let lastRow = p.m - 1u;
  let lastCol = p.n - 1u;

  var acc: array<vec4<f32>, TM * NH>;
  let k4 = p.k & ~3u;
  for (var kk = 0u; kk < k4; kk += 4u) {
    // a[r] = op(A)[r0 + r, kk .. kk + 3]
    var a: array<vec4<f32>, TM>;
    if (TRANS_A) {
      // TM/4 vec4 loads along m from each of the 4 rows kk..kk+3 of A, then a 4 x TM transpose.
      let base = p.offA + kk * p.strA + r0;
      var t: array<vec4<f32>, TM>;
      for (var q = 0u; q < 4u; q++) {
        for (var h = 0u; h < TM / 4u; h++) { t[q * (TM / 4u) + h] = ldA4(base + q * p.strA + 4u * h); }
      }
      for (var r = 0u; r < TM; r++) {
        let h = r / 4u;
        let e = r % 4u;
        a[r] = vec4<f32>(t[h][e], t[TM / 4u + h][e], t[2u * (TM / 4u) + h][e], t[3u * (TM / 4u) + h][e]);
      }
    } else {
      for (var r = 0u; r < TM; r++) {
        a[r] = ldA4(p.offA + min(r0 + r, lastRow) * p.strA + kk);
      }
    }
    // b[NH q + h] = op(B)[kk + q, c0 + 4h .. c0 + 4h + 3]
    var b: array<vec4<f32>, 4u * NH>;
    if (TRANS_B) {
      var t: array<vec4<f32>, TN>;
      for (var c = 0u; c < TN; c++) {
        t[c] = ldB4(p.offB + min(c0 + c, lastCol) * p.strB + kk);
      }
      for (var q = 0u; q < 4u; q++) {
        for (var h = 0u; h < NH; h++) {
          b[NH * q + h] = vec4<f32>(t[4u * h][q], t[4u * h + 1u][q], t[4u * h + 2u][q], t[4u * h + 3u][q]);
        }
      }
    } else {
      for (var q = 0u; q < 4u; q++) {
        let base = p.offB + (kk + q) * p.strB + c0;
        for (var h = 0u; h < NH; h++) { b[NH * q + h] = ldB4(base + 4u * h); }
      }
    }
    for (var r = 0u; r < TM; r++) {
      let ar = a[r];
      for (var h = 0u; h < NH; h++) {
        var acc_rh = acc[NH * r + h];
        acc_rh = fma(vec4<f32>(ar.x), b[h], acc_rh);
        acc_rh = fma(vec4<f32>(ar.y), b[NH + h], acc_rh);
        acc_rh = fma(vec4<f32>(ar.z), b[2u * NH + h], acc_rh);
        acc_rh = fma(vec4<f32>(ar.w), b[3u * NH + h], acc_rh);
        acc[NH * r + h] = acc_rh;
      }
    }
  }
  // Remaining k % 4 steps, one scalar at a time with every index clamped inside the operands.
  for (var kk = k4; kk < p.k; kk++) {
    var bt: array<vec4<f32>, NH>;
    for (var h = 0u; h < NH; h++) {
      let c = c0 + 4u * h;
      bt[h] = vec4<f32>(ldB(idxB(kk, min(c, lastCol))), ldB(idxB(kk, min(c + 1u, lastCol))),
                        ldB(idxB(kk, min(c + 2u, lastCol))), ldB(idxB(kk, min(c + 3u, lastCol))));
    }
    for (var r = 0u; r < TM; r++) {
      let av = vec4<f32>(ldA(idxA(min(r0 + r, lastRow), kk)));
      for (var h = 0u; h < NH; h++) { acc[NH * r + h] = fma(av, bt[h], acc[NH * r + h]); }
    }
  }

  for (var r = 0u; r < TM; r++) {
    let i = r0 + r;
    if (i >= p.m) { break; }
    let rowBase = p.offC + i * p.strC;
    for (var c = 0u; c < TN; c++) {
      let j = c0 + c;
      if (j >= p.n || (p.lowerOnly != 0u && j > i)) { continue; }
      let v = p.alpha * acc[NH * r + c / 4u][c % 4u];
      if (p.beta == 0.0) {
        stC(rowBase + j, v);
      } else {
        stC(rowBase + j, v + p.beta * ldC(rowBase + j));
      }
    }
  }
}
