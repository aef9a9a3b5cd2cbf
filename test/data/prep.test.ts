// `bun run prep`: same seed ⇒ byte-identical files, atomic writes, the CLI's error contract, and
// MNIST's known statistics.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync, mkdirSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { writeFilesAtomically } from "../../data-prep/arrow-writer.ts";
import { defaultMnistSource } from "../../data-prep/mnist.ts";
import { REPO_ROOT } from "../../data-prep/paths.ts";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { previewRow } from "../../data-prep/preview.ts";
import { loadDataset, readDatasetInfo } from "../../src/data/dataset.ts";
import { sha256, tempDir } from "./helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.remove());
const BUN = join(REPO_ROOT, "node_modules", ".bin", "bun");

function runCli(args: string[]) {
  return spawnSync(BUN, [join(REPO_ROOT, "data-prep", "cli.ts"), ...args], { encoding: "utf8", cwd: REPO_ROOT });
}

async function hashes(name: "mnist" | "curves" | "faces", out: string, seed: number, count: number): Promise<string[]> {
  const { files } = await prepareDataset(name, { out, seed, count, quiet: true });
  return files.map((f) => sha256(f.file));
}

// FACES: test/data/faces.test.ts (same bytes over runs and worker counts, another seed differs).
describe("determinism (small counts via the internal count option)", () => {
  for (const [name, count] of [["mnist", 300], ["curves", 400]] as const) {
    it(`${name}: two runs with the same seed give byte-identical files; another seed differs`, async () => {
      const a = await hashes(name, join(tmp.dir, `${name}-a`), 7, count);
      const b = await hashes(name, join(tmp.dir, `${name}-b`), 7, count);
      expect(a).toEqual(b);
      if (name !== "mnist") {
        const c = await hashes(name, join(tmp.dir, `${name}-c`), 8, count);
        expect(c[0]).not.toBe(a[0]);
      }
    });
  }

  it("records dataset, size, count, seed and generator version in the schema metadata", async () => {
    const out = join(tmp.dir, "meta");
    await prepareDataset("curves", { out, seed: 42, count: 100, quiet: true });
    expect(readDatasetInfo(join(out, "curves-train.arrow"))).toMatchObject({ name: "curves", width: 28, height: 28, count: 100, seed: 42, hasLabels: false });
    expect(readDatasetInfo(join(out, "curves-test.arrow")).count).toBe(50);
    expect(readDatasetInfo(join(out, "curves-train.arrow")).generatorVersion).toMatch(/^curves-/);
  });
});

describe("atomic writes", () => {
  it("a failure while writing leaves neither the outputs nor temporaries", () => {
    const dir = join(tmp.dir, "atomic");
    mkdirSync(dir);
    // The second output's folder is a file, so its write fails after the first one was written.
    writeFileSync(join(dir, "not-a-folder"), "");
    expect(() =>
      writeFilesAtomically([
        { file: join(dir, "first.arrow"), bytes: new Uint8Array(10) },
        { file: join(dir, "not-a-folder", "second.arrow"), bytes: new Uint8Array(10) },
      ]),
    ).toThrow();
    expect(readdirSync(dir)).toEqual(["not-a-folder"]);
  });
});

describe("CLI errors: `prep: <message>`, exit 1, no output", () => {
  it("missing MNIST source", () => {
    const out = join(tmp.dir, "cli-missing");
    const result = runCli(["mnist", "--out", out, "--source", join(tmp.dir, "no-such-folder")]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^prep: .*no-such-folder.*train-images-idx3-ubyte: no such file/m);
    expect(existsSync(out)).toBe(false);
  });

  it("truncated IDX file", () => {
    const source = join(tmp.dir, "cut-idx");
    mkdirSync(source);
    for (const f of ["train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]) copyFileSync(join(defaultMnistSource(), f), join(source, f));
    writeFileSync(join(source, "train-images-idx3-ubyte"), Uint8Array.of(0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3));
    const out = join(tmp.dir, "cli-cut");
    const result = runCli(["mnist", "--out", out, "--source", source]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^prep: .*train-images-idx3-ubyte: IDX file is 19 bytes .* \(truncated\?\)/m);
    expect(existsSync(out)).toBe(false);
  });

  it("missing or corrupt FACES source", () => {
    const missing = runCli(["faces", "--out", join(tmp.dir, "f1"), "--source", join(tmp.dir, "none.mat")]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^prep: .*none\.mat: no such file/m);
    const bad = join(tmp.dir, "bad.mat");
    writeFileSync(bad, "MATLAB 5.0 MAT-file".padEnd(126, " ") + "IM" + "\x0f\x00\x00\x00\x10\x00\x00\x00garbagegarbage!!");
    const corrupt = runCli(["faces", "--out", join(tmp.dir, "f2"), "--source", bad]);
    expect(corrupt.status).toBe(1);
    expect(corrupt.stderr).toMatch(/^prep: .*bad\.mat: MAT-file compressed element at byte 128 is corrupt/m);
    expect(existsSync(join(tmp.dir, "f2"))).toBe(false);
  });

  it("unknown dataset and bad flags", () => {
    const unknown = runCli(["cifar"]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^prep: unknown dataset or command 'cifar'/m);
    const seed = runCli(["curves", "--seed=-3"]);
    expect(seed.status).toBe(1);
    expect(seed.stderr).toMatch(/^prep: --seed must be a non-negative integer/m);
  });

  it("preview of a corrupt file", () => {
    const file = join(tmp.dir, "junk.arrow");
    writeFileSync(file, "ARROW1 junk");
    const result = runCli(["preview", file, "--out", join(tmp.dir, "junk.png")]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^prep: .*junk\.arrow: truncated Arrow IPC file/m);
    expect(existsSync(join(tmp.dir, "junk.png"))).toBe(false);
  });
});

describe("preview", () => {
  it("writes a PNG contact sheet of 64 images spread over the file (8 × 8 cells of 2× enlarged 28×28 images)", async () => {
    const out = join(tmp.dir, "preview");
    await prepareDataset("curves", { out, count: 80, quiet: true });
    const png = join(out, "sheet.png");
    const result = runCli(["preview", join(out, "curves-train.arrow"), "--out", png]);
    expect(result.status).toBe(0);
    const { data, info } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    // 8 cells of 28·2 px plus 9 gaps of 2 px.
    expect([info.width, info.height]).toEqual([8 * 56 + 9 * 2, 8 * 56 + 9 * 2]);
    // The last cell shows row ⌊63·80/64⌋ = 78, each pixel as a 2×2 block.
    const images = loadDataset(join(out, "curves-train.arrow"));
    const row = previewRow(63, 64, 80);
    expect(row).toBe(78);
    const x0 = 2 + 7 * 58, y0 = 2 + 7 * 58;
    for (let y = 0; y < 56; y++) {
      for (let x = 0; x < 56; x++) {
        const expected = Math.round(255 * images.x[row * 784 + Math.floor(y / 2) * 28 + Math.floor(x / 2)]);
        expect(data[(y0 + y) * info.width + x0 + x]).toBe(expected);
      }
    }
  });

  it("on a FACES-sized file the 64 cells come from 64 different source images", () => {
    const sources = new Set(Array.from({ length: 64 }, (_, k) => Math.floor(previewRow(k, 64, 103_500) / 414)));
    expect(sources.size).toBe(64);
  });
});

describe("MNIST", () => {
  it("has the known statistics: mean pixel 0.1307 over the 60,000 training images, and their label counts", async () => {
    const out = join(tmp.dir, "mnist-full");
    await prepareDataset("mnist", { out, quiet: true });
    const train = loadDataset(join(out, "mnist-train.arrow"));
    const valid = loadDataset(join(out, "mnist-valid.arrow"));
    expect([train.info.count, valid.info.count, readDatasetInfo(join(out, "mnist-test.arrow")).count]).toEqual([50_000, 10_000, 10_000]);
    let sum = 0;
    for (const x of [train.x, valid.x]) for (let i = 0; i < x.length; i++) sum += x[i];
    // The published value 0.1307 is rounded to 4 digits; the sum is exact to ~1e-12 in float64.
    expect(Math.abs(sum / (60_000 * 784) - 0.1307)).toBeLessThan(5e-5);
    const counts = new Array(10).fill(0);
    for (const labels of [train.labels!, valid.labels!]) for (const l of labels) counts[l]++;
    expect(counts).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  });
});
