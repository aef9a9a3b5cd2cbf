// `bun scripts/device-summary.ts DIR`: the summary table of scripts/device-check.sh, from the files
// it left in DIR (step-webgpu.json, step-cpu.json, pytorch.json, crosscheck.json, steps.tsv):
// seconds per update of the project on WebGPU and on its CPU backend beside plain PyTorch in fp32
// and TF32, per optimiser, with the adapter named. Writes DIR/summary.md and prints it.
// Imports only node builtins, so the offline bundle's Bun runs it straight from the checkout.
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

interface StepRow {
  opt: string;
  adapter: string;
  network: string;
  batch: number;
  medianSeconds: number;
  counts?: { medianSeconds: number; gflop: number; dispatches?: number; submits?: number; readBacks: number; waitedReadBacks?: number };
  /** Updates back to back as the trainer runs them (bench step since pipelined updates). */
  asInTraining?: { medianSeconds: number };
}
interface PytorchResult {
  opt: string;
  precision: string;
  medianSeconds: number;
}
interface Profile {
  opt: string;
  gpuMsPerUpdate: number;
  kernels: { label: string; msPerUpdate: number; share: number; countPerUpdate: number }[];
}
interface CrosscheckResult {
  opt: string;
  steps: number;
  largestRelativeLossDifference: number;
  tolerance: number;
  ok: boolean;
}

function readJson<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}

/** Kernel labels per optimiser shown from a profile. */
const PROFILE_ROWS = 8;

const sec = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(4));

/** The summary in Markdown, from the device check's output folder. */
export function summaryMarkdown(dir: string): string {
  const gpu = readJson<{ rows: StepRow[] }>(join(dir, "step-webgpu.json"))?.rows ?? [];
  const cpu = readJson<{ rows: StepRow[] }>(join(dir, "step-cpu.json"))?.rows ?? [];
  const torch = readJson<{ torch: string; device: string; sizes: number[]; batch: number; results: PytorchResult[] }>(join(dir, "pytorch.json"));
  const cross = readJson<{ results: CrosscheckResult[] }>(join(dir, "crosscheck.json"))?.results ?? [];
  const opts = [...new Set([...gpu.map((r) => r.opt), ...cpu.map((r) => r.opt), ...(torch?.results ?? []).map((r) => r.opt)])];
  const torchAt = (opt: string, precision: string) => torch?.results.find((r) => r.opt === opt && r.precision === precision)?.medianSeconds;
  const network = gpu[0]?.network ?? cpu[0]?.network ?? torch?.sizes.join("-") ?? "?";
  const batch = gpu[0]?.batch ?? cpu[0]?.batch ?? torch?.batch ?? "?";
  const lines: string[] = [];
  lines.push(`# Device check summary`, ``);
  lines.push(`- WebGPU adapter: ${gpu[0]?.adapter ?? "(no WebGPU result)"}`);
  lines.push(`- CPU backend: ${cpu[0]?.adapter ?? "(no CPU result)"}`);
  lines.push(`- PyTorch: ${torch ? `${torch.torch} on ${torch.device}` : "(not measured: see pytorch.log)"}`);
  lines.push(`- Network ${network}, batch ${batch}; seconds per update, median. "as in training": updates recorded back to back as the trainer runs them, one wait at the end (bench step's as-in-training pass; from older bench step files, its counted pass: each update alone, no phase waits); "phased": with a queue wait at each phase boundary.`);
  lines.push(``);
  lines.push(`| optimiser | project WebGPU, as in training | project WebGPU, phased | project CPU backend | PyTorch fp32 | PyTorch TF32 | WebGPU / PyTorch fp32 | GFLOP per update | dispatches / submits / read-backs (waited for) |`);
  lines.push(`| --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
  for (const opt of opts) {
    const g = gpu.find((r) => r.opt === opt);
    const c = cpu.find((r) => r.opt === opt);
    const fp32 = torchAt(opt, "fp32");
    const gpuSeconds = g?.asInTraining?.medianSeconds ?? g?.counts?.medianSeconds;
    const ratio = gpuSeconds !== undefined && fp32 ? `${(gpuSeconds / fp32).toFixed(1)}×` : "—";
    const gflop = (g ?? c)?.counts?.gflop;
    const k = g?.counts;
    const syncs = k && k.dispatches !== undefined ? `${k.dispatches.toFixed(0)} / ${k.submits?.toFixed(0)} / ${k.readBacks.toFixed(1)}${k.waitedReadBacks === undefined ? "" : ` (${k.waitedReadBacks.toFixed(1)})`}` : "—";
    lines.push(`| ${opt} | ${sec(gpuSeconds)} | ${sec(g?.medianSeconds)} | ${sec(c?.asInTraining?.medianSeconds ?? c?.counts?.medianSeconds ?? c?.medianSeconds)} | ${sec(fp32)} | ${sec(torchAt(opt, "tf32"))} | ${ratio} | ${gflop === undefined ? "—" : gflop.toFixed(2)} | ${syncs} |`);
  }
  if (cross.length > 0) {
    lines.push(``, `Cross-backend check (WebGPU against the CPU backend, same weights and batches):`);
    for (const r of cross) {
      lines.push(`- ${r.opt}, ${r.steps} updates: largest relative loss difference ${r.largestRelativeLossDifference.toExponential(2)} (tolerance ${r.tolerance}) ${r.ok ? "ok" : "FAILED"}`);
    }
  }
  for (const file of readdirSync(dir).filter((f) => /^profile-.*\.json$/.test(f))) {
    const doc = readJson<{ adapter: string; profiles: Profile[] }>(join(dir, file));
    for (const p of doc?.profiles ?? []) {
      lines.push(``, `GPU time of ${p.opt} on ${doc!.adapter} (bench step --profile): ${p.gpuMsPerUpdate.toFixed(2)} ms per update; top kernels:`, ``);
      lines.push(`| kernel | ms per update | share | count per update |`, `| --- | --- | --- | --- |`);
      for (const k of p.kernels.slice(0, PROFILE_ROWS)) {
        lines.push(`| ${k.label} | ${k.msPerUpdate.toFixed(3)} | ${(100 * k.share).toFixed(1)}% | ${k.countPerUpdate.toFixed(1)} |`);
      }
    }
  }
  const stepsFile = join(dir, "steps.tsv");
  if (existsSync(stepsFile)) {
    lines.push(``, `| step | status | exit | seconds |`, `| --- | --- | --- | --- |`);
    for (const line of readFileSync(stepsFile, "utf8").trim().split("\n")) {
      const [name, status, rc, seconds] = line.split("\t");
      if (name) lines.push(`| ${name} | ${status} | ${rc} | ${Number(seconds).toFixed(1)} |`);
    }
  }
  return `${lines.join("\n")}\n`;
}

if (import.meta.main) {
  const dir = process.argv[2];
  if (!dir || !existsSync(dir)) {
    console.error(`device-summary: give the device check's output folder (got '${dir ?? ""}')`);
    process.exit(2);
  }
  const text = summaryMarkdown(dir);
  writeFileSync(join(dir, "summary.md.tmp"), text);
  renameSync(join(dir, "summary.md.tmp"), join(dir, "summary.md"));
  process.stdout.write(text);
}
