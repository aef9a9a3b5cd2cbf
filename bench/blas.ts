// `bun run bench blas`: is the CPU backend's BLAS path as fast as calling OpenBLAS directly, and
// what do its non-BLAS ops cost?
//
// 1. gemm on the autoencoder's shapes (784-1000-500-250-30-…, batch 1000), through the backend
//    (shape checks, view → pointer, FFI) against cblas_sgemm called through a minimal dlopen of
//    the same library on the same buffers and strides. Calls alternate, median of --reps each.
//    Goal: backend ≥ 90% of direct.
// 2. Elementwise ops, reductions, losses and the RNG on 1000×1000 float32: median time and the
//    effective bandwidth (float32 operands read + written, per second).
import { type Backend, type Tensor } from "../src/index.ts";
import {
  CBLAS_NO_TRANS,
  CBLAS_ROW_MAJOR,
  CBLAS_TRANS,
  CpuTensor,
  createCpuBackend,
  loadOpenBlas,
  parseFlags,
  positiveIntegerFlag,
} from "../src/bench-internals.ts";
import { dlopen, FFIType, ptr } from "bun:ffi";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const HELP = `usage: bun run bench blas [--reps N] [--threads N]

  --reps N      timed repetitions per measurement (median reported; default 9)
  --threads N   OpenBLAS threads (default: the cores this process may use)

Writes bench/results/blas.json.`;

interface GemmCase {
  name: string;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  /** Extra columns in A's / B's storage, so the operand is a strided view (W̃ inside W). */
  padA: number;
  padB: number;
}

// C (m×n) = op(A) op(B), op(A) m×k. Names say which step of a KFRA iteration uses the shape.
const GEMM_CASES: GemmCase[] = [
  { name: "forward W̃₁·X (1000×784·784×1000, W̃ view)", m: 1000, k: 784, n: 1000, transA: false, transB: false, padA: 1, padB: 0 },
  { name: "gradient d₁·Āᵀ (1000×1000·1000×785)", m: 1000, k: 1000, n: 785, transA: false, transB: true, padA: 0, padB: 0 },
  { name: "backward W̃₂ᵀ·d₂ (1000×500·500×1000, view)", m: 1000, k: 500, n: 1000, transA: true, transB: false, padA: 1, padB: 0 },
  { name: "Q₁ = Ā·Āᵀ (785×1000·1000×785)", m: 785, k: 1000, n: 785, transA: false, transB: true, padA: 0, padB: 0 },
  { name: "KFRA G₂·W̃₂ (500×500·500×1000, view)", m: 500, k: 500, n: 1000, transA: false, transB: false, padA: 0, padB: 1 },
  { name: "forward W̃₈·h (784×1000·1000×1000, view)", m: 784, k: 1000, n: 1000, transA: false, transB: false, padA: 1, padB: 0 },
  { name: "forward W̃₅·h (250×30·30×1000, view)", m: 250, k: 30, n: 1000, transA: false, transB: false, padA: 1, padB: 0 },
  { name: "forward W̃₄·h (30×250·250×1000, view)", m: 30, k: 250, n: 1000, transA: false, transB: false, padA: 1, padB: 0 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function parseArgs(argv: string[]): { reps: number; threads?: number } {
  const { values } = parseFlags(argv, { reps: { type: "string", default: "9" }, threads: { type: "string" }, help: { type: "boolean", short: "h" } });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  return { reps: positiveIntegerFlag("reps", values.reps), threads: values.threads === undefined ? undefined : positiveIntegerFlag("threads", values.threads) };
}

/** A rows×cols tensor filled with values in [−1, 1), as a view into rows×(cols+pad) storage. */
function filled(backend: Backend, rows: number, cols: number, pad: number, seed: number): Tensor {
  const base = backend.alloc(rows, cols + pad);
  backend.random("uniform", base, seed, 0);
  backend.axpby(-1, base, 2, base);
  return backend.view(base, 0, 0, rows, cols);
}

async function benchGemm(backend: Backend, reps: number) {
  const blas = loadOpenBlas();
  // The "direct" path: its own dlopen of the same file and nothing between the caller and sgemm.
  const direct = dlopen(blas.path, {
    cblas_sgemm: {
      args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.f32, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.f32, FFIType.ptr, FFIType.i32],
      returns: FFIType.void,
    },
  }).symbols.cblas_sgemm;
  const rows = [];
  for (const g of GEMM_CASES) {
    const [aRows, aCols] = g.transA ? [g.k, g.m] : [g.m, g.k];
    const [bRows, bCols] = g.transB ? [g.n, g.k] : [g.k, g.n];
    const a = filled(backend, aRows, aCols, g.padA, 1) as CpuTensor;
    const b = filled(backend, bRows, bCols, g.padB, 2) as CpuTensor;
    const c = backend.alloc(g.m, g.n) as CpuTensor;
    const opts = { transA: g.transA, transB: g.transB };
    const viaDirect = () =>
      direct(
        CBLAS_ROW_MAJOR, g.transA ? CBLAS_TRANS : CBLAS_NO_TRANS, g.transB ? CBLAS_TRANS : CBLAS_NO_TRANS,
        g.m, g.n, g.k, 1, ptr(a.storage, a.offset * 4), a.stride, ptr(b.storage, b.offset * 4), b.stride, 0, ptr(c.storage), c.stride,
      );
    const viaBackend = () => backend.gemm(a, b, c, opts);
    for (let w = 0; w < 2; w++) {
      viaDirect();
      viaBackend();
    }
    const tDirect: number[] = [];
    const tBackend: number[] = [];
    for (let r = 0; r < reps; r++) {
      let t0 = performance.now();
      viaDirect();
      tDirect.push(performance.now() - t0);
      t0 = performance.now();
      viaBackend();
      tBackend.push(performance.now() - t0);
    }
    const flop = 2 * g.m * g.n * g.k;
    const md = median(tDirect);
    const mb = median(tBackend);
    rows.push({
      shape: g.name,
      directMs: md,
      backendMs: mb,
      directGflops: flop / md / 1e6,
      backendGflops: flop / mb / 1e6,
      backendOverDirect: md / mb,
    });
  }
  return rows;
}

interface OpCase {
  name: string;
  /** float32 operands read + written per element. */
  words: number;
  run: () => void;
}

async function benchOps(backend: Backend, reps: number) {
  const n = 1000;
  const t = (seed: number, shift = 0) => {
    const x = backend.alloc(n, n);
    backend.random("normal", x, seed, 0);
    if (shift) backend.axpby(0, x, 1, x);
    return x;
  };
  const a = t(1);
  const b = t(2);
  const out = t(3);
  const m = t(4);
  const v = backend.alloc(n, n);
  backend.random("uniform", v, 5, 0);
  const y = backend.alloc(n, n);
  backend.bernoulli(v, y, 6, 0);
  const scalar = backend.alloc(1, 1);
  const col = backend.alloc(n, 1);
  const row = backend.alloc(1, n);
  const cases: OpCase[] = [
    { name: "fill", words: 1, run: () => backend.fill(out, 0.5) },
    { name: "copy", words: 2, run: () => backend.copy(a, out) },
    { name: "copy transposed", words: 2, run: () => backend.copy(a, out, true) },
    { name: "transfer tanh f", words: 2, run: () => backend.transfer("tanh", a, out, 0) },
    { name: "transfer tanh f′", words: 2, run: () => backend.transfer("tanh", a, out, 1) },
    { name: "transfer sigmoid f", words: 2, run: () => backend.transfer("sigmoid", a, out, 0) },
    { name: "transfer relu f", words: 2, run: () => backend.transfer("relu", a, out, 0) },
    { name: "hadamard", words: 3, run: () => backend.hadamard(a, b, out) },
    { name: "axpby", words: 3, run: () => backend.axpby(0.5, a, 0.9, out) },
    { name: "scale", words: 2, run: () => backend.scale(1.0001, out) },
    { name: "sqrt", words: 2, run: () => backend.sqrt(v, out) },
    { name: "adamStep", words: 7, run: () => backend.adamStep(out, a, m, v, { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 10 }) },
    { name: "sum", words: 1, run: () => backend.sum(a, scalar) },
    { name: "dot", words: 2, run: () => backend.dot(a, b, scalar) },
    { name: "rowSums", words: 1, run: () => backend.rowSums(a, col) },
    { name: "colSums", words: 1, run: () => backend.colSums(a, row) },
    { name: "lossValue bce", words: 2, run: () => backend.lossValue("bce", a, y, row) },
    { name: "lossGrad bce", words: 3, run: () => backend.lossGrad("bce", a, y, out) },
    { name: "lossHessianVector bce", words: 3, run: () => backend.lossHessianVector("bce", a, y, b, out) },
    { name: "lossHessianSqrt bce", words: 2, run: () => backend.lossHessianSqrt("bce", a, y, out) },
    { name: "lossSample bce", words: 2, run: () => backend.lossSample("bce", a, 7, 1, out) },
    { name: "random uniform", words: 1, run: () => backend.random("uniform", out, 8, 1) },
    { name: "random normal", words: 1, run: () => backend.random("normal", out, 8, 2) },
    { name: "bernoulli", words: 2, run: () => backend.bernoulli(v, out, 8, 3) },
  ];
  const rows = [];
  for (const op of cases) {
    // Untimed calls first (at least 10 and 200 ms): JavaScriptCore needs that many to reach its
    // optimising tier, and training calls every op thousands of times.
    const warmStart = performance.now();
    for (let w = 0; w < 10 || performance.now() - warmStart < 200; w++) op.run();
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      op.run();
      times.push(performance.now() - t0);
    }
    const ms = median(times);
    rows.push({ op: op.name, ms, gbPerS: (op.words * 4 * n * n) / ms / 1e6 });
  }
  return rows;
}

export async function main(argv: string[]): Promise<void> {
  const { reps, threads } = parseArgs(argv);
  const backend = createCpuBackend({ threads });
  console.log(`cpu backend: ${backend.info.device}; median of ${reps} repetitions`);
  const gemm = await benchGemm(backend, reps);
  console.log("\ngemm (float32): backend vs direct cblas_sgemm on the same buffers, alternating calls\n");
  console.log("| shape | direct ms | backend ms | direct GFLOP/s | backend GFLOP/s | backend/direct |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const r of gemm) {
    console.log(`| ${r.shape} | ${r.directMs.toFixed(2)} | ${r.backendMs.toFixed(2)} | ${r.directGflops.toFixed(1)} | ${r.backendGflops.toFixed(1)} | ${(100 * r.backendOverDirect).toFixed(1)}% |`);
  }
  const ops = await benchOps(backend, reps);
  console.log("\nnon-BLAS ops on 1000×1000 float32 (GB/s = float32 operands read + written / time)\n");
  console.log("| op | ms | GB/s |");
  console.log("| --- | ---: | ---: |");
  for (const r of ops) console.log(`| ${r.op} | ${r.ms.toFixed(3)} | ${r.gbPerS.toFixed(2)} |`);
  const file = join(import.meta.dir, "results", "blas.json");
  writeFileSync(file, `${JSON.stringify({ device: backend.info.device, reps, gemm, ops, date: new Date().toISOString() }, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
  backend.dispose();
}
