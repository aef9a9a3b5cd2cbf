// FACES: the MAT-file reader, the counts, the TypeScript reference map against exact cases, the sharp
// path (the one `prep faces` uses) against that reference, its anti-aliasing, and small real preps
// (counts, determinism across worker counts).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rotateScaleSubsample, type RotateScale } from "../../data-prep/affine.ts";
import { PrefilteredSource, prefilterSide, rotateScaleReduceSharp } from "../../data-prep/faces-sharp.ts";
import { defaultFacesSource, facePair, facesCounts, readOlivetti } from "../../data-prep/faces.ts";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { readDatasetInfo } from "../../src/data/dataset.ts";
import { sha256, tempDir } from "./helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.remove());
const source = defaultFacesSource();

function olivettiImage(k: number): Uint8Array {
  return readOlivetti(source).subarray(k * 4096, (k + 1) * 4096);
}

describe("FACES counts", () => {
  it("250 training images × 414 pairs = 103,500; 150 test images × 414 = 62,100", () => {
    expect(facesCounts()).toEqual({ train: 103_500, test: 62_100 });
  });

  it("pairs are uniform in [−90°, 90°] × [1.4, 1.8]", () => {
    let sumAngle = 0;
    for (let i = 0; i < 4000; i++) {
      const { degrees, scale } = facePair(1, 0, i);
      expect(Math.abs(degrees)).toBeLessThanOrEqual(90);
      expect(scale).toBeGreaterThanOrEqual(1.4);
      expect(scale).toBeLessThanOrEqual(1.8);
      sumAngle += degrees;
    }
    // Mean of 4000 uniforms on [−90, 90]: standard error 52/√4000 ≈ 0.82°, so 4° is ~5 standard errors.
    expect(Math.abs(sumAngle / 4000)).toBeLessThan(4);
  });
});

describe("anti-aliasing", () => {
  it("1-px stripes and a checkerboard reduce to flat grey through sharp, while point sampling aliases them", async () => {
    // Both patterns are above the output's Nyquist frequency at every scale in [1.4, 1.8] (a source
    // period of 2 px becomes 1.1–1.4 output px), so a band-limited reduction is their mean, 127.5.
    // Point sampling leaves moiré of standard deviation ~40–74 levels; the lanczos3 prefilter leaves
    // ~1 (measured ≤ 1.1); 5 is the bound.
    const stripes = Uint8Array.from({ length: 4096 }, (_, i) => (i % 2 ? 255 : 0));
    const checker = Uint8Array.from({ length: 4096 }, (_, i) => ((Math.floor(i / 64) + i) % 2 ? 255 : 0));
    const innerStats = (image: Uint8Array) => {
      let sum = 0, squares = 0;
      for (let i = 6; i < 19; i++) for (let j = 6; j < 19; j++) {
        sum += image[i * 25 + j];
        squares += image[i * 25 + j] ** 2;
      }
      const mean = sum / 169;
      return { mean, sd: Math.sqrt(squares / 169 - mean * mean) };
    };
    for (const pattern of [stripes, checker]) {
      for (const t of [{ degrees: 0, scale: 1.4 }, { degrees: 17, scale: 1.55 }, { degrees: -60, scale: 1.8 }]) {
        const point = new Uint8Array(625);
        rotateScaleSubsample(pattern, 64, 25, t, point);
        const smooth = innerStats(await rotateScaleReduceSharp(new PrefilteredSource(pattern, 64), 25, t));
        expect(innerStats(point).sd).toBeGreaterThan(30);
        expect(smooth.sd).toBeLessThan(5);
        expect(Math.abs(smooth.mean - 127.5)).toBeLessThan(3);
      }
    }
  });
});

describe("FACES from olivettifaces.mat", () => {
  it("reads 400 images of 64×64, column-major in the file, as upright row-major images", () => {
    const images = readOlivetti(source);
    expect(images.length).toBe(400 * 4096);
    // Upright faces: the top rows (forehead/background) are brighter on average than the row through
    // the eyes (~row 26); a transposed image would put that dark band in a column instead.
    const image = images.subarray(0, 4096);
    const rowMean = (r: number) => image.subarray(r * 64, r * 64 + 64).reduce((a, b) => a + b) / 64;
    const colMean = (c: number) => Array.from({ length: 64 }, (_, r) => image[r * 64 + c]).reduce((a, b) => a + b) / 64;
    expect(Math.min(...[24, 26, 28].map(rowMean))).toBeLessThan(rowMean(4));
    expect(Math.abs(colMean(20) - colMean(43))).toBeLessThan(40);
  });

  it("θ = 0, s = 1, 64 → 64 is the identity, and θ = 90° is the exact quarter turn out(r, c) = in(63 − c, r)", () => {
    const image = olivettiImage(13);
    const out = new Uint8Array(4096);
    rotateScaleSubsample(image, 64, 64, { degrees: 0, scale: 1 }, out);
    expect(Array.from(out)).toEqual(Array.from(image));
    rotateScaleSubsample(image, 64, 64, { degrees: 90, scale: 1 }, out);
    const turned = Uint8Array.from({ length: 4096 }, (_, i) => image[(63 - (i % 64)) * 64 + Math.floor(i / 64)]);
    expect(Array.from(out)).toEqual(Array.from(turned));
  });

  it("64 → 32 at θ = 0, s = 1 is the average of each 2×2 block (bilinear at the block centre)", () => {
    const image = olivettiImage(5);
    const out = new Uint8Array(32 * 32);
    rotateScaleSubsample(image, 64, 32, { degrees: 0, scale: 1 }, out);
    for (let i = 0; i < 32; i++) {
      for (let j = 0; j < 32; j++) {
        const block = image[2 * i * 64 + 2 * j] + image[2 * i * 64 + 2 * j + 1] + image[(2 * i + 1) * 64 + 2 * j] + image[(2 * i + 1) * 64 + 2 * j + 1];
        // Rounding: the mean of four bytes can end in .5, rounded up by Math.round; tolerance 0.5.
        expect(Math.abs(out[i * 32 + j] - block / 4)).toBeLessThanOrEqual(0.5);
      }
    }
  });

  /** 24 transforms spread over [−90°, 90°] × [1.4, 1.8]. */
  const transforms: RotateScale[] = Array.from({ length: 24 }, (_, q) => ({ degrees: -90 + 7.5 * q + 0.3, scale: 1.4 + (q % 5) * 0.1 }));

  it("sharp without the prefilter (bilinear point sampling) agrees with the TypeScript resampler within 1 grey level", async () => {
    // The same map sampled at the same points: this pins the sharp path's geometry (libvips' canvas
    // origin, the half-pixel conventions) to the reference. libvips uses fixed-point bilinear weights,
    // so a value near k + ½ may round the other way: at most 1 level apart.
    const source = new PrefilteredSource(olivettiImage(7), 64);
    const out = new Uint8Array(625);
    for (const t of transforms) {
      rotateScaleSubsample(source.source, 64, 25, t, out);
      const sharpOut = await rotateScaleReduceSharp(source, 25, t, false);
      let worst = 0;
      for (let i = 0; i < 625; i++) worst = Math.max(worst, Math.abs(out[i] - sharpOut[i]));
      expect(worst, `θ = ${t.degrees}°, s = ${t.scale}`).toBeLessThanOrEqual(1);
    }
  });

  it("the prefilter side S = round(25 s) leaves a residual scale within ±1.5% of 1", () => {
    for (let s = 1.4; s <= 1.8; s += 0.001) {
      const side = prefilterSide(s, 25);
      expect(side).toBeGreaterThanOrEqual(35);
      expect(side).toBeLessThanOrEqual(45);
      expect(Math.abs((s * 25) / side - 1)).toBeLessThanOrEqual(0.5 / 35);
    }
  });

  it("the anti-aliased sharp path agrees with the point-sampling reference: mean |Δ| ≤ 4, max |Δ| ≤ 40 grey levels, and no 1-px shift fits better", async () => {
    // They differ by design: the reference takes one bilinear sample per output pixel (a 1.4–1.8
    // source-pixel step, so fine detail aliases), the sharp path low-passes first (lanczos3). Over
    // these 48 cases the mean difference was 1.2–2.9 levels and the largest 26, at hair and eye
    // edges where point samples pick one side of an edge; 4 and 40 leave room for other libvips
    // builds. A geometric error would show at once: the reference shifted by one pixel is 6.5–17
    // levels away on average, so the zero shift must fit best.
    const out = new Uint8Array(625);
    for (const k of [7, 123]) {
      const source = new PrefilteredSource(olivettiImage(k), 64);
      for (const t of transforms) {
        rotateScaleSubsample(source.source, 64, 25, t, out);
        const sharpOut = await rotateScaleReduceSharp(source, 25, t);
        let sum = 0, worst = 0;
        for (let i = 0; i < 625; i++) {
          sum += Math.abs(out[i] - sharpOut[i]);
          worst = Math.max(worst, Math.abs(out[i] - sharpOut[i]));
        }
        const what = `image ${k}, θ = ${t.degrees}°, s = ${t.scale}`;
        expect(sum / 625, what).toBeLessThanOrEqual(4);
        expect(worst, what).toBeLessThanOrEqual(40);
        // Mean |Δ| over the inner 23×23 pixels with the reference shifted by (dx, dy).
        const shifted = (dx: number, dy: number) => {
          let e = 0;
          for (let i = 1; i < 24; i++) for (let j = 1; j < 24; j++) e += Math.abs(out[(i + dy) * 25 + j + dx] - sharpOut[i * 25 + j]);
          return e / 529;
        };
        const centred = shifted(0, 0);
        for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) expect(shifted(dx, dy), `${what}, shift (${dx}, ${dy})`).toBeGreaterThan(2 * centred);
      }
    }
  });

  // One small real prep (2 pairs per image, seed 5, one worker thread) that both tests below read.
  const preps = new Map<string, Promise<string[]>>();
  const prep = (name: string, workers: number, seed = 5): Promise<string[]> => {
    if (!preps.has(name)) preps.set(name, prepareDataset("faces", { out: join(tmp.dir, name), count: 2, workers, seed, quiet: true }).then(({ files }) => files.map((f) => f.file)));
    return preps.get(name)!;
  };

  it("a small real prep (2 pairs per image) gives 500 train and 300 test 25×25 images", async () => {
    const out = join(tmp.dir, "w1");
    await prep("w1", 1);
    expect(readDatasetInfo(join(out, "faces-train.arrow"))).toMatchObject({ width: 25, height: 25, count: 500 });
    expect(readDatasetInfo(join(out, "faces-test.arrow")).count).toBe(300);
    expect(existsSync(join(out, "faces-valid.arrow"))).toBe(false);
  });

  it("the same seed gives the same bytes whatever the number of worker threads (1 or 3); another seed differs", async () => {
    const hashes = async (name: string, workers: number, seed = 5) => (await prep(name, workers, seed)).map((file) => sha256(file));
    const one = await hashes("w1", 1);
    expect(await hashes("w3", 3)).toEqual(one);
    const other = await hashes("seed-6", 3, 6);
    other.forEach((hash, i) => expect(hash, `file ${i} with seed 6`).not.toBe(one[i]));
  });
});
