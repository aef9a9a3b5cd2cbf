// `bun run bench <name> [flags]`: the benchmarks and analysis experiments, each a module
// bench/<name>.ts exporting `main(argv: string[]): Promise<void>` (it prints a table and writes
// bench/results/), and the sweep program's older names (src/sweep). Only the commands below are
// listed and run; bench/_*.ts are their shared parts.
import { join } from "node:path";
import { UsageError, runCli } from "../src/bench-internals.ts";

const COMMANDS: Record<string, string> = {
  step: "seconds per optimiser update by phase, with op counts (--profile: GPU time per kernel)",
  kernels: "throughput of the kernels a KFRA update spends its time in, per backend",
  "gemm-check": "every WebGPU tiled-gemm variant (tile, inner loop, split-K) against float64",
  blas: "the CPU backend's BLAS path against OpenBLAS called directly",
  data: "prep times, minibatch stream throughput and the trainer's data wait",
  "data-memory": "peak memory and speed of the stream, train and prep import on a file larger than the paper's sets",
  crosscheck: "the same updates on WebGPU and on the CPU backend, losses compared",
  direction: "the Kronecker-factored directions against the exact damped Gauss–Newton direction",
  alignment: "that alignment along a training run (paper appendix F.2)",
  "alignment-report": "the alignment files of several seeds as a report",
  damping: "what the greedy γ search sees along a training run",
  "damping-report": "the damping files as a report",
  "tied-damping": "a second-order run with γ tied to τ",
  sweep: "the same as `bun run sweep SPEC`",
  report: "the same as `bun run sweep report DIR`",
  status: "the same as `bun run sweep status`",
  worker: "the same as `bun run sweep worker`",
  collect: "the same as `bun run sweep collect`",
};

const usage = `usage: bun run bench <name> [flags]    (bun run bench <name> --help for its flags)\n\n${Object.entries(COMMANDS)
  .map(([name, what]) => `  ${name.padEnd(17)} ${what}`)
  .join("\n")}`;

const [name, ...rest] = process.argv.slice(2);
if (!name || name === "--help" || name === "-h") {
  console.log(usage);
  process.exit(name ? 0 : 1);
}
await runCli(`bench ${name}`, async () => {
  if (!Object.hasOwn(COMMANDS, name)) throw new UsageError(`unknown benchmark '${name}'; valid: ${Object.keys(COMMANDS).join(", ")}`);
  const module = await import(join(import.meta.dir, `${name}.ts`));
  await module.main(rest);
  // A benchmark that checks (crosscheck, gemm-check) reports failure through process.exitCode.
  return Number(process.exitCode ?? 0);
});
