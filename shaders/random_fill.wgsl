// random (uniform / normal) and bernoulli over a rows x cols view: element (i, j) uses counter
// (i * cols + j, counter) of the stream keyed by the seed (definitions in random.wgsl).
// MODE 3 writes the raw words for verification: element e holds word e % 2 of counter (e / 2, counter),
// its bits stored unchanged in the float32 slot.
// Placeholders: MODE (0 uniform, 1 normal, 2 bernoulli with x1 = p, 3 words), RANDOM (random.wgsl), OPERANDS (x0 out, x1 p).

struct Params {
  rows: u32, cols: u32, gridX: u32, k0: u32,
  k1: u32, counter: u32, off0: u32, str0: u32,
  off1: u32, str1: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
{{OPERANDS}}
{{RANDOM}}

const MODE: u32 = {{MODE}}u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x + gid.y * p.gridX;
  if (e >= p.rows * p.cols) { return; }
  let i = e / p.cols;
  let j = e % p.cols;
  if (MODE == 3u) {
    let words = threefry2x32(p.k0, p.k1, e / 2u, p.counter);
    st_x0(p.off0 + i * p.str0 + j, bitcast<f32>(select(words.x, words.y, (e & 1u) == 1u)));
    return;
  }
  let w = threefry2x32(p.k0, p.k1, e, p.counter);
  var v: f32;
  if (MODE == 0u) {
    v = word_to_uniform(w.x);
  } else if (MODE == 1u) {
    v = words_to_normal(w);
  } else {
    // bernoulli: 1 where u < p
    v = select(0.0, 1.0, word_to_uniform(w.x) < ld_x1(p.off1 + i * p.str1 + j));
  }
  st_x0(p.off0 + i * p.str0 + j, v);
}
