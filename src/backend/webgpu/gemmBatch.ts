// Batched gemm on WebGPU (shaders/gemm_tiled.wgsl, or gemm_tiled_vec4.wgsl with ctx.gemmInner =
// "vec4"): C_i = α_i op(A_i) op(B_i) + β_i C_i for many entries of different sizes in one dispatch,
// one parameter-table row per entry. The blocked Cholesky and triangular solves use it for their
// trailing updates, batched over all matrices.
// On a software adapter (lavapipe) workgroup barriers are costly and dispatches cheap relative to
// the arithmetic, so there each entry runs as one register-tiled gemm (gemm.ts) instead.
//
// Split-K: a product whose C has few tiles leaves most of a large GPU idle (1000×1000 in 64×64
// tiles is 256 workgroups for 132 SMs). Then k is cut into S slices K_s, the tiled kernel writes
// P_s = op(A)[:, K_s] op(B)[K_s, :] for every slice into scratch (S times the workgroups), and a
// second dispatch (gemm_splitk_sum.wgsl) forms C = α Σ_s P_s + β C, summing in slice order.
import { fillTemplate, shaderFile } from "./device/pipelines.ts";
import { gemmDims } from "../shapes.ts";
import { ShapeError, type Tensor } from "../types.ts";
import { type GemmTile, type KernelContext, SCRATCH, type SplitK } from "./context.ts";
import { registerGemm } from "./gemm.ts";
import { bindOperands } from "./operands.ts";
import { tableKernel } from "./tableKernel.ts";
import { storageOf } from "./storage.ts";

const MAX_GROUPS = 65535;
/** Workgroups that keep an H200 busy: four per SM on its 132 SMs. */
export const SPLIT_K_TARGET_GROUPS = 4 * 132;
/** The shortest k-slice that "auto" gives a workgroup of its own. */
export const SPLIT_K_MIN_SLICE = 128;
/** At most this many table rows (entries × slices) in one split dispatch (the table arena holds 5461). */
const SPLIT_K_MAX_ROWS = 4096;

export interface GemmEntry {
  a: Tensor;
  b: Tensor;
  c: Tensor;
  alpha: number;
  beta: number;
}

export interface GemmBatchOptions {
  transA: boolean;
  transB: boolean;
  /** Only write C[i, j] with j ≤ i. */
  lowerOnly?: boolean;
}

/** One dispatch for every entry; all A share one storage, all B one, all C one. */
export function gemmBatch(ctx: KernelContext, entries: readonly GemmEntry[], opts: GemmBatchOptions): void {
  if (!ctx.tiledBatches) {
    for (const x of liveEntries(entries, opts)) registerGemm(ctx, x.a, x.b, x.c, { ...opts, alpha: x.alpha, beta: x.beta });
    return;
  }
  tiledGemm(ctx, entries, opts);
}

function liveEntries(entries: readonly GemmEntry[], opts: GemmBatchOptions): GemmEntry[] {
  return entries.filter((x) => {
    const [m, n] = gemmDims(x.a, x.b, x.c, opts.transA, opts.transB);
    return m > 0 && n > 0;
  });
}

/** The shared-memory-tiled gemm of every entry, split along k where ctx.splitK says so. */
export function tiledGemm(ctx: KernelContext, entries: readonly GemmEntry[], opts: GemmBatchOptions): void {
  const live = liveEntries(entries, opts);
  if (live.length === 0) return;
  const first = live[0];
  const storages = [storageOf("gemm", first.a), storageOf("gemm", first.b), storageOf("gemm", first.c)];
  for (const x of live) {
    if (storageOf("gemm", x.a) !== storages[0] || storageOf("gemm", x.b) !== storages[1] || storageOf("gemm", x.c) !== storages[2]) {
      throw new ShapeError("gemm batch: every entry's A, B and C must share the storage of the first entry's");
    }
  }
  const dims = live.map((x) => gemmDims(x.a, x.b, x.c, opts.transA, opts.transB));
  const groups = dims.reduce((s, [m, n]) => s + tileCount(m, n, ctx.gemmTile, opts.lowerOnly ?? false), 0);
  const slices = dims.map(([, , k]) => splitKSlices(ctx.splitK, groups, k, ctx.gemmTile.bk));
  const rows = slices.reduce((s, x) => s + x, 0);
  if (slices.every((s) => s === 1) || rows > SPLIT_K_MAX_ROWS) {
    tiledDispatch(ctx, live, opts);
  } else {
    splitKGemm(ctx, live, dims, slices, opts);
  }
}

/** Workgroups of the tiled kernel that compute something for an m×n C (lowerOnly: tiles touching j ≤ i). */
function tileCount(m: number, n: number, tile: GemmTile, lowerOnly: boolean): number {
  const bm = 16 * tile.tm;
  const bn = 16 * tile.tn;
  const tilesN = Math.ceil(n / bn);
  if (!lowerOnly) return Math.ceil(m / bm) * tilesN;
  let count = 0;
  for (let row0 = 0; row0 < m; row0 += bm) count += Math.min(tilesN, Math.floor((row0 + bm - 1) / bn) + 1);
  return count;
}

/**
 * k-slices for an entry with inner dimension k in a batch of `groups` workgroups: "auto" aims at
 * SPLIT_K_TARGET_GROUPS with slices of at least SPLIT_K_MIN_SLICE; a number is the most slices,
 * each at least bk long. Slices are whole multiples of bk, and none is empty.
 */
export function splitKSlices(choice: SplitK, groups: number, k: number, bk: number): number {
  let wanted: number;
  if (choice === "off") wanted = 1;
  else if (choice === "auto") wanted = groups >= SPLIT_K_TARGET_GROUPS ? 1 : Math.min(Math.ceil(SPLIT_K_TARGET_GROUPS / groups), Math.floor(k / SPLIT_K_MIN_SLICE));
  else wanted = choice;
  if (wanted <= 1 || k <= bk) return 1;
  const length = Math.ceil(Math.ceil(k / wanted) / bk) * bk;
  return Math.ceil(k / length);
}

/** Partial products per k-slice into scratch, then one summing dispatch into each C. */
function splitKGemm(ctx: KernelContext, live: GemmEntry[], dims: [number, number, number][], slices: number[], opts: GemmBatchOptions): void {
  const elements = dims.reduce((s, [m, n], e) => s + slices[e] * m * n, 0);
  const partials = ctx.scratch(SCRATCH.splitKPartials, elements);
  const parts: GemmEntry[] = [];
  const sums: { u: number[]; f: number[] }[] = [];
  let offP = 0;
  live.forEach((x, e) => {
    const [m, n, k] = dims[e];
    const length = Math.ceil(Math.ceil(k / slices[e]) / ctx.gemmTile.bk) * ctx.gemmTile.bk;
    for (let s = 0; s < slices[e]; s++) {
      const k0 = s * length;
      const kLen = Math.min(length, k - k0);
      const c: Tensor = { rows: m, cols: n, stride: n, offset: offP + s * m * n, storage: partials };
      parts.push({ a: kSlice(x.a, opts.transA, k0, kLen), b: kSlice(x.b, !opts.transB, k0, kLen), c, alpha: 1, beta: 0 });
    }
    sums.push({ u: [m, n, opts.lowerOnly ? 1 : 0, slices[e], offP, x.c.offset, x.c.stride], f: [x.alpha, x.beta] });
    offP += slices[e] * m * n;
  });
  tiledDispatch(ctx, parts, opts);
  const bound = bindOperands(["part", "c"], [partials, storageOf("gemm", live[0].c)], ["c"]);
  const kernel = tableKernel(ctx, `gemmSplitKSum:${bound.pattern}`, "split-K gemm sum", bound, (tableBinding) =>
    fillTemplate("gemm_splitk_sum", shaderFile("gemm_splitk_sum.wgsl"), { OPERANDS: bound.wgsl, TABLE_BINDING: tableBinding }),
  );
  const gx = Math.max(...dims.map(([, n]) => Math.ceil(n / 256)));
  const gy = Math.max(...dims.map(([m]) => m));
  if (gy > MAX_GROUPS) throw new RangeError(`gemm batch: a split-K sum over ${gy} rows exceeds maxComputeWorkgroupsPerDimension = ${MAX_GROUPS}`);
  kernel.dispatch("gemmSplitKSum", [gx, gy, sums.length], { words: 9, rows: sums });
}

/** The view of X that op(X)'s k-slice k0 … k0 + kLen − 1 reads: those rows of X when X stores k along its rows, else those columns. */
function kSlice(x: Tensor, kAlongRows: boolean, k0: number, kLen: number): Tensor {
  return kAlongRows
    ? { ...x, rows: kLen, offset: x.offset + k0 * x.stride }
    : { ...x, cols: kLen, offset: x.offset + k0 };
}

/** One dispatch of the tiled kernel for every entry (all of them live). */
function tiledDispatch(ctx: KernelContext, live: readonly GemmEntry[], opts: GemmBatchOptions): void {
  const first = live[0];
  const storages = [storageOf("gemm", first.a), storageOf("gemm", first.b), storageOf("gemm", first.c)];
  const bound = bindOperands(["a", "b", "c"], storages, ["c"]);
  const { tm, tn, bk } = ctx.gemmTile;
  const vec4 = ctx.gemmInner === "vec4";
  const shader = vec4 ? "gemm_tiled_vec4" : "gemm_tiled";
  const key = `${shader}:${tm}x${tn}x${bk}:${+opts.transA}${+opts.transB}:${bound.pattern}`;
  const label = `batched gemm${vec4 ? " (vec4)" : ""} (transA=${opts.transA}, transB=${opts.transB})`;
  const kernel = tableKernel(ctx, key, label, bound, (tableBinding) =>
    fillTemplate(shader, shaderFile(`${shader}.wgsl`), {
      OPERANDS: bound.wgsl,
      GEMM_COMMON: fillTemplate(shader, shaderFile("gemm_common.wgsl"), {
        TRANS_A: String(opts.transA),
        TRANS_B: String(opts.transB),
        TM: tm,
        TN: tn,
        BK: bk,
        TABLE_BINDING: tableBinding,
      }),
    }),
  );
  let gx = 1;
  let gy = 1;
  const rows = live.map((x) => {
    const [m, n, k] = gemmDims(x.a, x.b, x.c, opts.transA, opts.transB);
    gx = Math.max(gx, Math.ceil(n / (16 * tn)));
    gy = Math.max(gy, Math.ceil(m / (16 * tm)));
    return {
      u: [m, n, k, opts.lowerOnly ? 1 : 0, x.a.offset, x.a.stride, x.b.offset, x.b.stride, x.c.offset, x.c.stride],
      f: [x.alpha, x.beta],
    };
  });
  if (gx > MAX_GROUPS || gy > MAX_GROUPS || rows.length > MAX_GROUPS) {
    throw new RangeError(`gemm batch: ${gx}×${gy}×${rows.length} workgroups exceed maxComputeWorkgroupsPerDimension = ${MAX_GROUPS}`);
  }
  kernel.dispatch(rows.length > 1 ? "gemmBatch" : "gemmTiled", [gx, gy, rows.length], { words: 12, rows });
}
