// train --data F --targets COLUMN --loss softmax (CPU backend, a small network): K from the labels or
// --classes, the whole-set error falls for each method, and labels the loss cannot read stop the run
// with one line naming the file, column, row and value.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { encodeTable } from "../../data-prep/table-writer.ts";
import { seedKey, threefry2x32, wordToUniform } from "../../src/backend/random.ts";
import { parseTrainArgs } from "../../src/run/config.ts";
import { trainFromConfig as train } from "../../src/cli/plan.ts";
import { DataError } from "../../src/data/dataset.ts";
import { checkTargets, classCount } from "../../src/data/targets.ts";
import { readMetrics, type EvalRecord } from "../../src/run/metrics.ts";
import { main as classifyAccuracy } from "../../examples/classify-accuracy.ts";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { networkFor } from "../../src/run/network.ts";

const root = mkdtempSync(join(tmpdir(), "kfra-softmax-train-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const N = 384, D = 4;
// Features uniform in [−1, 1]; the class is the index of the largest of x₀, x₁, x₂ (K = 3).
const [k0, k1] = seedKey(5);
const x = Float64Array.from({ length: N * D }, (_, i) => 2 * wordToUniform(threefry2x32(k0, k1, i, 0)[0]) - 1);
const labels = Float32Array.from({ length: N }, (_, r) => {
  const f = x.subarray(r * D, r * D + 3);
  return f.indexOf(Math.max(...f));
});
const file = (name: string, y: Float32Array) => {
  const path = join(root, `${name}.arrow`);
  writeFileSync(path, encodeTable({ values: x, width: D }, { values: y, width: 1 }));
  return path;
};
const good = file("classes", labels);
const withLabel = (row: number, value: number) => {
  const y = labels.slice();
  y[row] = value;
  return y;
};
const fractional = file("fractional", withLabel(17, 1.5));
const negative = file("negative", withLabel(3, -1));

const args = (out: string, ...extra: string[]) =>
  parseTrainArgs(["--hidden", "8", "--batch", "64", "--device", "cpu", "--quiet", "--eval-every", "20", "--save-every", "0", ...(extra.includes("--steps") ? [] : ["--steps", "20"]), "--out", join(root, out), ...extra]);

function evals(out: string): EvalRecord[] {
  return readMetrics(join(root, out, "metrics.ndjson")).filter((r): r is EvalRecord => r.type === "eval");
}

function modelMetadata(out: string): Record<string, string> {
  const bytes = readFileSync(join(root, out, "model.safetensors"));
  const size = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size))).__metadata__;
}

describe("train --data --loss softmax", () => {
  // 20 updates of a D-8-3 network on a separable 3-class problem: the mean cross-entropy starts near
  // log 3 ≈ 1.1; every method must cut it by at least a fifth (a floor that a broken gradient, factor
  // or step size does not pass). Adam at its default rate 1e-4 moves too little in 20 updates: 1e-2.
  test.each(["kfra", "kflr", "kfac", "adam"])("%s: K = 3 from the labels, and the whole-set error falls", async (opt) => {
    const out = `softmax-${opt}`;
    const result = await train(args(out, "--data", good, "--targets", "targets", "--loss", "softmax", "--opt", opt, ...(opt === "adam" ? ["--lr", "0.01"] : [])));
    expect(result.steps).toBe(20);
    const [first, last] = [evals(out)[0], evals(out).at(-1)!];
    expect(last.train).toBeLessThan(0.8 * first.train);
    expect(modelMetadata(out)).toMatchObject({ arch: `${D}-8-3`, loss: "softmax" });
    // The saved model through examples/classify-accuracy.ts: argmax of the outputs against the labels
    // (chance is about 1/3; a second-order method gets most of this separable problem in 20 updates).
    if (opt === "kfra") expect(await classifyAccuracy({ model: join(root, out, "model.safetensors"), data: good, targets: "targets", device: "cpu" })).toBeGreaterThan(0.8);
  });

  test("--classes K sets the outputs; labels at or past K are refused", async () => {
    await train(args("five", "--data", good, "--targets", "targets", "--loss", "softmax", "--classes", "5", "--steps", "2"));
    expect(modelMetadata("five")).toMatchObject({ arch: `${D}-8-5` });
    const row = labels.indexOf(2);
    await expect(train(args("two", "--data", good, "--targets", "targets", "--loss", "softmax", "--classes", "2"))).rejects.toThrow(
      new RegExp(`classes\\.arrow: column 'targets': row ${row} is 2; the softmax loss needs integer labels 0 … 1 \\(2 classes\\); the network has 2 outputs`),
    );
    expect(existsSync(join(root, "two", "model.safetensors"))).toBe(false);
  });

  test("non-integer and negative labels stop the run with the file, column, row and value", async () => {
    await expect(train(args("frac", "--data", fractional, "--targets", "targets", "--loss", "softmax"))).rejects.toThrow(
      /fractional\.arrow: column 'targets': row 17 is 1\.5; the softmax loss needs integer labels 0 … 2 \(3 classes\)$/,
    );
    await expect(train(args("neg", "--data", negative, "--targets", "targets", "--loss", "softmax"))).rejects.toThrow(DataError);
    await expect(train(args("neg2", "--data", negative, "--targets", "targets", "--loss", "softmax"))).rejects.toThrow(/negative\.arrow: column 'targets': row 3 is -1;/);
  });

  test("flags that do not fit softmax are refused before anything runs", () => {
    expect(() => parseTrainArgs(["--data", good, "--loss", "softmax"])).toThrow(/--loss softmax needs --targets COLUMN/);
    expect(() => parseTrainArgs(["--data", good, "--targets", "targets", "--classes", "3"])).toThrow(/--classes 3 is read only with --data FILE --loss softmax/);
    expect(() => parseTrainArgs(["--task", "classify", "--dataset", "mnist", "--classes", "10"])).toThrow(/--task classify has MNIST's 10 digits/);
    expect(() => parseTrainArgs(["--data", good, "--task", "classify"])).toThrow(/--task classify is MNIST's/);
    expect(() => parseTrainArgs(["--task", "classify", "--dataset", "curves"])).toThrow(/--task classify needs --dataset mnist/);
    expect(() => parseTrainArgs(["--data", good, "--targets", "targets", "--loss", "softmax", "--classes", "1"])).toThrow(/--classes/);
  });
});

describe("--task classify", () => {
  test("is MNIST's 784-1000-500-250-30-10 tanh softmax network (MNIST without --dataset); --hidden changes the middle", () => {
    const config = parseTrainArgs(["--task", "classify"]);
    expect(config.dataset).toBe("mnist");
    expect(networkFor(config)).toEqual({ sizes: [784, 1000, 500, 250, 30, 10], transfers: Array(4).fill("tanh"), loss: "softmax" });
    expect(networkFor(parseTrainArgs(["--task", "classify", "--hidden", "64"])).sizes).toEqual([784, 64, 10]);
    expect(() => networkFor(parseTrainArgs(["--task", "classify", "--loss", "bce"]))).toThrow(/--task classify uses the softmax loss, got --loss bce/);
  });

  test("trains on the prepared files' digit labels, held-out error included", async () => {
    const dataDir = join(root, "mnist-data");
    await prepareDataset("mnist", { out: dataDir, count: 300, quiet: true });
    const out = "digits";
    await train(parseTrainArgs(["--task", "classify", "--data-dir", dataDir, "--hidden", "16", "--batch", "100", "--steps", "10", "--eval-every", "10", "--save-every", "0", "--device", "cpu", "--quiet", "--out", join(root, out)]));
    const [first, last] = [evals(out)[0], evals(out).at(-1)!];
    // Ten classes: the error starts near log 10 ≈ 2.3 and ten KFRA updates cut it well below.
    expect(first.train).toBeGreaterThan(1.5);
    expect(last.train).toBeLessThan(0.8 * first.train);
    expect(last.heldOut).toBeLessThan(first.heldOut!);
    expect(modelMetadata(out)).toMatchObject({ arch: "784-16-10", loss: "softmax" });
  });
});

describe("softmax targets", () => {
  test("checkTargets takes integers in [0, K) and names the first bad one; a multi-value column is refused", () => {
    const column = { name: "label", width: 1 };
    expect(() => checkTargets("f.arrow", "softmax", [0, 2, 1], column, 3)).not.toThrow();
    expect(() => checkTargets("f.arrow", "softmax", [0, 3, 1], column, 3)).toThrow("f.arrow: column 'label': row 1 is 3; the softmax loss needs integer labels 0 … 2 (3 classes); the network has 3 outputs (give --classes K for more)");
    expect(() => checkTargets("f.arrow", "softmax", [0, 1, 0.25], column, 3)).toThrow(/row 2 is 0\.25/);
    expect(() => checkTargets("f.arrow", "softmax", [0, 1], { name: "y", width: 2 }, 3)).toThrow(/column 'y' holds 2 values per row/);
  });

  test("K from the labels is the largest + 1, at least 2", () => {
    expect(classCount([0, 4, 2])).toBe(5);
    expect(classCount([0, 0])).toBe(2);
  });
});
