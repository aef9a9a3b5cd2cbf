// Rotation + scale + subsampling of a square grey image: the FACES map (recipe in faces.ts and
// docs/data.md) as a plain TypeScript resampler with one bilinear sample per output pixel. `prep
// faces` computes the same map with sharp and an anti-aliasing prefilter (faces-sharp.ts); this
// point-sampling version is the tests' reference for its geometry.
//
// Coordinates are continuous with pixel (r, c) covering [c, c+1) × [r, r+1), so its centre is
// (c + ½, r + ½). With source side N, output side M, centres c_s = (N/2, N/2), c_o = (M/2, M/2) and
// k = s·M/N, output point q comes from source point
//     p = c_s + R(−θ)(q − c_o) / k,     R(θ) = [[cos θ, −sin θ], [sin θ, cos θ]]  (y axis down),
// i.e. the image is rotated by θ about its centre (clockwise on screen for θ > 0), enlarged s times,
// its central N×N window kept and sampled on an M×M grid. Each output pixel is the bilinear
// interpolation of the source at p (pixels outside the source count as 0), rounded to the nearest byte.
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
