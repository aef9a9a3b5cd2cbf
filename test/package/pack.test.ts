// The package as others get it: `npm pack` holds the sources, shaders, examples, declarations and
// the bins' Node shims, and no data, runs or tests; a scratch project outside the repository
// installs the tarball with a plain `npm install` (from the registry, through npm's cache) on a
// PATH with Node and npm and no Bun, and then: `npx kfra-train --help`; the bin trains on the
// project's own Arrow file and on a prepared dataset, whose data lands in the user's cache folder,
// outside node_modules; environment.json names the package version and the packed revision;
// `import "kfra-webgpu"` from Node is one line saying the package runs on Bun; the API trains on
// Bun, its TypeScript sees the package's types, and both shipped examples run.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { encodeTable } from "../../data-prep/table-writer.ts";

const repo = resolve(import.meta.dirname, "../..");
const modules = join(repo, "node_modules");
const scratch = mkdtempSync(join(tmpdir(), "kfra-scratch-"));
// Node and npm, and no Bun: a folder of links to node, npm and npx, then /usr/bin and /bin.
const tools = join(scratch, "tools");
const cache = join(scratch, "cache");
const env: Record<string, string> = { ...(process.env as Record<string, string>), PATH: `${tools}:/usr/bin:/bin`, XDG_CACHE_HOME: cache };
delete env.KFRA_DATA_DIR;
let tarball = "";
let packed: string[] = [];

function run(command: string, args: string[], cwd = scratch, allowFailure = false): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 300_000 });
  if (result.status !== 0 && !allowFailure) throw new Error(`${command} ${args.join(" ")} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

beforeAll(() => {
  mkdirSync(tools);
  // Node itself: under `bun --bun` the PATH's first "node" is Bun's stand-in, which would run everything on Bun.
  const realNode = (process.env.PATH ?? "").split(":").map((dir) => join(dir, "node")).find((file) => existsSync(file) && realpathSync(file) !== realpathSync(process.execPath));
  expect(realNode, "a Node besides Bun on the PATH").toBeDefined();
  symlinkSync(realNode!, join(tools, "node"));
  for (const tool of ["npm", "npx"]) symlinkSync(Bun.which(tool)!, join(tools, tool));
  expect(spawnSync(join(tools, "node"), ["-p", "typeof Bun"], { encoding: "utf8" }).stdout.trim()).toBe("undefined");
  const out = run("npm", ["pack", "--json", "--pack-destination", scratch], repo);
  const [info] = JSON.parse(out.stdout.slice(out.stdout.indexOf("[")));
  tarball = join(scratch, info.filename);
  packed = info.files.map((f: { path: string }) => f.path);
  writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball]);
  // The scratch project's own data: 8 features in [−1, 1], a target column of two values.
  const rows = 400;
  const x = Float32Array.from({ length: rows * 8 }, (_, i) => Math.sin(1.3 * i + Math.floor(i / 8)));
  const y = Float32Array.from({ length: rows * 2 }, (_, i) => (i % 2 === 0 ? x[4 * i] + 0.5 * x[4 * i + 1] : x[4 * i - 2] * x[4 * i - 1]));
  writeFileSync(join(scratch, "mine.arrow"), encodeTable({ values: x, width: 8 }, { values: y, width: 2 }));
}, 600_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("npm pack and a scratch project", () => {
  test("the tarball holds sources, shaders, declarations and examples, and no data, runs or tests", () => {
    for (const file of ["package.json", "README.md", "src/index.ts", "src/cli/train.ts", "shaders/gemm.wgsl", "types/src/index.d.ts", "types/REVISION", "examples/custom-loop.ts", "docs/api.md", "data-prep/cli.ts", "bin/kfra-train.mjs", "bin/kfra-prep.mjs", "bin/bun-shim.mjs", "bin/node.mjs"]) {
      expect(packed).toContain(file);
    }
    expect(packed.filter((f) => /^(data|runs|test|bench|node_modules)\/|\.arrow$|\.safetensors$/.test(f))).toEqual([]);
    expect(existsSync(join(scratch, "node_modules/kfra-webgpu/src/index.ts"))).toBe(true);
    expect(readFileSync(join(scratch, "package.json"), "utf8")).toMatch(/"kfra-webgpu":\s*"file:/);
  });

  test("no Bun on the PATH; npx kfra-train --help runs the package's own", () => {
    expect(run("sh", ["-c", "command -v bun || echo none"]).stdout.trim()).toBe("none");
    const help = run("npx", ["kfra-train", "--help"]);
    expect(help.stdout).toMatch(/^usage: bun run train \[flags\]/);
  });

  test("the bin kfra-train trains on the project's own Arrow file", () => {
    const result = run("npx", ["kfra-train", "--data", "mine.arrow", "--targets", "targets", "--hidden", "16", "--batch", "50", "--steps", "20", "--eval-every", "20", "--device", "cpu", "--quiet", "--out", "run"]);
    // --quiet: the final line only.
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^train: 20 steps, final minibatch loss [\d.e+-]+.*; metrics and checkpoint in .*run$/)]);
    const evals = readFileSync(join(scratch, "run/metrics.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.type === "eval");
    expect(evals.map((e) => e.step)).toEqual([0, 20]);
    expect(evals[1].train).toBeLessThan(0.5 * evals[0].train);
    expect(existsSync(join(scratch, "run/model.safetensors"))).toBe(true);
    const environment = JSON.parse(readFileSync(join(scratch, "run/environment.json"), "utf8"));
    expect(environment.package).toBe(`kfra-webgpu@${JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).version}`);
    expect(environment.revision).toBe(spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repo, encoding: "utf8" }).stdout.trim());
  });

  test("a prepared dataset lands in the user's cache folder, outside node_modules, said in one line", () => {
    const prep = run("npx", ["kfra-prep", "curves", "--count", "200"]);
    const data = join(cache, "kfra-webgpu", "data");
    expect(prep.stderr).toContain(`(the package is installed, so its data lives outside node_modules; KFRA_DATA_DIR or --data-dir choose another folder)`);
    expect(readdirSync(data).sort()).toEqual(["curves-test.arrow", "curves-train.arrow"]);
    expect(existsSync(join(scratch, "node_modules/kfra-webgpu/data"))).toBe(false);
    const trained = run("npx", ["kfra-train", "--dataset", "curves", "--arch", "784-8-784", "--batch", "20", "--steps", "3", "--eval-every", "0", "--device", "cpu", "--quiet", "--out", "curves-run"]);
    expect(trained.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^train: 3 steps, final minibatch loss /)]);
    expect(JSON.parse(readFileSync(join(scratch, "curves-run/config.json"), "utf8")).dataDir).toBe(data);
  });

  test("imported from Node: one line saying the package runs on Bun, exit 2", () => {
    writeFileSync(join(scratch, "node-main.mjs"), `import { train } from "kfra-webgpu";\nconsole.log(typeof train);\n`);
    // Node by its path: Bun's child_process would resolve a bare "node" to Bun itself under `bun --bun`.
    const result = run(join(tools, "node"), ["node-main.mjs"], scratch, true);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual(["kfra-webgpu: this package runs on Bun, not Node: run your program with bun (the package's own: npx bun main.ts), or use its bins kfra-train, kfra-prep and kfra-sweep"]);
  });

  test("the API trains on it too, the consumer's TypeScript sees the package's types, and both shipped examples run", () => {
    writeFileSync(join(scratch, "main.ts"), `
import { Network, Optimizer, createBackend, openDataset, train } from "kfra-webgpu";
const backend = await createBackend({ device: "cpu" });
const data = openDataset("mine.arrow", { targets: "targets" });
const network = new Network(backend, { sizes: [data.dim, 16, data.targetWidth], loss: "sse" });
const optimizer = new Optimizer(network, { method: "kfra", batchSize: 50 });
const errors: number[] = [];
await train(network, optimizer, data, { steps: 20, onEval: (e) => { errors.push(e.train); } });
export function neverCalled() {
  // @ts-expect-error: batchSize is a number
  return new Optimizer(network, { method: "kfra", batchSize: "50" });
}
console.log(JSON.stringify(errors));
optimizer.dispose();
network.dispose();
backend.dispose();
`);
    const errors = JSON.parse(run(process.execPath, ["main.ts"]).stdout.trim()) as number[];
    expect(errors).toHaveLength(2);
    expect(errors[1]).toBeLessThan(0.5 * errors[0]);
    writeFileSync(join(scratch, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ESNext", module: "ESNext", moduleResolution: "bundler", strict: true, noEmit: true, skipLibCheck: true, types: ["bun-types"], typeRoots: [modules] },
      include: ["main.ts"],
    }));
    // Passes only if the types resolve: an untyped (any) import would make the @ts-expect-error unused, an error.
    run(join(modules, ".bin/tsc"), ["-p", "."]);
    const shipped = run(process.execPath, ["node_modules/kfra-webgpu/examples/custom-loop.ts", "mine.arrow", "--targets", "targets", "--device", "cpu", "--steps", "20"]);
    expect(shipped.stdout).toMatch(/held-out error [\d.]+ → best [\d.]+ after 20 updates/);
    const first = run(process.execPath, ["node_modules/kfra-webgpu/examples/autoencoder-in-memory.ts", "--device", "cpu", "--rows", "400", "--steps", "25"]);
    expect(first.stdout).toMatch(/update 25: training error [\d.]+/);
  });
});
