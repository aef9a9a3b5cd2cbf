// prep import of class labels: text labels (CSV, Parquet, a string .npy) and, with --labels,
// integer ones become class indices 0…K−1 in sorted order, with the names in the Arrow file's
// target field metadata, which openDataset gives back as dataset.classNames; columns that mix
// numbers and text, empty labels and indices outside the names are refused with file, column and row.
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parquetWriteBuffer } from "hyparquet-writer";
import { dump } from "npyjs";
import { openDataset } from "kfra-webgpu";
import { importTable } from "../../data-prep/import.ts";
import { parseTrainArgs } from "../../src/run/config.ts";
import { trainingData } from "../../src/cli/data-source.ts";
import { encodeTable } from "../../data-prep/table-writer.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir("kfra-labels-");
afterAll(() => tmp.remove());
const write = (name: string, text: string) => {
  const path = join(tmp.dir, name);
  writeFileSync(path, text);
  return path;
};

describe("prep import: class labels", () => {
  it("CSV text labels become indices in sorted order, and the CLI's Arrow file names them", () => {
    const csv = write("pets.csv", "size,weight,kind\n1,2,dog\n3,4,cat\n5,6,bird\n7,8,cat\n");
    const out = join(tmp.dir, "pets.arrow");
    const run = spawnSync(process.execPath, ["data-prep/cli.ts", "import", csv, "--targets", "kind", "--out", out], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/4 rows, 2 features, 3 classes: bird, cat, dog/);
    const data = openDataset(out, { targets: "targets" });
    expect(data.classNames).toEqual(["bird", "cat", "dog"]);
    const rows = data.range(0, data.count);
    expect(Array.from(rows.y!)).toEqual([2, 1, 0, 1]);
    expect(Array.from(rows.x)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("integer labels are classes only with --labels, in numeric order (9 before 10), and named as numbers", async () => {
    const csv = write("digits.csv", "a,y\n0.5,10\n0.25,9\n1,07\n0,10\n");
    const numbers = await importTable(csv, { targets: ["y"] });
    expect(numbers.classNames).toBeUndefined();
    expect(Array.from(numbers.targets!.values)).toEqual([10, 9, 7, 10]);
    const labels = await importTable(csv, { targets: ["y"], labels: true });
    expect(labels.classNames).toEqual(["7", "9", "10"]);
    expect(Array.from(labels.targets!.values)).toEqual([2, 1, 0, 2]);
  });

  it("Parquet string columns and string .npy arrays are labels too", async () => {
    const parquet = join(tmp.dir, "t.parquet");
    writeFileSync(parquet, new Uint8Array(parquetWriteBuffer({ columnData: [{ name: "x", data: new Float64Array([1, 2, 3]) }, { name: "y", data: ["setosa", "virginica", "setosa"] }] })));
    const fromParquet = await importTable(parquet, { targets: ["y"] });
    expect(fromParquet.classNames).toEqual(["setosa", "virginica"]);
    expect(Array.from(fromParquet.targets!.values)).toEqual([0, 1, 0]);

    const x = join(tmp.dir, "x.npy");
    writeFileSync(x, new Uint8Array(dump(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2])));
    const y = join(tmp.dir, "y.npy");
    writeFileSync(y, new Uint8Array(dump(["up", "down", "up"], [3])));
    const fromNpy = await importTable(x, { targets: y });
    expect(fromNpy.classNames).toEqual(["down", "up"]);
    expect(Array.from(fromNpy.targets!.values)).toEqual([1, 0, 1]);
    const ints = join(tmp.dir, "ints.npy");
    writeFileSync(ints, new Uint8Array(dump(new Int32Array([5, 3, 5]), [3])));
    expect(Array.from((await importTable(x, { targets: ints })).targets!.values)).toEqual([5, 3, 5]);
    expect((await importTable(x, { targets: ints, labels: true })).classNames).toEqual(["3", "5"]);
  });

  it("mixed, empty and multi-column labels are refused with the file, column and row", async () => {
    await expect(importTable(write("mixed.csv", "a,y\n1,0\n2,cat\n"), { targets: ["y"] })).rejects.toThrow(/mixed\.csv: column 'y', row 1: "cat" is text in a column of numbers; for class labels give every row a label, or --labels/);
    await expect(importTable(write("empty.csv", "a,y\n1,cat\n2,\n"), { targets: ["y"], labels: true })).rejects.toThrow(/empty\.csv: column 'y', row 1 is empty; every row needs a class label/);
    await expect(importTable(write("two.csv", "a,y,z\n1,cat,0\n2,dog,1\n"), { targets: ["y", "z"] })).rejects.toThrow(/two\.csv: column 'y' holds text, so it is read as class labels, and labels come from one --targets column, got 2/);
    const cli = spawnSync(process.execPath, ["data-prep/cli.ts", "import", join(tmp.dir, "mixed.csv"), "--labels", "--out", join(tmp.dir, "no.arrow")], { encoding: "utf8" });
    expect(cli.status).toBe(1);
    expect(cli.stderr.trim()).toBe("prep: --labels needs --targets COLUMN (the column of class labels)");
    expect(existsSync(join(tmp.dir, "no.arrow"))).toBe(false);
  });

  it("the readers refuse a class index outside the names, and names that are not a list of distinct strings", () => {
    const x = { values: new Float32Array([1, 2, 3]), width: 1 };
    const bad = join(tmp.dir, "bad-index.arrow");
    writeFileSync(bad, encodeTable(x, { values: new Float32Array([0, 2, 1]), width: 1, classNames: ["a", "b"] }));
    expect(() => openDataset(bad, { targets: "targets" })).toThrow(/bad-index\.arrow: column 'targets': row 1 is 2, not a class index in 0…1 \(the column names 2 classes\)/);
    const twice = join(tmp.dir, "twice.arrow");
    writeFileSync(twice, encodeTable(x, { values: new Float32Array([0, 1, 1]), width: 1, classNames: ["a", "a"] }));
    expect(() => openDataset(twice, { targets: "targets" })).toThrow(/twice\.arrow: column 'targets': its "classes" metadata is not a JSON list of distinct class names/);
  });

  it("train --valid refuses a held-out file whose classes are named otherwise", async () => {
    const imported = (name: string, text: string) => {
      const out = join(tmp.dir, `${name}.arrow`);
      const run = spawnSync(process.execPath, ["data-prep/cli.ts", "import", write(`${name}.csv`, text), "--targets", "kind", "--out", out], { encoding: "utf8" });
      expect(run.status, run.stderr).toBe(0);
      return out;
    };
    const a = imported("a", "x,kind\n1,cat\n2,dog\n3,cat\n");
    const same = imported("same", "x,kind\n4,dog\n5,cat\n");
    const other = imported("other", "x,kind\n4,dog\n5,eel\n");
    const config = (valid: string) => parseTrainArgs(["--data", a, "--valid", valid, "--targets", "targets", "--loss", "bce", "--quiet"]);
    expect(await trainingData(config(same))).toMatchObject({ heldOut: same, classNames: ["cat", "dog"] });
    await expect(trainingData(config(other))).rejects.toThrow(/other\.arrow: --valid names the classes dog, eel, --data cat, dog; class indices must mean the same in both/);
  });
});
