// Shared by the fault tests: a small prepared CURVES set, `train` and the other CLIs as real `bun`
// processes, and waiting for a run to reach a given update.
import { expect } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { prepareDataset } from "../../data-prep/prepare.ts";

export const REPO = resolve(import.meta.dirname, "..", "..");
export const BUN = process.execPath;

export interface Workspace {
  root: string;
  dataDir: string;
  remove: () => void;
}

/** A temporary folder with a 200-image CURVES set (plus its 100-image test split) in data/. */
export async function workspace(prefix: string): Promise<Workspace> {
  const root = mkdtempSync(join(tmpdir(), `kfra-${prefix}-`));
  const dataDir = join(root, "data");
  await prepareDataset("curves", { out: dataDir, count: 200, quiet: true });
  return { root, dataDir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** Flags for a quick run: a 784-8-784 autoencoder, batch 20, CPU backend, no plots worth waiting for. */
export function quick(dataDir: string, ...extra: string[]): string[] {
  const defaults: [string, string][] = [["--arch", "784-8-784"], ["--batch", "20"], ["--device", "cpu"], ["--eval-every", "0"]];
  // A flag may be given once: `extra` replaces the default of a flag it names.
  return ["--data-dir", dataDir, ...defaults.filter(([flag]) => !extra.includes(flag)).flat(), ...extra];
}

export interface Finished {
  /** The exit status, or 128 + the signal's number for a process killed by a signal (137: kill -9). */
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(script: string, args: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Finished {
  const run = Bun.spawnSync([BUN, join(REPO, script), ...args], { cwd: options.cwd ?? REPO, env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 90_000 });
  const signalled = run.signalCode ? 128 + (os.constants.signals[run.signalCode as keyof typeof os.constants.signals] ?? 0) : -1;
  return { code: run.exitCode ?? signalled, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
}

export const trainCli = (args: string[], options?: Parameters<typeof cli>[2]) => cli("src/cli/train.ts", args, options);

export function spawnTrain(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return Bun.spawn([BUN, join(REPO, "src/cli/train.ts"), ...args], { cwd: options.cwd ?? REPO, env: { ...process.env, ...options.env }, stdout: "pipe", stderr: "pipe" });
}

/** Update records in a run's metrics log (a torn last line ignored). */
export function stepsLogged(runDir: string): number[] {
  const path = join(runDir, "metrics.ndjson");
  if (!existsSync(path)) return [];
  const steps: number[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    try {
      const record = JSON.parse(line);
      if (record.type === "step") steps.push(record.step);
    } catch {
      // empty or torn line
    }
  }
  return steps;
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Whether this machine lets us mount a tmpfs in a private mount namespace (root or user namespaces). */
export function canMountTmpfs(): boolean {
  const probe = Bun.spawnSync(["unshare", "-rm", "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs \"$d\" && umount \"$d\"; r=$?; rmdir \"$d\"; exit $r"]);
  return probe.exitCode === 0;
}

/** The CLI refused in one line starting with its name, exit 1, no stack trace. */
export function expectOneLine(result: { code: number; stderr: string }, cliName: string, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  const lines = result.stderr.trim().split("\n");
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^${cliName}: `));
  expect(lines[0]).toMatch(pattern);
}
