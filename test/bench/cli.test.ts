// `bun run bench`: the commands it lists are the ones it runs (no module that cannot run), a bad
// name or flag is one line with exit 1, and bench step's defaults are train's (the settings table).
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const bench = (args: string[]) => spawnSync(process.execPath, ["bench/cli.ts", ...args], { encoding: "utf8", timeout: 60_000 });

describe("bun run bench", () => {
  it("lists the benchmarks, experiments and the sweep's older names, and nothing that cannot run", () => {
    const run = bench(["--help"]);
    expect(run.status).toBe(0);
    const names = run.stdout.split("\n").filter((l) => l.startsWith("  ")).map((l) => l.trim().split(/\s+/)[0]);
    expect(names).toEqual(expect.arrayContaining(["step", "kernels", "gemm-check", "blas", "data", "crosscheck", "alignment", "damping", "sweep", "report"]));
    expect(names).not.toContain("session");
    expect(names).not.toContain("sweep-spec");
  });

  it("refuses a name it does not list in one line, exit 1", () => {
    const run = bench(["session"]);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/^bench session: unknown benchmark 'session'; valid: step, kernels, gemm-check, /);
  });

  it("bench step defaults to train's preset, from the settings table", () => {
    const run = bench(["step", "--help"]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/--preset P +fixed \| adaptive \(default fixed, as train;/);
  });

  it("bench gemm-check names a variant it cannot read before touching a GPU", () => {
    const run = bench(["gemm-check", "--variants", "3x3x3:scalar:off"]);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^bench gemm-check: --variants: '3x3x3:scalar:off' is not TILE:INNER:SPLIT with TILE one of 4x4x16, /)]);
  });
});
