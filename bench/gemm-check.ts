// `bun run bench gemm-check [--variants all|default|LIST]`: the WebGPU shared-memory-tiled gemm
// against a float64 product for every kernel variant — each tile of GEMM_TILES with the scalar and
// the vec4 inner loop, and split along k (fixed slice counts and auto) — on odd shapes around the
// tile edges, all four transpose cases, β = 0 (C's NaN ignored) and β ≠ 0, and lowerOnly (C above
// the diagonal left as it was). The bound is the conformance suite's (k+2)·u·1.5·Σ|a||b| + 4u|βC|
// (u = 2⁻²⁴; a split sum is one more order of the same k terms, so the same bound holds).
// Then the Cholesky factorisation and the four triangular solves at the paper's factor sizes (785,
// cond 10⁴; 1001, cond 10⁶), with the adapter's kernel choices and with the hardware GPUs' (tiled
// batches, solves through inverses), held to the conformance suite's backward-error bounds 4nu.
// On a software adapter (lavapipe) all of this takes minutes and decides nothing (none of the tiles
// is a default there), so the test suite checks one of each kind of variant and the factorisation
// at sizes that cross the same block edges (test/backend/batched.test.ts, conformance.test.ts), and
// scripts/device-check.sh runs the whole of it on a GPU. Exit 1 when any result is out of bounds.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { choleskyResidual, createWebGpuBackend, GEMM_TILES, type GemmInternal, parseFlags, probeAdapter, solveResidual, spdMatrix, UsageError, writeFileAtomic } from "../src/bench-internals.ts";

export interface GemmVariant {
  tile: string;
  gemmInner: "scalar" | "vec4";
  splitK: "off" | "auto" | number;
}

/** Every variant: each tile with either inner loop unsplit, split-K on the default tile, and an odd split on the one-row tile. */
export function allVariants(): GemmVariant[] {
  return [
    ...Object.keys(GEMM_TILES).flatMap((tile) => (["scalar", "vec4"] as const).map((gemmInner): GemmVariant => ({ tile, gemmInner, splitK: "off" }))),
    ...(["scalar", "vec4"] as const).flatMap((gemmInner) => [3, "auto" as const].map((splitK): GemmVariant => ({ tile: "4x4x16", gemmInner, splitK }))),
    { tile: "1x4x16", gemmInner: "vec4", splitK: 5 },
  ];
}

/** m × n × k, and whether only C's lower triangle is written. k = 700 is for split-K (skipped unsplit). */
export type GemmShape = readonly [m: number, n: number, k: number, lowerOnly: boolean];
export const GRID_SHAPES: readonly GemmShape[] = [
  [1, 1, 1, false],
  [7, 31, 5, false],
  [65, 129, 33, false],
  [130, 67, 200, false],
  [40, 50, 700, false],
  [97, 97, 300, true],
];

const U = 2 ** -24;

function rng(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32 - 0.5;
  };
}

export interface VariantResult {
  variant: GemmVariant;
  /** Products checked (shape × transposes × β). */
  cases: number;
  /** Largest |error| / bound over every entry (≤ 1 passes). */
  worstRatio: number;
  failures: string[];
  seconds: number;
}

/**
 * C = 1.5 op(A) op(B) + β C on a backend with this variant's kernel choices, for each shape, both
 * transposes of each operand and β ∈ {0, 0.5}, with A, B and C views of one NaN-filled storage.
 */
export async function checkVariant(variant: GemmVariant, shapes: readonly GemmShape[] = GRID_SHAPES): Promise<VariantResult> {
  const start = performance.now();
  const b = await createWebGpuBackend({ gemm: "tiled", tiledBatches: true, ...variant });
  const failures: string[] = [];
  let worstRatio = 0;
  let cases = 0;
  try {
    for (const [m, n, k, lowerOnly] of shapes) {
      if (k === 700 && variant.splitK === "off") continue;
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const beta of [0, 0.5]) {
            cases += 1;
            const r = rng(m * 7 + n * 13 + k);
            const av = Float64Array.from({ length: m * k }, r).map(Math.fround);
            const bv = Float64Array.from({ length: k * n }, r).map(Math.fround);
            const cv = Float64Array.from({ length: m * n }, r).map(Math.fround);
            const [ar, ac] = transA ? [k, m] : [m, k];
            const [br, bc] = transB ? [n, k] : [k, n];
            const parent = b.alloc(ar + br + m, Math.max(ac, bc, n) + 2);
            b.fill(parent, Number.NaN);
            const A = b.view(parent, 0, 1, ar, ac);
            const B = b.view(parent, ar, 1, br, bc);
            const C = b.view(parent, ar + br, 1, m, n);
            b.upload(A, av);
            b.upload(B, bv);
            if (beta !== 0) b.upload(C, cv);
            const opts: GemmInternal = { transA, transB, alpha: 1.5, beta, lowerOnly };
            b.gemm(A, B, C, opts);
            const got = await b.download(C);
            b.free(parent);
            const opA = (i: number, p: number) => (transA ? av[p * m + i] : av[i * k + p]);
            const opB = (p: number, j: number) => (transB ? bv[j * k + p] : bv[p * n + j]);
            const what = `${m}×${n}×${k} transA=${transA} transB=${transB} β=${beta}${lowerOnly ? " lowerOnly" : ""}`;
            let failed: string | undefined;
            for (let i = 0; i < m && !failed; i++) {
              for (let j = 0; j < n; j++) {
                if (lowerOnly && j > i) {
                  const was = beta === 0 ? Number.NaN : cv[i * n + j];
                  if (!Object.is(got[i * n + j], was)) failed = `${what}: C[${i},${j}] above the diagonal became ${got[i * n + j]}`;
                  continue;
                }
                let s = 0;
                let mag = 0;
                for (let p = 0; p < k; p++) {
                  s += opA(i, p) * opB(p, j);
                  mag += Math.abs(opA(i, p) * opB(p, j));
                }
                const want = 1.5 * s + beta * cv[i * n + j];
                const bound = (k + 2) * U * 1.5 * mag + 4 * U * Math.abs(beta * cv[i * n + j]) + 1e-30;
                const ratio = Math.abs(got[i * n + j] - want) / bound;
                if (!(ratio <= 1)) {
                  failed = `${what}: C[${i},${j}] = ${got[i * n + j]}, want ${want}`;
                  worstRatio = Infinity;
                  break;
                }
                worstRatio = Math.max(worstRatio, ratio);
              }
            }
            if (failed) failures.push(failed);
          }
        }
      }
    }
  } finally {
    b.dispose();
  }
  return { variant, cases, worstRatio, failures, seconds: (performance.now() - start) / 1000 };
}

/** n and the condition number of each factor the Cholesky check factorises: the paper's A (785) and G (1001) sizes. */
export const CHOLESKY_SIZES: readonly (readonly [n: number, cond: number])[] = [
  [785, 1e4],
  [1001, 1e6],
];

export interface CholeskyResult {
  choices: "adapter" | "hardware";
  /** Per size: ‖LLᵀ − A‖/‖A‖ and each solve's ‖op(L)X − B‖/(‖L‖‖X‖), against the bound 4nu. */
  sizes: { n: number; cond: number; bound: number; cholesky: number; solves: Record<string, number> }[];
  failures: string[];
  seconds: number;
}

/**
 * L Lᵀ = A for an n×n A whose upper triangle holds NaN (only the lower one may be read), then
 * op(L) X = B and X op(L) = B for 31 right-hand sides, with the adapter's kernel choices or the
 * hardware GPUs'; each backward error must be at most 4nu (docs/algorithm.md §4.2–4.3).
 */
export async function checkCholesky(choices: "adapter" | "hardware", sizes = CHOLESKY_SIZES): Promise<CholeskyResult> {
  const start = performance.now();
  const b = await createWebGpuBackend(choices === "hardware" ? { tiledBatches: true, gemm: "tiled" } : {});
  const vector = (length: number, seed: number) => Float64Array.from({ length }, rng(seed)).map(Math.fround);
  const measured: CholeskyResult["sizes"] = [];
  const failures: string[] = [];
  try {
    for (const [n, cond] of sizes) {
      const av = spdMatrix(n, cond, [vector(n, n), vector(n, n + 1)]);
      const a = b.alloc(n, n);
      b.upload(a, av.map((x, i) => (i % n > Math.floor(i / n) ? Number.NaN : x)));
      b.cholesky(a);
      const L = await b.download(a);
      const bound = 4 * n * U;
      const row = { n, cond, bound, cholesky: choleskyResidual(L, av, n), solves: {} as Record<string, number> };
      for (const side of ["left", "right"] as const) {
        for (const transpose of [false, true]) {
          const [rows, cols] = side === "left" ? [n, 31] : [31, n];
          const bv = vector(rows * cols, n + 31 + +transpose);
          const x = b.alloc(rows, cols);
          b.upload(x, bv);
          b.triangularSolve(a, x, { side, transpose });
          row.solves[`${side}${transpose ? "ᵀ" : ""}`] = solveResidual(L, n, await b.download(x), bv, rows, cols, side, transpose);
          b.free(x);
        }
      }
      b.free(a);
      measured.push(row);
      for (const [what, value] of [["L Lᵀ = A", row.cholesky], ...Object.entries(row.solves)] as const) {
        if (!(value <= bound)) failures.push(`${choices} choices, n = ${n}, cond ${cond.toExponential(0)}: ${what} backward error ${value.toExponential(2)} > 4nu = ${bound.toExponential(2)}`);
      }
    }
  } finally {
    b.dispose();
  }
  return { choices, sizes: measured, failures, seconds: (performance.now() - start) / 1000 };
}

export const variantName = (v: GemmVariant) => `tile ${v.tile}, ${v.gemmInner} inner loop, split-K ${v.splitK}`;

const HELP = `usage: bun run bench gemm-check [--variants all|default|LIST] [--out FILE]

  --variants V   all (default): every tile of GEMM_TILES × scalar/vec4, split-K 3 and auto, and 1x4x16 vec4 split 5;
                 default: the hardware default (4x4x16, vec4, split-K auto);
                 or a comma-separated list of TILE:INNER:SPLIT, e.g. 8x8x8:vec4:off,4x4x16:scalar:3
  --out FILE     results (default bench/results/gemm-check.json)

Then the Cholesky factorisation and the four triangular solves at n = 785 (cond 1e4) and 1001 (cond 1e6),
with the adapter's kernel choices and the hardware GPUs', held to the backward-error bound 4nu.

Exit status: 0 every result within bounds; 1 one out of bounds, or a bad flag; 2 no GPU adapter.`;

function parseVariants(text: string): GemmVariant[] {
  if (text === "all") return allVariants();
  if (text === "default") return [{ tile: "4x4x16", gemmInner: "vec4", splitK: "auto" }];
  return text.split(",").map((item) => {
    const [tile, inner, split] = item.split(":");
    const splitK = split === "off" || split === "auto" ? split : Number(split);
    if (!(tile in GEMM_TILES) || (inner !== "scalar" && inner !== "vec4") || !(typeof splitK === "string" || (Number.isInteger(splitK) && splitK >= 1))) {
      throw new UsageError(`--variants: '${item}' is not TILE:INNER:SPLIT with TILE one of ${Object.keys(GEMM_TILES).join(", ")}, INNER scalar or vec4, SPLIT off, auto or a positive integer`);
    }
    return { tile, gemmInner: inner, splitK };
  });
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, { variants: { type: "string", default: "all" }, out: { type: "string", default: "bench/results/gemm-check.json" }, help: { type: "boolean" } });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const variants = parseVariants(values.variants!);
  const probe = await probeAdapter();
  const results: VariantResult[] = [];
  console.log(`${"variant".padEnd(44)} ${"cases".padStart(5)} ${"worst err/bound".padStart(15)} ${"seconds".padStart(8)}`);
  for (const variant of variants) {
    const result = await checkVariant(variant);
    results.push(result);
    console.log(`${variantName(variant).padEnd(44)} ${String(result.cases).padStart(5)} ${(result.failures.length ? "FAIL" : result.worstRatio.toFixed(3)).padStart(15)} ${result.seconds.toFixed(1).padStart(8)}`);
    for (const failure of result.failures) console.log(`  ${failure}`);
  }
  const cholesky: CholeskyResult[] = [];
  console.log(`\n${"Cholesky and solves".padEnd(30)} ${"n".padStart(5)} ${"worst err/4nu".padStart(13)} ${"seconds".padStart(8)}`);
  for (const choices of ["adapter", "hardware"] as const) {
    const result = await checkCholesky(choices);
    cholesky.push(result);
    for (const size of result.sizes) {
      const worst = Math.max(size.cholesky, ...Object.values(size.solves)) / size.bound;
      console.log(`${`${choices} kernel choices`.padEnd(30)} ${String(size.n).padStart(5)} ${worst.toFixed(3).padStart(13)} ${result.seconds.toFixed(1).padStart(8)}`);
    }
    for (const failure of result.failures) console.log(`  ${failure}`);
  }
  const failed = results.filter((r) => r.failures.length > 0).length;
  const choleskyFailed = cholesky.reduce((sum, r) => sum + r.failures.length, 0);
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileAtomic(values.out!, `${JSON.stringify({ adapter: probe, shapes: GRID_SHAPES, results, cholesky }, null, 2)}\n`);
  console.log(failed ? `${failed} of ${results.length} variants out of bounds` : `all ${results.length} variants within bounds`);
  console.log(choleskyFailed ? `${choleskyFailed} Cholesky or solve residuals out of bounds` : "every Cholesky and solve residual within 4nu");
  if (failed || choleskyFailed) process.exitCode = 1;
}
