// Writes examples/own-data/{train,valid}.csv, the small regression problem of
// examples/sweep-own-data.json: 8 features x uniform in [-1, 1], 2 targets
// y1 = sin(2 a·x), y2 = tanh(b·x) (c·x), plus Gaussian noise of deviation 0.05; 1,000 training
// rows and 250 held-out rows. Deterministic (a fixed-seed mulberry32), so rerunning it rewrites the
// same bytes: bun examples/own-data/make-csv.ts
import { writeFileSync } from "node:fs";
import { join } from "node:path";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = mulberry32(2017);
const uniform = () => 2 * random() - 1;
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const dot = (u: number[], v: number[]) => u.reduce((s, ui, i) => s + ui * v[i], 0);
const FEATURES = 8;
const [a, b, c] = [0, 1, 2].map(() => Array.from({ length: FEATURES }, uniform));

function table(rows: number): string {
  const header = [...Array.from({ length: FEATURES }, (_, i) => `x${i + 1}`), "y1", "y2"].join(",");
  const lines = [header];
  for (let r = 0; r < rows; r++) {
    const x = Array.from({ length: FEATURES }, uniform);
    const y1 = Math.sin(2 * dot(a, x)) + 0.05 * gaussian();
    const y2 = Math.tanh(dot(b, x)) * dot(c, x) + 0.05 * gaussian();
    lines.push([...x, y1, y2].map((v) => v.toFixed(4)).join(","));
  }
  return `${lines.join("\n")}\n`;
}

writeFileSync(join(import.meta.dir, "train.csv"), table(1000));
writeFileSync(join(import.meta.dir, "valid.csv"), table(250));
