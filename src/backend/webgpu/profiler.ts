// GPU time per kernel from WebGPU timestamp queries (`bun run bench step --profile`). While
// profiling, the recorder gives every dispatch its own compute pass whose timestampWrites record
// the GPU clock at the pass's start and end; before each submit the queries are resolved into a
// buffer and copied to a staging buffer, which `stop()` maps and sums per kernel label.
// Caveats: one pass per dispatch removes the overlap a driver may find between dispatches of one
// pass, so profiled totals are an upper bound of the unprofiled time. Dawn quantises timestamps
// (clears the low 16 bits, 65.5 µs) unless its `timestamp_quantization` toggle is off, which
// src/backend/webgpu/device/adapter.ts asks for when profiling; were it refused, a single short kernel would read 0
// or one quantum, but sums over many dispatches would stay unbiased (the start phase is random).

/** Total GPU time of one kernel label over the profiled updates. */
export interface KernelTime {
  label: string;
  ms: number;
  count: number;
}

/** Passes (two queries each) per query set; the recorder submits when it is full. */
const PASSES_PER_SET = 2048;

export class KernelProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  private labels: string[] = [];
  private pending: { staging: GPUBuffer; labels: string[] }[] = [];
  /** The backend op being recorded (set by the caller), prefixed to labels of kernels it issues. */
  scope: string | undefined;

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ label: "kernel timestamps", type: "timestamp", count: 2 * PASSES_PER_SET });
    this.resolveBuffer = device.createBuffer({
      label: "kernel timestamps resolved",
      size: 16 * PASSES_PER_SET,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  get full(): boolean {
    return this.labels.length === PASSES_PER_SET;
  }

  /** The timestampWrites of the next pass, which runs kernel `label`. */
  nextPass(label: string): GPUComputePassTimestampWrites {
    const i = this.labels.length;
    this.labels.push(this.scope && this.scope !== label && !label.startsWith(`${this.scope} `) ? `${this.scope} › ${label}` : label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Appends the resolve of this encoder's queries (call just before it is finished). */
  resolve(encoder: GPUCommandEncoder): void {
    const n = this.labels.length;
    if (n === 0) return;
    const bytes = 16 * n;
    const staging = this.device.createBuffer({ label: "kernel timestamps read-back", size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, staging, 0, bytes);
    this.pending.push({ staging, labels: this.labels });
    this.labels = [];
  }

  /** Reads every resolved query back (after the work was submitted) and sums GPU time per label. */
  async collect(): Promise<KernelTime[]> {
    const totals = new Map<string, KernelTime>();
    const pending = this.pending;
    this.pending = [];
    for (const { staging, labels } of pending) {
      await staging.mapAsync(GPUMapMode.READ);
      const stamps = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      staging.destroy();
      labels.forEach((label, i) => {
        const ns = stamps[2 * i + 1] > stamps[2 * i] ? Number(stamps[2 * i + 1] - stamps[2 * i]) : 0;
        const t = totals.get(label) ?? { label, ms: 0, count: 0 };
        t.ms += ns / 1e6;
        t.count++;
        totals.set(label, t);
      });
    }
    return [...totals.values()].sort((a, b) => b.ms - a.ms);
  }

  destroy(): void {
    for (const { staging } of this.pending) staging.destroy();
    this.pending = [];
    this.querySet.destroy();
    this.resolveBuffer.destroy();
  }
}

/** A readable shape class: each dimension rounded up to a power of two. */
function sizeClass(x: number): number {
  return x <= 1 ? 1 : 2 ** Math.ceil(Math.log2(x));
}

/** Kernels whose pipelines name distinct pieces (a Cholesky's diagonal blocks and its clean-up). */
const LABELLED_BY_PIPELINE = new Set(["cholesky", "triangularSolve"]);

/**
 * The label a dispatch is profiled under: its kernel; for gemm with the shape class of m, n, k; for
 * the blocked factorisation's own kernels, their pipeline's label (e.g. "cholesky diagonal block").
 */
export function kernelLabel(kernel: string, u32: number[], pipelineLabel?: string): string {
  if (kernel === "gemm") {
    const [m, n, k, lowerOnly] = u32;
    return `gemm m,n,k≤${sizeClass(m)},${sizeClass(n)},${sizeClass(k)}${lowerOnly ? " lower" : ""}`;
  }
  return LABELLED_BY_PIPELINE.has(kernel) && pipelineLabel ? pipelineLabel : kernel;
}

/** Starting and stopping kernel profiling on a backend's recorder. */
export interface ProfilingControl {
  /** From now on every dispatch is timed (until stop). */
  start(): void;
  /** Names the backend op whose kernels are being recorded (undefined: none). */
  setScope(op: string | undefined): void;
  /** Waits for the queued work, reads the timestamps back and returns GPU time per label, largest first. */
  stop(): Promise<KernelTime[]>;
}

interface ProfiledRecorder {
  profiler: KernelProfiler | null;
  readBack(buffer: null, byteOffset: number, byteSize: number): Promise<ArrayBuffer>;
}

export function profilingControl(device: GPUDevice, recorder: ProfiledRecorder): ProfilingControl {
  return {
    start() {
      recorder.profiler ??= new KernelProfiler(device);
    },
    setScope(op) {
      if (recorder.profiler) recorder.profiler.scope = op;
    },
    async stop() {
      const profiler = recorder.profiler;
      if (!profiler) return [];
      await recorder.readBack(null, 0, 0);
      recorder.profiler = null;
      try {
        return await profiler.collect();
      } finally {
        profiler.destroy();
      }
    },
  };
}
