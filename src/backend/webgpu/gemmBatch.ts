// Batched gemm on WebGPU (shaders/gemm_tiled.wgsl): C_i = α_i op(A_i) op(B_i) + β_i C_i for many
// entries of different sizes in one dispatch, one parameter-table row per entry. The blocked
// Cholesky and triangular solves use it for their trailing updates, batched over all matrices.
// On a software adapter (lavapipe) workgroup barriers are costly and dispatches cheap relative to
// the arithmetic, so there each entry runs as one register-tiled gemm (gemm.ts) instead.
import { fillTemplate, shaderFile } from "./device/pipelines.ts";
import { gemmDims } from "../shapes.ts";
import { ShapeError, type Tensor } from "../types.ts";
import type { KernelContext } from "./context.ts";
import { registerGemm } from "./gemm.ts";
import { bindOperands } from "./operands.ts";
import { tableKernel } from "./tableKernel.ts";
import { storageOf } from "./storage.ts";

const MAX_GROUPS = 65535;

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
  const live = entries.filter((x) => {
    const [m, n] = gemmDims(x.a, x.b, x.c, opts.transA, opts.transB);
    return m > 0 && n > 0;
  });
  if (live.length === 0) return;
  if (!ctx.tiledBatches) {
    for (const x of live) registerGemm(ctx, x.a, x.b, x.c, { ...opts, alpha: x.alpha, beta: x.beta });
    return;
  }
  const first = live[0];
  const storages = [storageOf("gemm", first.a), storageOf("gemm", first.b), storageOf("gemm", first.c)];
  for (const x of live) {
    if (storageOf("gemm", x.a) !== storages[0] || storageOf("gemm", x.b) !== storages[1] || storageOf("gemm", x.c) !== storages[2]) {
      throw new ShapeError("gemm batch: every entry's A, B and C must share the storage of the first entry's");
    }
  }
  const bound = bindOperands(["a", "b", "c"], storages, ["c"]);
  const { tm, tn, bk } = ctx.gemmTile;
  const key = `gemmTiled:${tm}x${tn}x${bk}:${+opts.transA}${+opts.transB}:${bound.pattern}`;
  const kernel = tableKernel(ctx, key, `batched gemm (transA=${opts.transA}, transB=${opts.transB})`, bound, (tableBinding) =>
    fillTemplate("gemm_tiled", shaderFile("gemm_tiled.wgsl"), {
      TRANS_A: String(opts.transA),
      TRANS_B: String(opts.transB),
      TM: tm,
      TN: tn,
      BK: bk,
      OPERANDS: bound.wgsl,
      TABLE_BINDING: tableBinding,
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
