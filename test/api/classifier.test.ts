// Example 3 (examples/classifier.ts) on the CPU backend at a small size: the CSV's text labels are
// imported and named, KFRA and Adam both learn to classify, the best model reloads from its file
// alone into the held-out error and accuracy it was chosen by, and it names the regions of new points.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { afterAll, expect, test } from "vitest";
import { main } from "../../examples/classifier.ts";

const dir = join(tmpdir(), `kfra-classifier-test-${process.pid}`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the classifier example: named classes, KFRA against Adam, the best model reloaded and predicting", async () => {
  const { results, reloaded, predicted, classNames } = await main({ device: "cpu", rows: 1200, steps: 120, dir, quiet: true });
  expect(classNames).toEqual(["inner", "middle", "outer"]);
  expect(results.map((r) => r.method)).toEqual(["kfra", "adam"]);
  for (const r of results) expect(r.heldOutAccuracy).toBeGreaterThan(0.6);
  const kfra = results[0];
  expect(kfra.best.heldOutAccuracy).toBeGreaterThan(0.85);
  // Same float32 weights, same chunks, same backend: the loss agrees to rounding, the accuracy exactly.
  expect(reloaded.loss).toBeCloseTo(kfra.best.heldOut, 6);
  expect(reloaded.accuracy).toBe(kfra.best.heldOutAccuracy);
  expect(predicted.map((p) => p.region)).toEqual(["inner", "middle", "outer"]);
});
