// Batched a = a + alpha s I (src/backend/webgpu/elementwise.ts: addIdentityBatch): workgroup (x, y)
// adds the shift of the entry in table row base + y to its diagonal elements x * 64 ... x * 64 + 63,
// element i at off + i * step (step = stride + 1) in storage number buf; the shift is alpha times
// the scale at sOff in storage number sBuf, or alpha alone when sBuf is 0xffffffff.
// Placeholders: OPERANDS (in0 ... with ld_in(b, i) and st_in(b, i, v)), TABLE_BINDING.

struct Params { base: u32 }
@group(0) @binding(0) var<uniform> p: Params;
{{OPERANDS}}

struct Entry { buf: u32, off: u32, step: u32, n: u32, sBuf: u32, sOff: u32, alpha: f32 }
@group(0) @binding({{TABLE_BINDING}}) var<storage, read> table: array<Entry>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) q: u32) {
  let e = table[p.base + wid.y];
  let i = wid.x * 64u + q;
  if (i >= e.n) { return; }
  let at = e.off + i * e.step;
  var shift = e.alpha;
  if (e.sBuf != 0xffffffffu) { shift *= ld_in(e.sBuf, e.sOff); }
  st_in(e.buf, at, ld_in(e.buf, at) + shift);
}
