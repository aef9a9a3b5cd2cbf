// Ctrl-C and SIGTERM on real `train` processes: the run stops within one update of the signal, saves
// a whole checkpoint, exits 130 / 143 and resumes; a second Ctrl-C exits at once.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type Workspace, quick, range, spawnTrain, stepsLogged, trainCli, waitFor, workspace } from "./helpers.ts";

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace("signals");
});
afterAll(() => ws.remove());

/** The update at which the handler ran, and the one the run stopped at, from the run's own lines. */
function stopPoints(stderr: string): { received: number; stopped: number } {
  const received = /received after update (\d+)/.exec(stderr);
  const stopped = /interrupted at step (\d+); saving a checkpoint/.exec(stderr);
  expect(received, stderr).not.toBeNull();
  expect(stopped, stderr).not.toBeNull();
  return { received: Number(received![1]), stopped: Number(stopped![1]) };
}

test.each([
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const)("%s stops a fast run within one update, saves a checkpoint, exits %i; --resume continues", async (signal, exitCode) => {
  const run = join(ws.root, signal);
  // A 784-8-784 network at batch 20 takes about a millisecond per update: the loop must yield.
  const child = spawnTrain(["--opt", "adam", "--steps", "100000000", "--save-every", "0", "--out", run, ...quick(ws.dataDir)]);
  await waitFor("20 updates", () => stepsLogged(run).length >= 20);
  const sentAt = performance.now();
  child.kill(signal);
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  const seconds = (performance.now() - sentAt) / 1000;
  expect(code, stderr).toBe(exitCode);
  const { received, stopped } = stopPoints(stderr);
  expect(stopped - received).toBeLessThanOrEqual(1);
  expect(seconds).toBeLessThan(30);
  const steps = stepsLogged(run);
  expect(steps).toEqual(range(1, stopped));
  const resumed = trainCli(["--resume", run, "--steps", String(stopped + 3), "--quiet"]);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(stepsLogged(run)).toEqual(range(1, stopped + 3));
});

test("a second Ctrl-C exits at once with 130, saying so; the run stays resumable", async () => {
  const run = join(ws.root, "twice");
  // The run freezes itself where the first Ctrl-C ends its loop, before the last report and
  // checkpoint (KFRA_FAULT's SIGSTOP at "stopping"); the second Ctrl-C waits there until it is let
  // go, so it always lands while the first is being handled, however fast the save.
  const child = spawnTrain(["--opt", "adam", "--steps", "100000000", "--save-every", "5", "--out", run, ...quick(ws.dataDir)], { env: { KFRA_FAULT: "stopping:SIGSTOP" } });
  const output = new Response(child.stderr).text();
  await waitFor("12 updates", () => stepsLogged(run).length >= 12);
  child.kill("SIGINT");
  await waitFor("the run to freeze as it stops", () => /^\d+ \(.*\) T /.test(readFileSync(`/proc/${child.pid}/stat`, "utf8")));
  child.kill("SIGINT");
  child.kill("SIGCONT");
  const [code, stderr] = await Promise.all([child.exited, output]);
  expect(code, stderr).toBe(130);
  expect(stderr).toMatch(/second Ctrl-C; exiting without saving\. The last finite checkpoint is step \d+/);
  const resumed = trainCli(["--resume", run, "--steps", "30", "--quiet"]);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(stepsLogged(run)).toEqual(range(1, 30));
});
