// Cholesky factorisation and triangular solves on WebGPU (docs/algorithm.md §4.3) for a batch of matrices of different sizes
// at once, blocked by NB = 64: each stage of the blocked algorithm is one dispatch for every matrix
// of the batch (workgroup z = matrix, one parameter-table row each), so the cost of an update's
// sixteen factors is that of its largest one. The small pieces are shaders/cholesky.wgsl (diagonal
// block factor, upper-triangle clear) and shaders/trsm.wgsl (solve with one diagonal block), both
// staging the block in workgroup memory; the bulk is the batched gemm of gemmBatch.ts.
//
// Cholesky, right-looking, for each block column k (rows/cols K = k0 .. k0+b):
//   A_KK ← L_KK = chol(A_KK);  A_RK ← A_RK L_KK⁻ᵀ (R: rows below);  A_RR ← A_RR − A_RK A_RKᵀ (lower part).
// Triangular solves, block substitution over the blocks of L (X overwrites B), two ways:
// on software adapters right-looking, with a substitution kernel for each diagonal block —
//   left,  L X = B:    forward;  X_K = L_KK⁻¹ B_K,   B_R −= L_RK X_K
//   left,  Lᵀ X = B:   backward; X_K = L_KK⁻ᵀ B_K,   B_U −= L_KUᵀ X_K   (U: rows above)
//   right, X L = B:    backward; X_K = B_K L_KK⁻¹,   B_U −= X_K L_KU
//   right, X Lᵀ = B:   forward;  X_K = B_K L_KK⁻ᵀ,   B_R −= X_K L_RKᵀ
// — and on hardware GPUs as products with the inverse L⁻¹, built by recursive doubling
// (lowerInverse.ts; a substitution walks 64 elements one after the other, ~0.1 ms per block step
// on an H200).
import { fillTemplate, shaderFile } from "./device/pipelines.ts";
import { requireKroneckerSolveBatch, requireSquare, shapeOf, subView as sub } from "../shapes.ts";
import { ShapeError, type Tensor, type TriangularSolveOptions } from "../types.ts";
import { type KernelContext, SCRATCH } from "./context.ts";
import { type GemmEntry, gemmBatch } from "./gemmBatch.ts";
import { kroneckerSolveByInverse, triangularSolveByInverse } from "./lowerInverse.ts";
import { bindOperands, grid1d } from "./operands.ts";
import { tableKernel } from "./tableKernel.ts";
import type { GpuStorage } from "./storage.ts";
import { storageOf } from "./storage.ts";

const NB = 64;

/** Indices of `items` grouped by the storages `keyOf` returns (one batch per group). */
function groupByStorage<T>(items: readonly T[], keyOf: (x: T) => GpuStorage[]): number[][] {
  const groups = new Map<string, number[]>();
  items.forEach((x, i) => {
    const key = keyOf(x).map((s) => s.id).join(":");
    const list = groups.get(key);
    if (list) list.push(i);
    else groups.set(key, [i]);
  });
  return [...groups.values()];
}

interface CholeskyRow {
  off: number;
  stride: number;
  b: number;
  n: number;
  k0: number;
  /** MODE 2: element offset of the block inverse's 64×64 tile. */
  invOff?: number;
}

/** MODE 2's store of the block inverse (only MODE 2 binds an `inv` operand). */
const WRITE_INVERSE = `for (var q = t; q < NB * NB; q += THREADS) {
      let r = q / NB;
      let c = q % NB;
      st_inv(e.invOff + q, select(0.0, tri[ti(r, min(c, r))], c <= r));
    }`;

function choleskyKernel(ctx: KernelContext, mode: 0 | 1 | 2, storage: GpuStorage, rows: CholeskyRow[], inverses?: GpuStorage): void {
  if (rows.length === 0) return;
  const bound = mode === 2
    ? bindOperands(["a", "status", "inv"], [storage, ctx.status, inverses!])
    : bindOperands(["a", "status"], [storage, ctx.status]);
  const label = ["cholesky diagonal block", "cholesky clear upper", "cholesky diagonal block and its inverse"][mode];
  const kernel = tableKernel(ctx, `cholesky:${mode}:${bound.pattern}`, label, bound, (tableBinding) =>
    fillTemplate("cholesky", shaderFile("cholesky.wgsl"), {
      MODE: mode,
      OPERANDS: bound.wgsl,
      TABLE_BINDING: tableBinding,
      TRI_INVERSE: shaderFile("tri_inverse.wgsl"),
      WRITE_INVERSE: mode === 2 ? WRITE_INVERSE : "",
    }),
  );
  const largest = Math.max(...rows.map((r) => r.n));
  const { groups, gridX } = mode === 1 ? grid1d(largest * largest, 256) : { groups: [1, 1] as [number, number], gridX: 0 };
  const table = { words: 8, rows: rows.map((r) => ({ u: [r.off, r.stride, r.b, r.n, r.k0, r.invOff ?? 0, 0, 0] })) };
  kernel.dispatch("cholesky", [groups[0], groups[1], rows.length], table, [0, gridX]);
}

interface SolveRow {
  l: Tensor;
  k0: number;
  size: number;
  rhs: Tensor;
  left: boolean;
}

/** Solves with the diagonal blocks L_KK (size ≤ NB) of every row for all lines of its `rhs`. */
function blockSolve(ctx: KernelContext, rows: SolveRow[], upper: boolean): void {
  if (rows.length === 0) return;
  const bound = bindOperands(["l", "b"], [storageOf("triangularSolve", rows[0].l), storageOf("triangularSolve", rows[0].rhs)], ["b"]);
  const kernel = tableKernel(ctx, `trsm:${+upper}:${bound.pattern}`, `triangular block solve (${upper ? "backward" : "forward"})`, bound, (tableBinding) =>
    fillTemplate("trsm", shaderFile("trsm.wgsl"), { UPPER: String(upper), OPERANDS: bound.wgsl, TABLE_BINDING: tableBinding, TRIANGLE: shaderFile("triangle_block.wgsl") }),
  );
  let groupsX = 1;
  const table = rows.map(({ l, k0, size, rhs, left }) => {
    const lines = left ? rhs.cols : rhs.rows;
    groupsX = Math.max(groupsX, Math.ceil(lines / NB));
    return { u: [size, lines, l.offset + k0 * l.stride + k0, l.stride, rhs.offset, left ? 1 : rhs.stride, left ? rhs.stride : 1, 0] };
  });
  kernel.dispatch("triangularSolve", [groupsX, 1, rows.length], { words: 8, rows: table });
}

export function cholesky(ctx: KernelContext, a: Tensor): void {
  choleskyBatch(ctx, [a]);
}

/** In place, every a_i ← L_i with a_i = L_i L_iᵀ (one dispatch per stage for all of one storage). */
export function choleskyBatch(ctx: KernelContext, as: readonly Tensor[]): void {
  for (const a of as) requireSquare("cholesky", "a", a);
  for (const group of groupByStorage(as, (a) => [storageOf("cholesky", a)])) {
    const mats = group.map((i) => as[i]).filter((a) => a.rows > 0);
    if (mats.length === 0) continue;
    const storage = storageOf("cholesky", mats[0]);
    ctx.recorder.statusPending = true;
    const largest = Math.max(...mats.map((a) => a.rows));
    for (let k0 = 0; k0 < largest; k0 += NB) {
      const active = mats.filter((a) => a.rows > k0);
      const trailing = active.filter((a) => a.rows - k0 > NB);
      const diagonal = (a: Tensor, i: number) => ({ off: a.offset + k0 * a.stride + k0, stride: a.stride, b: Math.min(NB, a.rows - k0), n: a.rows, k0, invOff: i * NB * NB });
      if (ctx.tiledBatches && trailing.length > 0) {
        // Hardware GPUs: the diagonal kernel also inverts L_KK, and the panel is one product,
        // A_RK ← A_RK L_KK⁻ᵀ, in place: its 64 columns are one tile column of the gemm, so each
        // workgroup reads all of its rows of A_RK before writing them, and no other reads them.
        // One dispatch for every active block, the trailing ones first so that trailing[i]'s inverse
        // is tile i (a last block's inverse is computed and not used).
        const ordered = [...trailing, ...active.filter((a) => a.rows - k0 <= NB)];
        const inverses = ctx.scratch(SCRATCH.inverses, ordered.length * NB * NB);
        choleskyKernel(ctx, 2, storage, ordered.map(diagonal), inverses);
        if (16 * ctx.gemmTile.tn < NB) throw new Error(`cholesky: the in-place panel product needs a gemm tile at least ${NB} columns wide`);
        gemmBatch(
          ctx,
          trailing.map((a, i): GemmEntry => {
            const panel = sub(a, k0 + NB, k0, a.rows - k0 - NB, NB);
            const inverse: Tensor = { rows: NB, cols: NB, stride: NB, offset: i * NB * NB, storage: inverses };
            return { a: panel, b: inverse, c: panel, alpha: 1, beta: 0 };
          }),
          { transA: false, transB: true },
        );
      } else {
        choleskyKernel(ctx, 0, storage, active.map(diagonal));
        // A_RK ← A_RK L_KK⁻ᵀ: each row x of the panel solves x L_KKᵀ = a, i.e. L_KK xᵀ = aᵀ (forward).
        blockSolve(
          ctx,
          trailing.map((a) => ({ l: a, k0, size: NB, rhs: sub(a, k0 + NB, k0, a.rows - k0 - NB, NB), left: false })),
          false,
        );
      }
      const updates: GemmEntry[] = trailing.map((a) => {
        const rest = a.rows - k0 - NB;
        const panel = sub(a, k0 + NB, k0, rest, NB);
        return { a: panel, b: panel, c: sub(a, k0 + NB, k0 + NB, rest, rest), alpha: -1, beta: 1 };
      });
      gemmBatch(ctx, updates, { transA: false, transB: true, lowerOnly: true });
    }
    choleskyKernel(
      ctx,
      1,
      storage,
      mats.map((a) => ({ off: a.offset, stride: a.stride, b: 0, n: a.rows, k0: 0 })),
    );
  }
}

export function triangularSolve(ctx: KernelContext, l: Tensor, b: Tensor, opts: TriangularSolveOptions): void {
  triangularSolveBatch(ctx, [l], [b], opts);
}

function checkSolve(l: Tensor, b: Tensor, left: boolean): void {
  requireSquare("triangularSolve", "l", l);
  const n = l.rows;
  if (left && b.rows !== n) throw new ShapeError(`triangularSolve: left solve needs b with ${n} rows (l is ${shapeOf(l)}), got ${shapeOf(b)}`);
  if (!left && b.cols !== n) throw new ShapeError(`triangularSolve: right solve needs b with ${n} columns (l is ${shapeOf(l)}), got ${shapeOf(b)}`);
  if (storageOf("triangularSolve", l) === storageOf("triangularSolve", b)) {
    throw new ShapeError("triangularSolve: b may not share storage with l");
  }
}

/** For every i, b_i ← op(l_i)⁻¹ b_i (left) or b_i op(l_i)⁻¹ (right); one dispatch per block step for each storage pair. */
export function triangularSolveBatch(ctx: KernelContext, ls: readonly Tensor[], bs: readonly Tensor[], opts: TriangularSolveOptions): void {
  if (opts.side !== "left" && opts.side !== "right") throw new ShapeError(`triangularSolve: side must be "left" or "right", got ${opts.side}`);
  if (ls.length !== bs.length) throw new ShapeError(`triangularSolve batch: ${ls.length} factors for ${bs.length} right-hand sides`);
  const left = opts.side === "left";
  ls.forEach((l, i) => checkSolve(l, bs[i], left));
  // Forward over blocks when the effective triangle is lower (left & !T, right & T), else backward.
  const forward = left !== opts.transpose;
  const pairs = ls.map((l, i) => ({ l, b: bs[i] })).filter(({ l, b }) => l.rows > 0 && (left ? b.cols : b.rows) > 0);
  for (const group of groupByStorage(pairs, (x) => [storageOf("triangularSolve", x.l), storageOf("triangularSolve", x.b)])) {
    const items = group.map((i) => pairs[i]);
    if (ctx.tiledBatches) {
      triangularSolveByInverse(ctx, items.map((x) => x.l), items.map((x) => x.b), left, opts.transpose);
      continue;
    }
    const steps = Math.max(...items.map(({ l }) => Math.ceil(l.rows / NB)));
    for (let s = 0; s < steps; s++) {
      const rows: SolveRow[] = [];
      const updates: GemmEntry[] = [];
      for (const { l, b } of items) {
        const n = l.rows;
        const blocks = Math.ceil(n / NB);
        if (s >= blocks) continue;
        const k0 = (forward ? s : blocks - 1 - s) * NB;
        const size = Math.min(NB, n - k0);
        const m = left ? b.cols : b.rows;
        const bk = left ? sub(b, k0, 0, size, m) : sub(b, 0, k0, m, size);
        rows.push({ l, k0, size, rhs: bk, left });
        if (forward) {
          const r0 = k0 + size;
          const rest = n - r0;
          if (rest === 0) continue;
          if (left) updates.push({ a: sub(l, r0, k0, rest, size), b: bk, c: sub(b, r0, 0, rest, m), alpha: -1, beta: 1 });
          else updates.push({ a: bk, b: sub(l, r0, k0, rest, size), c: sub(b, 0, r0, m, rest), alpha: -1, beta: 1 });
        } else if (k0 > 0) {
          if (left) updates.push({ a: sub(l, k0, 0, size, k0), b: bk, c: sub(b, 0, 0, k0, m), alpha: -1, beta: 1 });
          else updates.push({ a: bk, b: sub(l, k0, 0, size, k0), c: sub(b, 0, 0, m, k0), alpha: -1, beta: 1 });
        }
      }
      blockSolve(ctx, rows, !forward);
      // The updates of one step share transposes: left forward (N,N), right forward (N,T),
      // left backward (T,N), right backward (N,N).
      gemmBatch(ctx, updates, { transA: !forward && left, transB: forward && !left });
    }
  }
}

/**
 * b_i ← (L_i L_iᵀ)⁻¹ b_i (R_i R_iᵀ)⁻¹ (see Backend.kroneckerSolveBatch). On hardware adapters, when
 * all factors share one storage and all b another, every factor is inverted in one batch and the
 * solves are four batched products; otherwise four batched triangular solves.
 */
export function kroneckerSolveBatch(ctx: KernelContext, ls: readonly Tensor[], rs: readonly Tensor[], bs: readonly Tensor[]): void {
  requireKroneckerSolveBatch(ls, rs, bs);
  bs.forEach((b, i) => {
    checkSolve(ls[i], b, true);
    checkSolve(rs[i], b, false);
  });
  const live = bs.map((_, i) => i).filter((i) => bs[i].rows > 0 && bs[i].cols > 0);
  if (live.length === 0) return;
  const [l, r, b] = [ls, rs, bs].map((ts) => live.map((i) => ts[i]));
  const oneStorage = (ts: Tensor[]) => ts.every((t) => storageOf("kroneckerSolve", t) === storageOf("kroneckerSolve", ts[0]));
  if (ctx.tiledBatches && oneStorage([...l, ...r]) && oneStorage(b)) {
    kroneckerSolveByInverse(ctx, l, r, b);
    return;
  }
  triangularSolveBatch(ctx, l, b, { side: "left", transpose: false });
  triangularSolveBatch(ctx, l, b, { side: "left", transpose: true });
  triangularSolveBatch(ctx, r, b, { side: "right", transpose: true });
  triangularSolveBatch(ctx, r, b, { side: "right", transpose: false });
}
