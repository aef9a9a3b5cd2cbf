// The package as others get it: `npm pack` holds the sources, shaders, examples and declarations
// and no data, runs or tests; a scratch project outside the repository installs the tarball and
// trains on its own Arrow file through the bin (kfra-train) and through the API, and its
// TypeScript sees the package's types. The tarball's dependencies are not fetched: the scratch
// project's node_modules links to this repository's installed packages, which npm accepts as
// satisfying them (--offline proves nothing is downloaded).
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { encodeTable } from "../../data-prep/table-writer.ts";

const repo = resolve(import.meta.dirname, "../..");
const modules = join(repo, "node_modules");
const scratch = mkdtempSync(join(tmpdir(), "kfra-scratch-"));
const env = { ...process.env, PATH: `${dirname(process.execPath)}:${join(modules, ".bin")}:${process.env.PATH}` };
let tarball = "";
let packed: string[] = [];

function run(command: string, args: string[], cwd = scratch): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 120_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** Links every package installed in the repository into the scratch project's node_modules, where none is there yet. */
function linkRepositoryPackages(): void {
  const target = join(scratch, "node_modules");
  mkdirSync(target, { recursive: true });
  for (const name of readdirSync(modules)) {
    if (name.startsWith(".") || name === "kfra-webgpu") continue;
    const inner = name.startsWith("@") ? readdirSync(join(modules, name)).map((n) => `${name}/${n}`) : [name];
    if (name.startsWith("@")) mkdirSync(join(target, name), { recursive: true });
    for (const pkg of inner) if (!existsSync(join(target, pkg))) symlinkSync(join(modules, pkg), join(target, pkg));
  }
}

beforeAll(() => {
  const out = run("npm", ["pack", "--json", "--pack-destination", scratch], repo);
  const [info] = JSON.parse(out.stdout.slice(out.stdout.indexOf("[")));
  tarball = join(scratch, info.filename);
  packed = info.files.map((f: { path: string }) => f.path);
  writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  linkRepositoryPackages();
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock", tarball]);
  linkRepositoryPackages(); // npm prunes the links it does not count as the tarball's dependencies; a registry install would have put them there
  // The scratch project's own data: 8 features in [−1, 1], a target column of two values.
  const rows = 400;
  const x = Float32Array.from({ length: rows * 8 }, (_, i) => Math.sin(1.3 * i + Math.floor(i / 8)));
  const y = Float32Array.from({ length: rows * 2 }, (_, i) => (i % 2 === 0 ? x[4 * i] + 0.5 * x[4 * i + 1] : x[4 * i - 2] * x[4 * i - 1]));
  writeFileSync(join(scratch, "mine.arrow"), encodeTable({ values: x, width: 8 }, { values: y, width: 2 }));
}, 180_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("npm pack and a scratch project", () => {
  test("the tarball holds sources, shaders, declarations and examples, and no data, runs or tests", () => {
    for (const file of ["package.json", "README.md", "src/index.ts", "src/cli/train.ts", "shaders/gemm.wgsl", "types/src/index.d.ts", "examples/custom-loop.ts", "docs/api.md", "data-prep/cli.ts"]) {
      expect(packed).toContain(file);
    }
    expect(packed.filter((f) => /^(data|runs|test|bench|node_modules)\/|\.arrow$|\.safetensors$/.test(f))).toEqual([]);
    expect(existsSync(join(scratch, "node_modules/kfra-webgpu/src/index.ts"))).toBe(true);
    expect(readFileSync(join(scratch, "package.json"), "utf8")).toMatch(/"kfra-webgpu":\s*"file:/);
  });

  test("the bin kfra-train trains on the project's own Arrow file", () => {
    const result = run(join(scratch, "node_modules/.bin/kfra-train"), ["--data", "mine.arrow", "--targets", "targets", "--hidden", "16", "--batch", "50", "--steps", "20", "--eval-every", "20", "--device", "cpu", "--quiet", "--out", "run"]);
    expect(result.stderr).toBe("");
    const evals = readFileSync(join(scratch, "run/metrics.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.type === "eval");
    expect(evals.map((e) => e.step)).toEqual([0, 20]);
    expect(evals[1].train).toBeLessThan(0.5 * evals[0].train);
    expect(existsSync(join(scratch, "run/model.safetensors"))).toBe(true);
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
      compilerOptions: { target: "ESNext", module: "ESNext", moduleResolution: "bundler", strict: true, noEmit: true, skipLibCheck: true, types: ["bun-types"] },
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
