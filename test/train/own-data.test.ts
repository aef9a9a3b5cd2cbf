// train --data on one's own Arrow files (CPU backend, small networks): the four tasks learn, the
// network's sizes follow the file, supervised targets reach the loss in the right layout, and bad
// combinations stop with one clear message.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { encodeTable } from "../../data-prep/table-writer.ts";
import { createBackend } from "../../src/backend/index.ts";
import { seedKey, threefry2x32, wordToUniform } from "../../src/backend/random.ts";
import { DataError } from "../../src/data/dataset.ts";
import { forward } from "../../src/nn/forward.ts";
import { allocLayers, uploadLayers } from "../../src/nn/params.ts";
import { BatchWorkspace } from "../../src/nn/workspace.ts";
import { parseTrainArgs } from "../../src/run/config.ts";
import { UsageError } from "../../src/errors.ts";
import { readMetrics, type EvalRecord } from "../../src/run/metrics.ts";
import { trainFromConfig as train } from "../../src/cli/plan.ts";

const root = mkdtempSync(join(tmpdir(), "kfra-own-train-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const N = 512, D = 6;
// Features: uniform in [−1, 1]; regression targets (x₀ + x₁/2, x₂x₃); labels 1 when x₀ + x₁ > 0.
const [k0, k1] = seedKey(11);
const x = Float64Array.from({ length: N * D }, (_, i) => 2 * wordToUniform(threefry2x32(k0, k1, i, 0)[0]) - 1);
const regression = new Float32Array(N * 2), labels = new Float32Array(N), multi = new Float32Array(N * 2);
for (let r = 0; r < N; r++) {
  const f = x.subarray(r * D, r * D + D);
  regression[2 * r] = f[0] + f[1] / 2;
  regression[2 * r + 1] = f[2] * f[3];
  labels[r] = f[0] + f[1] > 0 ? 1 : 0;
  multi[2 * r] = labels[r];
  multi[2 * r + 1] = f[4] > 0 ? 1 : 0;
}
const file = (name: string, targets?: Float32Array, width = 1) => {
  const path = join(root, `${name}.arrow`);
  writeFileSync(path, encodeTable({ values: x, width: D }, targets ? { values: targets, width } : undefined));
  return path;
};
const plain = file("plain");
// The same rows in another file: train refuses --valid naming the --data file itself.
const plainAgain = file("plain-again");
const reg = file("regression", regression, 2);
const cls = file("labels", labels);
const multiLabel = file("multi", multi, 2);

const args = (out: string, ...extra: string[]) =>
  parseTrainArgs([...(extra.includes("--arch") ? [] : ["--hidden", "12"]), "--batch", "64", "--device", "cpu", "--quiet", "--eval-every", "30", "--save-every", "0", "--steps", "30", "--out", join(root, out), ...extra]);

function evals(out: string): EvalRecord[] {
  return readMetrics(join(root, out, "metrics.ndjson")).filter((r): r is EvalRecord => r.type === "eval");
}

describe("train --data", () => {
  test.each([
    ["autoencoder (sse, the default for float features)", "ae", ["--data", plain, "--valid", plainAgain], [D, 12, D], "sse"],
    ["regression (sse)", "reg", ["--data", reg, "--targets", "targets"], [D, 12, 2], "sse"],
    ["binary classifier (bce)", "bce", ["--data", cls, "--targets", "targets", "--loss", "bce"], [D, 12, 1], "bce"],
    ["multi-label (bce)", "multi", ["--data", multiLabel, "--targets", "targets", "--loss", "bce"], [D, 12, 2], "bce"],
    ["mixture classifier", "mixture", ["--data", cls, "--targets", "targets", "--loss", "mixture"], [D, 12, 3], "mixture"],
  ])("%s: sizes follow the file, and the whole-set error falls", async (_, out, flags, sizes, loss) => {
    const result = await train(args(out, ...(flags as string[])));
    expect(result.steps).toBe(30);
    const config = JSON.parse(await Bun.file(join(root, out, "config.json")).text());
    expect(config.task).toBe(out === "ae" ? "autoencoder" : "supervised");
    const [first, last] = [evals(out)[0], evals(out).at(-1)!];
    expect(last.train).toBeLessThan(0.8 * first.train);
    if (out === "ae") expect(last.heldOut).toBeCloseTo(last.train, 5); // the held-out file holds the training rows
    else expect(last.heldOut).toBeUndefined();
    const model = await Bun.file(join(root, out, "model.safetensors")).arrayBuffer();
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(model, 8, Number(new DataView(model).getBigUint64(0, true)))));
    expect(header.__metadata__).toMatchObject({ arch: (sizes as number[]).join("-"), loss });
  });

  test("multi-column targets reach the loss sample by sample: ½Σ(Wx + b − y)² of a linear layer, computed by hand", async () => {
    // The workspace takes targets sample-per-row (N × K) and must transpose them into K × N.
    const backend = await createBackend({ device: "cpu" });
    const spec = { sizes: [3, 2], transfers: [], loss: "sse" as const };
    const ws = new BatchWorkspace(backend, spec, 4);
    const weights = allocLayers(backend, spec);
    const W = [0.5, -1, 2, 0.1, 0.3, 0.2, -0.4, 1]; // 2 × (3 + 1): the bias is the last column
    uploadLayers(backend, weights, [W]);
    const xs = [1, 2, 3, -1, 0, 1, 0.5, 0.5, 0.5, 2, -2, 0];
    const ys = [1, 0, 0, 1, 2, 2, -1, 3];
    ws.loadBatch(xs, ys);
    forward(backend, spec, weights, ws, false);
    backend.lossValue("sse", ws.output, ws.target, ws.lossPerSample);
    const got = await backend.download(ws.lossPerSample);
    for (let n = 0; n < 4; n++) {
      let e = 0;
      for (let i = 0; i < 2; i++) {
        const h = W[4 * i] * xs[3 * n] + W[4 * i + 1] * xs[3 * n + 1] + W[4 * i + 2] * xs[3 * n + 2] + W[4 * i + 3];
        e += 0.5 * (h - ys[2 * n + i]) ** 2;
      }
      // float32 products and sums of O(1) values: relative error a few ulps.
      expect(got[n]).toBeCloseTo(e, 5);
    }
    ws.dispose();
    backend.dispose();
  });

  test("bad combinations stop with one message naming the flag, file, column or row", async () => {
    expect(() => parseTrainArgs(["--targets", "y"])).toThrow(/--targets needs --data FILE/);
    expect(() => parseTrainArgs(["--data", plain, "--dataset", "mnist"])).toThrow(UsageError);
    expect(() => parseTrainArgs(["--data", plain, "--loss", "mixture"])).toThrow(/--loss mixture needs --targets COLUMN/);
    expect(() => parseTrainArgs(["--data", plain, "--hidden", "4", "--arch", "6-4-6"])).toThrow(/--arch and --hidden/);
    await expect(train(args("bad-bce", "--data", reg, "--targets", "targets", "--loss", "bce"))).rejects.toThrow(DataError);
    await expect(train(args("bad-bce2", "--data", reg, "--targets", "targets", "--loss", "bce"))).rejects.toThrow(/regression\.arrow: column 'targets': value \d of row \d+ is -?[\d.e-]+; the bce loss needs targets in \[0, 1\]/);
    await expect(train(args("bad-mix", "--data", reg, "--targets", "targets", "--loss", "mixture"))).rejects.toThrow(/the mixture loss needs one 0\/1 label per row; the target column holds 2 values per row/);
    await expect(train(args("bad-arch", "--data", reg, "--targets", "targets", "--arch", "6-12-3"))).rejects.toThrow(/output size 3 does not match the target column's 2 values per row/);
    await expect(train(args("bad-valid", "--data", reg, "--targets", "targets", "--valid", cls))).rejects.toThrow(/labels\.arrow: --valid has 6 features and 1 targets per row, --data 6 and 2/);
    await expect(train(args("bad-col", "--data", plain, "--targets", "label"))).rejects.toThrow(/plain\.arrow: no target column 'label' \(--targets\); columns: features/);
  });
});
