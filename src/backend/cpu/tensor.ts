// The CPU backend's tensor: a row-major view into a Float32Array (element (i, j) at
// storage[offset + i*stride + j]), plus the helpers every CPU op uses to walk views.
import type { Tensor } from "../types.ts";
import { isContiguous } from "../shapes.ts";

export class CpuTensor implements Tensor {
  constructor(
    readonly storage: Float32Array,
    readonly rows: number,
    readonly cols: number,
    readonly stride: number,
    readonly offset: number,
  ) {}
}

/** The tensor as a CpuTensor, or a TypeError naming the op when it came from another backend. */
export function cpu(op: string, t: Tensor): CpuTensor {
  if (!(t instanceof CpuTensor)) throw new TypeError(`cpu backend: ${op} was given a tensor that belongs to another backend`);
  return t;
}

/**
 * How to walk same-shaped operands row by row: one long row of rows·cols elements when all are
 * contiguous, else `rows` rows of `cols`. Written into a reused pair so the hot path allocates nothing.
 */
export const walk = { rows: 0, cols: 0, flat: false };
export function planWalk(a: Tensor, b?: Tensor, c?: Tensor, d?: Tensor): typeof walk {
  const flat = isContiguous(a) && (!b || isContiguous(b)) && (!c || isContiguous(c)) && (!d || isContiguous(d));
  walk.flat = flat;
  walk.rows = flat ? 1 : a.rows;
  walk.cols = flat ? a.rows * a.cols : a.cols;
  return walk;
}
