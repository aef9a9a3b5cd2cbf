// A finished run is done: `train --resume DIR` with the steps it already did (or no --steps) trains
// nothing, says so, leaves every file as it was and exits 0; more steps continue it; fewer are refused.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type Workspace, expectOneLine, quick, range, stepsLogged, trainCli, workspace } from "../faults/helpers.ts";

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace("finished");
});
afterAll(() => ws.remove());

/** Every file under `dir` with its size, modification time and bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const stat = statSync(join(dir, name));
    if (stat.isFile()) out[name] = `${stat.size}:${stat.mtimeMs}:${readFileSync(join(dir, name)).toString("base64")}`;
  }
  return out;
}

test("resumed with the same or no --steps: nothing to do, exit 0, no file changed; more steps continue; fewer are refused", () => {
  const run = join(ws.root, "done");
  const made = trainCli(["--opt", "adam", "--steps", "4", "--save-every", "0", "--out", run, "--quiet", ...quick(ws.dataDir)]);
  expect(made.code, made.stderr).toBe(0);
  const before = snapshot(run);
  for (const steps of [["--steps", "4"], []]) {
    const again = trainCli(["--resume", run, ...steps]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/has finished its 4 updates; nothing to do/);
    expect(snapshot(run)).toEqual(before);
  }
  expectOneLine(trainCli(["--resume", run, "--steps", "3", "--quiet"]), "train", /the run has done 4 updates, more than --steps 3; give --steps 4 or more/);
  expect(snapshot(run)).toEqual(before);
  const more = trainCli(["--resume", run, "--steps", "6", "--quiet"]);
  expect(more.code, more.stderr).toBe(0);
  expect(stepsLogged(run)).toEqual(range(1, 6));
});
