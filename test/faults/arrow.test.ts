// The Arrow dataset reader against corrupt files: bytes flipped and files truncated at many
// positions of a real (small, generated) data file must each give a DataError naming the file or a
// correct read, quickly; `train` on a corrupt file stops with one line instead of spinning; and a
// data file cut short while a run reads it does not kill the run (SIGBUS, exit 135, no checkpoint).
import { copyFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { BUN, REPO, type Workspace, quick, range, spawnTrain, stepsLogged, trainCli, waitFor, workspace } from "./helpers.ts";

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace("arrow");
  await prepareDataset("curves", { out: join(ws.root, "tiny"), count: 20, quiet: true });
});
afterAll(() => ws.remove());

// Each read of a 10-image file takes about a millisecond; three seconds leaves room for a loaded
// machine, while a reader that loops (as apache-arrow's iterator did on a corrupt block) never
// finishes and one that trusts a corrupt count takes tens of seconds.
const SLOWEST_MS = 3000;

test("flipped and truncated bytes: a DataError naming the file or a correct read, every time, fast", async () => {
  const file = join(ws.root, "tiny", "curves-test.arrow");
  const worker = Bun.spawn([BUN, join(REPO, "test/faults/arrowFuzzWorker.ts"), file, join(ws.root, "fuzzed.arrow")], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => worker.kill("SIGKILL"), 90_000);
  const [stdout, stderr, code] = await Promise.all([new Response(worker.stdout).text(), new Response(worker.stderr).text(), worker.exited]);
  clearTimeout(timer);
  const lastCase = stderr.trim().split("\n").at(-1);
  expect(code, `the reader did not finish on: ${lastCase}`).toBe(0);
  const lines = stdout.trim().split("\n");
  const summary = /^done (\d+) (\d+)$/.exec(lines.at(-1)!);
  expect(lines.slice(0, -1), "cases that were neither a DataError nor a correct read").toEqual([]);
  expect(summary).not.toBeNull();
  expect(Number(summary![1])).toBeGreaterThan(2500);
  expect(Number(summary![2])).toBeLessThan(SLOWEST_MS);
}, 120_000);

test("train on a data file with a corrupt record batch header stops with one line, exit 1", () => {
  const data = join(ws.root, "corrupt");
  const train = readFileSync(join(ws.dataDir, "curves-train.arrow"));
  // Byte 8 starts the first record batch's message marker: apache-arrow re-read that block for ever.
  train[8] = 0;
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, "curves-train.arrow"), train);
  copyFileSync(join(ws.dataDir, "curves-test.arrow"), join(data, "curves-test.arrow"));
  const result = trainCli(["--out", join(ws.root, "corrupt-run"), "--quiet", ...quick(data)], { timeoutMs: 60_000 });
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toMatch(/^train: .*corrupt\/curves-train\.arrow: corrupt Arrow IPC file: record batch 0 lacks the message marker\n$/);
});

test("a data file truncated while a run reads it: the run stops with one line naming the file, exit 1, never a SIGBUS nor other rows", async () => {
  const data = join(ws.root, "shrinking");
  mkdirSync(data, { recursive: true });
  for (const split of ["train", "test"]) copyFileSync(join(ws.dataDir, `curves-${split}.arrow`), join(data, `curves-${split}.arrow`));
  const run = join(ws.root, "shrinking-run");
  const child = spawnTrain(["--opt", "adam", "--steps", "100000000", "--save-every", "0", "--workers", "2", "--out", run, "--quiet", ...quick(data)]);
  const finished = Promise.all([child.exited, new Response(child.stderr).text()]);
  await waitFor("5 updates", () => stepsLogged(run).length >= 5);
  truncateSync(join(data, "curves-train.arrow"), 4096);
  const [code, stderr] = await finished;
  expect(code, stderr).toBe(1);
  expect(stderr).toMatch(/^train: \S*shrinking\/curves-train\.arrow: (the file changed while it was read \(\d+ → 4096 bytes, modified [^)]*\); its rows are no longer the ones checked|short read: \d+ of \d+ bytes at offset \d+; the file was truncated or changed while it was read; it is 4096 bytes now)\n$/);
  const logged = stepsLogged(run);
  expect(logged).toEqual(range(1, logged.length));
});
