// Included by trsm.wgsl and trinv.wgsl ({{TRIANGLE}}; trinv.wgsl also includes tri_inverse.wgsl, which uses tri and ti): one diagonal block (at most 64 x 64) of a
// lower-triangular L staged in workgroup memory as a packed lower triangle, (r, c) with c <= r at
// ti(r, c) = r (r + 1) / 2 + c, padded to 64 x 64 with the identity. Needs ld_l from OPERANDS.

const NB: u32 = 64u;

var<workgroup> tri: array<f32, 2080>;

fn ti(r: u32, c: u32) -> u32 { return r * (r + 1u) / 2u + c; }

// Invocation t of `threads` loads every threads-th element; rows at or past `size` are the identity's.
fn stage_triangle(t: u32, threads: u32, offL: u32, strL: u32, size: u32) {
  for (var q = t; q < NB * NB; q += threads) {
    let r = q / NB;
    let c = q % NB;
    if (c <= r) {
      var v = select(0.0, 1.0, r == c);
      if (r < size) { v = ld_l(offL + r * strL + c); }
      tri[ti(r, c)] = v;
    }
  }
  workgroupBarrier();
}
