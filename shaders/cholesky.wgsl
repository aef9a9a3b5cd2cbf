// Cholesky building blocks for a batch of matrices of different sizes (the blocked algorithm is in
// src/backend/webgpu/cholesky.ts). Workgroup z takes row p.base + z of the parameter table.
// MODE 0, factor one diagonal block (at most 64 x 64) in place, held as a packed lower triangle in
//   workgroup memory (global loads and stores once each), right-looking over columns j:
//   a_rc -= a_rj a_cj / a_jj (j < c <= r); then l_jj = sqrt(a_jj), l_rj = a_rj / l_jj.
//   A pivot that is not > 0 (or NaN) records [1, n, pivot, index] in the status buffer (first
//   failure only); the next download/flush raises NotPositiveDefiniteError. The block's strict
//   upper triangle is written as zero.
// MODE 1, zero the strict upper triangle of each n x n matrix (one invocation per element).
// MODE 2, MODE 0 and then the block's inverse L_KK^-1 by recursive doubling in workgroup memory
//   (shaders/tri_inverse.wgsl), written as a dense 64 x 64 tile at invOff, so that the panel
//   below the block is one matrix product (src/backend/webgpu/cholesky.ts).
// Placeholders: MODE, OPERANDS (a, status; and inv for MODE 2), TABLE_BINDING, TRI_INVERSE,
// WRITE_INVERSE (MODE 2: the loop storing the tile).

struct Params { base: u32, gridX: u32 }
@group(0) @binding(0) var<uniform> p: Params;
{{OPERANDS}}

// off: element (k0, k0) (MODE 0, 2) or (0, 0) (MODE 1); b: block size; n: matrix size;
// invOff: where MODE 2 writes the block's inverse.
struct Entry { off: u32, stride: u32, b: u32, n: u32, k0: u32, invOff: u32, pad1: u32, pad2: u32 }
@group(0) @binding({{TABLE_BINDING}}) var<storage, read> table: array<Entry>;

const MODE: u32 = {{MODE}}u;
const NB: u32 = 64u;
const THREADS: u32 = 256u;

var<workgroup> tri: array<f32, 2080>;

// Packed index of (r, c), c <= r.
fn ti(r: u32, c: u32) -> u32 { return r * (r + 1u) / 2u + c; }

{{TRI_INVERSE}}

fn is_positive(x: f32) -> bool {
  // Bit test instead of x > 0 so that NaN (which a compiler may assume absent) also fails.
  let bits = bitcast<u32>(x);
  return bits != 0u && bits <= 0x7f800000u;
}

// Row r of column j of the factor from the unscaled column: l_jj = sqrt(d), l_rj = a_rj / sqrt(d).
fn scale_column(r: u32, j: u32, d: f32) {
  if (r == j) { tri[ti(j, j)] = sqrt(d); } else { tri[ti(r, j)] = tri[ti(r, j)] / sqrt(d); }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32,
        @builtin(global_invocation_id) gid: vec3<u32>) {
  let e = table[p.base + wid.z];
  if (MODE == 1u) {
    let q = gid.x + gid.y * p.gridX;
    if (q < e.n * e.n && q % e.n > q / e.n) { st_a(e.off + (q / e.n) * e.stride + q % e.n, 0.0); }
    return;
  }
  let b = e.b;
  for (var q = t; q < NB * NB; q += THREADS) {
    let r = q / NB;
    let c = q % NB;
    if (c <= r && r < b) { tri[ti(r, c)] = ld_a(e.off + r * e.stride + c); }
  }
  workgroupBarrier();
  // Right-looking with one barrier per column: invocation t updates row t / 4 at every 4th column
  // (from t % 4), a_rc -= (a_rj / a_jj) a_cj for j < c <= r, with column j still unscaled; column j
  // is scaled, l_rj = a_rj / sqrt(a_jj), during step j + 1, when nothing reads it any more.
  let r = t / 4u;
  let lane = t % 4u;
  let rowBase = ti(r, 0u);
  var previous = 1.0;
  for (var j = 0u; j < b; j++) {
    let d = tri[ti(j, j)];
    if (t == 0u && !is_positive(d) && ld_status(0u) == 0.0) {
      st_status(0u, 1.0);
      st_status(1u, f32(e.n));
      st_status(2u, d);
      st_status(3u, f32(e.k0 + j));
    }
    if (j > 0u && lane == 0u && r + 1u >= j && r < b) { scale_column(r, j - 1u, previous); }
    if (r > j && r < b) {
      let x = tri[rowBase + j] / d;
      for (var c = j + 1u + lane; c <= r; c += 4u) { tri[rowBase + c] -= x * tri[ti(c, j)]; }
    }
    previous = d;
    workgroupBarrier();
  }
  if (b > 0u && lane == 0u && r + 1u == b) { scale_column(r, b - 1u, previous); }
  workgroupBarrier();
  for (var q = t; q < NB * NB; q += THREADS) {
    let r = q / NB;
    let c = q % NB;
    if (r < b && c < b) { st_a(e.off + r * e.stride + c, select(0.0, tri[ti(r, min(c, r))], c <= r)); }
  }
  if (MODE == 2u) {
    // Rows past the block were never written (workgroup memory starts zeroed): an identity there.
    if (t >= b && t < NB) { tri[ti(t, t)] = 1.0; }
    workgroupBarrier();
    invert_lower_in_place(t);
    {{WRITE_INVERSE}}
  }
}
