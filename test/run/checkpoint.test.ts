// Checkpoint files: written by our safetensors writer, read back by an independent minimal reader
// written here from the format's description; and every bad --init file rejected by name.
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ModelFileError, modelMetadata, modelTensors, readModelWeights } from "../../src/nn/modelFile.ts";
import { readSafetensors, writeSafetensors, SafetensorsError } from "../../src/io/safetensors.ts";
import { initialWeights } from "../../src/nn/params.ts";
import { defaultSpec } from "../../src/nn/spec.ts";
import { tinySpec } from "../helpers/tinyNet.ts";

/** An independent reader: header length (u64 LE), JSON header, then little-endian float32 data. */
function independentRead(path: string): { header: Record<string, any>; tensor: (name: string) => Float32Array } {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString("utf8", 8, 8 + n));
  return {
    header,
    tensor(name) {
      const [a, b] = header[name].data_offsets as [number, number];
      const out = new Float32Array((b - a) / 4);
      for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(8 + n + a + 4 * i);
      return out;
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), "kfra-ckpt-"));

describe("model files", () => {
  const spec = tinySpec("bce", "tanh", [5, 4, 3, 5]);
  const weights = initialWeights(spec, 3).map((w) => w.map((v, i) => v + 0.01 * i));

  test("layers.{i}.weight (D_out × D_in) and layers.{i}.bias hold W̃ and the bias column", () => {
    const path = join(dir, "model.safetensors");
    writeSafetensors(path, modelTensors(spec, weights), modelMetadata(spec));
    const { header, tensor } = independentRead(path);
    expect(header.__metadata__).toEqual({ format: "kfra-webgpu model 1", arch: "5-4-3-5", transfers: "tanh,tanh", loss: "bce" });
    expect(header["layers.1.weight"].shape).toEqual([3, 4]);
    expect(header["layers.1.bias"].shape).toEqual([3]);
    expect(header["layers.1.weight"].dtype).toBe("F32");
    const w1 = tensor("layers.1.weight");
    const b1 = tensor("layers.1.bias");
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) expect(w1[i * 4 + j]).toBe(weights[1][i * 5 + j]);
      expect(b1[i]).toBe(weights[1][i * 5 + 4]);
    }
    expect(readModelWeights(path, spec)).toEqual(weights);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  test("a file for another network is rejected, naming the tensor and shapes", () => {
    const path = join(dir, "model.safetensors");
    writeSafetensors(path, modelTensors(spec, weights), modelMetadata(spec));
    expect(() => readModelWeights(path, tinySpec("bce", "tanh", [5, 6, 3, 5]))).toThrow(/layers.0.weight is 4×5, the network needs 6×5/);
    expect(() => readModelWeights(path, tinySpec("bce", "tanh", [5, 4, 5]))).toThrow(/layers.1.weight is 3×4, the network needs 5×4/);
    expect(() => readModelWeights(path, tinySpec("bce", "tanh", [5, 4, 3, 5, 5]))).toThrow(/missing tensor layers.3/);
    expect(() => readModelWeights(path, defaultSpec("curves"))).toThrow(ModelFileError);
  });

  test("truncated, corrupt and missing files give errors naming the file", () => {
    const good = readFileSync(join(dir, "model.safetensors"));
    const truncated = join(dir, "truncated.safetensors");
    writeFileSync(truncated, good.subarray(0, good.length - 10));
    expect(() => readSafetensors(truncated)).toThrow(SafetensorsError);
    expect(() => readSafetensors(truncated)).toThrow(/truncated.safetensors: tensor '.*' does not fit/);
    const corrupt = join(dir, "corrupt.safetensors");
    writeFileSync(corrupt, Buffer.concat([Buffer.from([16, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("{not json at all")]));
    expect(() => readSafetensors(corrupt)).toThrow(/corrupt.safetensors: the header is not valid JSON/);
    expect(() => readSafetensors(join(dir, "absent.safetensors"))).toThrow(/absent.safetensors: cannot read/);
    expect(existsSync(join(dir, "absent.safetensors"))).toBe(false);
  });
});
