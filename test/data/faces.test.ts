// FACES: the MAT-file reader, the counts, the rotate-scale-subsample map against exact references
// and against sharp, and a small real prep.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rotateScaleSubsample, rotateScaleSubsampleSharp } from "../../data-prep/affine.ts";
import { defaultFacesSource, facePair, facesCounts, readOlivetti } from "../../data-prep/faces.ts";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { readDatasetInfo } from "../../src/data/dataset.ts";
import { tempDir } from "./helpers.ts";

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

  it("the TypeScript resampler agrees with sharp's affine (libvips bilinear) within 1 grey level", async () => {
    const image = olivettiImage(7);
    const out = new Uint8Array(625);
    for (let q = 0; q < 24; q++) {
      const t = { degrees: -90 + 7.5 * q + 0.3, scale: 1.4 + (q % 5) * 0.1 };
      rotateScaleSubsample(image, 64, 25, t, out);
      const reference = await rotateScaleSubsampleSharp(image, 64, 25, t);
      // Both interpolate bilinearly at the same points; libvips uses fixed-point weights, so a value
      // near k + ½ may round the other way: at most 1 level apart.
      let worst = 0;
      for (let i = 0; i < 625; i++) worst = Math.max(worst, Math.abs(out[i] - reference[i]));
      expect(worst, `θ = ${t.degrees}°, s = ${t.scale}`).toBeLessThanOrEqual(1);
    }
  });

  it("a small real prep (3 pairs per image) gives 750 train and 450 test 25×25 images", async () => {
    const out = join(tmp.dir, "faces");
    await prepareDataset("faces", { out, count: 3, quiet: true });
    expect(readDatasetInfo(join(out, "faces-train.arrow"))).toMatchObject({ width: 25, height: 25, count: 750 });
    expect(readDatasetInfo(join(out, "faces-test.arrow")).count).toBe(450);
    expect(existsSync(join(out, "faces-valid.arrow"))).toBe(false);
  });
});
