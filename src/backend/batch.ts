// The batched linear-algebra ops for backends that run ops one at a time (cpu, reference): a batch
// is its matrices in order. (WebGPU batches for real: src/backend/webgpu/cholesky.ts.)
import { type Backend, ShapeError } from "./types.ts";

type OneAtATime = Pick<Backend, "cholesky" | "triangularSolve">;

export function batchedByLoop(ops: OneAtATime): Pick<Backend, "choleskyBatch" | "triangularSolveBatch"> {
  return {
    choleskyBatch(as) {
      for (const a of as) ops.cholesky(a);
    },
    triangularSolveBatch(ls, bs, opts) {
      if (ls.length !== bs.length) throw new ShapeError(`triangularSolve batch: ${ls.length} factors for ${bs.length} right-hand sides`);
      ls.forEach((l, i) => ops.triangularSolve(l, bs[i], opts));
    },
  };
}
