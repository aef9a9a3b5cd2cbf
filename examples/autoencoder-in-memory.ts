// Example 1: train an autoencoder with KFRA on rows you already hold in memory.
//
//   bun examples/autoencoder-in-memory.ts [--device auto|cpu|webgpu] [--rows N] [--steps N]
//
// The data: points on a closed curve in 2-D, lifted into 16 dimensions by fixed sines, so a
// 16-32-2-32-16 autoencoder can squeeze them through two numbers.
import { parseArgs } from "node:util";
import { Network, Optimizer, createBackend, openDataset, train, type DeviceFlag } from "kfra-webgpu";

export interface ExampleResult {
  before: number;
  after: number;
  steps: number;
}

/** Row r: x_j = sin((j + 1) t + j) / 2 + 1/2 for t = 2πr/rows, j < 16 (values in [0, 1]). */
export function curveRows(rows: number, dim = 16): Float32Array {
  const x = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const t = (2 * Math.PI * r) / rows;
    for (let j = 0; j < dim; j++) x[r * dim + j] = Math.sin((j + 1) * t + j) / 2 + 0.5;
  }
  return x;
}

export async function main(options: { device?: DeviceFlag; rows?: number; steps?: number; quiet?: boolean } = {}): Promise<ExampleResult> {
  const log = options.quiet ? () => {} : (line: string) => console.log(line);
  const backend = await createBackend({ device: options.device ?? "auto" });
  const data = openDataset({ x: curveRows(options.rows ?? 2000), dim: 16, name: "curve" });
  const network = new Network(backend, { sizes: [16, 32, 2, 32, 16], activation: "tanh", loss: "bce", seed: 1 });
  const optimizer = new Optimizer(network, { method: "kfra", batchSize: 100 });
  try {
    let before = NaN;
    const summary = await train(network, optimizer, data, {
      steps: options.steps ?? 100,
      evalEvery: 25,
      onEval: ({ step, train }) => {
        if (step === 0) before = train;
        log(`update ${step}: training error ${train.toFixed(4)}`);
      },
    });
    // The outputs are logits for bce: σ(h) is the reconstruction.
    const h = await network.predict(data.x.subarray(0, 16));
    const show = (values: ArrayLike<number>) => Array.from(values, (v) => v.toFixed(3)).slice(0, 4).join(" ");
    log(`first row ${show(data.x)} … reconstructed ${show(Array.from(h, (v) => 1 / (1 + Math.exp(-v))))} …`);
    return { before, after: summary.final!.train, steps: summary.steps };
  } finally {
    optimizer.dispose();
    network.dispose();
    backend.dispose();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { device: { type: "string" }, rows: { type: "string" }, steps: { type: "string" } } });
  await main({ device: values.device as DeviceFlag | undefined, rows: values.rows ? Number(values.rows) : undefined, steps: values.steps ? Number(values.steps) : undefined });
}
