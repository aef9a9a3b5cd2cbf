// Shared by the sweep tests: a small own-data set (the first rows of examples/own-data/*.csv made
// into Arrow files as `prep import` makes them), tiny specs on it, the sweep program as a real `bun`
// process, and a run's whole-set evaluations.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { importToArrow } from "../../data-prep/import.ts";

export const REPO = resolve(import.meta.dirname, "..", "..");

export interface OwnData {
  root: string;
  train: string;
  valid: string;
  remove(): void;
}

/** `rows` training and 50 held-out rows of the example's regression problem, as Arrow files in a temporary folder. */
export async function ownData(prefix: string, rows = 200): Promise<OwnData> {
  const root = mkdtempSync(join(tmpdir(), `kfra-${prefix}-`));
  const files: Record<string, string> = {};
  for (const [name, source, count] of [["train", "train.csv", rows], ["valid", "valid.csv", 50]] as const) {
    const lines = readFileSync(join(REPO, "examples/own-data", source), "utf8").split("\n");
    const csv = join(root, `${name}.csv`);
    writeFileSync(csv, `${lines.slice(0, count + 1).join("\n")}\n`);
    const { bytes } = await importToArrow(csv, { targets: ["y1", "y2"] });
    files[name] = join(root, `${name}.arrow`);
    writeFileSync(files[name], bytes);
  }
  return { root, train: files.train, valid: files.valid, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** A spec on `data`: `groups` over a 8-8-2 network, batch 20, one seed. */
export function writeSpec(data: OwnData, name: string, extra: Record<string, unknown>, groups: object[]): string {
  const path = join(data.root, `${name}.json`);
  const spec = { name, description: "a test sweep", data: data.train, valid: data.valid, targets: "targets", hidden: "8", batch: 20, seeds: [0], evaluations: 4, ...extra, groups };
  writeFileSync(path, JSON.stringify(spec));
  return path;
}

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** `bun run sweep ARGS` to its end. */
export async function sweep(args: string[], timeoutMs = 120_000): Promise<Finished> {
  const started = performance.now();
  const child = Bun.spawn([process.execPath, join(REPO, "src/sweep/cli.ts"), ...args], { cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  clearTimeout(timer);
  return { code, stdout, stderr, seconds: (performance.now() - started) / 1000 };
}

/** A run's whole-set evaluations without their times (which differ between any two runs). */
export function evaluations(runDir: string): object[] {
  return readFileSync(join(runDir, "metrics.ndjson"), "utf8")
    .split("\n")
    .filter((line) => line.includes('"type":"eval"'))
    .map((line) => {
      const { time: _time, seconds: _seconds, ...rest } = JSON.parse(line);
      return rest;
    });
}
