// Example 3: the accuracy of a softmax classifier that `bun run train` saved, on a labelled file.
//
//   bun examples/classify-accuracy.ts RUN/model.safetensors DATA.arrow [--targets label] [--device auto|cpu|webgpu]
//
// The model file's metadata gives the network (sizes, transfer functions, loss); the prediction of a
// row is its largest output h_L (the most probable class under softmax), and the accuracy is the
// share of rows whose prediction is the row's label. For MNIST's digit classifier:
//
//   bun run train --task classify --opt kfra --steps 100 --out runs/digits
//   bun examples/classify-accuracy.ts runs/digits/model.safetensors data/mnist-valid.arrow
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Network, createBackend, openDataset, type Dataset, type DeviceFlag, type LossKind, type NetworkOptions, type TransferKind } from "kfra-webgpu";

/** The network a model.safetensors file describes: its header's metadata (arch "784-…-10", transfers, loss). */
export function modelOptions(file: string): NetworkOptions {
  const bytes = readFileSync(file);
  const size = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const meta = (JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size))).__metadata__ ?? {}) as Record<string, string>;
  if (!meta.arch || !meta.loss) throw new Error(`${file}: no 'arch' and 'loss' in the metadata; not a model saved by kfra-webgpu`);
  const sizes = meta.arch.split("-").map(Number);
  const activation = meta.transfers ? (meta.transfers.split(",") as TransferKind[]) : [];
  return { sizes, activation: activation.length > 0 ? activation : "tanh", loss: meta.loss as LossKind };
}

/** The share of rows whose largest output is the row's label (one class index per row in data's targets). */
export async function accuracy(network: Network, data: Dataset): Promise<number> {
  if (!data.y || data.targetWidth !== 1) throw new Error(`${data.name}: accuracy needs one label per row`);
  const k = network.outputSize;
  const outputs = await network.predict(data.x);
  let correct = 0;
  for (let r = 0; r < data.count; r++) {
    let best = 0;
    for (let i = 1; i < k; i++) if (outputs[r * k + i] > outputs[r * k + best]) best = i;
    if (best === data.y[r]) correct += 1;
  }
  return correct / data.count;
}

export async function main(options: { model: string; data: string; targets?: string; device?: DeviceFlag }): Promise<number> {
  const backend = await createBackend({ device: options.device ?? "auto" });
  const network = Network.load(backend, options.model, modelOptions(options.model));
  try {
    return await accuracy(network, openDataset(options.data, { targets: options.targets ?? "label" }));
  } finally {
    network.dispose();
    backend.dispose();
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { targets: { type: "string" }, device: { type: "string" } } });
  if (positionals.length !== 2) {
    console.error("usage: bun examples/classify-accuracy.ts MODEL.safetensors DATA.arrow [--targets label] [--device auto|cpu|webgpu]");
    process.exit(1);
  }
  try {
    const share = await main({ model: positionals[0], data: positionals[1], targets: values.targets, device: values.device as DeviceFlag | undefined });
    console.log(`accuracy ${(100 * share).toFixed(2)}% on ${positionals[1]}`);
  } catch (error) {
    console.error(`classify-accuracy: ${(error as Error).message}`);
    process.exit(1);
  }
}
