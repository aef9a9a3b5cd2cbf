// A local sweep killed (SIGKILL, with the `train` it runs) at any instant completes when run again,
// with every run's evaluations equal to an uninterrupted sweep's: killed before a run's first
// checkpoint (it starts again from update 0), during a checkpoint write (a torn checkpoint is left
// in checkpoints/; the run resumes from the one before), and after a run's last update, before the
// sweep recorded it (the run resumes, finds nothing to do, and is recorded done).
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { isTemporaryName, processAlive } from "../../src/io/atomicWrite.ts";
import { REPO, type OwnData, evaluations, ownData, sweep, writeSpec } from "./helpers.ts";

const RUNS = ["adam/adam-lr0.01-seed0", "kfac/kfac-seed0"];
const GROUPS = [
  { name: "adam", opt: "adam", steps: 1000, lr: [0.01] },
  { name: "kfac", opt: "kfac", steps: 100 },
];
let data: OwnData;
let reference: Record<string, object[]>;

beforeAll(async () => {
  data = await ownData("sweep-kills");
  const out = join(data.root, "reference");
  const done = await sweep([writeSpec(data, "kills", { saveEvery: 0 }, GROUPS), "--out", out, "--device", "cpu"]);
  expect(done.code, done.stderr).toBe(0);
  reference = Object.fromEntries(RUNS.map((id) => [id, evaluations(join(out, "runs", id))]));
  expect(reference[RUNS[0]]).toHaveLength(5);
}, 120_000);
afterAll(() => data.remove());

/** The step of the last update a run logged (0 before any). */
function lastStep(runDir: string): number {
  const path = join(runDir, "metrics.ndjson");
  if (!existsSync(path)) return 0;
  const steps = [...readFileSync(path, "utf8").matchAll(/"type":"step","step":(\d+)/g)];
  return steps.length ? Number(steps.at(-1)![1]) : 0;
}

/** Whether the run's train process (named by its lock) is stopped by a signal (state T in /proc). */
function trainStopped(runDir: string): boolean {
  try {
    const pid = Number(JSON.parse(readFileSync(join(runDir, "lock"), "utf8")).pid);
    return /^\d+ \(.*\) T /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Starts the sweep, waits until `ready()`, SIGKILLs it and waits until the `train` it ran has died too. */
async function killWhen(args: string[], runDir: string, ready: () => boolean, env: Record<string, string> = {}): Promise<void> {
  const child = Bun.spawn([process.execPath, join(REPO, "src/sweep/cli.ts"), ...args], { cwd: REPO, env: { ...process.env, ...env }, stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  const deadline = Date.now() + 60_000;
  while (!ready() && child.exitCode === null && Date.now() < deadline) await Bun.sleep(2);
  child.kill("SIGKILL");
  await child.exited;
  // The train process dies with the sweep (its parent-death signal); its lock names it.
  const lock = join(runDir, "lock");
  while (existsSync(lock)) {
    const pid = Number(JSON.parse(readFileSync(lock, "utf8")).pid);
    if (!processAlive(pid)) break;
    await Bun.sleep(10);
  }
}

async function expectCompletesLikeReference(args: string[], out: string): Promise<void> {
  const again = await sweep(args);
  expect(again.code, again.stderr).toBe(0);
  for (const id of RUNS) {
    expect(JSON.parse(readFileSync(join(out, "runs", id, "result.json"), "utf8")).status).toBe("done");
    expect(evaluations(join(out, "runs", id)), id).toEqual(reference[id]);
  }
}

test("killed before a run's first checkpoint: the rerun starts it again and completes the sweep", async () => {
  const out = join(data.root, "before-checkpoint");
  const args = [writeSpec(data, "kills", { saveEvery: 0 }, GROUPS), "--out", out, "--device", "cpu"];
  const runDir = join(out, "runs", RUNS[0]);
  await killWhen(args, runDir, () => lastStep(runDir) >= 20);
  expect(lastStep(runDir)).toBeGreaterThan(0);
  expect(lastStep(runDir)).toBeLessThan(1000);
  expect(existsSync(join(runDir, "checkpoints"))).toBe(false);
  await expectCompletesLikeReference(args, out);
}, 120_000);

test("killed during a checkpoint write: the torn checkpoint is set aside and the sweep completes", async () => {
  const out = join(data.root, "mid-checkpoint");
  const args = [writeSpec(data, "kills", { saveEvery: 10 }, GROUPS), "--out", out, "--device", "cpu"];
  const runDir = join(out, "runs", RUNS[0]);
  const checkpoints = join(runDir, "checkpoints");
  const torn = () => (existsSync(checkpoints) ? readdirSync(checkpoints).filter(isTemporaryName) : []);
  // The run's train freezes itself between the two files of its third checkpoint (KFRA_FAULT's
  // SIGSTOP, src/io/faultPoint.ts); the sweep is killed at that instant, and the train with it.
  await killWhen(args, runDir, () => trainStopped(runDir), { KFRA_FAULT: "checkpoint@30:SIGSTOP" });
  expect(lastStep(runDir)).toBe(30);
  expect(torn().length, "the kill left no torn checkpoint").toBeGreaterThan(0);
  await expectCompletesLikeReference(args, out);
  expect(torn()).toEqual([]);
}, 120_000);

test("killed after a run's last update, before the sweep recorded it: the rerun finds it finished", async () => {
  const out = join(data.root, "after-last-update");
  const args = [writeSpec(data, "kills", { saveEvery: 0 }, GROUPS), "--out", out, "--device", "cpu"];
  const first = await sweep(args);
  expect(first.code, first.stderr).toBe(0);
  // What such a kill leaves: the run's files complete, its final checkpoint saved, no result.json,
  // and the lock of the dead train process.
  const runDir = join(out, "runs", RUNS[1]);
  rmSync(join(runDir, "result.json"));
  writeFileSync(join(runDir, "lock"), `${JSON.stringify({ pid: 2 ** 22 + 17, start: null, host: hostname() })}\n`);
  const metrics = readFileSync(join(runDir, "metrics.ndjson"), "utf8");
  await expectCompletesLikeReference(args, out);
  expect(readFileSync(join(runDir, "metrics.ndjson"), "utf8")).toBe(metrics);
}, 120_000);
