// Wraps any Backend so that every op call is counted with its floating-point operations, computed
// from the operand shapes alone (so the figure is the same on every backend and machine):
//   gemm                      2·m·n·k            (C = α op(A) op(B) + β C, C m×n, inner dimension k)
//   cholesky                  n³/3               (A n×n)
//   triangularSolve           n²·m               (L n×n, m right-hand sides)
//   choleskyBatch, triangularSolveBatch   the sums of the above over the batch
//   kroneckerSolveBatch       the four triangular solves it stands for, summed over the batch
//                             (the maths' count: WebGPU's products with inverses do more, §4.3)
//   dotMany, traceBatch, addIdentityBatch the sums of dot, trace, addIdentity's rule over the batch
//   every other op            one per element of its largest tensor operand (elementwise maps,
//                             reductions, losses, random numbers)
// An op with no rule here (a new op added to the Backend interface) is still counted as a call and
// listed under `uncounted`, so a missing rule shows in the report instead of silently reading 0.
// download / flush are counted as read-backs; alloc, view, free, upload, dispose are not ops.
import { type Backend, type Tensor } from "../src/index.ts";

const NOT_OPS = new Set(["alloc", "view", "free", "upload", "dispose", "download", "flush"]);

function isTensor(x: unknown): x is Tensor {
  return typeof x === "object" && x !== null && "rows" in x && "cols" in x && "stride" in x && "storage" in x;
}

/** The largest tensor argument's element count (tensors may also come in arrays). */
function largestOperand(args: unknown[]): number {
  let most = 0;
  for (const a of args) {
    if (isTensor(a)) most = Math.max(most, a.rows * a.cols);
    else if (Array.isArray(a)) most = Math.max(most, largestOperand(a));
  }
  return most;
}

type FlopRule = (args: unknown[]) => number;

/** Floating-point operations of one call, by op name. */
export const FLOP_RULES: Record<string, FlopRule> = {
  gemm([a, , c, opts]) {
    const ta = a as Tensor;
    const k = (opts as { transA?: boolean } | undefined)?.transA ? ta.rows : ta.cols;
    return 2 * (c as Tensor).rows * (c as Tensor).cols * k;
  },
  cholesky([a]) {
    return (a as Tensor).rows ** 3 / 3;
  },
  triangularSolve([l, b, opts]) {
    const n = (l as Tensor).rows;
    const m = (opts as { side: string }).side === "left" ? (b as Tensor).cols : (b as Tensor).rows;
    return n * n * m;
  },
  choleskyBatch([as]) {
    return (as as Tensor[]).reduce((s, a) => s + FLOP_RULES.cholesky([a]), 0);
  },
  triangularSolveBatch([ls, bs, opts]) {
    return (ls as Tensor[]).reduce((s, l, i) => s + FLOP_RULES.triangularSolve([l, (bs as Tensor[])[i], opts]), 0);
  },
  kroneckerSolveBatch([ls, rs, bs]) {
    return (bs as Tensor[]).reduce((s, b, i) => s + 2 * (ls as Tensor[])[i].rows ** 2 * b.cols + 2 * (rs as Tensor[])[i].rows ** 2 * b.rows, 0);
  },
  dotMany([xs]) {
    return (xs as Tensor[]).reduce((s, x) => s + x.rows * x.cols, 0);
  },
  traceBatch([as]) {
    return (as as Tensor[]).reduce((s, a) => s + a.rows * a.cols, 0);
  },
  addIdentityBatch([, as]) {
    return (as as Tensor[]).reduce((s, a) => s + a.rows * a.cols, 0);
  },
};

/** The element-count rule covers these (every op of the interface as of this writing besides those above). */
export const ELEMENT_COUNT_OPS = new Set([
  "fill", "copy", "transfer", "hadamard", "axpby", "scale", "addIdentity", "diag", "sqrt", "quotient", "addScaledIfFinite", "adamStep",
  "sum", "dot", "trace", "rowSums", "colSums",
  "lossValue", "lossGrad", "lossHessianVector", "lossHessianSqrt", "lossSample",
  "random", "bernoulli", "threefryWords",
]);

export interface OpCounts {
  /** Calls per op name. */
  calls: Map<string, number>;
  /** Floating-point operations per op name. */
  flops: Map<string, number>;
  /** Ops called that have no flop rule (counted as calls, 0 flops). */
  uncounted: Set<string>;
  /** download calls. */
  downloads: number;
  /** flush calls. */
  flushes: number;
  /** Downloads and flushes (of those counted) that have completed so far. */
  completedReadBacks: number;
}

export function emptyCounts(): OpCounts {
  return { calls: new Map(), flops: new Map(), uncounted: new Set(), downloads: 0, flushes: 0, completedReadBacks: 0 };
}

export function totalFlops(c: OpCounts): number {
  let s = 0;
  for (const v of c.flops.values()) s += v;
  return s;
}

export function flopsOf(op: string, args: unknown[]): number | undefined {
  const rule = FLOP_RULES[op];
  if (rule) return rule(args);
  if (ELEMENT_COUNT_OPS.has(op)) return largestOperand(args);
  return undefined;
}

export interface CountedBackend {
  backend: Backend;
  counts: OpCounts;
  /** Zeroes the counts. */
  reset(): void;
  /** Called with the op name before each op runs and with undefined after it (profiling scopes). */
  onOp?: (op: string | undefined) => void;
}

/** `backend` behind a Proxy that counts calls, flops and read-backs; counting costs ~1 µs per op. */
export function countedBackend(backend: Backend): CountedBackend {
  const result: CountedBackend = {
    backend: backend,
    counts: emptyCounts(),
    reset() {
      result.counts = emptyCounts();
    },
  };
  result.backend = new Proxy(backend, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      const name = String(property);
      if (name === "download" || name === "flush") {
        return (...args: unknown[]) => {
          const c = result.counts;
          if (name === "download") c.downloads++;
          else c.flushes++;
          const done = value.apply(target, args) as Promise<unknown>;
          const completed = () => void c.completedReadBacks++;
          done.then(completed, completed);
          return done;
        };
      }
      if (NOT_OPS.has(name)) return value.bind(target);
      return (...args: unknown[]) => {
        const c = result.counts;
        c.calls.set(name, (c.calls.get(name) ?? 0) + 1);
        const flops = flopsOf(name, args);
        if (flops === undefined) c.uncounted.add(name);
        else c.flops.set(name, (c.flops.get(name) ?? 0) + flops);
        result.onOp?.(name);
        try {
          return value.apply(target, args);
        } finally {
          result.onOp?.(undefined);
        }
      };
    },
  });
  return result;
}
