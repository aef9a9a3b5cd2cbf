// Ctrl-C during `bun run train`: the run saves a checkpoint, says how to continue, exits 130, and
// --resume carries on from there.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { readMetrics } from "../../src/run/metrics.ts";

const root = mkdtempSync(join(tmpdir(), "kfra-interrupt-"));
const dataDir = join(root, "data");
beforeAll(async () => {
  await prepareDataset("curves", { out: dataDir, count: 300, quiet: true });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const flags = ["--data-dir", dataDir, "--arch", "784-16-784", "--batch", "50", "--device", "cpu", "--eval-every", "0", "--save-every", "0"];

test("SIGINT saves a checkpoint and exits 130; --resume continues", async () => {
  const run = join(root, "run");
  const child = Bun.spawn([process.execPath, "src/cli/train.ts", "--opt", "adam", "--steps", "1000000", "--out", run, ...flags], { stderr: "pipe", stdout: "pipe" });
  const metrics = join(run, "metrics.ndjson");
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !(existsSync(metrics) && readFileSync(metrics, "utf8").split("\n").length > 4)) await Bun.sleep(50);
  child.kill("SIGINT");
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  expect(code).toBe(130);
  expect(stderr).toMatch(/interrupted at step \d+; saving a checkpoint .* --resume/);
  expect(existsSync(join(run, "model.safetensors"))).toBe(true);
  const stopped = readMetrics(metrics).filter((r) => r.type === "step").length;
  const resumed = Bun.spawnSync([process.execPath, "src/cli/train.ts", "--resume", run, "--steps", String(stopped + 3), "--quiet"]);
  expect(resumed.exitCode, resumed.stderr.toString()).toBe(0);
  const steps = readMetrics(metrics).filter((r) => r.type === "step").map((r) => r.step);
  expect(steps).toEqual(Array.from({ length: stopped + 3 }, (_, i) => i + 1));
});
