// Data that would be read silently wrong is refused in one line naming the file and the column,
// exit 1, and nothing is written: a CSV or Parquet table with two columns of one name, a number
// written in hexadecimal, a target column also among the features or a column named twice, an
// empty list of names, a .npy array with an empty dimension or whose targets are its own file, and
// in train a target column that is the feature column or a --valid file that is the --data file.
// And prep import never writes over a file it did not make: its own input, or a file of another kind.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { dump } from "npyjs";
import { afterAll, describe, expect, test } from "vitest";
import { cli, trainCli, expectOneLine } from "./helpers.ts";

const root = mkdtempSync(join(tmpdir(), "kfra-data-faults-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));


const file = (name: string, content: string | Uint8Array) => {
  const path = join(root, name);
  writeFileSync(path, content);
  return path;
};

describe("prep import", () => {
  const table = file("table.csv", "a,b,y\n1,2,0\n4,5,1\n");

  test.each([
    ["two columns of one name", file("twice.csv", "a,b,a,y\n1,2,3,0\n4,5,6,1\n"), ["--targets", "y"], /twice\.csv: two columns are named 'a' \(columns 1 and 3\)/],
    ["a hexadecimal cell", file("hex.csv", "a,b,y\n0x10,2,0\n4,5,1\n"), ["--targets", "y"], /hex\.csv: column 'a', row 0: "0x10" is not a finite number within float32's range, written in decimal/],
    ["a target among the features", table, ["--targets", "y", "--features", "a,y"], /column 'y' is in both --targets and --features; a target among the features leaks the answer/],
    ["a feature named twice", table, ["--targets", "y", "--features", "a,a"], /--features names column 'a' twice/],
    ["an empty target list", table, ["--targets", ","], /--targets ',': an empty column name/],
    ["an unnamed column", file("unnamed.csv", "a,,y\n1,2,0\n"), ["--targets", "y"], /unnamed\.csv: column 2 has no name/],
    [
      "a Parquet file with two columns of one name",
      file("twice.parquet", new Uint8Array(parquetWriteBuffer({ columnData: [{ name: "x", data: new Float64Array([1, 2]) }, { name: "x", data: new Float64Array([3, 4]) }, { name: "y", data: new Float64Array([0, 1]) }] }))),
      ["--targets", "y"],
      /twice\.parquet: two columns are named 'x'/,
    ],
    ["a .npy array with an empty dimension", file("empty.npy", new Uint8Array(dump(new Float32Array(0), [5, 0]))), [], /empty\.npy: the array has shape \(5, 0\); a row of no values is no sample/],
  ])("%s: refused, nothing written", (_, input, flags, message) => {
    const out = join(root, `${Math.random().toString(36).slice(2)}.arrow`);
    expectOneLine(cli("data-prep/cli.ts", ["import", input as string, ...(flags as string[]), "--out", out]), "prep", message as RegExp);
    expect(existsSync(out)).toBe(false);
  });

  test("a .npy whose --targets is its own file: refused", () => {
    const x = file("self.npy", new Uint8Array(dump(new Float32Array([1, 2, 3, 4]), [2, 2])));
    expectOneLine(cli("data-prep/cli.ts", ["import", x, "--targets", x, "--out", join(root, "self.arrow")]), "prep", /--targets .*self\.npy is the features' own file/);
  });
});

describe("prep import --out", () => {
  test("onto its own input or a file of another kind: refused, the file untouched; onto its own earlier output: replaced", () => {
    const x = file("source.npy", new Uint8Array(dump(new Float32Array([1, 2, 3, 4]), [2, 2])));
    const before = readFileSync(x);
    expectOneLine(cli("data-prep/cli.ts", ["import", x, "--out", x]), "prep", /--out .*source\.npy is the input file .*source\.npy; writing it would replace your data/);
    expect(readFileSync(x).equals(before)).toBe(true);
    const notes = file("notes.txt", "my notes");
    expectOneLine(cli("data-prep/cli.ts", ["import", x, "--out", notes]), "prep", /--out .*notes\.txt exists and is not an Arrow file this program could have written; it is left as it is/);
    expect(readFileSync(notes, "utf8")).toBe("my notes");
    const out = join(root, "source.arrow");
    for (let i = 0; i < 2; i++) {
      const made = cli("data-prep/cli.ts", ["import", x, "--out", out]);
      expect(made.code, made.stderr).toBe(0);
    }
  });
});

describe("train --data", () => {
  const data = join(root, "own.arrow");
  test("a target column that is the feature column, and a --valid file that is the --data file, are refused before a run directory is made", () => {
    const made = cli("data-prep/cli.ts", ["import", file("own.csv", "a,b,y\n1,2,0\n4,5,1\n2,2,1\n"), "--targets", "y", "--out", data]);
    expect(made.code, made.stderr).toBe(0);
    const quick = ["--steps", "1", "--batch", "1", "--hidden", "3", "--device", "cpu", "--quiet"];
    const same = join(root, "same-column");
    expectOneLine(trainCli(["--data", data, "--targets", "features", "--out", same, ...quick]), "train", /column 'features' is both the features \(the first list column\) and the targets/);
    expect(existsSync(same)).toBe(false);
    const heldIn = join(root, "held-in");
    expectOneLine(trainCli(["--data", data, "--valid", join(root, ".", "own.arrow"), "--targets", "targets", "--out", heldIn, ...quick]), "train", /--valid .*own\.arrow is the --data file itself; its error would not be held-out/);
    expect(existsSync(heldIn)).toBe(false);
  });
});
