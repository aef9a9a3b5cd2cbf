// Example 2: your own training loop around optimizer.step, with callbacks for the metrics.
//
//   bun examples/custom-loop.ts [FILE.arrow --targets COLUMN] [--device auto|cpu|webgpu] [--steps N]
//
// Without a file it makes a regression problem in memory (y = (x₀ + x₁/2, x₂x₃) for x uniform in
// [−1, 1]⁸). With one, it trains on the file's features and target column, as `train --data` does.
// It holds a fifth of the rows back, steps KFRA by hand, reports each update's figures to
// `onStep` and each evaluation to `onEval`, and stops early when the held-out error stops falling.
import { parseArgs } from "node:util";
import { Dataset, Network, Optimizer, createBackend, openDataset, type DeviceFlag, type StepReport } from "kfra-webgpu";

export interface Callbacks {
  onStep?: (step: number, report: StepReport) => void;
  onEval?: (step: number, train: number, heldOut: number) => void;
}

function synthetic(rows: number): Dataset {
  const x = new Float32Array(rows * 8), y = new Float32Array(rows * 2);
  let state = 12345;
  const uniform = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < 8; j++) x[r * 8 + j] = uniform();
    y[r * 2] = x[r * 8] + x[r * 8 + 1] / 2;
    y[r * 2 + 1] = x[r * 8 + 2] * x[r * 8 + 3];
  }
  return openDataset({ x, dim: 8, y, name: "synthetic" });
}

/** Splits off the last fifth of the rows (in file order) as the held-out set. */
function split(data: Dataset): [Dataset, Dataset] {
  const cut = Math.floor(data.count * 0.8);
  const part = (from: number, to: number, name: string) => {
    const rows = data.rows(Array.from({ length: to - from }, (_, i) => from + i));
    return openDataset({ x: rows.x, dim: data.dim, y: rows.y, targetWidth: data.targetWidth, name });
  };
  return [part(0, cut, `${data.name} (training rows)`), part(cut, data.count, `${data.name} (held-out rows)`)];
}

export async function main(options: { file?: string; targets?: string; device?: DeviceFlag; steps?: number; batchSize?: number } & Callbacks = {}): Promise<{ steps: number; best: number; first: number }> {
  const backend = await createBackend({ device: options.device ?? "auto" });
  const [trainSet, heldOut] = split(options.file ? openDataset(options.file, { targets: options.targets }) : synthetic(2000));
  const network = new Network(backend, { sizes: [trainSet.dim, 32, 32, trainSet.targetWidth], loss: "sse", seed: 3 });
  const batchSize = options.batchSize ?? 100;
  const optimizer = new Optimizer(network, { method: "kfra", batchSize, preset: "fixed" });
  const first = (await network.evaluate(heldOut)).loss;
  let best = first, worseEvaluations = 0, step = 0;
  try {
    while (step < (options.steps ?? 200) && worseEvaluations < 3) {
      const batch = trainSet.batch(batchSize, 0, step); // the CLI stream's order for seed 0
      const report = await optimizer.step(batch);
      step += 1;
      options.onStep?.(step, report);
      if (step % 20 === 0) {
        const heldOutError = (await network.evaluate(heldOut)).loss;
        options.onEval?.(step, (await network.evaluate(trainSet)).loss, heldOutError);
        if (heldOutError < best) [best, worseEvaluations] = [heldOutError, 0];
        else worseEvaluations += 1;
      }
    }
    return { steps: step, best, first };
  } finally {
    optimizer.dispose();
    network.dispose();
    backend.dispose();
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { targets: { type: "string" }, device: { type: "string" }, steps: { type: "string" } } });
  const result = await main({
    file: positionals[0],
    targets: values.targets,
    device: values.device as DeviceFlag | undefined,
    steps: values.steps ? Number(values.steps) : undefined,
    onStep: (step, r) => step % 10 === 0 && console.log(`update ${step}: minibatch loss ${r.loss.toFixed(5)}  α* ${r.alpha?.toFixed(3)}  τ ${r.tau}`),
    onEval: (step, train, heldOut) => console.log(`update ${step}: training error ${train.toFixed(5)}, held-out ${heldOut.toFixed(5)}`),
  });
  console.log(`held-out error ${result.first.toFixed(5)} → best ${result.best.toFixed(5)} after ${result.steps} updates`);
}
