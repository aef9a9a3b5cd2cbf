// FACES from the Olivetti faces (Roweis' olivettifaces.mat: one 4096×400 variable `faces`, column k
// is image k, itself a 64×64 image stored column-major; person = ⌊k/10⌋). Following Hinton &
// Salakhutdinov (2006): for each of the 250 images of persons 0–24, `pairs` (414) random pairs
// (θ uniform in [−90°, 90°], s uniform in [1.4, 1.8]), each giving one 25×25 image by the map in
// affine.ts (rotate about the centre, enlarge s times, keep the central window, reduce to 25×25),
// computed by sharp with an anti-aliasing prefilter (faces-sharp.ts) on worker threads
// (faces-pool.ts): 250 · 414 = 103,500 training images. The test split does the same for the 150
// images of persons 25–39: 150 · 414 = 62,100 images. Images are stored source-image-major (all pairs
// of image 0, then image 1, ...); the stream shuffles them.
import { join } from "node:path";
import { DataError } from "../src/data/data-error.ts";
import type { ImageSet } from "./arrow-writer.ts";
import { ItemRandom } from "./counter-random.ts";
import { defaultFacesWorkers, runFacesTasks, type FacesTask } from "./faces-pool.ts";
import { readMatFile } from "./matlab.ts";
import { REPO_ROOT } from "./paths.ts";
import type { GeneratorOptions } from "./options.ts";

export const FACES_GENERATOR_VERSION = "faces-olivetti-sharp-lanczos3/2";
export const FACES_SOURCE_SIZE = 64;
export const FACES_SIZE = 25;
export const FACES_PAIRS = 414;
const IMAGES_PER_PERSON = 10;
const TRAIN_PEOPLE = 25;
const PEOPLE = 40;
const ANGLE_RANGE: [number, number] = [-90, 90];
const SCALE_RANGE: [number, number] = [1.4, 1.8];

/** The copy shipped with the repository (origin and terms: data-prep/sources/README.md). */
export function defaultFacesSource(): string {
  return join(REPO_ROOT, "data-prep", "sources", "olivettifaces.mat");
}

/** The 400 Olivetti images as row-major 64×64 bytes, image k at offset 4096·k. */
export function readOlivetti(file: string): Uint8Array {
  const faces = readMatFile(file).get("faces");
  if (!faces) throw new DataError(`${file}: no variable 'faces' in the MAT-file`);
  const side = FACES_SOURCE_SIZE, dim = side * side, count = PEOPLE * IMAGES_PER_PERSON;
  if (faces.dims.length !== 2 || faces.dims[0] !== dim || faces.dims[1] !== count) {
    throw new DataError(`${file}: 'faces' is ${faces.dims.join("×")}, expected ${dim}×${count}`);
  }
  const images = new Uint8Array(dim * count);
  for (let k = 0; k < count; k++) {
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        const v = faces.values[k * dim + c * side + r];
        if (!(Number.isInteger(v) && v >= 0 && v <= 255)) {
          const what = Number.isNaN(v) ? "NaN" : `${v}, not an integer in [0, 255]`;
          throw new DataError(`${file}: 'faces' pixel (${r}, ${c}) of image ${k} is ${what}`);
        }
        images[k * dim + r * side + c] = v;
      }
    }
  }
  return images;
}

/** The (θ, s) pair of output image `index` of a split (stream 0 train, 1 test). */
export function facePair(seed: number, stream: number, index: number): { degrees: number; scale: number } {
  const random = new ItemRandom(seed, stream, index);
  return { degrees: random.uniform(...ANGLE_RANGE), scale: random.uniform(...SCALE_RANGE) };
}

export function facesCounts(pairs = FACES_PAIRS): { train: number; test: number } {
  return { train: TRAIN_PEOPLE * IMAGES_PER_PERSON * pairs, test: (PEOPLE - TRAIN_PEOPLE) * IMAGES_PER_PERSON * pairs };
}

export async function generateFaces(options: GeneratorOptions): Promise<ImageSet[]> {
  const images = readOlivetti(options.source ?? defaultFacesSource());
  const pairs = options.count ?? FACES_PAIRS;
  const dim = FACES_SIZE ** 2;
  const trainImages = TRAIN_PEOPLE * IMAGES_PER_PERSON, allImages = PEOPLE * IMAGES_PER_PERSON;
  const splits = [
    { split: "train", stream: 0, first: 0, last: trainImages },
    { split: "test", stream: 1, first: trainImages, last: allImages },
  ];
  const pixels = splits.map(({ first, last }) => new Uint8Array((last - first) * pairs * dim));
  const tasks: FacesTask[] = splits.flatMap(({ stream, first, last }) =>
    Array.from({ length: last - first }, (_, i) => ({ stream, image: first + i, first: i * pairs })));
  const job = { images, n: FACES_SOURCE_SIZE, m: FACES_SIZE, pairs, seed: options.seed };
  await runFacesTasks(job, tasks, options.workers ?? defaultFacesWorkers(), (task, out) => pixels[task.stream].set(out, task.first * dim), options.progress);
  return splits.map(({ split }, i) => ({
    dataset: "faces", split, width: FACES_SIZE, height: FACES_SIZE, seed: options.seed, generatorVersion: FACES_GENERATOR_VERSION, pixels: pixels[i],
  }));
}
