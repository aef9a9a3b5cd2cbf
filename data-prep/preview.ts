// `bun run prep preview FILE.arrow [--out PNG]`: a contact sheet of 64 images spread evenly over the
// file (rows ⌊i·count/64⌋, so a file stored source-image-major like FACES shows 64 different faces,
// not the variations of its first one), 8 per row, each enlarged by an integer factor (nearest
// neighbour, so pixels stay visible) with a 2 px grey gap.
import sharp from "sharp";
import { writeFileAtomic } from "../src/io/atomicWrite.ts";
import { openDatasetFile } from "../src/data/dataset-file.ts";

const COLUMNS = 8;
const SHOWN = 64;
const GAP = 2;
const GAP_GREY = 96;

/** Pixels of row r of the file as bytes 0–255 (float files: round(255·v)). */
function rowBytes(chunks: ReturnType<typeof openDatasetFile>["chunks"], dim: number, r: number): Uint8Array {
  const chunk = chunks.find((c) => r >= c.start && r < c.start + c.rows)!;
  const values = chunk.pixels.subarray((r - chunk.start) * dim, (r - chunk.start + 1) * dim);
  return values instanceof Uint8Array ? values : Uint8Array.from(values, (v) => Math.round(255 * v));
}

/** The file row shown in cell k of a sheet of `shown` cells. */
export function previewRow(k: number, shown: number, count: number): number {
  return Math.floor((k * count) / shown);
}

export async function writeContactSheet(file: string, png: string): Promise<{ images: number; width: number; height: number }> {
  const { info, chunks } = openDatasetFile(file);
  const images = Math.min(SHOWN, info.count);
  const zoom = Math.max(1, Math.round(56 / Math.max(info.width, info.height)));
  const cellW = info.width * zoom + GAP, cellH = info.height * zoom + GAP;
  const rows = Math.ceil(images / COLUMNS);
  const width = COLUMNS * cellW + GAP, height = rows * cellH + GAP;
  const sheet = new Uint8Array(width * height).fill(GAP_GREY);
  for (let k = 0; k < images; k++) {
    const pixels = rowBytes(chunks, info.dim, previewRow(k, images, info.count));
    const x0 = GAP + (k % COLUMNS) * cellW, y0 = GAP + Math.floor(k / COLUMNS) * cellH;
    for (let y = 0; y < info.height * zoom; y++) {
      for (let x = 0; x < info.width * zoom; x++) {
        sheet[(y0 + y) * width + x0 + x] = pixels[Math.floor(y / zoom) * info.width + Math.floor(x / zoom)];
      }
    }
  }
  writeFileAtomic(png, await sharp(sheet, { raw: { width, height, channels: 1 } }).png({ compressionLevel: 9 }).toBuffer());
  return { images, width, height };
}
