// `bun run smoke`: prints the WebGPU adapter, runs one gemm and checks it against plain
// TypeScript. Exit 0 on success, 1 on a wrong result, 2 (one line) when no usable adapter exists.
import { createWebGpuBackend } from "../backend/webgpu/index.ts";
import { parseFlags } from "../flags.ts";
import { runCli } from "./runCli.ts";

const HELP = `usage: bun run smoke

Prints the WebGPU adapter (name, vendor, architecture, backend, software or hardware), runs a
257×129×65 gemm on it and compares the result with plain TypeScript.
Exit status: 0 ok, 1 wrong result, 2 no usable GPU adapter.
Env: KFRA_FORCE_NULL_ADAPTER=1 treats the adapter as Dawn's null backend (tests the refusal).`;

async function main(argv: string[]): Promise<number> {
  if (parseFlags(argv, { help: { type: "boolean", short: "h" } }).values.help) {
    console.log(HELP);
    return 0;
  }
  const backend = await createWebGpuBackend();
  const a = backend.adapter;
  console.log(`adapter: ${a.name}`);
  console.log(`  vendor ${a.vendor || "?"}, architecture ${a.architecture || "?"}, backend ${a.backend}, type ${a.adapterType}`);
  console.log(`  ${a.software ? "software (CPU) implementation" : "hardware GPU"}; ${a.description}`);

  const [m, n, k] = [257, 129, 65];
  const av = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
  const bv = Float32Array.from({ length: k * n }, (_, i) => Math.cos(3 * i));
  const ta = backend.alloc(m, k);
  const tb = backend.alloc(k, n);
  const tc = backend.alloc(m, n);
  backend.upload(ta, av);
  backend.upload(tb, bv);
  const start = performance.now();
  backend.gemm(ta, tb, tc);
  const got = await backend.download(tc);
  const ms = performance.now() - start;
  // Allowed error per entry: k·2⁻²³·Σ|a||b| (float32 dot product of length k).
  let worst = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let mag = 0;
      for (let q = 0; q < k; q++) {
        s += av[i * k + q] * bv[q * n + j];
        mag += Math.abs(av[i * k + q] * bv[q * n + j]);
      }
      worst = Math.max(worst, Math.abs(got[i * n + j] - s) / (k * 2 ** -23 * mag + 1e-30));
    }
  }
  backend.dispose();
  const ok = worst <= 1;
  console.log(`gemm ${m}×${n}×${k}: ${ok ? "ok" : "WRONG"} (worst error ${(worst * 100).toFixed(1)}% of the float32 bound, ${ms.toFixed(1)} ms including first compile)`);
  return ok ? 0 : 1;
}

await runCli("smoke", () => main(process.argv.slice(2)));
