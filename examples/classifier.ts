// Example 3: a classifier on your own CSV with text labels — KFRA against Adam, accuracy printed,
// the best model by held-out error reloaded and used to name the class of new rows.
//
//   bun examples/classifier.ts [--device auto|cpu|webgpu] [--rows N] [--steps N] [--dir DIR]
//
// The CSV (written by the example into DIR): points (x, y) in the square [−1, 1]² with two columns
// of noise, labelled "inner", "middle" or "outer" by their distance from the centre. `prep import`
// turns the labels into class indices 0…K−1 (sorted: inner, middle, outer) and keeps the names in
// the Arrow file, which openDataset gives back as `dataset.classNames`.
//
// The loss is one word: LOSS = "bce" trains K sigmoid outputs on one-hot rows; with the softmax
// cross-entropy loss, LOSS = "softmax" trains on the class indices themselves. Accuracy
// (argmax of the outputs against the label) is the same for both.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type Dataset, type DeviceFlag, type LossKind, type MethodName, Network, Optimizer, createBackend, openDataset, train } from "kfra-webgpu";

const LOSS: LossKind = "bce";

/** `rows` lines of x, y, two noise columns and the label; the same rows for the same count. */
export function writeCsv(file: string, rows: number): void {
  const lines = ["x,y,noise1,noise2,region"];
  for (let r = 0; r < rows; r++) {
    const u = (k: number) => (Math.sin(12.9898 * (r + 1) + 78.233 * k) * 43758.5453) % 1; // a fixed pseudo-random number in (−1, 1)
    const [x, y] = [u(1), u(2)];
    const radius = Math.hypot(x, y);
    const label = radius < 0.45 ? "inner" : radius < 0.8 ? "middle" : "outer";
    lines.push([x, y, u(3), u(4)].map((v) => v.toFixed(4)).join(",") + `,${label}`);
  }
  writeFileSync(file, `${lines.join("\n")}\n`);
}

/** The rows of `data` from `start` to `end` as a dataset of their own, with targets for LOSS. */
function part(data: Dataset, start: number, end: number, name: string): Dataset {
  const { x, y } = data.rows(Array.from({ length: end - start }, (_, i) => start + i));
  const k = data.classNames!.length;
  const targets = LOSS === "bce" ? Float32Array.from({ length: y!.length * k }, (_, i) => (y![Math.floor(i / k)] === i % k ? 1 : 0)) : y!;
  return openDataset({ x, dim: data.dim, y: targets, name });
}

export interface MethodResult {
  method: MethodName;
  steps: number;
  seconds: number;
  heldOutAccuracy: number;
  best: { step: number; at: string; heldOut: number; heldOutAccuracy?: number };
  bestFile: string;
}

export async function main(options: { device?: DeviceFlag; rows?: number; steps?: number; dir?: string; quiet?: boolean } = {}) {
  const log = options.quiet ? () => {} : (line: string) => console.log(line);
  const dir = resolve(options.dir ?? mkdtempSync(join(tmpdir(), "kfra-classifier-")));
  mkdirSync(dir, { recursive: true });
  const csv = join(dir, "regions.csv"), arrow = join(dir, "regions.arrow");
  writeCsv(csv, options.rows ?? 3000);
  // `bun run prep import regions.csv --targets region --out regions.arrow`, as from a shell.
  const prep = spawnSync(process.execPath, [join(import.meta.dirname, "..", "data-prep", "cli.ts"), "import", csv, "--targets", "region", "--out", arrow], { encoding: "utf8" });
  if (prep.status !== 0) throw new Error(prep.stderr.trim());
  log(prep.stderr.trim());

  const data = openDataset(arrow, { targets: "targets" });
  const names = data.classNames!;
  // Hold the last quarter of the rows back: the held-out set judges early stopping and the best model.
  const cut = Math.floor(0.75 * data.count);
  const trainSet = part(data, 0, cut, "regions (training rows)");
  const heldOut = part(data, cut, data.count, "regions (held-out rows)");

  const backend = await createBackend({ device: options.device ?? "auto" });
  const results: MethodResult[] = [];
  try {
    for (const [method, settings] of [["kfra", {}], ["adam", { lr: 0.01 }]] as const) {
      const network = new Network(backend, { sizes: [data.dim, 32, 32, names.length], loss: LOSS, seed: 1, classNames: names });
      const optimizer = new Optimizer(network, { method, batchSize: 100, ...settings });
      const bestFile = join(dir, `${method}-best.safetensors`);
      const started = performance.now();
      try {
        const summary = await train(network, optimizer, trainSet, {
          steps: options.steps ?? 300,
          evalEvery: 20,
          validation: heldOut,
          earlyStop: 5,
          saveBest: bestFile,
          onEval: (e) => {
            const average = e.validationAverageAccuracy === undefined ? "" : `, θ̂ ${(100 * e.validationAverageAccuracy).toFixed(1)}%`;
            log(`${method} update ${e.step}: held-out error ${e.validation!.toFixed(4)}, accuracy ${(100 * e.validationAccuracy!).toFixed(1)}%${average}`);
          },
        });
        const seconds = (performance.now() - started) / 1000;
        const { weights: _, ...best } = summary.best!;
        results.push({ method, steps: summary.steps, seconds, heldOutAccuracy: summary.final!.validationAccuracy!, best, bestFile });
        log(`${method}: ${summary.steps} updates in ${seconds.toFixed(1)} s${summary.stoppedEarly ? " (stopped early)" : ""}; best held-out error ${best.heldOut.toFixed(4)} at update ${best.step} (${best.at === "average" ? "θ̂" : "θ"}), accuracy ${(100 * best.heldOutAccuracy!).toFixed(1)}%`);
      } finally {
        optimizer.dispose();
        network.dispose();
      }
    }

    // The best KFRA model, reloaded from its file alone (sizes, activations, loss and class names are in its metadata).
    const kfra = results[0];
    const model = Network.load(backend, kfra.bestFile);
    try {
      const reloaded = await model.evaluate(heldOut);
      log(`reloaded ${kfra.bestFile}: held-out error ${reloaded.loss.toFixed(4)}, accuracy ${(100 * reloaded.accuracy!).toFixed(1)}%`);
      const points = [[0, 0.1, 0, 0], [0.5, -0.4, 0, 0], [0.9, 0.9, 0, 0]];
      const classes = await model.predictClasses(points.flat());
      const predicted = points.map((p, i) => ({ x: p[0], y: p[1], region: model.classNames![classes[i]] }));
      for (const p of predicted) log(`(${p.x}, ${p.y}) is ${p.region}`);
      return { results, reloaded, predicted, classNames: names, dir };
    } finally {
      model.dispose();
    }
  } finally {
    backend.dispose();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { device: { type: "string" }, rows: { type: "string" }, steps: { type: "string" }, dir: { type: "string" } } });
  await main({
    device: values.device as DeviceFlag | undefined,
    rows: values.rows ? Number(values.rows) : undefined,
    steps: values.steps ? Number(values.steps) : undefined,
    dir: values.dir,
  });
}
