// bench crosscheck: the comparison it gates on, and one short run on both backends of this machine.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { largestRelativeDifference } from "../../bench/crosscheck.ts";

describe("bench crosscheck", () => {
  it("measures the largest relative difference against the CPU sequence, non-finite as infinite", () => {
    expect(largestRelativeDifference([1, 2.002, 3], [1, 2, 3])).toBeCloseTo(1e-3, 12);
    expect(largestRelativeDifference([1, Number.NaN], [1, 2])).toBe(Number.POSITIVE_INFINITY);
    expect(largestRelativeDifference([5, 6], [5, 6])).toBe(0);
  });

  it("runs KFRA on WebGPU and OpenBLAS from the same weights and batches and agrees within 1e-3", () => {
    const out = join(mkdtempSync(join(tmpdir(), "crosscheck-")), "crosscheck.json");
    const run = spawnSync(process.execPath, ["bench/cli.ts", "crosscheck", "--arch", "784-16-8-16-784", "--batch", "50", "--steps", "3", "--out", out], {
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(readFileSync(out, "utf8")).results[0];
    expect(result.webgpu.losses).toHaveLength(3);
    expect(result.cpu.losses).toHaveLength(3);
    expect(result.largestRelativeLossDifference).toBeLessThan(1e-3);
    expect(run.stdout).toContain("largest relative loss difference");
  });

  it("refuses a bad flag in one line with exit status 1", () => {
    const run = spawnSync(process.execPath, ["bench/cli.ts", "crosscheck", "--steps", "0"], { encoding: "utf8", timeout: 60_000 });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual(["bench crosscheck: --steps '0': expected a positive integer"]);
  });
});
