// gemm on WebGPU (shaders/gemm.wgsl): C = α op(A) op(B) + β C.
// Each distinct buffer among A, B, C gets one binding (WebGPU forbids binding a buffer twice when
// one binding is writable, and Cholesky's trailing update reads and writes one matrix). A buffer
// whose A/B views all have offset and stride multiples of 4 is declared array<vec4<f32>> and read
// with vec4 loads; otherwise (W̃, W without its bias column, has an odd stride such as 785) it is
// array<f32> and vec4s are assembled from scalar loads. A large misaligned operand that is reused
// across many output columns/rows is first packed into scratch storage with its row stride rounded
// up to a multiple of 4 (a copy of O(mk) elements buys vec4 loads for O(mnk) work: 1000×785 ·
// 785×1000 went from ~10 to ~15 GFLOP/s on lavapipe).
import { fillTemplate, shaderFile, type StorageBindingSpec } from "./device/pipelines.ts";
import { gemmDims } from "../shapes.ts";
import type { GemmOptions, Tensor } from "../types.ts";
import { type KernelContext, SCRATCH } from "./context.ts";
import { copy } from "./elementwise.ts";
import type { GpuStorage } from "./storage.ts";
import { storageOf } from "./storage.ts";
import { tiledGemm } from "./gemmBatch.ts";

// Tile of C per invocation (TM rows × TN columns) and invocations per workgroup (64 along n, 1
// along m, so a workgroup's rows come from workgroup_id and its A loads are uniform). Measured on
// lavapipe (1000×784×1000, GFLOP per CPU-second): 8×8 tiles 5.5, 4×8 7.9, 8×4 8.4, 4×4 6.7,
// 4×16 5.1; the workgroup shape (8×8, 16×4, 64×1, 128×1) changed little.
const TM = 8;
const TN = 4;
const WGX = 64;
const WGY = 1;
const MAX_GROUPS = 65535;

function vec4Aligned(t: Tensor): boolean {
  return t.offset % 4 === 0 && (t.stride % 4 === 0 || t.rows === 1);
}

/** Pack a misaligned operand when the product reuses each of its elements this often, and it is this big. */
const PACK_MIN_REUSE = 32;
const PACK_MIN_ELEMENTS = 16 * 1024;

/** `t` copied into scratch `slot` with its stride rounded up to a multiple of 4. */
function packed(ctx: KernelContext, t: Tensor, slot: number): Tensor {
  const stride = Math.ceil(t.cols / 4) * 4;
  const storage = ctx.scratch(slot, t.rows * stride);
  const out: Tensor = { rows: t.rows, cols: t.cols, stride, offset: 0, storage };
  copy(ctx, t, out);
  return out;
}

export interface GemmInternal extends GemmOptions {
  /** Only write C[i, j] with j ≤ i (C square). */
  lowerOnly?: boolean;
}

interface GemmBinding {
  storage: GpuStorage;
  vec4: boolean;
  writable: boolean;
}

function loadersFor(name: "A" | "B" | "C", slot: number, vec4: boolean): string {
  const buf = `buf${slot}`;
  if (name === "C") {
    return vec4
      ? `fn ldC(i: u32) -> f32 { return ${buf}[i >> 2u][i & 3u]; }\nfn stC(i: u32, v: f32) { ${buf}[i >> 2u][i & 3u] = v; }`
      : `fn ldC(i: u32) -> f32 { return ${buf}[i]; }\nfn stC(i: u32, v: f32) { ${buf}[i] = v; }`;
  }
  return vec4
    ? `fn ld${name}4(i: u32) -> vec4<f32> { return ${buf}[i >> 2u]; }\nfn ld${name}(i: u32) -> f32 { return ${buf}[i >> 2u][i & 3u]; }`
    : `fn ld${name}4(i: u32) -> vec4<f32> { return vec4<f32>(${buf}[i], ${buf}[i + 1u], ${buf}[i + 2u], ${buf}[i + 3u]); }\nfn ld${name}(i: u32) -> f32 { return ${buf}[i]; }`;
}

function sameView(x: Tensor, y: Tensor): boolean {
  return x.storage === y.storage && x.offset === y.offset && x.stride === y.stride && x.rows === y.rows && x.cols === y.cols;
}

/** C = α op(A) op(B) + β C with the backend's gemm kernel (ctx.gemmKernel). */
export function gemm(ctx: KernelContext, a: Tensor, b: Tensor, c: Tensor, opts: GemmInternal = {}): void {
  if (ctx.gemmKernel === "tiled") {
    tiledGemm(ctx, [{ a, b, c, alpha: opts.alpha ?? 1, beta: opts.beta ?? 0 }], {
      transA: opts.transA ?? false,
      transB: opts.transB ?? false,
      lowerOnly: opts.lowerOnly,
    });
  } else {
    registerGemm(ctx, a, b, c, opts);
  }
}

/** The register-tiled kernel (shaders/gemm.wgsl). */
export function registerGemm(ctx: KernelContext, a0: Tensor, b0: Tensor, c: Tensor, opts: GemmInternal = {}): void {
  let a = a0;
  let b = b0;
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const alpha = opts.alpha ?? 1;
  const beta = opts.beta ?? 0;
  const [m, n, k] = gemmDims(a, b, c, transA, transB);
  storageOf("gemm", a);
  storageOf("gemm", b);
  storageOf("gemm", c);
  if (m === 0 || n === 0) return;
  const packA = !vec4Aligned(a) && n >= PACK_MIN_REUSE && m * k >= PACK_MIN_ELEMENTS && k >= 4;
  const packB = !vec4Aligned(b) && m >= PACK_MIN_REUSE && k * n >= PACK_MIN_ELEMENTS && k >= 4;
  if (packA) a = packed(ctx, a, SCRATCH.packedA);
  if (packB) b = packA && sameView(a0, b0) ? a : packed(ctx, b, SCRATCH.packedB);
  const operands: [Tensor, GpuStorage][] = [
    [a, storageOf("gemm", a)],
    [b, storageOf("gemm", b)],
    [c, storageOf("gemm", c)],
  ];

  const bindings: GemmBinding[] = [];
  const slots: number[] = [];
  operands.forEach(([t, s], i) => {
    let slot = bindings.findIndex((x) => x.storage === s);
    if (slot < 0) {
      slot = bindings.length;
      bindings.push({ storage: s, vec4: i < 2, writable: false });
    }
    if (i < 2 && !vec4Aligned(t)) bindings[slot].vec4 = false;
    if (i === 2) bindings[slot].writable = true;
    slots.push(slot);
  });
  const storage: StorageBindingSpec[] = bindings.map((x) => ({ readOnly: !x.writable }));
  const shape = bindings.map((x) => `${x.vec4 ? 4 : 1}${x.writable ? "w" : "r"}`).join(",");
  const key = `gemm:${TM}x${TN}:${WGX}x${WGY}:${+transA}${+transB}:${slots.join(".")}:${shape}`;
  const pipeline = ctx.pipelines.get(key, `gemm (transA=${transA}, transB=${transB}, bindings ${shape})`, storage, () => {
    const decls = bindings.map(
      (x, i) =>
        `@group(0) @binding(${i + 1}) var<storage, ${x.writable ? "read_write" : "read"}> buf${i}: array<${x.vec4 ? "vec4<f32>" : "f32"}>;`,
    );
    const loaders = (["A", "B", "C"] as const).map((name, i) => loadersFor(name, slots[i], bindings[slots[i]].vec4));
    return fillTemplate("gemm", shaderFile("gemm.wgsl"), {
      TRANS_A: String(transA),
      TRANS_B: String(transB),
      WGX,
      WGY,
      TM,
      TN,
      BINDINGS: decls.join("\n"),
      LOADERS: loaders.join("\n"),
    });
  });
  const groups: [number, number] = [Math.ceil(n / (TN * WGX)), Math.ceil(m / (TM * WGY))];
  if (groups[1] > MAX_GROUPS || groups[0] > MAX_GROUPS) {
    throw new RangeError(`gemm: a ${m}×${n} result needs ${groups.join("×")} workgroups, over the device limit maxComputeWorkgroupsPerDimension = ${MAX_GROUPS}`);
  }
  ctx.recorder.dispatch({
    kernel: "gemm",
    pipeline,
    storage,
    buffers: bindings.map((x) => x.storage),
    u32: [m, n, k, opts.lowerOnly ? 1 : 0, a.offset, a.stride, b.offset, b.stride, c.offset, c.stride],
    f32: [alpha, beta],
    groups,
  });
}
