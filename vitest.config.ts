import { defineConfig } from "vitest/config";

// Run inside Bun (`bun --bun vitest run`): bun:ffi (OpenBLAS, Dawn) is not available under Node.
// The vm* pools fail with bun-webgpu, so test files run in forked processes: two at a time (most
// files wait on the `bun` processes they start, so two keep these 2-core machines busy), each fork
// running its files one after another with the modules it has loaded (isolate: false; no test
// file changes process-wide state that another could see).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    isolate: false,
    poolOptions: { forks: { singleFork: false, maxForks: 2, minForks: 1 } },
    // The chart `train` draws at the end of a run takes a third of a small run's time; only the test
    // that checks it (test/cli/terminal.test.ts) draws one. One OpenBLAS thread per process: two
    // forks, each with its `bun` children, already fill both cores, and idle BLAS threads spin.
    env: { KFRA_NO_RUN_CHART: "1", OPENBLAS_NUM_THREADS: "1" },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
