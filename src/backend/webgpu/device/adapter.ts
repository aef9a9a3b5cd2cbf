// Acquiring a WebGPU adapter and device through bun-webgpu (Dawn), refusing adapters that compute
// nothing, and describing what was found.
import { EXIT, ExpectedError, UsageError } from "../../../errors.ts";
import { createGPUInstance, setupGlobals } from "bun-webgpu";
import { installPolling, type PollingMode, pollingModeFor } from "./calmPolling.ts";
import { dawnToggles, parseToggleList, validationSkipped } from "./dawnToggles.ts";

/** Raised when no usable adapter exists; CLIs print `message` and exit with `exitCode`. */
export class NoGpuAdapterError extends ExpectedError {
  constructor(message: string) {
    super(message, EXIT.missingDependency);
  }
}

export const NO_ADAPTER_HINT =
  "install a Vulkan driver: `bash scripts/setup.sh` installs the Vulkan loader and Mesa lavapipe (software Vulkan)";

/** What the adapter says about itself, plus whether it is a software rasteriser. */
export interface GpuAdapterDescription {
  name: string;
  vendor: string;
  architecture: string;
  description: string;
  backend: string;
  adapterType: string;
  software: boolean;
}

/** The subset of GPUAdapterInfo that `isSoftwareAdapter` looks at. */
export interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  adapterType?: number | string;
}

// Dawn's WGPUBackendType and WGPUAdapterType enums, as bun-webgpu reports them (numbers).
const BACKEND_NAMES: Record<number, string> = {
  1: "null",
  2: "WebGPU",
  3: "D3D11",
  4: "D3D12",
  5: "Metal",
  6: "Vulkan",
  7: "OpenGL",
  8: "OpenGLES",
};
const ADAPTER_TYPE_NAMES: Record<number, string> = { 1: "discrete GPU", 2: "integrated GPU", 3: "CPU", 4: "unknown" };

/** True for CPU implementations of Vulkan/WebGPU (lavapipe/llvmpipe, SwiftShader, WARP). */
export function isSoftwareAdapter(info: AdapterInfoLike): boolean {
  const text = `${info.vendor ?? ""} ${info.architecture ?? ""} ${info.device ?? ""} ${info.description ?? ""}`.toLowerCase();
  if (/llvmpipe|lavapipe|swiftshader|softpipe|\bwarp\b|microsoft basic render/.test(text)) return true;
  return info.adapterType === 3 || info.adapterType === "cpu";
}

export function isNullAdapter(info: AdapterInfoLike | undefined | null): boolean {
  return !info || info.device === "null-backend" || (info as { backendType?: number }).backendType === 1;
}

export function describeAdapter(info: AdapterInfoLike & { backendType?: number }): GpuAdapterDescription {
  const adapterType =
    typeof info.adapterType === "number" ? (ADAPTER_TYPE_NAMES[info.adapterType] ?? `type ${info.adapterType}`) : String(info.adapterType ?? "unknown");
  return {
    name: info.device || info.description || "unknown adapter",
    vendor: info.vendor ?? "",
    architecture: info.architecture ?? "",
    description: info.description ?? "",
    backend: info.backendType !== undefined ? (BACKEND_NAMES[info.backendType] ?? `backend ${info.backendType}`) : "unknown",
    adapterType,
    software: isSoftwareAdapter(info),
  };
}

export interface AcquireOptions {
  /** Treat the adapter as the null backend (tests the refusal); also set by KFRA_FORCE_NULL_ADAPTER=1. */
  forceNullAdapter?: boolean;
  /** Replace bun-webgpu's polling (default true; false keeps bun-webgpu's own, only to measure the difference). */
  calmPolling?: boolean;
  /**
   * How to wait for the GPU when calmPolling is on: "auto" (default; also KFRA_POLLING=spin|calm)
   * spins on a hardware adapter and polls calmly on a software one (see calmPolling.ts).
   */
  polling?: PollingMode | "auto";
  /** Request the `timestamp-query` feature when the adapter offers it (profiling only). */
  timestampQuery?: boolean;
  /**
   * Dawn device toggles to enable, e.g. disable_robustness (no clamping of storage indices),
   * skip_validation (less CPU per call), disable_workgroup_init (no zeroing of workgroup memory).
   * Default none; KFRA_WEBGPU_DAWN_TOGGLES=name,name,... Only for kernels known to stay in bounds.
   */
  dawnToggles?: string[];
}

export interface GpuContext {
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  adapterInfo: GpuAdapterDescription;
  /** The polling mode installed, or "bun-webgpu" when calmPolling was off. */
  polling: PollingMode | "bun-webgpu";
  /** Whether the device was opened with the `timestamp-query` feature. */
  timestampQuery: boolean;
  /** The Dawn toggles asked for, and whether skip_validation (when asked for) took effect. */
  dawnToggles: { enabled: string[]; validationSkipped: boolean | null };
}

let globalsReady = false;

/** Creates a GPU instance, picks its adapter and opens a device, or throws NoGpuAdapterError. */
export async function acquireGpu(opts: AcquireOptions = {}): Promise<GpuContext> {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = "/tmp";
  if (!globalsReady) {
    await setupGlobals();
    globalsReady = true;
  }
  const forceNull = opts.forceNullAdapter ?? process.env.KFRA_FORCE_NULL_ADAPTER === "1";
  let gpu: GPU;
  try {
    gpu = createGPUInstance() as unknown as GPU;
  } catch (err) {
    throw new NoGpuAdapterError(`webgpu: could not load Dawn (${(err as Error).message}); ${NO_ADAPTER_HINT}`);
  }
  const replacePolling = opts.calmPolling ?? true;
  if (replacePolling) installPolling(gpu, "calm");
  const found = await gpu.requestAdapter();
  const adapter = requireUsableAdapter(forceNull && found ? { info: NULL_ADAPTER_INFO } : found) as GPUAdapter;
  const adapterInfo = describeAdapter(adapter.info as AdapterInfoLike);
  let polling: GpuContext["polling"] = "bun-webgpu";
  if (replacePolling) {
    polling = choosePolling(opts.polling ?? "auto", process.env.KFRA_POLLING, adapterInfo);
    installPolling(gpu, polling);
  }
  const timestampQuery = (opts.timestampQuery ?? false) && adapter.features.has("timestamp-query");
  const enabled = opts.dawnToggles ?? togglesFromEnv(process.env.KFRA_WEBGPU_DAWN_TOGGLES);
  // No requiredLimits: bun-webgpu 0.1.7 crashes on them (docs/toolchain.md); requiredFeatures work.
  const device = timestampQuery
    ? await requestProfilingDevice(adapter, enabled)
    : enabled.length > 0
      ? await requestWithToggles(adapter, [], { enabled })
      : await adapter.requestDevice();
  const skipped = enabled.includes("skip_validation") ? await validationSkipped(device) : null;
  return { gpu, adapter, device, adapterInfo, polling, timestampQuery, dawnToggles: { enabled, validationSkipped: skipped } };
}

function togglesFromEnv(text: string | undefined): string[] {
  const { names, bad } = parseToggleList(text);
  if (bad !== null) throw new UsageError(`webgpu: KFRA_WEBGPU_DAWN_TOGGLES must be a comma list of Dawn toggle names (a-z, 0-9, _), got '${bad}'`);
  return names;
}

async function requestWithToggles(adapter: GPUAdapter, requiredFeatures: string[], toggles: { enabled?: string[]; disabled?: string[] }): Promise<GPUDevice> {
  const chained = dawnToggles(toggles);
  try {
    const descriptor = { requiredFeatures, nextInChain: chained.pointer } as unknown as GPUDeviceDescriptor;
    return await adapter.requestDevice(descriptor);
  } finally {
    chained.keepAlive.length = 0;
  }
}

/** A device with timestamp queries, unquantised where Dawn accepts the toggle (else quantised to 65.5 µs). */
async function requestProfilingDevice(adapter: GPUAdapter, enabled: string[]): Promise<GPUDevice> {
  try {
    return await requestWithToggles(adapter, ["timestamp-query"], { enabled, disabled: ["timestamp_quantization"] });
  } catch {
    return await requestWithToggles(adapter, ["timestamp-query"], { enabled });
  }
}

/** The polling mode: an explicit option, else KFRA_POLLING (spin|calm), else by adapter kind. */
export function choosePolling(option: PollingMode | "auto", env: string | undefined, adapter: { software: boolean }): PollingMode {
  if (option !== "auto") return option;
  if (env === "spin" || env === "calm") return env;
  if (env !== undefined && env !== "" && env !== "auto") {
    throw new Error(`KFRA_POLLING: unknown value '${env}'; valid: auto, spin, calm`);
  }
  return pollingModeFor(adapter);
}

/** What Dawn reports when no Vulkan driver is installed. */
export const NULL_ADAPTER_INFO: AdapterInfoLike & { backendType: number } = {
  vendor: "",
  architecture: "",
  device: "null-backend",
  description: "",
  backendType: 1,
};

/** Returns the adapter, or throws NoGpuAdapterError for a missing one or Dawn's null backend. */
export function requireUsableAdapter<T extends { info: unknown }>(adapter: T | null | undefined): T {
  if (!adapter) throw new NoGpuAdapterError(`webgpu: no GPU adapter found; ${NO_ADAPTER_HINT}`);
  if (isNullAdapter(adapter.info as AdapterInfoLike)) {
    throw new NoGpuAdapterError(`webgpu: the only adapter is Dawn's null backend, which computes nothing; ${NO_ADAPTER_HINT}`);
  }
  return adapter;
}
