// The backend registry: `--device auto|webgpu|cpu|reference` → a Backend.
//
// `auto` takes WebGPU on a hardware GPU. When the only adapter is a software rasteriser (lavapipe,
// SwiftShader, WARP: ~8 GFLOP/s gemm here, against 100–200 for OpenBLAS on the same cores) or there
// is no adapter at all, it takes the CPU backend and says so in one line on stderr. The WebGPU
// modules are imported lazily, so the CPU and reference paths never load Dawn.
import { ExpectedError } from "../errors.ts";
import type { Backend } from "./types.ts";
import { createCpuBackend } from "./cpu/index.ts";
import { loadOpenBlas, MissingBlasError } from "./cpu/openblas.ts";
import { createReferenceBackend } from "./reference.ts";

export const DEVICE_FLAGS = ["auto", "webgpu", "cpu", "reference"] as const;
export type DeviceFlag = (typeof DEVICE_FLAGS)[number];
export type BackendName = Exclude<DeviceFlag, "auto">;
/** Every float32 backend the registry can build: the list conformance suites and benchmarks iterate over. */
export const FLOAT32_BACKENDS = ["webgpu", "cpu"] as const satisfies readonly BackendName[];

/** Raised for a --device value that names no backend; CLIs print `message` and exit with `exitCode`. */
export class UnknownDeviceError extends ExpectedError {
  constructor(readonly value: string) {
    super(`--device: unknown value '${value}'; valid: ${DEVICE_FLAGS.join(", ")}`);
  }
}

/** Validates a --device flag value (case-insensitive); undefined means "auto". */
export function parseDevice(value: string | undefined): DeviceFlag {
  if (value === undefined) return "auto";
  const normal = value.trim().toLowerCase();
  if ((DEVICE_FLAGS as readonly string[]).includes(normal)) return normal as DeviceFlag;
  throw new UnknownDeviceError(value);
}

/** What the WebGPU adapter probe found. */
export type AdapterProbe =
  | { kind: "hardware"; name: string }
  | { kind: "software"; name: string }
  | { kind: "none"; reason: string };

/** Whether OpenBLAS loads. */
export type BlasProbe = { ok: true } | { ok: false; error: MissingBlasError };

/** The backend `auto` settles on, with the one line to print (if any) explaining why. */
export interface AutoChoice {
  device: "webgpu" | "cpu";
  notice?: string;
}

/**
 * The `auto` rule. Hardware adapter → webgpu. Software adapter → cpu (webgpu if OpenBLAS is
 * missing). No adapter → cpu, or MissingBlasError when OpenBLAS is missing too.
 */
export function chooseAutoDevice(adapter: AdapterProbe, blas: BlasProbe): AutoChoice {
  if (adapter.kind === "hardware") return { device: "webgpu" };
  if (adapter.kind === "software") {
    if (blas.ok) {
      return {
        device: "cpu",
        notice: `device auto: using the cpu backend (OpenBLAS), because the only WebGPU adapter, '${adapter.name}', is a software rasteriser and much slower; pass --device webgpu to use it anyway`,
      };
    }
    return {
      device: "webgpu",
      notice: `device auto: using the software WebGPU adapter '${adapter.name}' (slow), because OpenBLAS is missing; install it for the faster cpu backend: bash scripts/setup.sh, or apt-get install libopenblas0-pthread`,
    };
  }
  if (!blas.ok) throw blas.error;
  return { device: "cpu", notice: `device auto: using the cpu backend (OpenBLAS), because there is no usable WebGPU adapter (${adapter.reason})` };
}

/** Classifies an adapter's GPUAdapterInfo with the GPU module's `isSoftwareAdapter`. */
export function adapterProbeFromInfo(
  info: { device?: string; description?: string; vendor?: string } | null | undefined,
  isSoftware: (info: never) => boolean,
): AdapterProbe {
  if (!info) return { kind: "none", reason: "no GPU adapter found" };
  const name = info.device || info.description || info.vendor || "unknown adapter";
  return isSoftware(info as never) ? { kind: "software", name } : { kind: "hardware", name };
}

let adapterProbe: Promise<AdapterProbe> | undefined;

/** Opens (and closes again) the WebGPU adapter once per process to see what it is. Loads Dawn. */
export function probeAdapter(): Promise<AdapterProbe> {
  adapterProbe ??= (async (): Promise<AdapterProbe> => {
    try {
      const gpu = await import("./webgpu/device/adapter.ts");
      const ctx = await gpu.acquireGpu();
      const probe = adapterProbeFromInfo(ctx.adapter.info as never, gpu.isSoftwareAdapter);
      ctx.device.destroy();
      return probe;
    } catch (err) {
      return { kind: "none", reason: String((err as Error)?.message ?? err) };
    }
  })();
  return adapterProbe;
}

export function probeBlas(path?: string): BlasProbe {
  try {
    loadOpenBlas({ path });
    return { ok: true };
  } catch (err) {
    if (err instanceof MissingBlasError) return { ok: false, error: err };
    throw err;
  }
}

export interface CreateBackendOptions {
  /** Default "auto". */
  device?: DeviceFlag;
  /** CPU backend: OpenBLAS threads (default: the cores this process may use). */
  threads?: number;
  /** CPU backend: OpenBLAS library file (default: KFRA_OPENBLAS_PATH, else the usual names). */
  openblasPath?: string;
  /** Where `auto` writes its one-line notice; default stderr. */
  log?: (line: string) => void;
}

/** Creates the backend for a --device choice; see chooseAutoDevice for what `auto` picks. */
export async function createBackend(options: CreateBackendOptions = {}): Promise<Backend> {
  const device = parseDevice(options.device);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  switch (device) {
    case "cpu":
      return createCpuBackend({ threads: options.threads, libraryPath: options.openblasPath });
    case "reference":
      return createReferenceBackend();
    case "webgpu":
      return createWebGpu();
    case "auto": {
      const choice = chooseAutoDevice(await probeAdapter(), probeBlas(options.openblasPath));
      if (choice.notice) log(choice.notice);
      return choice.device === "webgpu" ? createWebGpu() : createCpuBackend({ threads: options.threads, libraryPath: options.openblasPath });
    }
  }
}

async function createWebGpu(): Promise<Backend> {
  const { createWebGpuBackend } = await import("./webgpu/index.ts");
  return await createWebGpuBackend();
}

/**
 * The float32 backends that can run on this machine (for test suites and benchmarks to iterate
 * over): "cpu" when OpenBLAS loads, "webgpu" when an adapter exists (software ones included).
 * `includeReference` adds the float64 reference.
 */
export async function availableBackends(options: { includeReference?: boolean } = {}): Promise<BackendName[]> {
  const names: BackendName[] = [];
  if ((await probeAdapter()).kind !== "none") names.push("webgpu");
  if (probeBlas().ok) names.push("cpu");
  if (options.includeReference) names.push("reference");
  return names;
}
