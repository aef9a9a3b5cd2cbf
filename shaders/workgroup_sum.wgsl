// Included by reduce.wgsl and reduce_table.wgsl (as WORKGROUP_SUM): the fixed binary tree that adds
// the partial sums of a workgroup's 64 invocations, in the same order every time, so results are
// bit-for-bit repeatable. Call from uniform control flow with all 64 invocations
// (q = local_invocation_index); every invocation gets the total.

const WG: u32 = 64u;

var<workgroup> partial: array<f32, 64>;

fn workgroup_sum(q: u32, s: f32) -> f32 {
  partial[q] = s;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    if (q < width) { partial[q] = partial[q] + partial[q + width]; }
    workgroupBarrier();
  }
  return partial[0];
}
