// Files that parse but have the wrong shape, and resources that run out: one line naming the file
// and what is wrong, exit 1, never an exit-70 stack trace; --resume falls back to the checkpoint
// before one whose header is malformed. A metrics line `null`, a config.json with "arch": 5, a
// safetensors entry without a shape or with negative, overlapping or fractional data_offsets, a
// sweep.json or result.json of the wrong shape, a contact sheet asked into a folder, and a
// process that runs out of memory.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SafetensorsError, readSafetensors } from "../../src/io/safetensors.ts";
import { BUN, REPO, type Workspace, cli, quick, range, stepsLogged, trainCli, workspace, expectOneLine } from "./helpers.ts";

let ws: Workspace;
let run: string;
beforeAll(async () => {
  ws = await workspace("shapes");
  run = join(ws.root, "base");
  const made = trainCli(["--opt", "adam", "--steps", "4", "--save-every", "2", "--out", run, "--quiet", ...quick(ws.dataDir)]);
  expect(made.code, made.stderr).toBe(0);
});
afterAll(() => ws.remove());


/** A copy of the base run, to damage. */
function copyRun(name: string): string {
  const copy = join(ws.root, name);
  Bun.spawnSync(["cp", "-a", run, copy]);
  return copy;
}

/** The bytes of a safetensors file with this header (object or raw JSON text) and data section. */
function safetensors(header: object | string, data: Uint8Array): Uint8Array {
  let json = typeof header === "string" ? header : JSON.stringify(header);
  json += " ".repeat((8 - ((8 + json.length) % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

describe("JSON of the wrong shape", () => {
  test("a metrics line that is null: plot, bench report and --resume name the line, exit 1", () => {
    const copy = copyRun("null-metrics");
    const metrics = join(copy, "metrics.ndjson");
    const lines = readFileSync(metrics, "utf8").trim().split("\n");
    writeFileSync(metrics, [lines[0], "null", ...lines.slice(1)].join("\n") + "\n");
    expectOneLine(cli("src/cli/plot.ts", [copy, "--out", join(ws.root, "null-chart")]), "plot", /null-metrics\/metrics\.ndjson: line 2 is not a metrics record: null is not a JSON object/);
    expectOneLine(trainCli(["--resume", copy, "--steps", "6", "--quiet"]), "train", /metrics\.ndjson: line 2 is not a metrics record/);
    const sweep = join(ws.root, "null-sweep");
    mkdirSync(join(sweep, "runs", "adam", "one"), { recursive: true });
    writeFileSync(join(sweep, "sweep.json"), JSON.stringify({ spec: { name: "s", description: "" }, scale: 1, runs: [{ id: "adam/one" }] }));
    writeFileSync(join(sweep, "runs", "adam", "one", "result.json"), JSON.stringify({ status: "done", settings: { opt: "adam" } }));
    writeFileSync(join(sweep, "runs", "adam", "one", "metrics.ndjson"), readFileSync(metrics));
    expectOneLine(cli("bench/cli.ts", ["report", sweep]), "bench report", /metrics\.ndjson: line 2 is not a metrics record/);
  });

  test('config.json with "arch": 5: --resume names the setting, exit 1', () => {
    const copy = copyRun("arch-number");
    const config = JSON.parse(readFileSync(join(copy, "config.json"), "utf8"));
    writeFileSync(join(copy, "config.json"), JSON.stringify({ ...config, arch: 5 }));
    expectOneLine(trainCli(["--resume", copy, "--steps", "6", "--quiet"]), "train", /arch-number\/config\.json: 'arch' is 5, expected a string \(--arch\); the file is damaged/);
  });

  test.each([
    ["sweep.json with runs: 5", { spec: { name: "s", description: "" }, scale: 1, runs: 5 }, { status: "done" }, /sweep\.json: 'runs' is 5, not a list; not a sweep record/],
    ["a run id that climbs out of the sweep", { spec: { name: "s", description: "" }, scale: 1, runs: [{ id: "../../etc" }] }, { status: "done" }, /sweep\.json: runs\[0\] has no id of the form GROUP\/RUN/],
    ["result.json that is null", { spec: { name: "s", description: "" }, scale: 1, runs: [{ id: "adam/one" }] }, null, /result\.json: null is not a JSON object; not a run result/],
  ])("bench report on %s: one line naming the file, exit 1", (name, sweepFile, result, message) => {
    const sweep = join(ws.root, `report-${name.replace(/\W+/g, "-")}`);
    mkdirSync(join(sweep, "runs", "adam", "one"), { recursive: true });
    writeFileSync(join(sweep, "sweep.json"), JSON.stringify(sweepFile));
    writeFileSync(join(sweep, "runs", "adam", "one", "result.json"), JSON.stringify(result));
    expectOneLine(cli("bench/cli.ts", ["report", sweep]), "bench report", message);
  });
});

describe("safetensors headers", () => {
  test("an entry without a shape in the newest checkpoint: --resume says why and uses the one before", () => {
    const copy = copyRun("no-shape");
    const latest = join(copy, "checkpoints", "step-000000004", "model.safetensors");
    const bytes = readFileSync(latest);
    const length = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + length).toString("utf8"));
    delete header["layers.0.bias"].shape;
    writeFileSync(latest, safetensors(header, bytes.subarray(8 + length)));
    const resumed = trainCli(["--resume", copy, "--steps", "5", "--quiet"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/step-000000004\/model\.safetensors: tensor 'layers\.0\.bias' has shape undefined, not a list of whole numbers\); resuming from .*step-000000002/);
    expect(stepsLogged(copy)).toEqual(range(1, 5));
  });

  test("negative, overlapping and fractional data_offsets are refused; a negative one never loads header bytes as weights through --init", () => {
    const data = new Uint8Array(16);
    const cases: [object, RegExp][] = [
      [{ a: { dtype: "F32", shape: [2], data_offsets: [-8, 0] } , b: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, /tensor 'a' has data_offsets \[-8,0\], not \[begin, end\]/],
      [{ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] }, b: { dtype: "F32", shape: [2], data_offsets: [8, 16] } }, /overlaps another tensor's bytes/],
      [{ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [8.5, 16.5] } }, /tensor 'b' has data_offsets \[8\.5,16\.5\], not \[begin, end\]/],
      [{ a: { dtype: "F32", shape: [1.5], data_offsets: [0, 6] } }, /tensor 'a' has shape \[1\.5\], not a list of whole numbers/],
      [{ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, /8 bytes past the last tensor/],
    ];
    for (const [header, message] of cases) {
      const path = join(ws.root, "offsets.safetensors");
      writeFileSync(path, safetensors(header, data));
      expect(() => readSafetensors(path), JSON.stringify(header)).toThrow(SafetensorsError);
      expect(() => readSafetensors(path)).toThrow(message);
    }
    // A model whose first weight starts 8 bytes before the data section, inside the header.
    const model = readFileSync(join(run, "model.safetensors"));
    const length = Number(model.readBigUInt64LE(0));
    const header = JSON.parse(model.subarray(8, 8 + length).toString("utf8"));
    const [begin, end] = header["layers.0.weight"].data_offsets;
    header["layers.0.weight"].data_offsets = [begin - 8, end - 8];
    const init = join(ws.root, "negative.safetensors");
    writeFileSync(init, safetensors(header, model.subarray(8 + length)));
    const out = join(ws.root, "from-negative");
    expectOneLine(trainCli(["--opt", "adam", "--init", init, "--steps", "1", "--out", out, "--quiet", ...quick(ws.dataDir)]), "train", /negative\.safetensors: tensor 'layers\.0\.weight' has data_offsets \[-8,/);
  });
});

describe("resources and outputs", () => {
  test("running out of memory: one line saying so and what to lower, exit 1", () => {
    // Small weights (4.7 M, drawn in a fraction of a second), activations of 100,000 × 3,000 floats: over 4 GB.
    const run = Bun.spawnSync(["sh", "-c", `ulimit -v 4000000 && exec "$BUN" "$TRAIN" --opt adam --steps 1 --batch 100000 --arch 784-3000-784 --device cpu --data-dir "$DATA" --out "$OUT" --quiet`], {
      env: { ...process.env, BUN, TRAIN: join(REPO, "src/cli/train.ts"), DATA: ws.dataDir, OUT: join(ws.root, "oom") },
    });
    expectOneLine({ code: run.exitCode ?? -1, stderr: run.stderr.toString() }, "train", /out of memory \(.*\); a smaller --batch or network \(--arch, --hidden\) needs less/);
  });

  test("plot and bench report never write over a file of another kind at their --out", () => {
    const mine = join(ws.root, "mine");
    mkdirSync(mine);
    writeFileSync(join(mine, "chart.png"), "my own notes, not a PNG");
    expectOneLine(cli("src/cli/plot.ts", [run, "--metric", "minibatch", "--out", join(mine, "chart")]), "plot", /--out .*mine\/chart\.png exists and is not a PNG image this program could have written; it is left as it is/);
    expect(readFileSync(join(mine, "chart.png"), "utf8")).toBe("my own notes, not a PNG");
    const drawn = cli("src/cli/plot.ts", [run, "--metric", "minibatch", "--out", join(mine, "drawn")]);
    expect(drawn.code, drawn.stderr).toBe(0);
    const again = cli("src/cli/plot.ts", [run, "--metric", "minibatch", "--out", join(mine, "drawn")]);
    expect(again.code, again.stderr).toBe(0);
    const sweep = join(ws.root, "report-into-mine");
    mkdirSync(join(sweep, "runs", "adam", "one"), { recursive: true });
    writeFileSync(join(sweep, "sweep.json"), JSON.stringify({ spec: { name: "s", description: "" }, scale: 1, runs: [{ id: "adam/one" }] }));
    writeFileSync(join(mine, "report.md"), "# My thesis notes\n");
    expectOneLine(cli("bench/cli.ts", ["report", sweep, "--out", mine]), "bench report", /report\.md exists and is not a sweep report this program could have written/);
    expect(readFileSync(join(mine, "report.md"), "utf8")).toBe("# My thesis notes\n");
  });

  test("prep preview --out DIR writes DIR/NAME.png; onto its own data file it is refused", () => {
    const dir = join(ws.root, "sheets");
    mkdirSync(dir);
    const file = join(ws.dataDir, "curves-test.arrow");
    const made = cli("data-prep/cli.ts", ["preview", file, "--out", dir]);
    expect(made.code, made.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual(["curves-test.png"]);
    const before = readFileSync(file);
    expectOneLine(cli("data-prep/cli.ts", ["preview", file, "--out", file]), "prep", /--out .*curves-test\.arrow is the input file/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });
});
