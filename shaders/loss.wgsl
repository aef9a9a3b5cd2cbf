// Losses on the network output h (D x N, one sample per column; docs/algorithm.md §1.2, §2 and §3.3).
// bce, sse: one invocation per element (i, n); the value in two passes: invocation (chunk, n) sums
// rows chunk * chunkRows ... of column n into row `chunk` of a partial-sum matrix (straight into the
// 1 x N out when there is one chunk), whose column sums (reduce.wgsl) are the values.
// mixture (D = 3) and softmax (D = K): one invocation per sample n. sigma = logistic,
// softplus(x) = max(x, 0) + log(1 + e^-|x|).
//   bce:     E = sum_i softplus(h_i) - y_i h_i; dE/dh = sigma(h) - y; H = diag(sigma(1 - sigma)).
//   sse:     E = 1/2 sum (h - y)^2; dE/dh = h - y; H = I.
//   mixture: (D = 3, y one binary label; eq. 27) s = 2y - 1, a = log sigma(h1) + log sigma(s h2),
//            b = log sigma(-h1) + log sigma(s h3), E = -log(e^a + e^b), r = sigma(a - b);
//            dE/dh = (sigma(h1) - r, -r s (1 - sigma(s h2)), -(1 - r) s (1 - sigma(s h3)));
//            H = diag(s1(1-s1), r s2(1-s2), (1-r) s3(1-s3)) - r(1-r) u u^T with
//            u = (1, s(1 - sigma(s h2)), -s(1 - sigma(s h3))); Gauss-Newton uses H's PSD projection
//            (cyclic Jacobi with a fixed number of sweeps, negative eigenvalues clamped to 0).
//   softmax: (docs/algorithm.md §11; y one class index) m = max_i h_i, p = exp(h - m) / sum exp(h - m),
//            E = m + log sum exp(h - m) - h_y; dE/dh = p - e_y; H = diag(p) - p p^T, H v = p (v - p.v);
//            sqrt H: C[i][k] = [i == k] sqrt(p_i) - p_i sqrt(p_k) stored as out[i + K k, n].
// Samples: bce y^ = [u < sigma(h)], sse y^ = h + z, for element (i, n) at counter i * N + n;
// mixture: words (x0, x1) of counter n: component 2 if u(x0) < sigma(h1) else 3, y^ = [u(x1) < sigma(h_c)].
// softmax: y^ = the first k with u(x0) S < p_0 + ... + p_k, S = sum_j p_j, x0 of counter n.
// Placeholders: KIND (0 bce, 1 sse, 2 mixture, 3 softmax), WHAT (0 value, 1 grad, 2 Hv, 3 sqrt H, 4 sample),
// RANDOM (random.wgsl), OPERANDS (h, y, v, out).

struct Params {
  d: u32, n: u32, gridX: u32, k0: u32,
  offH: u32, strH: u32, offY: u32, strY: u32,
  offV: u32, strV: u32, offO: u32, strO: u32,
  k1: u32, counter: u32, chunkRows: u32, chunks: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
{{OPERANDS}}
{{RANDOM}}

const KIND: u32 = {{KIND}}u;
const WHAT: u32 = {{WHAT}}u;
const JACOBI_SWEEPS: u32 = 8u;

fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
fn softplus(x: f32) -> f32 {
  return max(x, 0.0) + log(1.0 + exp(-abs(x)));
}
fn log_sigmoid(x: f32) -> f32 {
  return -softplus(-x);
}
fn h_at(i: u32, col: u32) -> f32 { return ld_h(p.offH + i * p.strH + col); }
fn y_at(i: u32, col: u32) -> f32 { return ld_y(p.offY + i * p.strY + col); }
fn v_at(i: u32, col: u32) -> f32 { return ld_v(p.offV + i * p.strV + col); }
fn out_at(i: u32, col: u32, value: f32) { st_out(p.offO + i * p.strO + col, value); }

// Cyclic Jacobi on the symmetric 3x3 matrix a (row-major); on return a's diagonal holds the
// eigenvalues and the columns of v the eigenvectors. Rotation in plane (P, Q):
// theta = (a_QQ - a_PP) / (2 a_PQ), t = sgn(theta) / (|theta| + sqrt(theta^2 + 1)), c = 1/sqrt(t^2+1), s = t c.
fn jacobi3(a: ptr<function, array<f32, 9>>, v: ptr<function, array<f32, 9>>) {
  *v = array<f32, 9>(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0);
  for (var sweep = 0u; sweep < JACOBI_SWEEPS; sweep++) {
    for (var pair = 0u; pair < 3u; pair++) {
      let P = select(0u, 1u, pair == 2u);
      let Q = select(pair + 1u, 2u, pair == 2u);
      let apq = (*a)[P * 3u + Q];
      if (apq == 0.0) { continue; }
      let theta = ((*a)[Q * 3u + Q] - (*a)[P * 3u + P]) / (2.0 * apq);
      let t = select(-1.0, 1.0, theta >= 0.0) / (abs(theta) + sqrt(theta * theta + 1.0));
      let c = 1.0 / sqrt(t * t + 1.0);
      let s = t * c;
      for (var k = 0u; k < 3u; k++) {
        let akp = (*a)[k * 3u + P];
        let akq = (*a)[k * 3u + Q];
        (*a)[k * 3u + P] = c * akp - s * akq;
        (*a)[k * 3u + Q] = s * akp + c * akq;
      }
      for (var k = 0u; k < 3u; k++) {
        let apk = (*a)[P * 3u + k];
        let aqk = (*a)[Q * 3u + k];
        (*a)[P * 3u + k] = c * apk - s * aqk;
        (*a)[Q * 3u + k] = s * apk + c * aqk;
      }
      for (var k = 0u; k < 3u; k++) {
        let vkp = (*v)[k * 3u + P];
        let vkq = (*v)[k * 3u + Q];
        (*v)[k * 3u + P] = c * vkp - s * vkq;
        (*v)[k * 3u + Q] = s * vkp + c * vkq;
      }
    }
  }
}

// bce/sse per element: E's term, dE/dh, H v, sqrt(H) or a sample of element (i, col).
fn bce_sse_term(i: u32, col: u32) -> f32 {
  let h = h_at(i, col);
  let y = y_at(i, col);
  if (KIND == 0u) { return softplus(h) - y * h; }
  return 0.5 * (h - y) * (h - y);
}

fn bce_sse_element(i: u32, col: u32) {
  let h = h_at(i, col);
  if (WHAT == 1u) {
    let y = y_at(i, col);
    if (KIND == 0u) { out_at(i, col, sigmoid(h) - y); } else { out_at(i, col, h - y); }
  } else if (WHAT == 2u) {
    let v = v_at(i, col);
    if (KIND == 0u) { let s = sigmoid(h); out_at(i, col, s * (1.0 - s) * v); } else { out_at(i, col, v); }
  } else if (WHAT == 3u) {
    if (KIND == 0u) { let s = sigmoid(h); out_at(i, col, sqrt(s * (1.0 - s))); } else { out_at(i, col, 1.0); }
  } else {
    let w = threefry2x32(p.k0, p.k1, i * p.n + col, p.counter);
    if (KIND == 0u) {
      out_at(i, col, select(0.0, 1.0, word_to_uniform(w.x) < sigmoid(h)));
    } else {
      out_at(i, col, h + words_to_normal(w));
    }
  }
}

// E's terms of rows chunk * chunkRows ... (cut at d) of column col, summed in order into out row `chunk`.
fn bce_sse_value_chunk(chunk: u32, col: u32) {
  let first = chunk * p.chunkRows;
  let last = min(first + p.chunkRows, p.d);
  var total = 0.0;
  for (var i = first; i < last; i++) { total += bce_sse_term(i, col); }
  out_at(chunk, col, total);
}

fn mixture_column(col: u32) {
  let h1 = h_at(0u, col);
  let h2 = h_at(1u, col);
  let h3 = h_at(2u, col);
  if (WHAT == 4u) {
    let w = threefry2x32(p.k0, p.k1, col, p.counter);
    let hc = select(h3, h2, word_to_uniform(w.x) < sigmoid(h1));
    st_out(p.offO + col, select(0.0, 1.0, word_to_uniform(w.y) < sigmoid(hc)));
    return;
  }
  let s = 2.0 * y_at(0u, col) - 1.0;
  let la = log_sigmoid(h1) + log_sigmoid(s * h2);
  let lb = log_sigmoid(-h1) + log_sigmoid(s * h3);
  if (WHAT == 0u) {
    let top = max(la, lb);
    st_out(p.offO + col, -(top + log(exp(la - top) + exp(lb - top))));
    return;
  }
  let r = sigmoid(la - lb);
  let s1 = sigmoid(h1);
  let s2 = sigmoid(s * h2);
  let s3 = sigmoid(s * h3);
  if (WHAT == 1u) {
    out_at(0u, col, s1 - r);
    out_at(1u, col, -r * s * (1.0 - s2));
    out_at(2u, col, -(1.0 - r) * s * (1.0 - s3));
    return;
  }
  // sigma(h2)(1 - sigma(h2)) = sigma(s h2)(1 - sigma(s h2)) since s = +-1.
  let u = array<f32, 3>(1.0, s * (1.0 - s2), -s * (1.0 - s3));
  let dg = array<f32, 3>(s1 * (1.0 - s1), r * s2 * (1.0 - s2), (1.0 - r) * s3 * (1.0 - s3));
  let rr = r * (1.0 - r);
  var a: array<f32, 9>;
  for (var i = 0u; i < 3u; i++) {
    for (var k = 0u; k < 3u; k++) {
      a[i * 3u + k] = select(0.0, dg[i], i == k) - rr * u[i] * u[k];
    }
  }
  var vec: array<f32, 9>;
  jacobi3(&a, &vec);
  let lam = array<f32, 3>(max(a[0], 0.0), max(a[4], 0.0), max(a[8], 0.0));
  if (WHAT == 2u) {
    // H+ v = sum_k lam_k (e_k . v) e_k
    let x = array<f32, 3>(v_at(0u, col), v_at(1u, col), v_at(2u, col));
    var y = array<f32, 3>(0.0, 0.0, 0.0);
    for (var k = 0u; k < 3u; k++) {
      let proj = lam[k] * (vec[k] * x[0] + vec[3u + k] * x[1] + vec[6u + k] * x[2]);
      for (var i = 0u; i < 3u; i++) { y[i] += proj * vec[i * 3u + k]; }
    }
    for (var i = 0u; i < 3u; i++) { out_at(i, col, y[i]); }
    return;
  }
  // C = V diag(sqrt(lam)) stored as out[i + 3k, n] = C[i, k].
  for (var k = 0u; k < 3u; k++) {
    let root = sqrt(lam[k]);
    for (var i = 0u; i < 3u; i++) { out_at(i + 3u * k, col, vec[i * 3u + k] * root); }
  }
}

// softmax of column col, two passes over its K = d outputs: the maximum, then the sum of exp(h - m).
fn softmax_column(col: u32) {
  let K = p.d;
  var m = h_at(0u, col);
  for (var i = 1u; i < K; i++) { m = max(m, h_at(i, col)); }
  var total = 0.0;
  for (var i = 0u; i < K; i++) { total += exp(h_at(i, col) - m); }
  if (WHAT == 4u) {
    let u = word_to_uniform(threefry2x32(p.k0, p.k1, col, p.counter).x);
    var sum = 0.0;
    for (var i = 0u; i < K; i++) { sum += exp(h_at(i, col) - m) / total; }
    let threshold = u * sum;
    var cumulative = 0.0;
    var chosen = K - 1u;
    for (var i = 0u; i < K; i++) {
      cumulative += exp(h_at(i, col) - m) / total;
      if (threshold < cumulative) { chosen = i; break; }
    }
    st_out(p.offO + col, f32(chosen));
    return;
  }
  if (WHAT == 2u) {
    var pv = 0.0;
    for (var i = 0u; i < K; i++) { pv += exp(h_at(i, col) - m) / total * v_at(i, col); }
    for (var i = 0u; i < K; i++) {
      out_at(i, col, exp(h_at(i, col) - m) / total * (v_at(i, col) - pv));
    }
    return;
  }
  if (WHAT == 3u) {
    for (var k = 0u; k < K; k++) {
      let pk = exp(h_at(k, col) - m) / total;
      let rk = sqrt(pk);
      for (var i = 0u; i < K; i++) {
        let prob_i = exp(h_at(i, col) - m) / total;
        out_at(i + K * k, col, select(0.0, rk, i == k) - prob_i * rk);
      }
    }
    return;
  }
  let y = min(u32(max(round(y_at(0u, col)), 0.0)), K - 1u);
  if (WHAT == 0u) {
    st_out(p.offO + col, m + log(total) - h_at(y, col));
    return;
  }
  for (var i = 0u; i < K; i++) {
    out_at(i, col, exp(h_at(i, col) - m) / total - select(0.0, 1.0, i == y));
  }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * p.gridX;
  if (KIND == 3u) {
    if (g < p.n) { softmax_column(g); }
  } else if (KIND == 2u) {
    if (g < p.n) { mixture_column(g); }
  } else if (WHAT == 0u) {
    if (g < p.chunks * p.n) { bce_sse_value_chunk(g / p.n, g % p.n); }
  } else if (g < p.d * p.n) {
    bce_sse_element(g / p.n, g % p.n);
  }
}
