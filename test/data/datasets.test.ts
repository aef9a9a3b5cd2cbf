// The one table of datasets: what data-prep writes is what it lists, and the network, held-out file
// and targets of each dataset come from it.
import { basename, join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { datasetFiles } from "../../src/data/dataset.ts";
import { DATASETS, DATASET_NAMES, oddEvenTargets } from "../../src/data/datasets.ts";
import { defaultSpec } from "../../src/nn/spec.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.remove());

describe("the dataset table", () => {
  test("prep writes exactly the listed splits (CURVES, small)", async () => {
    const { files } = await prepareDataset("curves", { out: tmp.dir, count: 50, quiet: true });
    expect(files.map((f) => basename(f.file)).sort()).toEqual(DATASETS.curves.splits.map((s) => `curves-${s}.arrow`).sort());
  });

  test("the held-out file, the autoencoder's size and loss follow the table", () => {
    expect(DATASET_NAMES).toEqual(["mnist", "curves", "faces"]);
    for (const name of DATASET_NAMES) {
      const facts = DATASETS[name];
      expect(facts.splits).toContain(facts.heldOut);
      expect(datasetFiles(name, "d").heldOut).toBe(join("d", `${name}-${facts.heldOut}.arrow`));
      const spec = defaultSpec(name);
      expect([spec.sizes[0], spec.sizes.at(-1), spec.loss]).toEqual([facts.dim, facts.dim, facts.autoencoderLoss]);
    }
    expect(() => defaultSpec("curves", "odd-even")).toThrow(/needs --dataset mnist/);
  });

  test("odd/even targets: 1 for odd digits, 0 for even", () => {
    expect(Array.from(oddEvenTargets([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
  });
});
