// Example 3: the accuracy of a softmax classifier that `bun run train` saved, on a labelled file.
//
//   bun examples/classify-accuracy.ts RUN/model.safetensors DATA.arrow [--targets label] [--device auto|cpu|webgpu]
//
// Network.load reads the network (sizes, transfer functions, loss) from the model file's metadata;
// network.evaluate gives the mean loss and the accuracy, the share of rows whose largest output h_L
// (the most probable class under softmax) is the row's label. For MNIST's digit classifier:
//
//   bun run train --task classify --opt kfra --steps 100 --out runs/digits
//   bun examples/classify-accuracy.ts runs/digits/model.safetensors data/mnist-valid.arrow
import { parseArgs } from "node:util";
import { Network, createBackend, openDataset, type DeviceFlag } from "kfra-webgpu";

export async function main(options: { model: string; data: string; targets?: string; device?: DeviceFlag }): Promise<number> {
  const backend = await createBackend({ device: options.device ?? "auto" });
  const network = Network.load(backend, options.model);
  try {
    const { accuracy } = await network.evaluate(openDataset(options.data, { targets: options.targets ?? "label" }));
    if (accuracy === undefined) throw new Error(`${options.data}: the targets are not class labels of this ${network.outputSize}-output model`);
    return accuracy;
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
