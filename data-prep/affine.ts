// Rotation + scale + subsampling of a square grey image, as used by FACES (recipe in faces.ts and
// docs/data.md). Two implementations of the same map, tested to agree: a pure-TypeScript resampler
// (the one `prep faces` uses: ~40× faster than a sharp call per image) and a sharp (libvips) reference.
//
// Coordinates are continuous with pixel (r, c) covering [c, c+1) × [r, r+1), so its centre is
// (c + ½, r + ½). With source side N, output side M, centres c_s = (N/2, N/2), c_o = (M/2, M/2) and
// k = s·M/N, output point q comes from source point
//     p = c_s + R(−θ)(q − c_o) / k,     R(θ) = [[cos θ, −sin θ], [sin θ, cos θ]]  (y axis down),
// i.e. the image is rotated by θ about its centre (clockwise on screen for θ > 0), enlarged s times,
// its central N×N window kept and sampled on an M×M grid. Each output pixel is the bilinear
// interpolation of the source at p (pixels outside the source count as 0), rounded to the nearest byte.
import sharp from "sharp";

export interface RotateScale {
  /** Rotation θ in degrees. */
  degrees: number;
  /** Enlargement s (s > 1 zooms in). */
  scale: number;
}

/** Pure-TypeScript resampler: writes the M×M result for the N×N `source` into `out`. */
export function rotateScaleSubsample(source: Uint8Array, n: number, m: number, t: RotateScale, out: Uint8Array): void {
  const theta = (t.degrees * Math.PI) / 180;
  const k = (t.scale * m) / n;
  const cos = Math.cos(theta) / k, sin = Math.sin(theta) / k;
  const half = n / 2, outHalf = m / 2;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= n || y >= n ? 0 : source[y * n + x]);
  for (let i = 0; i < m; i++) {
    const dy = i + 0.5 - outHalf;
    for (let j = 0; j < m; j++) {
      const dx = j + 0.5 - outHalf;
      // p − ½: the source point in pixel-index coordinates (centres at integers).
      const px = half + cos * dx + sin * dy - 0.5;
      const py = half - sin * dx + cos * dy - 0.5;
      const x0 = Math.floor(px), y0 = Math.floor(py);
      const fx = px - x0, fy = py - y0;
      let v: number;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < n && y0 + 1 < n) {
        const o = y0 * n + x0;
        v = (1 - fy) * ((1 - fx) * source[o] + fx * source[o + 1]) + fy * ((1 - fx) * source[o + n] + fx * source[o + n + 1]);
      } else {
        v = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
      }
      out[i * m + j] = Math.round(v);
    }
  }
}

async function sharpAffine(source: Uint8Array, n: number, a: [[number, number], [number, number]], odx: number, ody: number) {
  const { data, info } = await sharp(source, { raw: { width: n, height: n, channels: 1 } })
    .affine(a, { background: "#000000", interpolator: sharp.interpolators.bilinear, odx, ody })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const grey = new Float64Array(info.width * info.height);
  for (let i = 0; i < grey.length; i++) grey[i] = data[i * info.channels];
  return { grey, width: info.width, height: info.height };
}

/**
 * The same map through sharp's affine (libvips, bilinear, black background), the reference the
 * TypeScript resampler is tested against. libvips maps pixel indices, X = A·x + (odx, ody) with
 * A = k·R(θ); in index coordinates the map above is X = A·x + t, t = (M−1)/2 − A·((N−1)/2, (N−1)/2).
 * So odx, ody carry the fractional part of t, and the M×M window is found on libvips' canvas (whose
 * origin libvips picks) by rendering a 2×2 white dot at the source centre the same way: its
 * intensity centroid lands on the centre of the wanted window, within a fraction of a pixel.
 */
export async function rotateScaleSubsampleSharp(source: Uint8Array, n: number, m: number, t: RotateScale): Promise<Uint8Array> {
  if (n % 2 !== 0) throw new Error(`rotateScaleSubsampleSharp: source side ${n} must be even`);
  const theta = (t.degrees * Math.PI) / 180;
  const k = (t.scale * m) / n;
  const a: [[number, number], [number, number]] = [[k * Math.cos(theta), -k * Math.sin(theta)], [k * Math.sin(theta), k * Math.cos(theta)]];
  const centre = (n - 1) / 2;
  const shift = [0, 1].map((d) => (m - 1) / 2 - (a[d][0] + a[d][1]) * centre);
  const fraction = shift.map((v) => v - Math.floor(v));
  const image = await sharpAffine(source, n, a, fraction[0], fraction[1]);
  const dot = new Uint8Array(n * n);
  for (const [r, c] of [[n / 2 - 1, n / 2 - 1], [n / 2 - 1, n / 2], [n / 2, n / 2 - 1], [n / 2, n / 2]]) dot[r * n + c] = 255;
  const marker = await sharpAffine(dot, n, a, fraction[0], fraction[1]);
  let mass = 0, sx = 0, sy = 0;
  marker.grey.forEach((v, i) => {
    mass += v;
    sx += v * (i % marker.width);
    sy += v * Math.floor(i / marker.width);
  });
  const left = Math.round(sx / mass - (m - 1) / 2), top = Math.round(sy / mass - (m - 1) / 2);
  const out = new Uint8Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      const x = left + j, y = top + i;
      if (x >= 0 && y >= 0 && x < image.width && y < image.height) out[i * m + j] = image.grey[y * image.width + x];
    }
  }
  return out;
}
