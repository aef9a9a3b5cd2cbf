// The FACES map of affine.ts (rotate by θ about the centre, enlarge s times, keep the central window,
// reduce N×N → M×M) computed by sharp (libvips), anti-aliased:
//   1. prefilter: resize the N×N source to S×S, S = round(s·M), with sharp's lanczos3 kernel — the
//      low-pass that point sampling lacks (the map shrinks by k = s·M/N ≈ 0.55–0.70 for FACES);
//   2. one affine of the S×S image by A = r·R(θ), r = s·M/S ∈ [1 − ½/S, 1 + ½/S] (bilinear: at a
//      scale so close to 1 it interpolates without aliasing), whose M×M window is cut out.
// Continuous coordinates as in affine.ts: after the resize, point u of the S×S image is point u·N/S of
// the source, so the output point q takes u = c_S + R(−θ)(q − c_o)/r. libvips maps pixel indices
// (centres at integers), X = A·x + t, so t = (M−1)/2·(1, 1) − A·((S−1)/2)·(1, 1).
// `antiAlias: false` skips step 1 (S = N, r = k): the same point sampling as the TypeScript resampler,
// which the tests use to pin the geometry down to rounding.
import sharp from "sharp";
import type { RotateScale } from "./affine.ts";

type Matrix = [[number, number], [number, number]];

/** The resize kernel of the prefilter (sharp's default, a Lanczos window of 3 lobes). */
export const PREFILTER_KERNEL = "lanczos3";

/** Side S of the prefiltered image for enlargement `scale` and output side m. */
export function prefilterSide(scale: number, m: number): number {
  return Math.round(scale * m);
}

// libvips' VIPS_ROUND_INT: halves round away from zero.
const roundInt = (v: number) => (v > 0 ? Math.floor(v + 0.5) : Math.ceil(v - 0.5));

/**
 * The canvas libvips gives an affine of an S×S image by A when no output area is set: the bounding
 * box of A applied to the input rectangle [0, S]² (the displacement odx, ody moves the content, not
 * the canvas), its corners rounded with VIPS_ROUND_INT. Canvas pixel (i, j) is the point X = (left + j, top + i).
 */
export function affineCanvas(a: Matrix, side: number): { left: number; top: number; width: number; height: number } {
  const xs = [0, a[0][0] * side, a[0][1] * side, (a[0][0] + a[0][1]) * side];
  const ys = [0, a[1][0] * side, a[1][1] * side, (a[1][0] + a[1][1]) * side];
  const left = Math.min(...xs), top = Math.min(...ys);
  return { left: roundInt(left), top: roundInt(top), width: roundInt(Math.max(...xs) - left), height: roundInt(Math.max(...ys) - top) };
}

/** The grey channel of a raw sharp result (sharp may return 3 bands for a 1-band input). */
function greyOf(data: Uint8Array, channels: number, pixels: number): Uint8Array {
  if (channels === 1) return data;
  const grey = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) grey[i] = data[i * channels];
  return grey;
}

/** Step 1: the n×n `source` resized to side×side by sharp with the prefilter kernel. */
export async function prefilter(source: Uint8Array, n: number, side: number): Promise<Uint8Array> {
  const { data, info } = await sharp(source, { raw: { width: n, height: n, channels: 1 } })
    .resize(side, side, { kernel: PREFILTER_KERNEL, fit: "fill" })
    .toColourspace("b-w")
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== side || info.height !== side) throw new Error(`sharp resize gave ${info.width}×${info.height}, expected ${side}×${side}`);
  return greyOf(data, info.channels, side * side);
}

/** Step 2: rotate and scale the side×side `image` by r·R(θ) and cut out the centred m×m window. */
export async function affineWindow(image: Uint8Array, side: number, m: number, degrees: number, r: number): Promise<Uint8Array> {
  const theta = (degrees * Math.PI) / 180;
  const cos = r * Math.cos(theta), sin = r * Math.sin(theta);
  const a: Matrix = [[cos, -sin], [sin, cos]];
  const centre = (side - 1) / 2;
  const t = [0, 1].map((d) => (m - 1) / 2 - (a[d][0] + a[d][1]) * centre);
  // The fractional part of t goes to libvips (it moves the content); the integer part is where the window starts.
  const whole = t.map(Math.floor);
  const { data, info } = await sharp(image, { raw: { width: side, height: side, channels: 1 } })
    .affine(a, { background: "#000000", interpolator: sharp.interpolators.bilinear, odx: t[0] - whole[0], ody: t[1] - whole[1] })
    .toColourspace("b-w")
    .raw()
    .toBuffer({ resolveWithObject: true });
  const canvas = affineCanvas(a, side);
  if (info.width !== canvas.width || info.height !== canvas.height) {
    throw new Error(`sharp affine gave a ${info.width}×${info.height} canvas, expected ${canvas.width}×${canvas.height}: libvips' output area rule changed`);
  }
  const grey = greyOf(data, info.channels, info.width * info.height);
  // Window pixel (i, j) is X = (j, i) − whole, i.e. canvas column j − whole₀ − left.
  const x0 = -whole[0] - canvas.left, y0 = -whole[1] - canvas.top;
  const out = new Uint8Array(m * m);
  for (let i = 0; i < m; i++) {
    const y = y0 + i;
    if (y < 0 || y >= info.height) continue;
    for (let j = 0; j < m; j++) {
      const x = x0 + j;
      if (x >= 0 && x < info.width) out[i * m + j] = grey[y * info.width + x];
    }
  }
  return out;
}

/** Prefiltered copies of one source image, one per side S, made on first use. */
export class PrefilteredSource {
  private readonly sides = new Map<number, Promise<Uint8Array>>();

  constructor(readonly source: Uint8Array, readonly n: number) {}

  at(side: number): Promise<Uint8Array> {
    let image = this.sides.get(side);
    if (!image) {
      image = side === this.n ? Promise.resolve(this.source) : prefilter(this.source, this.n, side);
      this.sides.set(side, image);
    }
    return image;
  }
}

/**
 * One FACES image by sharp: the m×m result of `t` applied to the n×n source (anti-aliased unless
 * `antiAlias` is false, see the top of this file).
 */
export async function rotateScaleReduceSharp(source: PrefilteredSource, m: number, t: RotateScale, antiAlias = true): Promise<Uint8Array> {
  const side = antiAlias ? prefilterSide(t.scale, m) : source.n;
  return affineWindow(await source.at(side), side, m, t.degrees, (t.scale * m) / side);
}
