// The one internal entry of the benchmarks and analysis experiments in bench/ (docs/api.md,
// "Benchmark internals"): what they need beyond the package's entry (src/index.ts) — the WebGPU
// backend's kernel choices and profiler, the CPU backend's OpenBLAS binding, an optimiser's engine
// with a phase timer, the curvature pieces the analysis experiments measure, the network and data
// helpers they build on, and the utilities every program uses. Not the package's API: names here
// change with the code they expose. It never reaches the CLI (src/cli).
import { type OptimizerInternals, internals } from "./api/optimizer.ts";
import type { Optimizer } from "./api/optimizer.ts";
import type { WebGpuBackend, WebGpuBackendOptions } from "./backend/webgpu/index.ts";
import type { renderChart as RenderChart } from "./plot/chart.ts";

// Backends and kernels.
export { availableBackends, parseDevice, probeAdapter } from "./backend/index.ts";
export type { WebGpuBackend, WebGpuBackendOptions } from "./backend/webgpu/index.ts";
export { GEMM_TILES } from "./backend/webgpu/context.ts";
export type { GemmInternal } from "./backend/webgpu/gemm.ts";
export type { KernelTime, ProfilingControl } from "./backend/webgpu/profiler.ts";
export { createCpuBackend } from "./backend/cpu/index.ts";
export { CBLAS_NO_TRANS, CBLAS_ROW_MAJOR, CBLAS_TRANS, loadOpenBlas } from "./backend/cpu/openblas.ts";
export { CpuTensor } from "./backend/cpu/tensor.ts";
export { seedKey, threefry2x32 } from "./backend/random.ts";
export { choleskyResidual, solveResidual, spdMatrix } from "./backend/backward-error.ts";

// The network's tensors and passes.
export { type LayerTensors, type StackedLayers, allocLayers, allocLayersTogether, axpbyLayers, copyLayers, dotLayers, downloadLayers, freeLayers } from "./nn/params.ts";
export { forward, meanLoss } from "./nn/forward.ts";
export type { BatchWorkspace } from "./nn/workspace.ts";
export { type TaskName, datasetDim, defaultSpec, describeSpec, parseArch, parseTransfers, validateSpec } from "./nn/spec.ts";

// Curvature and the optimisers' parts.
export { type CurvatureKind, createEstimator, gradientAndCurvature } from "./curvature/index.ts";
export { GaussNewtonOperator, conjugateGradient } from "./curvature/gaussNewton.ts";
export { KroneckerBlocks } from "./optim/kronecker/block.ts";
export { factorDecay } from "./optim/kronecker/averaging.ts";
export { type PhaseMarker, PhaseTimer } from "./optim/phases.ts";
export type { Optimizer as Engine, RecordedUpdate } from "./optim/optimizer.ts";
export { isKronecker } from "./optim/settings.ts";
export { yieldToEventLoop } from "./train/loop.ts";

// Data.
export { DATASET_NAMES, type DatasetName, oddEvenTargets } from "./data/datasets.ts";
export { datasetFiles, loadDataset } from "./data/dataset.ts";
export { dataDir } from "./data/location.ts";
export { MinibatchStream, type StreamTestOptions } from "./data/stream.ts";
export { DatasetReader } from "./data/dataset-reader.ts";
export { MemoryRows } from "./data/memory-rows.ts";
export { epochPermutation } from "./data/permutation.ts";

// Files a run writes (the experiments that write run directories for the sweep report).
export { MetricsLog } from "./run/metrics.ts";

// Charts (the experiments' reports).
export { bandChartSpec } from "./plot/bandChart.ts";

// Utilities.
export { EXIT, ExpectedError, UsageError } from "./errors.ts";
export { numberFlag, parseFlags, positiveIntegerFlag } from "./flags.ts";
export { type SettingRow, flagOf, helpLine, parseSettingText } from "./settings.ts";
export { writeFileAtomic } from "./io/atomicWrite.ts";
export { runCli } from "./io/program.ts";

/** The engine of a library Optimizer and the workspace it reads: a benchmark steps it directly (`engine.step(workspace, t)`), without the batch checks. */
export function optimizerEngine(optimizer: Optimizer): Pick<OptimizerInternals, "engine" | "workspace"> {
  const { engine, workspace } = internals.get(optimizer)!;
  return { engine, workspace };
}

/** The WebGPU backend with explicit kernel choices. Dawn loads on the first call, so a benchmark that never makes one runs where there is none. */
export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  return (await import("./backend/webgpu/index.ts")).createWebGpuBackend(options);
}

/** src/plot's renderChart; sharp and vega load on the first call (the GPU machine's bundle carries neither). */
export async function renderChart(...args: Parameters<typeof RenderChart>): ReturnType<typeof RenderChart> {
  return (await import("./plot/chart.ts")).renderChart(...args);
}
