// `bun scripts/device-pick.ts TUNE_DIR [--combine]`: reads the runs of scripts/device-tune.sh
// (TUNE_DIR/runs.tsv: name, then the KFRA_* assignments of that run; TUNE_DIR/NAME.json: its
// `bench step` results) and writes TUNE_DIR/table.md, seconds per update as in training per run.
//   default:    prints the assignments of the run with the fastest KFRA update (`export A=B` lines).
//   --combine:  prints the union of the assignments of every run that beat the defaults on KFRA by
//               more than MARGIN (for each variable, the value of the fastest such run), to be
//               measured as a run of its own; prints nothing when that union is empty or already run.
// Imports only node builtins, so the offline bundle's Bun runs it straight from the checkout.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A run must beat the defaults by this fraction to join the combination (run-to-run noise is ~1-2%). */
const MARGIN = 0.02;
const OPTS = ["kfra", "kfac", "adam"] as const;

interface Run {
  name: string;
  env: Record<string, string>;
  seconds: Partial<Record<(typeof OPTS)[number], number>>;
}

function readRuns(dir: string): Run[] {
  const tsv = join(dir, "runs.tsv");
  if (!existsSync(tsv)) throw new Error(`device-pick: ${tsv} is missing (run scripts/device-tune.sh first)`);
  const runs: Run[] = [];
  for (const line of readFileSync(tsv, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const [name, assignments = ""] = line.split("\t");
    const env = Object.fromEntries(
      assignments
        .split(" ")
        .filter((a) => a.includes("="))
        .map((a) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]),
    );
    const seconds: Run["seconds"] = {};
    const file = join(dir, `${name}.json`);
    if (existsSync(file)) {
      try {
        const rows = (JSON.parse(readFileSync(file, "utf8")) as { rows?: { opt?: string; asInTraining?: { medianSeconds?: number } }[] }).rows ?? [];
        for (const row of rows) {
          const s = row.asInTraining?.medianSeconds;
          if (OPTS.includes(row.opt as (typeof OPTS)[number]) && typeof s === "number" && Number.isFinite(s)) seconds[row.opt as (typeof OPTS)[number]] = s;
        }
      } catch {
        // a run that crashed mid-write has no usable results; it stays in the table, empty
      }
    }
    runs.push({ name, env, seconds });
  }
  return runs;
}

const envText = (env: Record<string, string>) =>
  Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ") || "(defaults)";

function table(runs: Run[]): string {
  const base = runs.find((r) => Object.keys(r.env).length === 0)?.seconds.kfra;
  const cell = (x: number | undefined) => (x === undefined ? "" : (x * 1000).toFixed(2));
  const lines = ["| run | choices | KFRA ms | KFAC ms | Adam ms | KFRA vs defaults |", "|---|---|---|---|---|---|"];
  for (const r of runs) {
    const rel = base && r.seconds.kfra ? `${((r.seconds.kfra / base - 1) * 100).toFixed(1)}%` : "";
    lines.push(`| ${r.name} | ${envText(r.env)} | ${cell(r.seconds.kfra)} | ${cell(r.seconds.kfac)} | ${cell(r.seconds.adam)} | ${rel} |`);
  }
  return `${lines.join("\n")}\n`;
}

function main(argv: string[]) {
  const dir = argv.find((a) => !a.startsWith("--"));
  if (!dir) throw new Error("usage: bun scripts/device-pick.ts TUNE_DIR [--combine]");
  const runs = readRuns(dir).filter((r) => !r.name.startsWith("crosscheck") && !r.name.includes("profile") && !r.name.startsWith("kernels"));
  writeFileSync(join(dir, "table.md"), table(runs));
  const timed = runs.filter((r) => r.seconds.kfra !== undefined);
  const base = timed.find((r) => Object.keys(r.env).length === 0);
  if (argv.includes("--combine")) {
    if (!base) return;
    const winners = timed.filter((r) => r.seconds.kfra! < base.seconds.kfra! * (1 - MARGIN)).sort((a, b) => b.seconds.kfra! - a.seconds.kfra!);
    const merged: Record<string, string> = {};
    for (const r of winners) Object.assign(merged, r.env); // fastest last, so its value wins
    const key = envText(merged);
    if (Object.keys(merged).length === 0 || timed.some((r) => envText(r.env) === key)) return;
    for (const [k, v] of Object.entries(merged)) console.log(`${k}=${v}`);
    return;
  }
  const best = timed.sort((a, b) => a.seconds.kfra! - b.seconds.kfra!)[0];
  if (!best) return;
  for (const [k, v] of Object.entries(best.env)) console.log(`export ${k}=${v}`);
}

main(process.argv.slice(2));
