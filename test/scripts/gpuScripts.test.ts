// The offline-GPU scripts refuse bad input in one line before doing any work (building the bundle
// takes minutes, so the build itself is exercised by hand: README "On an offline GPU machine").
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const bash = (args: string[]) => spawnSync("bash", args, { encoding: "utf8", timeout: 30_000 });

describe("scripts/gpu-bundle.sh", () => {
  it("names an unknown flag and exits 2", () => {
    const run = bash(["scripts/gpu-bundle.sh", "--fast"]);
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe("gpu-bundle: unknown flag '--fast'; valid: --data LIST, --prep, --no-blas, --skip-debs, --help");
  });

  it("names an unknown dataset before building anything", () => {
    const run = bash(["scripts/gpu-bundle.sh", "--data", "curves,imagenet"]);
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe("gpu-bundle: --data: unknown dataset 'imagenet'; valid: curves, mnist, faces");
  });

  it("passes its syntax check, as do run.sh and the device check", () => {
    for (const script of ["scripts/gpu-bundle.sh", "scripts/device-bundle-run.sh", "scripts/device-check.sh"]) {
      expect(bash(["-n", script]).status, script).toBe(0);
    }
  });
});

describe("scripts/device-check.sh", () => {
  it("names an unknown flag and exits 2", () => {
    const run = bash(["scripts/device-check.sh", "--big"]);
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe("device-check: unknown flag '--big'; valid: --small, --help");
  });
});
