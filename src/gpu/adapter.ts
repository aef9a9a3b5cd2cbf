// Acquiring a WebGPU adapter and device through bun-webgpu (Dawn), refusing adapters that compute
// nothing, and describing what was found.
import { EXIT, ExpectedError } from "../errors.ts";
import { createGPUInstance, setupGlobals } from "bun-webgpu";
import { installCalmPolling } from "./calmPolling.ts";

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
  /** Replace bun-webgpu's busy-wait polling (default true; false only to measure the difference). */
  calmPolling?: boolean;
}

export interface GpuContext {
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  adapterInfo: GpuAdapterDescription;
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
  if (opts.calmPolling ?? true) installCalmPolling(gpu);
  const found = await gpu.requestAdapter();
  const adapter = requireUsableAdapter(forceNull && found ? { info: NULL_ADAPTER_INFO } : found) as GPUAdapter;
  // Plain requestDevice(): bun-webgpu 0.1.7 crashes on requiredLimits (TOOLCHAIN.md).
  const device = await adapter.requestDevice();
  return { gpu, adapter, device, adapterInfo: describeAdapter(adapter.info as AdapterInfoLike) };
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
