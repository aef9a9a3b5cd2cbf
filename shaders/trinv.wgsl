// Inverses of the diagonal blocks (at most 64 x 64) of lower-triangular matrices, one workgroup per
// block (workgroup z takes row p.base + z of the parameter table). The block is staged in workgroup
// memory as a packed lower triangle, padded to 64 x 64 with the identity (triangle_block.wgsl),
// inverted in place by recursive doubling (tri_inverse.wgsl), and its size x size part written
// row-major at outOff with row stride outStr (zero above the diagonal).
// Placeholders: OPERANDS (l read-only, out), TABLE_BINDING, TRIANGLE, TRI_INVERSE.

struct Params { base: u32 }
@group(0) @binding(0) var<uniform> p: Params;
{{OPERANDS}}

struct Entry { offL: u32, strL: u32, size: u32, outOff: u32, outStr: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding({{TABLE_BINDING}}) var<storage, read> table: array<Entry>;

{{TRIANGLE}}

{{TRI_INVERSE}}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let e = table[p.base + wid.z];
  stage_triangle(t, 256u, e.offL, e.strL, e.size);
  invert_lower_in_place(t);
  for (var q = t; q < NB * NB; q += 256u) {
    let r = q / NB;
    let k = q % NB;
    if (r < e.size && k < e.size) {
      st_out(e.outOff + r * e.outStr + k, select(0.0, tri[ti(r, min(k, r))], k <= r));
    }
  }
}
