// The batched linear-algebra ops for backends that run ops one at a time (cpu, reference): a batch
// is its matrices in order. (WebGPU batches for real: src/backend/webgpu/cholesky.ts.)
import { requireKroneckerSolveBatch } from "./shapes.ts";
import { type Backend, ShapeError, type Tensor } from "./types.ts";

type OneAtATime = Pick<Backend, "cholesky" | "triangularSolve">;

export function batchedByLoop(ops: OneAtATime): Pick<Backend, "choleskyBatch" | "triangularSolveBatch" | "kroneckerSolveBatch"> {
  return {
    choleskyBatch(as) {
      for (const a of as) ops.cholesky(a);
    },
    triangularSolveBatch(ls, bs, opts) {
      if (ls.length !== bs.length) throw new ShapeError(`triangularSolve batch: ${ls.length} factors for ${bs.length} right-hand sides`);
      ls.forEach((l, i) => ops.triangularSolve(l, bs[i], opts));
    },
    kroneckerSolveBatch(ls, rs, bs) {
      kroneckerSolveByTriangles(ops, ls, rs, bs);
    },
  };
}

// (L Lᵀ)⁻¹ B (R Rᵀ)⁻¹ by four triangular solves: L Y = B, Lᵀ Z = Y, W Rᵀ = Z, X R = W (docs/algorithm.md §4.2).
export function kroneckerSolveByTriangles(
  ops: Pick<Backend, "triangularSolve">,
  ls: readonly Tensor[],
  rs: readonly Tensor[],
  bs: readonly Tensor[],
): void {
  requireKroneckerSolveBatch(ls, rs, bs);
  bs.forEach((b, i) => {
    ops.triangularSolve(ls[i], b, { side: "left", transpose: false });
    ops.triangularSolve(ls[i], b, { side: "left", transpose: true });
    ops.triangularSolve(rs[i], b, { side: "right", transpose: true });
    ops.triangularSolve(rs[i], b, { side: "right", transpose: false });
  });
}
