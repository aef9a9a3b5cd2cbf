// `bun run bench kernels [--device webgpu|cpu] [--reps N]`: throughput of the kernels a KFRA step
// spends its time in, per backend, beside plain TypeScript float32 loops measured in the same run.
//
// 1. Every gemm shape of the autoencoder 784-1000-500-250-30-250-500-1000-784 at batch N = 1000:
//    forward W·Ā, gradient d·Āᵀ, backward W̃ᵀ·d (W̃ a view of W with stride D_in + 1), the input
//    factor Ā·Āᵀ and the KFRA product W̃ᵀ·(G·W̃) (two gemms). GFLOP/s = 2mnk / median time.
// 2. Cholesky and the two-sided solves (left L, Lᵀ with n×1000 right-hand sides; right Lᵀ, L with
//    1000×n) at n = 785 and 1001: median milliseconds.
//    And the damped solves of a whole KFRA update: the 16 damped factors of the autoencoder
//    (Cholesky of every Q_λ + kπI and G_λ + (k/π)I) and the four triangular solves of each layer's
//    gradient, through KroneckerBlocks.solve (batched: one dispatch per block step on WebGPU).
// 3. WebGPU only: the same gemm with bun-webgpu's own busy-wait polling (calmPolling off) against
//    the fix, and the cost of a dispatch and of a submit-and-wait round trip.
// 4. `--variants` (WebGPU): every gemm shape of section 1 with each gemm kernel — register-tiled,
//    and shared-memory-tiled with each tile of GEMM_TILES, scalar and vec4 inner loops, and with
//    split-K auto on two tiles — to choose the defaults on a GPU.
// Each figure is also given per CPU-second of this process (all its threads: lavapipe's workers,
// OpenBLAS's): on this shared 2-core machine wall-clock GFLOP/s move with other people's load,
// GFLOP per CPU-second much less. Writes bench/results/kernels.json.
import { type Backend, createBackend, type NetworkSpec, type Tensor } from "../src/index.ts";
import {
  GEMM_TILES,
  KroneckerBlocks,
  UsageError,
  allocLayersTogether,
  availableBackends,
  createWebGpuBackend,
  parseFlags,
  positiveIntegerFlag,
} from "../src/bench-internals.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";

const HELP = `usage: bun run bench kernels [--device webgpu|cpu] [--reps N] [--variants]

  --device D   only this backend (default: every float32 backend available here)
  --reps N     timed repetitions per measurement, median reported (default 5)
  --variants   WebGPU: time every gemm shape with each gemm kernel, tile, inner loop and split-K (slow on lavapipe)
  --skip-ts    leave out the plain-TypeScript column (it takes most of the run on a fast GPU)

Prints a table and writes bench/results/kernels.json.`;

const SIZES = [784, 1000, 500, 250, 30, 250, 500, 1000, 784];
const BATCH = 1000;

interface GemmShape {
  name: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  /** Extra columns of A's storage: A is W̃, a view of W without its bias column. */
  padA: number;
  /** Extra columns of B's storage. */
  padB: number;
}

/** The distinct gemm shapes of one KFRA step on the autoencoder. */
function autoencoderShapes(): GemmShape[] {
  const shapes: GemmShape[] = [];
  const seen = new Set<string>();
  const add = (s: GemmShape) => {
    const key = `${s.m},${s.n},${s.k},${s.transA},${s.transB},${s.padA > 0},${s.padB > 0}`;
    if (!seen.has(key)) {
      seen.add(key);
      shapes.push(s);
    }
  };
  for (let l = 1; l < SIZES.length; l++) {
    const [din, dout] = [SIZES[l - 1], SIZES[l]];
    add({ name: `forward W${l}·Ā (${dout}×${din + 1}·${din + 1}×${BATCH})`, m: dout, n: BATCH, k: din + 1, transA: false, transB: false, padA: 0, padB: 0 });
    add({ name: `gradient d${l}·Āᵀ (${dout}×${BATCH}·${BATCH}×${din + 1})`, m: dout, n: din + 1, k: BATCH, transA: false, transB: true, padA: 0, padB: 0 });
    if (l > 1) {
      add({ name: `backward W̃${l}ᵀ·d (${din}×${dout}·${dout}×${BATCH})`, m: din, n: BATCH, k: dout, transA: true, transB: false, padA: 1, padB: 0 });
      add({ name: `KFRA G${l}·W̃${l} (${dout}×${dout}·${dout}×${din})`, m: dout, n: din, k: dout, transA: false, transB: false, padA: 0, padB: 1 });
      add({ name: `KFRA W̃${l}ᵀ·(GW̃) (${din}×${dout}·${dout}×${din})`, m: din, n: din, k: dout, transA: true, transB: false, padA: 1, padB: 0 });
    }
    add({ name: `Q${l} = Ā·Āᵀ (${din + 1}×${BATCH}·${BATCH}×${din + 1})`, m: din + 1, n: din + 1, k: BATCH, transA: false, transB: true, padA: 0, padB: 0 });
  }
  return shapes;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function randomData(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

// ---- plain TypeScript float32 baselines (i-k-j loops over Float32Array rows) ----

/** C = op(A) op(B) with A, B given as dense row-major op(A) (m×k) and op(B) (k×n), transposes applied first (not timed). */
function tsGemm(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number): void {
  c.fill(0);
  for (let i = 0; i < m; i++) {
    const ci = c.subarray(i * n, i * n + n);
    for (let q = 0; q < k; q++) {
      const aiq = a[i * k + q];
      const bq = b.subarray(q * n, q * n + n);
      for (let j = 0; j < n; j++) ci[j] += aiq * bq[j];
    }
  }
}

/** In-place Cholesky of the n×n lower triangle: l_jj = √(a_jj − Σ l_jk²), l_ij = (a_ij − Σ l_ik l_jk) / l_jj. */
function tsCholesky(a: Float32Array, n: number): void {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
    const ljj = Math.sqrt(d);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / ljj;
    }
  }
}

/** Forward substitution L X = B for B n×m (row-major), in place: x_i = (b_i − Σ_{j<i} l_ij x_j) / l_ii. */
function tsSolveLower(l: Float32Array, b: Float32Array, n: number, m: number): void {
  for (let i = 0; i < n; i++) {
    const bi = b.subarray(i * m, i * m + m);
    for (let j = 0; j < i; j++) {
      const lij = l[i * n + j];
      const bj = b.subarray(j * m, j * m + m);
      for (let c = 0; c < m; c++) bi[c] -= lij * bj[c];
    }
    const inv = 1 / l[i * n + i];
    for (let c = 0; c < m; c++) bi[c] *= inv;
  }
}

/** Back substitution Lᵀ X = B in place: x_i = (b_i − Σ_{j>i} l_ji x_j) / l_ii. */
function tsSolveUpperT(l: Float32Array, b: Float32Array, n: number, m: number): void {
  for (let i = n - 1; i >= 0; i--) {
    const bi = b.subarray(i * m, i * m + m);
    for (let j = i + 1; j < n; j++) {
      const lji = l[j * n + i];
      const bj = b.subarray(j * m, j * m + m);
      for (let c = 0; c < m; c++) bi[c] -= lji * bj[c];
    }
    const inv = 1 / l[i * n + i];
    for (let c = 0; c < m; c++) bi[c] *= inv;
  }
}

/** Median wall time and mean CPU time (this process, all threads: lavapipe's and OpenBLAS's too) per call. */
interface Timing {
  ms: number;
  cpuMs: number;
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

function timeSync(reps: number, fn: () => void): Timing {
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return { ms: median(times), cpuMs: cpuMsSince(cpu0) / reps };
}

async function timeBackend(b: Backend, reps: number, fn: () => void): Promise<Timing> {
  fn();
  await b.flush();
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    fn();
    await b.flush();
    times.push(performance.now() - t);
  }
  return { ms: median(times), cpuMs: cpuMsSince(cpu0) / reps };
}

function operand(b: Backend, rows: number, cols: number, pad: number, seed: number): Tensor {
  const parent = b.alloc(rows, cols + pad);
  b.upload(parent, randomData(rows * (cols + pad), seed));
  return pad ? b.view(parent, 0, 0, rows, cols) : parent;
}

const spdCache = new Map<number, Float32Array>();
/** A symmetric positive definite n×n matrix: M Mᵀ / n + I. */
function spdMatrix(n: number): Float32Array {
  const cached = spdCache.get(n);
  if (cached) return cached;
  const m = randomData(n * n, n);
  const a = new Float32Array(n * n);
  tsGemmTransB(m, a, n);
  for (let i = 0; i < n; i++) a[i * n + i] += 1;
  spdCache.set(n, a);
  return a;
}
function tsGemmTransB(m: Float32Array, out: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let q = 0; q < n; q++) s += m[i * n + q] * m[j * n + q];
      out[i * n + j] = s / n;
      out[j * n + i] = s / n;
    }
  }
}

interface Row {
  section: string;
  name: string;
  flop: number;
  ms: Record<string, number>;
  /** CPU milliseconds per call: with other processes on the cores, flop/cpuMs shows kernel efficiency. */
  cpuMs: Record<string, number>;
}

function parse(argv: string[]): { devices?: string[]; reps: number; variants: boolean; skipTs: boolean } {
  const { values } = parseFlags(argv, {
    device: { type: "string" },
    reps: { type: "string", default: "5" },
    variants: { type: "boolean" },
    "skip-ts": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  if (values.device !== undefined && values.device !== "webgpu" && values.device !== "cpu") throw new UsageError(`--device '${values.device}': valid values are webgpu, cpu`);
  const reps = positiveIntegerFlag("reps", values.reps);
  return { devices: values.device ? [values.device] : undefined, reps, variants: values.variants ?? false, skipTs: values["skip-ts"] ?? false };
}

/** Seconds of one batched damped solve of every layer of the autoencoder (16 factors, 8 gradients). */
async function networkSolve(b: Backend, reps: number): Promise<Timing> {
  const spec: NetworkSpec = { sizes: SIZES, transfers: Array(SIZES.length - 2).fill("tanh"), loss: "bce" };
  const blocks = new KroneckerBlocks(b, spec);
  for (const block of blocks.blocks) {
    b.upload(block.inputAverage, spdMatrix(block.inputAverage.rows));
    b.upload(block.outputAverage, spdMatrix(block.outputAverage.rows));
  }
  const grads = allocLayersTogether(b, spec);
  grads.layers.forEach((g, l) => b.upload(g, randomData(g.rows * g.cols, 10 + l)));
  const directions = allocLayersTogether(b, spec);
  blocks.splitDamping();
  const timing = await timeBackend(b, reps, () => blocks.solve(grads, 0.03, directions));
  blocks.dispose();
  b.free(grads.parent);
  b.free(directions.parent);
  return timing;
}

export async function main(argv: string[]): Promise<void> {
  const { devices: wanted, reps, variants, skipTs } = parse(argv);
  const devices = wanted ?? (await availableBackends()).filter((d) => d === "webgpu" || d === "cpu");
  const backends: [string, Backend][] = [];
  for (const d of devices) backends.push([d, await createBackend({ device: d as "webgpu" | "cpu" })]);
  const columns = [...backends.map(([d]) => d), ...(skipTs ? [] : ["ts-f32"])];
  const rows: Row[] = [];
  const shapes = autoencoderShapes();

  for (const s of shapes) {
    const row: Row = { section: "gemm", name: s.name, flop: 2 * s.m * s.n * s.k, ms: {}, cpuMs: {} };
    for (const [d, b] of backends) {
      const [ar, ac] = s.transA ? [s.k, s.m] : [s.m, s.k];
      const [br, bc] = s.transB ? [s.n, s.k] : [s.k, s.n];
      const a = operand(b, ar, ac, s.padA, 1);
      const bb = operand(b, br, bc, s.padB, 2);
      const c = b.alloc(s.m, s.n);
      record(row, d, await timeBackend(b, reps, () => b.gemm(a, bb, c, { transA: s.transA, transB: s.transB })));
      for (const t of [a, bb, c]) if (t.offset === 0 && t.stride === t.cols) b.free(t);
    }
    if (!skipTs) {
      const a = randomData(s.m * s.k, 1);
      const bm = randomData(s.k * s.n, 2);
      const c = new Float32Array(s.m * s.n);
      record(row, "ts-f32", timeSync(1, () => tsGemm(a, bm, c, s.m, s.n, s.k)));
    }
    rows.push(row);
    printRow(row, columns);
  }

  for (const n of [785, 1001]) {
    const av = spdMatrix(n);
    const rhs = 1000;
    const solveFlop = 2 * n * n * rhs;
    const chol: Row = { section: "cholesky", name: `cholesky ${n}×${n}`, flop: n ** 3 / 3, ms: {}, cpuMs: {} };
    const left: Row = { section: "cholesky", name: `solves L, Lᵀ from the left (B ${n}×${rhs})`, flop: solveFlop, ms: {}, cpuMs: {} };
    const right: Row = { section: "cholesky", name: `solves Lᵀ, L from the right (B ${rhs}×${n})`, flop: solveFlop, ms: {}, cpuMs: {} };
    for (const [d, b] of backends) {
      const a = b.alloc(n, n);
      const l = b.alloc(n, n);
      b.upload(a, av);
      record(
        chol,
        d,
        await timeBackend(b, reps, () => {
          b.copy(a, l);
          b.cholesky(l);
        }),
      );
      const bl = b.alloc(n, rhs);
      const br = b.alloc(rhs, n);
      b.upload(bl, randomData(n * rhs, 3));
      b.upload(br, randomData(n * rhs, 4));
      record(
        left,
        d,
        await timeBackend(b, reps, () => {
          b.triangularSolve(l, bl, { side: "left", transpose: false });
          b.triangularSolve(l, bl, { side: "left", transpose: true });
        }),
      );
      record(
        right,
        d,
        await timeBackend(b, reps, () => {
          b.triangularSolve(l, br, { side: "right", transpose: true });
          b.triangularSolve(l, br, { side: "right", transpose: false });
        }),
      );
      for (const t of [a, l, bl, br]) b.free(t);
    }
    if (!skipTs) {
      const lts = av.slice();
      record(chol, "ts-f32", timeSync(1, () => tsCholesky(lts, n)));
      const bts = randomData(n * rhs, 3);
      const tsSolves = timeSync(1, () => {
        tsSolveLower(lts, bts, n, rhs);
        tsSolveUpperT(lts, bts, n, rhs);
      });
      record(left, "ts-f32", tsSolves);
      // X Lᵀ = B and X L = B are the left solves of the transposed systems: same loops, same cost.
      record(right, "ts-f32", tsSolves);
    }
    for (const r of [chol, left, right]) {
      rows.push(r);
      printRow(r, columns);
    }
  }

  const solveFlop = SIZES.slice(1).reduce((s, d, l) => {
    const q = SIZES[l] + 1;
    return s + (d ** 3 + q ** 3) / 3 + 4 * d * q * (d + q);
  }, 0);
  const whole: Row = { section: "cholesky", name: "damped solves of a whole update (16 factors, 8 layers, batched)", flop: solveFlop, ms: {}, cpuMs: {} };
  for (const [d, b] of backends) record(whole, d, await networkSolve(b, reps));
  rows.push(whole);
  printRow(whole, columns);

  const extras: Record<string, number> = {};
  const gpu = backends.find(([d]) => d === "webgpu");
  if (gpu && variants) {
    type Kind = { gemm: "register" | "tiled"; tile?: string; gemmInner?: "scalar" | "vec4"; splitK?: "auto" | "off" };
    const tiles = Object.keys(GEMM_TILES);
    const kinds: [string, Kind][] = [
      ["register", { gemm: "register" }],
      ...tiles.map((tile): [string, Kind] => [`tiled ${tile}`, { gemm: "tiled", tile }]),
      ...tiles.map((tile): [string, Kind] => [`vec4 ${tile}`, { gemm: "tiled", tile, gemmInner: "vec4" }]),
      ...(["4x4x16", "2x4x16"] as const).flatMap((tile): [string, Kind][] => [
        [`tiled ${tile} split-K auto`, { gemm: "tiled", tile, splitK: "auto" }],
        [`vec4 ${tile} split-K auto`, { gemm: "tiled", tile, gemmInner: "vec4", splitK: "auto" }],
      ]),
    ];
    console.log("\ngemm kernels on every shape of section 1 (ms; total GFLOP/s over the shapes)");
    console.log(`| shape | ${kinds.map(([k]) => k).join(" | ")} |`);
    console.log(`| --- | ${kinds.map(() => "---:").join(" | ")} |`);
    const totals = kinds.map(() => 0);
    let flop = 0;
    const variantBackends = await Promise.all(kinds.map(([, o]) => createWebGpuBackend(o)));
    for (const s of shapes) {
      flop += 2 * s.m * s.n * s.k;
      const cells: string[] = [];
      for (let v = 0; v < kinds.length; v++) {
        const b = variantBackends[v];
        const [ar, ac] = s.transA ? [s.k, s.m] : [s.m, s.k];
        const [br, bc] = s.transB ? [s.n, s.k] : [s.k, s.n];
        const a = operand(b, ar, ac, s.padA, 1);
        const bb = operand(b, br, bc, s.padB, 2);
        const c = b.alloc(s.m, s.n);
        const { ms } = await timeBackend(b, reps, () => b.gemm(a, bb, c, { transA: s.transA, transB: s.transB }));
        totals[v] += ms;
        cells.push(ms.toFixed(3));
        extras[`variant ${kinds[v][0]} ${s.name} ms`] = ms;
      }
      console.log(`| ${s.name} | ${cells.join(" | ")} |`);
    }
    console.log(`| all shapes, GFLOP/s | ${totals.map((ms) => (flop / ms / 1e6).toFixed(0)).join(" | ")} |`);
    kinds.forEach(([k], v) => (extras[`variant ${k} total ms`] = totals[v]));
    for (const b of variantBackends) b.dispose();
  }
  if (gpu) {
    const gemmOn = async (b: Backend) => {
      const a = operand(b, 1000, 784, 0, 1);
      const bb = operand(b, 784, 1000, 0, 2);
      const c = b.alloc(1000, 1000);
      const { ms, cpuMs } = await timeBackend(b, reps, () => b.gemm(a, bb, c));
      return { gflops: (2 * 1000 * 1000 * 784) / ms / 1e6, cores: cpuMs / ms };
    };
    const busy = await createWebGpuBackend({ calmPolling: false });
    const withBusy = await gemmOn(busy);
    busy.dispose();
    const withFix = await gemmOn(gpu[1]);
    extras.gemmGflopsBusyPolling = withBusy.gflops;
    extras.gemmGflopsCalmPolling = withFix.gflops;
    extras.coresBusyPolling = withBusy.cores;
    extras.coresCalmPolling = withFix.cores;
    const b = gpu[1];
    const t = b.alloc(1, 1);
    const dispatches = 2000;
    const dispatchTiming = await timeBackend(b, reps, () => {
      for (let i = 0; i < dispatches; i++) b.scale(1, t);
    });
    extras.usPerDispatch = (dispatchTiming.ms * 1000) / dispatches;
    const times: number[] = [];
    for (let r = 0; r < 20; r++) {
      const t0 = performance.now();
      b.scale(1, t);
      await b.download(t);
      times.push(performance.now() - t0);
    }
    extras.msSubmitAndWait = median(times);
    console.log(
      `\nwebgpu 1000×784×1000 gemm: ${withBusy.gflops.toFixed(2)} GFLOP/s with bun-webgpu's busy-wait polling (${withBusy.cores.toFixed(2)} cores busy), ` +
        `${withFix.gflops.toFixed(2)} GFLOP/s with the polling fix (${withFix.cores.toFixed(2)} cores)`,
    );
    console.log(`webgpu per-op overhead: ${extras.usPerDispatch.toFixed(1)} µs per dispatch (1×1 scale, ${dispatches} in one submit); submit + wait + 1-value read-back ${extras.msSubmitAndWait.toFixed(2)} ms`);
  }

  const outDir = join(import.meta.dir, "results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, "kernels.json"),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        reps,
        devices: Object.fromEntries(backends.map(([d, b]) => [d, b.info.device])),
        loadAverage: loadavg(),
        rows: rows.map((r) => ({
          ...r,
          gflops: Object.fromEntries(Object.entries(r.ms).map(([d, ms]) => [d, r.flop / ms / 1e6])),
          gflopPerCpuSecond: Object.fromEntries(Object.entries(r.cpuMs).map(([d, ms]) => [d, r.flop / ms / 1e6])),
        })),
        extras,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote bench/results/kernels.json`);
  for (const [, b] of backends) b.dispose();
}

function record(row: Row, device: string, t: Timing): void {
  row.ms[device] = t.ms;
  row.cpuMs[device] = t.cpuMs;
}

let headerPrinted = false;
/** One table row: per device the median ms, GFLOP/s, and GFLOP per CPU-second (robust to other load). */
function printRow(r: Row, columns: string[]): void {
  if (!headerPrinted) {
    const load = loadavg().map((x) => x.toFixed(2)).join(" ");
    console.log(`load average at start: ${load} (2 cores; "/cpu-s" = GFLOP per CPU-second of this process)\n`);
    console.log(`| kernel | ${columns.map((c) => `${c} ms | ${c} GFLOP/s | ${c} /cpu-s`).join(" | ")} |`);
    console.log(`| --- | ${columns.map(() => "---: | ---: | ---:").join(" | ")} |`);
    headerPrinted = true;
  }
  const cells = columns.map((c) => {
    const ms = r.ms[c];
    const cpu = r.cpuMs[c];
    return ms === undefined ? "– | – | –" : `${ms.toFixed(1)} | ${(r.flop / ms / 1e6).toFixed(2)} | ${(r.flop / cpu / 1e6).toFixed(2)}`;
  });
  console.log(`| ${r.name} | ${cells.join(" | ")} |`);
}
