// bench/reference/pytorch_step.py, the plain PyTorch baseline run on GPU machines: PyTorch is not
// installed here, so the script is compiled, and its maths is run in float64 on a tiny network with
// a NumPy stand-in for torch (test/bench/pytorch_reference_check.py: gradient and R-op against
// central differences, the KFRA recursion element by element, the damped solves, a falling loss).
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const hasNumpy = spawnSync("python3", ["-c", "import numpy"]).status === 0;

describe("PyTorch reference script", () => {
  it("compiles", () => {
    const run = spawnSync("python3", ["-m", "py_compile", "bench/reference/pytorch_step.py"], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
  });

  it.skipIf(!hasNumpy)("computes the gradient, R-op, KFRA factors and damped directions it claims", () => {
    const run = spawnSync("python3", ["test/bench/pytorch_reference_check.py"], { encoding: "utf8", timeout: 60_000 });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("all checks passed");
  });
});
