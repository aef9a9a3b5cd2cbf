// Tensors of different shapes as views of one allocation, stacked down its rows (each at column 0;
// the row stride is the widest, rounded up to a multiple of 4 for vec4 access). Batched ops
// (choleskyBatch, triangularSolveBatch) run as one batch over operands that share a storage.
import type { Backend, Tensor } from "./types.ts";

/** `views[i]` is shapes[i] = [rows, cols]; free `parent` (not the views) to release them all. */
export function allocStacked(backend: Backend, shapes: readonly (readonly [number, number])[]): { parent: Tensor; views: Tensor[] } {
  const cols = Math.ceil(Math.max(...shapes.map(([, c]) => c)) / 4) * 4;
  const parent = backend.alloc(shapes.reduce((s, [r]) => s + r, 0), cols);
  let row = 0;
  const views = shapes.map(([r, c]) => {
    const v = backend.view(parent, row, 0, r, c);
    row += r;
    return v;
  });
  return { parent, views };
}
