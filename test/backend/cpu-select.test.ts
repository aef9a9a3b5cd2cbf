// Backend selection: the --device flag parser and the `auto` rule, fed fake adapter infos (what
// bun-webgpu reports for lavapipe, SwiftShader, an NVIDIA card, ...) so no adapter is opened.
import { describe, expect, test } from "vitest";
import {
  adapterProbeFromInfo,
  type BlasProbe,
  chooseAutoDevice,
  createBackend,
  DEVICE_FLAGS,
  parseDevice,
  UnknownDeviceError,
} from "../../src/backend/index.ts";
import { MissingBlasError } from "../../src/backend/cpu/openblas.ts";
import { isSoftwareAdapter } from "../../src/backend/webgpu/device/adapter.ts";

const blasOk: BlasProbe = { ok: true };
const blasMissing: BlasProbe = { ok: false, error: new MissingBlasError(["libopenblas.so.0"], "not found") };

const LAVAPIPE = { vendor: "mesa", architecture: "", device: "llvmpipe (LLVM 19.1.7, 256 bits)", description: "Mesa 25.0.7", adapterType: 3 };
const SWIFTSHADER = { vendor: "google", architecture: "", device: "SwiftShader Device (Subzero)", description: "", adapterType: 3 };
const NVIDIA = { vendor: "nvidia", architecture: "hopper", device: "NVIDIA H100 80GB HBM3", description: "NVIDIA: 550.54", adapterType: 1 };
const INTEGRATED = { vendor: "intel", architecture: "gen-12lp", device: "Intel(R) UHD Graphics 770", description: "", adapterType: 2 };

describe("parseDevice", () => {
  test.each(DEVICE_FLAGS)("accepts %s", (flag) => {
    expect(parseDevice(flag)).toBe(flag);
  });
  test("is case-insensitive and defaults to auto", () => {
    expect(parseDevice("CPU")).toBe("cpu");
    expect(parseDevice(undefined)).toBe("auto");
  });
  test("rejects unknown values, listing the valid ones", () => {
    expect(() => parseDevice("gpu")).toThrow(UnknownDeviceError);
    expect(() => parseDevice("gpu")).toThrow("--device: unknown value 'gpu'; valid: auto, webgpu, cpu, reference");
  });
});

describe("auto", () => {
  test.each([
    ["an NVIDIA card", NVIDIA],
    ["an integrated GPU", INTEGRATED],
  ])("takes webgpu on %s, silently", (_, info) => {
    expect(chooseAutoDevice(adapterProbeFromInfo(info, isSoftwareAdapter), blasOk)).toEqual({ device: "webgpu" });
  });

  test.each([
    ["lavapipe", LAVAPIPE, "llvmpipe"],
    ["SwiftShader", SWIFTSHADER, "SwiftShader"],
  ])("takes cpu when the only adapter is %s, with one line naming it and why", (_, info, name) => {
    const choice = chooseAutoDevice(adapterProbeFromInfo(info, isSoftwareAdapter), blasOk);
    expect(choice.device).toBe("cpu");
    expect(choice.notice).toContain(name);
    expect(choice.notice).toContain("software");
    expect(choice.notice).not.toContain("\n");
  });

  test("takes cpu when there is no adapter, saying why", () => {
    const choice = chooseAutoDevice(adapterProbeFromInfo(null, isSoftwareAdapter), blasOk);
    expect(choice.device).toBe("cpu");
    expect(choice.notice).toMatch(/no usable WebGPU adapter/);
  });

  test("falls back to the software adapter when OpenBLAS is missing", () => {
    const choice = chooseAutoDevice(adapterProbeFromInfo(LAVAPIPE, isSoftwareAdapter), blasMissing);
    expect(choice.device).toBe("webgpu");
    expect(choice.notice).toContain("apt-get install libopenblas0-pthread");
  });

  test("raises MissingBlasError when there is neither an adapter nor OpenBLAS", () => {
    expect(() => chooseAutoDevice({ kind: "none", reason: "no GPU adapter found" }, blasMissing)).toThrow(MissingBlasError);
  });
});

describe("createBackend", () => {
  test("cpu and reference are created without touching WebGPU", async () => {
    expect((await createBackend({ device: "cpu", threads: 1 })).info.name).toBe("cpu");
    expect((await createBackend({ device: "reference" })).info.name).toBe("reference");
  });
  test("cpu with a bogus OpenBLAS path raises MissingBlasError", async () => {
    await expect(createBackend({ device: "cpu", openblasPath: "/nonexistent/libopenblas.so" })).rejects.toThrow(MissingBlasError);
  });
});
