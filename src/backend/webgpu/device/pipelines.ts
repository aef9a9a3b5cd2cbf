// Compute pipelines built from WGSL, cached by key, with compilation and validation errors turned
// into exceptions that name the kernel (bun-webgpu has no getCompilationInfo: error scopes instead).
//
// Every pipeline uses one explicit layout shape: binding 0 is a 256-byte slot of the uniform arena
// (one arena serves every dispatch of a submit), bindings 1..n are storage buffers bound whole.
import { ExpectedError } from "../../../errors.ts";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const UNIFORM_SLOT_BYTES = 256;

export class KernelCompileError extends ExpectedError {
  constructor(
    readonly kernel: string,
    detail: string,
  ) {
    super(`webgpu kernel '${kernel}': ${detail}`);
  }
}

/**
 * The shaders/ folder nearest above this file: the repository's or the installed package's from
 * src/backend/webgpu/device, the GPU bundle's root from its app/bin.
 */
function findShaderDir(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, "shaders");
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
    if (dirname(dir) === dir) throw new Error(`webgpu: no shaders/ folder in ${start} or any folder above it`);
  }
}

let shaderDir: string | undefined;
const sourceCache = new Map<string, string>();

/** The text of shaders/<file>. */
export function shaderFile(file: string): string {
  let text = sourceCache.get(file);
  if (text === undefined) {
    shaderDir ??= findShaderDir(dirname(fileURLToPath(import.meta.url)));
    text = readFileSync(join(shaderDir, file), "utf8");
    sourceCache.set(file, text);
  }
  return text;
}

/** Replaces every `{{NAME}}` in `template`; a placeholder left unreplaced is an error. */
export function fillTemplate(kernel: string, template: string, values: Record<string, string | number>): string {
  const out = template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new KernelCompileError(kernel, `template placeholder {{${name}}} has no value`);
    return String(values[name]);
  });
  return out;
}

export interface StorageBindingSpec {
  readOnly: boolean;
}

export class PipelineCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();

  constructor(private readonly device: GPUDevice) {}

  /** The layout for a uniform slot plus storage bindings with the given access modes. */
  layout(storage: StorageBindingSpec[]): GPUBindGroupLayout {
    const key = storage.map((s) => (s.readOnly ? "r" : "w")).join("");
    let layout = this.layouts.get(key);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" } },
        ...storage.map((s, i) => ({
          binding: i + 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: (s.readOnly ? "read-only-storage" : "storage") as GPUBufferBindingType },
        })),
      ];
      layout = this.device.createBindGroupLayout({ label: `layout ${key}`, entries });
      this.layouts.set(key, layout);
    }
    return layout;
  }

  /**
   * The cached pipeline for `key`, compiled from `source()` on first use. Creation is synchronous
   * (ops are enqueued synchronously); its errors are collected by an error scope and thrown,
   * naming the kernel, by `checkCompiled()` (called by every download/flush).
   */
  get(key: string, kernel: string, storage: StorageBindingSpec[], source: () => string): GPUComputePipeline {
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    this.device.pushErrorScope("validation");
    this.device.pushErrorScope("internal");
    let pipeline: GPUComputePipeline;
    try {
      pipeline = this.build(kernel, storage, source());
    } finally {
      const internal = this.device.popErrorScope();
      const validation = this.device.popErrorScope();
      this.pending.push({ kernel, key, errors: Promise.all([validation, internal]) });
    }
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  /** Throws KernelCompileError for the first pipeline created since the last check that failed. */
  async checkCompiled(): Promise<void> {
    if (this.pending.length === 0) return;
    const pending = this.pending;
    this.pending = [];
    for (const { kernel, key, errors } of pending) {
      const [validation, internal] = await errors;
      const error = validation ?? internal;
      if (error) {
        this.pipelines.delete(key);
        throw new KernelCompileError(kernel, error.message.trim());
      }
    }
  }

  private pending: { kernel: string; key: string; errors: Promise<(GPUError | null)[]> }[] = [];

  private build(kernel: string, storage: StorageBindingSpec[], code: string): GPUComputePipeline {
    const module = this.device.createShaderModule({ label: kernel, code });
    const layout = this.device.createPipelineLayout({ label: kernel, bindGroupLayouts: [this.layout(storage)] });
    return this.device.createComputePipeline({ label: kernel, layout, compute: { module, entryPoint: "main" } });
  }
}
