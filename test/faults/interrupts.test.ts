// The interrupt suite: a run stopped at each instant a process can die (KFRA_FAULT, src/io/faultPoint.ts,
// sends the signal at that exact instant) and run again by the rule of docs/operations.md ("Stopping
// and resuming") completes with the same metrics, bit for bit, as a run never stopped: before the
// lock, during start-up, in the step-0 and a later evaluation, inside a checkpoint write (Ctrl-C
// and kill -9), and at 0 bytes free. Small: a 784-8-784 autoencoder, 6 updates on the CPU backend.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BUN, REPO, type Workspace, canMountTmpfs, expectOneLine, quick, trainCli, workspace } from "./helpers.ts";

let ws: Workspace;
let reference: unknown[];
const flags = (dataDir: string, steps = 6) => quick(dataDir, "--opt", "kfra", "--steps", String(steps), "--eval-every", "3", "--save-every", "3", "--quiet");

/** A run's metrics less what depends on the clock. */
function metricsOf(runDir: string): unknown[] {
  return readFileSync(join(runDir, "metrics.ndjson"), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const { time: _time, dataWaitMs: _wait, seconds: _seconds, ...rest } = JSON.parse(line);
      return rest;
    });
}

beforeAll(async () => {
  ws = await workspace("interrupts");
  const run = join(ws.root, "reference");
  const made = trainCli([...flags(ws.dataDir), "--out", run]);
  expect(made.code, made.stderr).toBe(0);
  reference = metricsOf(run);
  // The uninterrupted run: evaluations at 0, 3 and 6 and updates 1 to 6.
  expect(reference.map((r) => `${(r as { type: string }).type}${(r as { step: number }).step}`)).toEqual(["eval0", "step1", "step2", "step3", "eval3", "step4", "step5", "step6", "eval6"]);
}, 120_000);
afterAll(() => ws.remove());

describe("stopped at each instant, run again by the rule, the metrics equal an uninterrupted run's", () => {
  test.each([
    ["before the lock", "before-lock:SIGINT", 130, "absent"],
    ["during start-up (Ctrl-C)", "startup:SIGINT", 130, "absent"],
    ["during start-up (kill -9)", "startup:SIGKILL", 137, "stale lock"],
    ["in the step-0 evaluation", "eval@0:SIGINT", 130, "run"],
    ["in the evaluation at update 3", "eval@3:SIGINT", 130, "run"],
    ["inside the first checkpoint write (kill -9)", "checkpoint@3:SIGKILL", 137, "run"],
    ["inside a checkpoint write (Ctrl-C)", "checkpoint@3:SIGINT", 130, "run"],
  ] as const)("%s", (_instant, fault, exitCode, left) => {
    const run = join(ws.root, fault.replace(/[@:]/g, "-"));
    const stopped = trainCli([...flags(ws.dataDir), "--out", run], { env: { KFRA_FAULT: fault } });
    expect(stopped.code, stopped.stderr).toBe(exitCode);
    if (exitCode !== 137) expect(stopped.stderr).not.toMatch(/unexpected error|    at /);
    if (left === "absent") {
      // Nothing written: no directory, no lock; the line says the same command starts it.
      expect(existsSync(run)).toBe(false);
      expect(stopped.stderr).toMatch(/during start-up, before the first update; stopped \(nothing was written; the same command starts it\)/);
    }
    if (left === "stale lock") expect(readdirSync(run)).toEqual(["lock"]);
    // The rule: a directory with config.json continues with --resume; otherwise the same command again.
    const again = existsSync(join(run, "config.json")) ? trainCli(["--resume", run, "--quiet"]) : trainCli([...flags(ws.dataDir), "--out", run]);
    expect(again.code, again.stderr).toBe(0);
    expect(metricsOf(run)).toEqual(reference);
    expect(existsSync(join(run, "lock"))).toBe(false);
  }, 120_000);
});

describe("at 0 bytes free (a full tmpfs): one line, exit 1, no directory left", () => {
  test.skipIf(!canMountTmpfs())("train --out and bench report --out", () => {
    const sweep = join(ws.root, "sweep");
    mkdirSync(join(sweep, "runs", "adam", "one"), { recursive: true });
    writeFileSync(join(sweep, "sweep.json"), JSON.stringify({ spec: { name: "full", description: "a full disk" }, scale: 1, runs: [{ id: "adam/one" }] }));
    writeFileSync(join(sweep, "runs", "adam", "one", "result.json"), JSON.stringify({ status: "done", settings: { opt: "adam", lr: 0.001 } }));
    writeFileSync(join(sweep, "runs", "adam", "one", "metrics.ndjson"), readFileSync(join(ws.root, "reference", "metrics.ndjson")));
    const mnt = mkdtempSync(join(tmpdir(), "kfra-full-"));
    try {
      const script = `mount -t tmpfs -o size=64k tmpfs "$MNT" || exit 99
        dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null
        "$BUN" "$REPO/src/cli/train.ts" ${flags(ws.dataDir).join(" ")} --out "$MNT/run" 2>&1; echo "train $?"
        "$BUN" "$REPO/bench/cli.ts" report "$SWEEP" --out "$MNT/report/deep" 2>&1; echo "report $?"
        ls "$MNT"`;
      const run = Bun.spawnSync(["unshare", "-rm", "sh", "-c", script], { env: { ...process.env, MNT: mnt, BUN, REPO, SWEEP: sweep }, timeout: 120_000 });
      const lines = run.stdout.toString().trim().split("\n");
      expect(lines[0]).toMatch(/^train: cannot .*\/run\/lock: no space left on the device \(ENOSPC\)$/);
      expect(lines[1]).toBe("train 1");
      expect(lines[2]).toMatch(/^bench report: .*no space left on the device \(ENOSPC\)$/);
      expect(lines[3]).toBe("report 1");
      // Only the filler is left.
      expect(lines.slice(4)).toEqual(["fill"]);
    } finally {
      rmSync(mnt, { recursive: true, force: true });
    }
  }, 120_000);
});

test("an edited config.json (seed, batch) is refused on --resume, naming each edit and the checkpoint", () => {
  const run = join(ws.root, "edited");
  const made = trainCli([...flags(ws.dataDir, 3), "--out", run]);
  expect(made.code, made.stderr).toBe(0);
  const path = join(run, "config.json");
  const original = readFileSync(path, "utf8");
  writeFileSync(path, JSON.stringify({ ...JSON.parse(original), seed: 5, batch: 10 }, null, 2));
  const edited = trainCli(["--resume", run, "--steps", "6"]);
  expectOneLine(edited, "train", /config\.json was edited since its checkpoint of step 3 was saved: seed 5 \(0 at step 3\); batch 10 \(20 at step 3\); a resumed run keeps the settings it trained with/);
  // --steps, a setting that may change, is not an edit of the run's meaning.
  writeFileSync(path, JSON.stringify({ ...JSON.parse(original), steps: 6 }, null, 2));
  const resumed = trainCli(["--resume", run, "--quiet"]);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(metricsOf(run)).toEqual(reference);
}, 120_000);
