// The package's entry point, `import { ... } from "kfra-webgpu"` (docs/api.md): typed wrappers over
// the backends (src/backend), the network (src/nn), the optimisers (src/optim) and the data
// readers (src/data). The command-line tools are the package's bins, kfra-train, kfra-prep and kfra-sweep.
export { createBackend, DEVICE_FLAGS, type DeviceFlag } from "./backend/index.ts";
export type { Backend, BackendInfo, LossKind, Tensor, TransferKind } from "./backend/types.ts";
export { Network, type NetworkOptions } from "./api/network.ts";
export { Optimizer, type OptimizerOptions, type StepReport } from "./api/optimizer.ts";
export { METHODS } from "./optim/methods.ts";
export { METHOD_NAMES, OPTIMIZER_SETTINGS, PRESETS, type MethodName, type OptimizerSettings, type Preset } from "./optim/settings.ts";
export { TRAIN_SETTINGS } from "./train/settings.ts";
export { SettingError } from "./settings.ts";
export { Dataset, openDataset, type ArrayData, type Batch, type IndexedBatch } from "./api/dataset.ts";
export { DivergedError, train, type BatchSource, type BestInfo, type BestModel, type BestState, type EvalInfo, type StepInfo, type TrainOptions, type TrainSummary } from "./api/train.ts";
export type { Evaluation } from "./nn/evaluate.ts";
export { MinibatchStream, type Minibatch, type StreamOptions } from "./data/stream.ts";
export { DataError, type ColumnChoice, type DatasetInfo } from "./data/dataset.ts";
export { SpecError, type NetworkSpec } from "./nn/spec.ts";
