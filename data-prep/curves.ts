// CURVES: 28×28 images of one smooth curve through three random points, rendered by sharp (librsvg)
// from SVG paths. The recipe (the 2006 generator does not survive; see docs/data.md):
//   three points uniform in [2, 26]²; the two farthest apart are the ends P0, P2 (so the middle
//   point P1 is the vertex of the widest angle and the curve bends at most there, without hairpins);
//   a draw needs |P2 − P0| ≥ 10, |P1 − P0| ≥ 4 and |P2 − P1| ≥ 4 px;
//   the curve is the quadratic through the three points with chord-length parameter
//     τ = |P1 − P0| / (|P1 − P0| + |P2 − P1|),  B(0) = P0, B(τ) = P1, B(1) = P2,
//   i.e. the quadratic Bézier with control point C = (P1 − (1−τ)²P0 − τ²P2) / (2τ(1−τ));
//   stroke width w uniform in [1.5, 2.5] px, round caps, white on black, librsvg antialiasing;
//   a draw is rejected (and redrawn) unless the curve plus half the stroke and 0.5 px stays inside the image.
// Pixels are quantised to Uint8, so values are k/255 in [0, 1] and none is subnormal.
import sharp from "sharp";
import type { ImageSet } from "./arrow-writer.ts";
import { ItemRandom } from "./counter-random.ts";
import type { GeneratorOptions } from "./options.ts";

export const CURVES_GENERATOR_VERSION = "curves-quadratic-svg/1";
export const CURVES_SIZE = 28;
export const CURVES_TRAIN_COUNT = 20_000;
export const CURVES_TEST_COUNT = 10_000;
const POINT_MIN = 2;
const POINT_MAX = 26;
const MIN_SEGMENT = 4;
const MIN_SPAN = 10;
const WIDTH_MIN = 1.5;
const WIDTH_MAX = 2.5;
/** Curves per SVG sheet: one sharp call renders a 32×32 grid of 28×28 tiles. */
const SHEET_SIDE = 32;
const SHEETS_IN_FLIGHT = 4;

type Point = [number, number];
export interface CurveSpec {
  p0: Point;
  /** The middle point, reached at parameter tau. */
  p1: Point;
  tau: number;
  /** Bézier control point. */
  c: Point;
  p2: Point;
  width: number;
}

const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);

// Extremes of one coordinate of the quadratic Bézier B(t) = (1−t)²a + 2t(1−t)c + t²b on [0, 1]:
// the end points and, when it lies inside, the stationary point t* = (a − c)/(a − 2c + b).
function quadraticRange(a: number, c: number, b: number): [number, number] {
  const values = [a, b];
  const denominator = a - 2 * c + b;
  if (denominator !== 0) {
    const t = (a - c) / denominator;
    if (t > 0 && t < 1) values.push((1 - t) ** 2 * a + 2 * t * (1 - t) * c + t * t * b);
  }
  return [Math.min(...values), Math.max(...values)];
}

/** The curve of image `index` in split stream `stream` (0 train, 1 test), by the recipe above. */
export function curveSpec(seed: number, stream: number, index: number): CurveSpec {
  const random = new ItemRandom(seed, stream, index);
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const point = (): Point => [random.uniform(POINT_MIN, POINT_MAX), random.uniform(POINT_MIN, POINT_MAX)];
    const q = [point(), point(), point()];
    const width = random.uniform(WIDTH_MIN, WIDTH_MAX);
    // The middle point is the one opposite the longest side.
    const opposite = [dist(q[1], q[2]), dist(q[0], q[2]), dist(q[0], q[1])];
    const middle = opposite.indexOf(Math.max(...opposite));
    const [p0, p2] = q.filter((_, i) => i !== middle);
    const p1 = q[middle];
    const a = dist(p0, p1), b = dist(p1, p2);
    if (dist(p0, p2) < MIN_SPAN || a < MIN_SEGMENT || b < MIN_SEGMENT) continue;
    const tau = a / (a + b);
    const k = 2 * tau * (1 - tau);
    const c: Point = [0, 1].map((d) => (p1[d] - (1 - tau) ** 2 * p0[d] - tau * tau * p2[d]) / k) as Point;
    const margin = width / 2 + 0.5;
    const inside = [0, 1].every((d) => {
      const [lo, hi] = quadraticRange(p0[d], c[d], p2[d]);
      return lo >= margin && hi <= CURVES_SIZE - margin;
    });
    if (inside) return { p0, p1, tau, c, p2, width };
  }
  throw new Error(`curves: no admissible curve for image ${index} after 10000 draws`);
}

const fmt = (v: number) => v.toFixed(4);

/** An SVG path element for `spec` drawn with its top-left corner at (dx, dy). */
function curvePath(spec: CurveSpec, dx: number, dy: number): string {
  const p = ([x, y]: Point) => `${fmt(x + dx)} ${fmt(y + dy)}`;
  return `<path d="M ${p(spec.p0)} Q ${p(spec.c)} ${p(spec.p2)}" stroke-width="${fmt(spec.width)}"/>`;
}

function svgDocument(width: number, height: number, paths: string[]): Buffer {
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
      `<rect width="${width}" height="${height}" fill="black"/>` +
      `<g fill="none" stroke="white" stroke-linecap="round" stroke-linejoin="round">${paths.join("")}</g></svg>`,
  );
}

async function renderGrey(svg: Buffer): Promise<{ data: Buffer; width: number }> {
  const { data, info } = await sharp(svg, { density: 72 }).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width };
}

/** Renders one curve alone (the reference the sheet renderer is tested against). */
export async function renderCurve(spec: CurveSpec): Promise<Uint8Array> {
  const { data } = await renderGrey(svgDocument(CURVES_SIZE, CURVES_SIZE, [curvePath(spec, 0, 0)]));
  return new Uint8Array(data);
}

/** Renders specs as tiles of one SVG sheet and cuts the tiles out into `out` (28·28 bytes each). */
async function renderSheet(specs: CurveSpec[], out: Uint8Array): Promise<void> {
  const side = CURVES_SIZE * SHEET_SIDE;
  const rows = Math.ceil(specs.length / SHEET_SIDE);
  const paths = specs.map((spec, i) => curvePath(spec, (i % SHEET_SIDE) * CURVES_SIZE, Math.floor(i / SHEET_SIDE) * CURVES_SIZE));
  const { data, width } = await renderGrey(svgDocument(side, rows * CURVES_SIZE, paths));
  specs.forEach((_, i) => {
    const x0 = (i % SHEET_SIDE) * CURVES_SIZE, y0 = Math.floor(i / SHEET_SIDE) * CURVES_SIZE;
    for (let y = 0; y < CURVES_SIZE; y++) {
      const row = (y0 + y) * width + x0;
      out.set(data.subarray(row, row + CURVES_SIZE), (i * CURVES_SIZE + y) * CURVES_SIZE);
    }
  });
}

/** Renders `count` curves of one split, SHEETS_IN_FLIGHT sheets at a time on sharp's thread pool. */
export async function renderCurves(seed: number, stream: number, count: number, options: GeneratorOptions): Promise<Uint8Array> {
  const dim = CURVES_SIZE * CURVES_SIZE;
  const pixels = new Uint8Array(count * dim);
  const perSheet = SHEET_SIDE * SHEET_SIDE;
  const sheetStarts = Array.from({ length: Math.ceil(count / perSheet) }, (_, s) => s * perSheet);
  let next = 0;
  const worker = async () => {
    while (next < sheetStarts.length) {
      const start = sheetStarts[next++];
      const end = Math.min(count, start + perSheet);
      const specs = Array.from({ length: end - start }, (_, i) => curveSpec(seed, stream, start + i));
      await renderSheet(specs, pixels.subarray(start * dim, end * dim));
      options.progress?.advance(end - start);
    }
  };
  await Promise.all(Array.from({ length: SHEETS_IN_FLIGHT }, worker));
  return pixels;
}

export function curvesCounts(options: { count?: number }): { train: number; test: number } {
  if (options.count === undefined) return { train: CURVES_TRAIN_COUNT, test: CURVES_TEST_COUNT };
  return { train: options.count, test: Math.ceil(options.count / 2) };
}

export async function generateCurves(options: GeneratorOptions): Promise<ImageSet[]> {
  const { train, test } = curvesCounts(options);
  const make = async (split: string, stream: number, count: number): Promise<ImageSet> => ({
    dataset: "curves", split, width: CURVES_SIZE, height: CURVES_SIZE, seed: options.seed,
    generatorVersion: CURVES_GENERATOR_VERSION, pixels: await renderCurves(options.seed, stream, count, options),
  });
  return [await make("train", 0, train), await make("test", 1, test)];
}
