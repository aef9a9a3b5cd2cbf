// The import graph runs one way: cli/plot/sweep → run → api → train → optim → curvature → nn/data →
// backend, with src/errors.ts, src/flags.ts, src/settings.ts and src/io/ as utilities anyone may
// import (and that import only each other). The library (src/api) never reaches the run machinery
// (src/run: run directories, checkpoints, metrics files, signals) nor the CLI. The sweep program
// (src/sweep/) and the benchmarks' internal entry (src/bench-internals.ts) stand on the library and
// the run machinery, never on the CLI. Nothing in src imports bench/; only the programs in src/cli
// use data-prep/ (the CLI prepares a missing dataset), and data-prep uses the library's data floor
// and below (its own program, data-prep/cli.ts, also src/cli's runner). The benchmarks (bench/)
// import from src only the package's entry (src/index.ts), the internal entry and the sweep
// program (bench sweep, report, ... are its older names), and data-prep to prepare a dataset.
// Imports are read with TypeScript's own pre-processor, static and dynamic (`import("…")`) alike.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import * as ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..", "..");

/** Floors, lowest first; a file may import its own floor or a lower one. */
const FLOORS: [floor: number, prefixes: string[]][] = [
  [0, ["src/backend/"]],
  [1, ["src/nn/", "src/data/"]],
  [2, ["src/curvature/"]],
  [3, ["src/optim/"]],
  [4, ["src/train/"]],
  [5, ["src/api/", "src/index.ts"]],
  [6, ["src/run/"]],
  [7, ["src/cli/", "src/plot/", "src/sweep/", "src/bench-internals.ts", "src/dashboard/"]],
];
/** What bench/ may import from src. */
const BENCH_ENTRIES = ["src/index.ts", "src/bench-internals.ts", "src/sweep/"];
/** Programs on floor 7 that never use the CLI's internals. */
const NOT_ON_CLI = ["src/sweep/", "src/bench-internals.ts"];
const UTILITIES = ["src/errors.ts", "src/flags.ts", "src/settings.ts", "src/io/"];

export type Edge = { from: string; to: string };

function within(path: string, prefixes: string[]): boolean {
  return prefixes.some((p) => (p.endsWith("/") ? path.startsWith(p) : path === p));
}

function floorOf(path: string): number | "utility" | undefined {
  if (within(path, UTILITIES)) return "utility";
  return FLOORS.find(([, prefixes]) => within(path, prefixes))?.[0];
}

/** The folder (or top-level file) a path belongs to, e.g. src/train or src/errors.ts. */
function unit(path: string): string {
  const parts = path.split("/");
  return parts.length > 2 ? parts.slice(0, 2).join("/") : path;
}

/** Every rule an import breaks, in words; empty when the graph is clean. */
export function violations(edges: Edge[]): string[] {
  const found: string[] = [];
  for (const { from, to } of edges) {
    if (from.startsWith("data-prep/") && to.startsWith("src/")) {
      const b = floorOf(to);
      const programUsesCli = from === "data-prep/cli.ts" && to.startsWith("src/cli/");
      if (!programUsesCli && b !== "utility" && (b === undefined || b > 1)) found.push(`${from} imports ${to}: data-prep uses only src's data floor and below`);
      continue;
    }
    if (from.startsWith("data-prep/") && to.startsWith("bench/")) found.push(`${from} imports ${to}: data-prep never imports bench`);
    if (from.startsWith("bench/") && to.startsWith("src/") && !within(to, BENCH_ENTRIES)) {
      found.push(`${from} imports ${to}: bench uses src/index.ts, src/bench-internals.ts and src/sweep/ only`);
    }
    if (within(from, NOT_ON_CLI) && to.startsWith("src/cli/")) found.push(`${from} imports ${to}: ${unit(from)} never uses the CLI`);
    if (!from.startsWith("src/")) continue;
    if (to.startsWith("bench/")) found.push(`${from} imports ${to}: src never imports bench`);
    else if (to.startsWith("data-prep/")) {
      if (!from.startsWith("src/cli/")) found.push(`${from} imports ${to}: only the programs in src/cli use data-prep`);
    } else if (to.startsWith("src/")) {
      const a = floorOf(from), b = floorOf(to);
      if (a === undefined) found.push(`${from} is on no floor`);
      else if (b === undefined) found.push(`${to} is on no floor`);
      else if (a === "utility" ? b !== "utility" : b !== "utility" && b > a) found.push(`${from} imports ${to}: up from floor ${a} to ${b}`);
    } else found.push(`${from} imports ${to}: outside src, bench and data-prep`);
  }
  // Folders on one floor (cli and plot, nn and data) may use each other, but never both ways round.
  const uses = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (!from.startsWith("src/") || !to.startsWith("src/") || unit(from) === unit(to)) continue;
    if (!uses.has(unit(from))) uses.set(unit(from), new Set());
    uses.get(unit(from))!.add(unit(to));
  }
  for (const [a, targets] of uses) for (const b of targets) if (a < b && uses.get(b)?.has(a)) found.push(`${a} and ${b} import each other`);
  return found;
}

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) tsFiles(path, out);
    else if (path.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** The repository's relative imports (paths from the repository root) under src/, bench/ and data-prep/. */
export function importEdges(root = ROOT): Edge[] {
  const edges: Edge[] = [];
  for (const top of ["src", "bench", "data-prep"]) {
    for (const file of tsFiles(join(root, top))) {
      const from = relative(root, file);
      for (const { fileName } of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
        if (fileName.startsWith(".")) edges.push({ from, to: relative(root, resolve(dirname(file), fileName)) });
      }
    }
  }
  return edges;
}

describe("the import graph", () => {
  const edges = importEdges();

  it("reads static and dynamic imports", () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ from: "src/cli/train.ts", to: "src/cli/plan.ts" }); // a dynamic import
    expect(edges).toContainEqual({ from: "src/run/run.ts", to: "src/errors.ts" });
  });

  it("reads bench/ and the sweep program too", () => {
    expect(edges).toContainEqual({ from: "bench/step.ts", to: "src/index.ts" });
    expect(edges).toContainEqual({ from: "bench/step.ts", to: "src/bench-internals.ts" });
  });

  it("runs one way: no import climbs a floor, none reaches bench, only the CLI reaches data-prep, data-prep stays low, bench and the sweep program stay off the CLI", () => {
    expect(violations(edges)).toEqual([]);
  });

  it("names each kind of violation", () => {
    expect(
      violations([
        { from: "src/train/loop.ts", to: "src/cli/progress.ts" },
        { from: "src/api/train.ts", to: "src/run/checkpoint.ts" },
        { from: "src/data/dataset.ts", to: "data-prep/prepare.ts" },
        { from: "src/optim/sweep.ts", to: "bench/sweep.ts" },
        { from: "src/io/json.ts", to: "src/cli/config.ts" },
        { from: "src/cli/a.ts", to: "src/plot/b.ts" },
        { from: "src/plot/b.ts", to: "src/cli/a.ts" },
        { from: "src/cli/train.ts", to: "data-prep/prepare.ts" },
        { from: "src/nn/spec.ts", to: "src/errors.ts" },
        { from: "data-prep/progress.ts", to: "src/cli/progress.ts" },
        { from: "data-prep/cli.ts", to: "src/cli/runCli.ts" },
        { from: "data-prep/prepare.ts", to: "src/data/datasets.ts" },
        { from: "bench/step.ts", to: "src/cli/config.ts" },
        { from: "bench/step.ts", to: "src/optim/phases.ts" },
        { from: "bench/step.ts", to: "src/bench-internals.ts" },
        { from: "bench/report.ts", to: "src/sweep/report.ts" },
        { from: "bench/data.ts", to: "data-prep/prepare.ts" },
        { from: "src/sweep/spec.ts", to: "src/cli/config.ts" },
        { from: "src/bench-internals.ts", to: "src/cli/runCli.ts" },
        { from: "src/run/run.ts", to: "src/sweep/sweep.ts" },
      ]),
    ).toEqual([
      "src/train/loop.ts imports src/cli/progress.ts: up from floor 4 to 7",
      "src/api/train.ts imports src/run/checkpoint.ts: up from floor 5 to 6",
      "src/data/dataset.ts imports data-prep/prepare.ts: only the programs in src/cli use data-prep",
      "src/optim/sweep.ts imports bench/sweep.ts: src never imports bench",
      "src/io/json.ts imports src/cli/config.ts: up from floor utility to 7",
      "data-prep/progress.ts imports src/cli/progress.ts: data-prep uses only src's data floor and below",
      "bench/step.ts imports src/cli/config.ts: bench uses src/index.ts, src/bench-internals.ts and src/sweep/ only",
      "bench/step.ts imports src/optim/phases.ts: bench uses src/index.ts, src/bench-internals.ts and src/sweep/ only",
      "src/sweep/spec.ts imports src/cli/config.ts: src/sweep never uses the CLI",
      "src/bench-internals.ts imports src/cli/runCli.ts: src/bench-internals.ts never uses the CLI",
      "src/run/run.ts imports src/sweep/sweep.ts: up from floor 6 to 7",
      "src/cli and src/plot import each other",
    ]);
  });
});
