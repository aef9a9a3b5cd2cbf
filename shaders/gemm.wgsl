// gemm: C = alpha * op(A) * op(B) + beta * C, row-major strided views (offsets/strides in elements).
// Each invocation owns an 8x8 tile of C held in registers (16 vec4 accumulators); k advances 4 at a
// time with vec4 loads along each operand's contiguous dimension; no workgroup memory, no barriers
// (on lavapipe register tiling beats shared-memory tiling, TOOLCHAIN.md). With beta = 0, C is
// never read. lowerOnly skips elements above the diagonal (Cholesky's trailing update).
// Placeholders: TRANS_A, TRANS_B (true/false), BINDINGS (one per distinct buffer, array<f32> or
// array<vec4<f32>>), LOADERS (ldA4/ldA/ldB4/ldB/ldC/stC over those bindings).

struct Params {
  m: u32, n: u32, k: u32, lowerOnly: u32,
  offA: u32, strA: u32, offB: u32, strB: u32,
  offC: u32, strC: u32, alpha: f32, beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
{{BINDINGS}}

const TRANS_A: bool = {{TRANS_A}};
const TRANS_B: bool = {{TRANS_B}};

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

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.y * 8u;
  let c0 = gid.x * 8u;
  if (r0 >= p.m || c0 >= p.n) { return; }
  if (p.lowerOnly != 0u && c0 > r0 + 7u) { return; }
  let lastRow = p.m - 1u;
  let lastCol = p.n - 1u;

  var acc: array<vec4<f32>, 16>;
  let k4 = p.k & ~3u;
  for (var kk = 0u; kk < k4; kk += 4u) {
    // a[r] = op(A)[r0 + r, kk .. kk + 3]
    var a: array<vec4<f32>, 8>;
    if (TRANS_A) {
      let base = p.offA + kk * p.strA + r0;
      let u0 = ldA4(base);
      let u1 = ldA4(base + 4u);
      let v0 = ldA4(base + p.strA);
      let v1 = ldA4(base + p.strA + 4u);
      let w0 = ldA4(base + 2u * p.strA);
      let w1 = ldA4(base + 2u * p.strA + 4u);
      let z0 = ldA4(base + 3u * p.strA);
      let z1 = ldA4(base + 3u * p.strA + 4u);
      a[0] = vec4<f32>(u0.x, v0.x, w0.x, z0.x);
      a[1] = vec4<f32>(u0.y, v0.y, w0.y, z0.y);
      a[2] = vec4<f32>(u0.z, v0.z, w0.z, z0.z);
      a[3] = vec4<f32>(u0.w, v0.w, w0.w, z0.w);
      a[4] = vec4<f32>(u1.x, v1.x, w1.x, z1.x);
      a[5] = vec4<f32>(u1.y, v1.y, w1.y, z1.y);
      a[6] = vec4<f32>(u1.z, v1.z, w1.z, z1.z);
      a[7] = vec4<f32>(u1.w, v1.w, w1.w, z1.w);
    } else {
      for (var r = 0u; r < 8u; r++) {
        a[r] = ldA4(p.offA + min(r0 + r, lastRow) * p.strA + kk);
      }
    }
    // b[2q + h] = op(B)[kk + q, c0 + 4h .. c0 + 4h + 3]
    var b: array<vec4<f32>, 8>;
    if (TRANS_B) {
      var t: array<vec4<f32>, 8>;
      for (var c = 0u; c < 8u; c++) {
        t[c] = ldB4(p.offB + min(c0 + c, lastCol) * p.strB + kk);
      }
      b[0] = vec4<f32>(t[0].x, t[1].x, t[2].x, t[3].x);
      b[1] = vec4<f32>(t[4].x, t[5].x, t[6].x, t[7].x);
      b[2] = vec4<f32>(t[0].y, t[1].y, t[2].y, t[3].y);
      b[3] = vec4<f32>(t[4].y, t[5].y, t[6].y, t[7].y);
      b[4] = vec4<f32>(t[0].z, t[1].z, t[2].z, t[3].z);
      b[5] = vec4<f32>(t[4].z, t[5].z, t[6].z, t[7].z);
      b[6] = vec4<f32>(t[0].w, t[1].w, t[2].w, t[3].w);
      b[7] = vec4<f32>(t[4].w, t[5].w, t[6].w, t[7].w);
    } else {
      for (var q = 0u; q < 4u; q++) {
        let base = p.offB + (kk + q) * p.strB + c0;
        b[2u * q] = ldB4(base);
        b[2u * q + 1u] = ldB4(base + 4u);
      }
    }
    for (var r = 0u; r < 8u; r++) {
      let ar = a[r];
      acc[2u * r] = fma(vec4<f32>(ar.x), b[0], acc[2u * r]);
      acc[2u * r + 1u] = fma(vec4<f32>(ar.x), b[1], acc[2u * r + 1u]);
      acc[2u * r] = fma(vec4<f32>(ar.y), b[2], acc[2u * r]);
      acc[2u * r + 1u] = fma(vec4<f32>(ar.y), b[3], acc[2u * r + 1u]);
      acc[2u * r] = fma(vec4<f32>(ar.z), b[4], acc[2u * r]);
      acc[2u * r + 1u] = fma(vec4<f32>(ar.z), b[5], acc[2u * r + 1u]);
      acc[2u * r] = fma(vec4<f32>(ar.w), b[6], acc[2u * r]);
      acc[2u * r + 1u] = fma(vec4<f32>(ar.w), b[7], acc[2u * r + 1u]);
    }
  }
  // Remaining k % 4 steps, one scalar at a time with every index clamped inside the operands.
  for (var kk = k4; kk < p.k; kk++) {
    let b0 = vec4<f32>(ldB(idxB(kk, min(c0, lastCol))), ldB(idxB(kk, min(c0 + 1u, lastCol))),
                       ldB(idxB(kk, min(c0 + 2u, lastCol))), ldB(idxB(kk, min(c0 + 3u, lastCol))));
    let b1 = vec4<f32>(ldB(idxB(kk, min(c0 + 4u, lastCol))), ldB(idxB(kk, min(c0 + 5u, lastCol))),
                       ldB(idxB(kk, min(c0 + 6u, lastCol))), ldB(idxB(kk, min(c0 + 7u, lastCol))));
    for (var r = 0u; r < 8u; r++) {
      let av = vec4<f32>(ldA(idxA(min(r0 + r, lastRow), kk)));
      acc[2u * r] = fma(av, b0, acc[2u * r]);
      acc[2u * r + 1u] = fma(av, b1, acc[2u * r + 1u]);
    }
  }

  for (var r = 0u; r < 8u; r++) {
    let i = r0 + r;
    if (i >= p.m) { break; }
    let rowBase = p.offC + i * p.strC;
    for (var c = 0u; c < 8u; c++) {
      let j = c0 + c;
      if (j >= p.n || (p.lowerOnly != 0u && j > i)) { continue; }
      let v = p.alpha * acc[2u * r + c / 4u][c % 4u];
      if (p.beta == 0.0) {
        stC(rowBase + j, v);
      } else {
        stC(rowBase + j, v + p.beta * ldC(rowBase + j));
      }
    }
  }
}
