// scripts/device-summary.ts: the device check's summary table from the files the check leaves.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { summaryMarkdown } from "../../scripts/device-summary.ts";

const step = (adapter: string, opt: string, phased: number, asTraining: number, gpu: boolean) => ({
  opt,
  adapter,
  network: "784-1000-500-250-30-250-500-1000-784",
  batch: 1000,
  medianSeconds: phased,
  counts: { medianSeconds: asTraining, gflop: 41.5, readBacks: 2, ...(gpu ? { dispatches: 3000, submits: 4, waitedReadBacks: 0 } : {}) },
});

describe("device summary", () => {
  it("puts the project's WebGPU and CPU seconds beside PyTorch fp32 and TF32, with the adapter named", () => {
    const dir = mkdtempSync(join(tmpdir(), "device-summary-"));
    writeFileSync(join(dir, "step-webgpu.json"), JSON.stringify({ rows: [step("nvidia-h200 (Vulkan)", "kfra", 0.3, 0.25, true)] }));
    writeFileSync(join(dir, "step-cpu.json"), JSON.stringify({ rows: [step("OpenBLAS", "kfra", 0.5, 0.45, false)] }));
    writeFileSync(
      join(dir, "pytorch.json"),
      JSON.stringify({ torch: "2.11", device: "NVIDIA H200", sizes: [784, 1000, 784], batch: 1000, results: [
        { opt: "kfra", precision: "fp32", medianSeconds: 0.025 },
        { opt: "kfra", precision: "tf32", medianSeconds: 0.02 },
      ] }),
    );
    writeFileSync(join(dir, "crosscheck.json"), JSON.stringify({ results: [{ opt: "kfra", steps: 12, largestRelativeLossDifference: 2e-6, tolerance: 1e-3, ok: true }] }));
    writeFileSync(
      join(dir, "profile-nvidia-h200.json"),
      JSON.stringify({ adapter: "nvidia-h200", profiles: [{ opt: "kfra", gpuMsPerUpdate: 300, kernels: [{ label: "cholesky diagonal block", msPerUpdate: 120, share: 0.4, countPerUpdate: 250 }] }] }),
    );
    writeFileSync(join(dir, "steps.tsv"), "smoke\tok\t0\t1.5\npytorch\ttimed out\t124\t90.0\n");
    const md = summaryMarkdown(dir);
    expect(md).toContain("WebGPU adapter: nvidia-h200 (Vulkan)");
    expect(md).toContain("PyTorch: 2.11 on NVIDIA H200");
    expect(md).toContain("| kfra | 0.2500 | 0.3000 | 0.4500 | 0.0250 | 0.0200 | 10.0× | 41.50 | 3000 / 4 / 2.0 (0.0) |");
    expect(md).toContain("largest relative loss difference 2.00e-6 (tolerance 0.001) ok");
    expect(md).toContain("| pytorch | timed out | 124 | 90.0 |");
    expect(md).toContain("GPU time of kfra on nvidia-h200 (bench step --profile): 300.00 ms per update");
    expect(md).toContain("| cholesky diagonal block | 120.000 | 40.0% | 250.0 |");
  });

  it("takes bench step's as-in-training pass (updates back to back) over its counted pass when the file has it", () => {
    const dir = mkdtempSync(join(tmpdir(), "device-summary-"));
    writeFileSync(join(dir, "step-webgpu.json"), JSON.stringify({ rows: [{ ...step("nvidia-h200 (Vulkan)", "adam", 0.006, 0.0045, true), asInTraining: { medianSeconds: 0.003 } }] }));
    expect(summaryMarkdown(dir)).toContain("| adam | 0.0030 | 0.0060 |");
  });

  it("marks what is missing instead of failing", () => {
    const md = summaryMarkdown(mkdtempSync(join(tmpdir(), "device-summary-")));
    expect(md).toContain("(no WebGPU result)");
    expect(md).toContain("(not measured: see pytorch.log)");
  });
});
