// Elementwise kernels over a rows x cols view: one invocation per element (i, j), operands x0..x3
// addressed as off_k + i * str_k + j. x0 is the output (and an input where the op reads it).
// Placeholders: OP (op code), KIND and ORDER (transfer function), OPERANDS (bindings + accessors).

struct Params {
  rows: u32, cols: u32, gridX: u32, transpose: u32,
  off0: u32, str0: u32, off1: u32, str1: u32,
  off2: u32, str2: u32, off3: u32, str3: u32,
  s0: f32, s1: f32, s2: f32, s3: f32, s4: f32, s5: f32,
}
@group(0) @binding(0) var<uniform> p: Params;
{{OPERANDS}}

const OP: u32 = {{OP}}u;
const KIND: u32 = {{KIND}}u;
const ORDER: u32 = {{ORDER}}u;

const OP_FILL: u32 = 0u;
const OP_COPY: u32 = 1u;
const OP_TRANSFER: u32 = 2u;
const OP_HADAMARD: u32 = 3u;
const OP_AXPBY: u32 = 4u;
const OP_SCALE: u32 = 5u;
const OP_ADD_SCALAR: u32 = 6u;
const OP_DIAG: u32 = 7u;
const OP_SQRT: u32 = 8u;
const OP_ADAM: u32 = 9u;
const OP_QUOTIENT: u32 = 10u;
const OP_ADD_SCALED_IF_FINITE: u32 = 11u;

// True unless x is an infinity or a NaN (all exponent bits set); read from the bits, since WGSL
// lets a compiler assume that float arithmetic never produces either.
fn is_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// Logistic function sigma(x) = 1 / (1 + e^-x), evaluated without overflow for either sign.
fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}

// Transfer f (ORDER 0), f' (1), f'' (2) for KIND: 0 sigmoid, 1 tanh, 2 relu, 3 leaky relu
// max(0.1x, x), 4 linear. sigmoid: f' = s(1-s), f'' = s(1-s)(1-2s); tanh: f' = 1-t^2,
// f'' = -2t(1-t^2); relu: f' = [x>0]; leaky: f' = 1 if x>0 else 0.1; piecewise-linear f'' = 0.
fn transfer(x: f32) -> f32 {
  switch KIND {
    case 0u: {
      let s = sigmoid(x);
      if (ORDER == 0u) { return s; }
      if (ORDER == 1u) { return s * (1.0 - s); }
      return s * (1.0 - s) * (1.0 - 2.0 * s);
    }
    case 1u: {
      let t = tanh(clamp(x, -15.0, 15.0));
      if (ORDER == 0u) { return t; }
      if (ORDER == 1u) { return 1.0 - t * t; }
      return -2.0 * t * (1.0 - t * t);
    }
    case 2u: {
      if (ORDER == 0u) { return max(x, 0.0); }
      if (ORDER == 1u) { return select(0.0, 1.0, x > 0.0); }
      return 0.0;
    }
    case 3u: {
      if (ORDER == 0u) { return max(0.1 * x, x); }
      if (ORDER == 1u) { return select(0.1, 1.0, x > 0.0); }
      return 0.0;
    }
    default: {
      if (ORDER == 0u) { return x; }
      if (ORDER == 1u) { return 1.0; }
      return 0.0;
    }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x + gid.y * p.gridX;
  if (e >= p.rows * p.cols) { return; }
  let i = e / p.cols;
  let j = e % p.cols;
  let o = p.off0 + i * p.str0 + j;
  let k1 = p.off1 + i * p.str1 + j;
  switch OP {
    case 0u: { st_x0(o, p.s0); }
    case 1u: {
      // out = src or src^T: x1 is read at (j, i) when transposing.
      var src = k1;
      if (p.transpose != 0u) { src = p.off1 + j * p.str1 + i; }
      st_x0(o, ld_x1(src));
    }
    case 2u: { st_x0(o, transfer(ld_x1(k1))); }
    case 3u: { st_x0(o, ld_x1(k1) * ld_x2(p.off2 + i * p.str2 + j)); }
    case 4u: {
      // y = alpha x + beta y (beta = 0 ignores y, so NaN in y does not propagate)
      var v = p.s0 * ld_x1(k1);
      if (p.s1 != 0.0) { v += p.s1 * ld_x0(o); }
      st_x0(o, v);
    }
    case 5u: { st_x0(o, p.s0 * ld_x0(o)); }
    case 6u: { st_x0(o, ld_x0(o) + p.s0); }
    case 7u: {
      // diag(v): x1 is the vector, element i at off1 + i * str1 (a rows x 1 view).
      var v = 0.0;
      if (i == j) { v = ld_x1(p.off1 + i * p.str1); }
      st_x0(o, v);
    }
    case 8u: { st_x0(o, sqrt(max(ld_x1(k1), 0.0))); }
    case 9u: {
      // Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; theta -= lr (m/bc1) / (sqrt(v/bc2) + eps)
      // with s0 lr, s1 b1, s2 b2, s3 eps, s4 bc1 = 1 - b1^t, s5 bc2 = 1 - b2^t; x0 theta, x1 g, x2 m, x3 v.
      let g = ld_x1(k1);
      let km = p.off2 + i * p.str2 + j;
      let kv = p.off3 + i * p.str3 + j;
      let m = p.s1 * ld_x2(km) + (1.0 - p.s1) * g;
      let v = p.s2 * ld_x3(kv) + (1.0 - p.s2) * g * g;
      st_x2(km, m);
      st_x3(kv, v);
      st_x0(o, ld_x0(o) - p.s0 * (m / p.s4) / (sqrt(v / p.s5) + p.s3));
    }
    case 10u: {
      // Quotient (src/backend/quotient.ts): out = s0 q, or s0 sqrt(q) when s1 != 0, q = x1 / x2.
      // A q that is not finite (or, when s2 != 0, not positive) gives s3: the fallback, or NaN.
      let den = ld_x2(p.off2 + i * p.str2 + j);
      let q = ld_x1(k1) / den;
      var ok = den != 0.0 && is_finite(q);
      if (p.s2 != 0.0) { ok = ok && q > 0.0; }
      if (!ok) {
        st_x0(o, p.s3);
      } else if (p.s1 != 0.0) {
        st_x0(o, p.s0 * sqrt(q));
      } else {
        st_x0(o, p.s0 * q);
      }
    }
    case 11u: {
      // y = y + alpha x with alpha the scalar at x2's offset; y unchanged when alpha is not finite.
      let alpha = ld_x2(p.off2);
      if (is_finite(alpha)) { st_x0(o, ld_x0(o) + alpha * ld_x1(k1)); }
    }
    default: {}
  }
}
