// bin/node.mjs, what Node loads for `import "kfra-webgpu"`, must export every name the package
// exports (else Node's linker fails on a named import before the one-line message can run).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect, test } from "vitest";

test("bin/node.mjs exports exactly the package's value exports", async () => {
  const text = readFileSync(resolve(import.meta.dirname, "../../bin/node.mjs"), "utf8");
  const names = /^export let (.*);$/m.exec(text)![1].split(",").map((n) => n.trim());
  const actual = Object.keys(await import("../../src/index.ts"));
  expect(names.sort()).toEqual(actual.sort());
});
