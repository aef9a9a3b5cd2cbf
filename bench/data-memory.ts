// `bun run bench data-memory`: what a file larger than the paper's sets costs in memory and in speed.
// Generates an Arrow file of --rows × --dim float32 features (default 400,000 × 1,000: 1.6 GB) in
// record batches of 1,000 rows, written batch by batch, then measures, each in a child process under
// GNU time (`/usr/bin/time -v`, its "Maximum resident set size"):
//   - a worker's work per minibatch (batch 1000, the seeded order): positioned reads (io_uring where
//     the kernel allows it), positioned reads by pread, and the whole file in memory, taking turns
//     minibatch by minibatch in one process, so that the load of a shared machine falls on all alike
//     (medians);
//   - the stream alone, 1 worker, batch 1000: minibatches per second and peak RSS of four ways,
//     alternating, --reps times each (medians reported): positioned reads with each minibatch
//     released after use (what the trainer does); the same by pread; the whole file read into memory
//     by the worker and each minibatch in new arrays (the stream before positioned reads); and, for
//     reference, the whole file in memory with minibatches released;
//   - `train --data FILE --hidden 64-16-64 --steps 10 --eval-every 0` with --workers 1, 2 and 4
//     (a whole-set evaluation at the start and at the end), and one with --eval-every 5;
//   - with --big-rows N, a second file (1,500,000 rows: 6 GB) with positioned reads only;
//   - for each file, `prep import FILE.npy --out FILE.arrow` of the same rows written as a .npy,
//     which streams: its peak RSS should not grow with the file.
// The files are removed at the end. Prints a table and writes bench/results/data-memory.json.
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Field, FixedSizeList, Float32, RecordBatch, RecordBatchFileWriter, Schema, Struct, makeData } from "apache-arrow";
import { DatasetReader, MemoryRows, MinibatchStream, type StreamTestOptions, epochPermutation, parseFlags, positiveIntegerFlag, writeFileAtomic } from "../src/bench-internals.ts";

const HELP = `usage: bun run bench data-memory [--rows N] [--dim D] [--big-rows N] [--batches N] [--reps N] [--no-compare] [--workers L] [--no-eval-run] [--dir DIR]

  --rows N      rows of the generated file (default 400000: 1.6 GB at --dim 1000)
  --dim D       float32 features per row (default 1000)
  --big-rows N  rows of a second file measured with positioned reads only (default 0: none; 1500000 is 6 GB)
  --batches N   minibatches timed per stream measurement, after 3 untimed (default 200)
  --reps N      runs of each stream measurement, the ways alternating (default 3)
  --no-compare  skip the whole-file-in-memory reader (for a file larger than memory)
  --workers L   the train runs' --workers, comma-separated (default 1,2,4)
  --no-eval-run skip the train run that evaluates every 5 updates (the others evaluate at start and end)
  --no-import   skip prep import of the same rows as a .npy (needs twice the file's size on disk)
  --dir DIR     folder for the generated files (default: a new folder in the system's temporary folder); they are removed at the end

Needs GNU time at /usr/bin/time (Debian: apt-get install time). Writes bench/results/data-memory.json.`;

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const ROWS_PER_BATCH = 1000;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Fills `values` from the 32-bit xorshift whose state is `state` (values in [0, 1)); the next state. */
function xorshiftFill(values: Float32Array, state: number): number {
  for (let i = 0; i < values.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[i] = (state >>> 8) / 16777216;
  }
  return state;
}

/** Writes the same rows as `generate` as a .npy (version 1, '<f4', C order) of shape (rows, dim), 1,000 rows at a time; memory: those rows. */
export function generateNpy(file: string, rows: number, dim: number): void {
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  dict = `${dict.padEnd(dict.length + 63 - ((10 + dict.length) % 64), " ")}\n`;
  const header = new Uint8Array(10 + dict.length);
  header.set([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0]);
  new DataView(header.buffer).setUint16(8, dict.length, true);
  header.set(new TextEncoder().encode(dict), 10);
  const fd = openSync(file, "w");
  try {
    writeSync(fd, header);
    let state = 2463534242;
    for (let start = 0; start < rows; start += ROWS_PER_BATCH) {
      const values = new Float32Array(Math.min(ROWS_PER_BATCH, rows - start) * dim);
      state = xorshiftFill(values, state);
      writeSync(fd, new Uint8Array(values.buffer));
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes rows × dim float32 features (column 'x', values in [0, 1) from a 32-bit xorshift) batch by batch; memory: one batch. */
export async function generate(file: string, rows: number, dim: number): Promise<void> {
  const type = new FixedSizeList(dim, new Field("v", new Float32(), false));
  const fields = [new Field("x", type, false)];
  const schema = new Schema(fields);
  const writer = new RecordBatchFileWriter();
  const fd = openSync(file, "w");
  const drained = (async () => {
    for await (const chunk of writer) writeSync(fd, chunk);
  })();
  let state = 2463534242;
  try {
    for (let start = 0; start < rows; start += ROWS_PER_BATCH) {
      const n = Math.min(ROWS_PER_BATCH, rows - start);
      const values = new Float32Array(n * dim);
      state = xorshiftFill(values, state);
      const x = makeData({ type, length: n, nullCount: 0, child: makeData({ type: new Float32(), length: n * dim, data: values }) });
      writer.write(new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children: [x] })));
      await new Promise((resolve) => setImmediate(resolve));
    }
    writer.finish();
    await drained;
  } finally {
    closeSync(fd);
  }
}

interface Measured {
  peakRssMB: number;
  seconds: number;
  output: string;
}

/**
 * Runs a command under GNU time -v; its peak RSS in MB (10⁶ bytes), wall seconds and stdout. The
 * report goes to a file (-o): a Bun child that writes to stderr leaves the shared pipe non-blocking,
 * and time's report, written after it, is cut short there (exit 1).
 */
function underTime(args: string[], what: string): Measured {
  const report = join(tmpdir(), `kfra-data-memory-time-${process.pid}.txt`);
  const started = performance.now();
  const result = spawnSync("/usr/bin/time", ["-v", "-o", report, ...args], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  const seconds = (performance.now() - started) / 1000;
  const text = existsSync(report) ? readFileSync(report, "utf8") : "";
  rmSync(report, { force: true });
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
  if (result.status !== 0 || !rss) throw new Error(`${what} failed (exit ${result.status}): ${`${result.stderr ?? ""}\n${text}`.trim().split("\n").slice(-25).join("\n")}`);
  return { peakRssMB: (Number(rss[1]) * 1024) / 1e6, seconds, output: result.stdout };
}

/** The stream measured: which reader its worker uses, and whether each minibatch is released after use. */
interface StreamWay {
  reader: "file" | "memory";
  release: boolean;
  reads?: "pread";
}
const WAYS: Record<string, StreamWay & { name: string }> = {
  file: { reader: "file", release: true, name: "positioned reads, minibatches released (the trainer's stream)" },
  pread: { reader: "file", release: true, reads: "pread", name: "positioned reads by pread (no io_uring), minibatches released" },
  memory: { reader: "memory", release: false, name: "whole file in memory, new arrays per minibatch (the stream before positioned reads)" },
  "memory-released": { reader: "memory", release: true, name: "whole file in memory, minibatches released" },
};

/** Child process: the stream alone on `file` read the given way; prints { openSeconds, batchesPerSecond } as JSON. */
async function streamChild(file: string, way: StreamWay, workers: number, batches: number): Promise<void> {
  const started = performance.now();
  const options: StreamTestOptions = { file, batchSize: 1000, seed: 1, workers, prefetch: 2 * workers, reader: way.reader, reads: way.reads };
  const stream = await MinibatchStream.open(options);
  const take = async () => {
    const batch = await stream.next();
    if (way.release) stream.release(batch);
  };
  try {
    for (let i = 0; i < 3; i++) await take();
    const openSeconds = (performance.now() - started) / 1000;
    const timed = performance.now();
    for (let i = 0; i < batches; i++) await take();
    console.log(JSON.stringify({ openSeconds, batchesPerSecond: batches / ((performance.now() - timed) / 1000) }));
  } finally {
    await stream.close();
  }
}

/** Child process: --batches minibatches of epoch 0 made by each reader in turn (the order rotated every minibatch); prints median milliseconds. */
function workChild(file: string, batches: number): void {
  const readers = { file: DatasetReader.open(file), pread: DatasetReader.open(file, {}, { reads: "pread" }), memory: MemoryRows.open(file) };
  const { count, dim } = readers.file.info;
  const order = epochPermutation(count, 1, 0);
  const x = new Float32Array(1000 * dim);
  const names = ["file", "pread", "memory"] as const;
  const ms: Record<(typeof names)[number], number[]> = { file: [], pread: [], memory: [] };
  for (let b = 0; b < batches + 2; b++) {
    const indices = order.subarray((b * 1000) % (count - 1000), ((b * 1000) % (count - 1000)) + 1000);
    for (let t = 0; t < names.length; t++) {
      const which = names[(b + t) % names.length];
      const started = performance.now();
      readers[which].readRows(indices, { x });
      if (b >= 2) ms[which].push(performance.now() - started);
    }
  }
  console.log(JSON.stringify({ fileMs: median(ms.file), preadMs: median(ms.pread), memoryMs: median(ms.memory), reads: readers.file.reads }));
}

function workRun(file: string, batches: number) {
  const m = underTime([process.execPath, join(here, "data-memory.ts"), "--child-work", file, String(batches)], "worker work");
  return JSON.parse(m.output.trim().split("\n").at(-1)!) as { fileMs: number; preadMs: number; memoryMs: number; reads: string };
}

function streamRun(file: string, way: string, batches: number) {
  const m = underTime([process.execPath, join(here, "data-memory.ts"), "--child-stream", file, way, "1", String(batches)], `stream (${way})`);
  const line = JSON.parse(m.output.trim().split("\n").at(-1)!) as { openSeconds: number; batchesPerSecond: number };
  return { peakRssMB: m.peakRssMB, ...line };
}

function trainRun(file: string, dir: string, workers: number, evalEvery: number) {
  const out = join(dir, `run-w${workers}-e${evalEvery}-${Date.now()}`);
  const args = ["--data", file, "--hidden", "64-16-64", "--steps", "10", "--eval-every", String(evalEvery), "--save-every", "0", "--workers", String(workers), "--device", "cpu", "--out", out, "--quiet"];
  const m = underTime([process.execPath, join(root, "src", "cli", "train.ts"), ...args], `train --workers ${workers}`);
  // How long the trainer waited for minibatches, over the 10 updates (metrics.ndjson's dataWaitMs).
  const steps = readFileSync(join(out, "metrics.ndjson"), "utf8").trim().split("\n").map((line) => JSON.parse(line)).filter((r) => r.type === "step");
  const dataWaitMs = steps.reduce((sum, r) => sum + Number(r.dataWaitMs), 0);
  rmSync(out, { recursive: true, force: true });
  return { command: `train ${args.slice(0, -3).join(" ").replace(file, "FILE")}`, peakRssMB: m.peakRssMB, seconds: m.seconds, dataWaitMs };
}

/** `prep import` of a .npy of rows × dim (written first, removed after) under GNU time: peak RSS and seconds. */
function importRun(dir: string, rows: number, dim: number) {
  const npy = join(dir, "import.npy");
  const out = join(dir, "import.arrow");
  try {
    generateNpy(npy, rows, dim);
    const sizeMB = statSync(npy).size / 1e6;
    const m = underTime([process.execPath, join(root, "data-prep", "cli.ts"), "import", npy, "--out", out], "prep import");
    return { command: "prep import FILE.npy --out FILE.arrow", sizeMB, peakRssMB: m.peakRssMB, seconds: m.seconds };
  } finally {
    rmSync(npy, { force: true });
    rmSync(out, { force: true });
  }
}

async function measureFile(file: string, dir: string, batches: number, reps: number, compare: boolean, trainWorkers: number[], evalRun: boolean) {
  const fileMB = statSync(file).size / 1e6;
  const stream: Record<string, { peakRssMB: number[]; batchesPerSecond: number[]; openSeconds: number[] }> = {};
  const readers = compare ? ["memory", "file", "pread", "memory-released"] : ["file", "pread"];
  const work = compare ? workRun(file, 4 * batches) : undefined;
  if (work) process.stderr.write(`bench data-memory: a worker's work per minibatch: positioned reads by ${work.reads} ${work.fileMs.toFixed(1)} ms, by pread ${work.preadMs.toFixed(1)} ms, whole file in memory ${work.memoryMs.toFixed(1)} ms (medians)\n`);
  for (let rep = 0; rep < reps; rep++) {
    for (const reader of readers) {
      const r = streamRun(file, reader, batches);
      const s = (stream[reader] ??= { peakRssMB: [], batchesPerSecond: [], openSeconds: [] });
      s.peakRssMB.push(r.peakRssMB);
      s.batchesPerSecond.push(r.batchesPerSecond);
      s.openSeconds.push(r.openSeconds);
      process.stderr.write(`bench data-memory: stream ${reader} rep ${rep + 1}: ${r.batchesPerSecond.toFixed(1)} minibatches/s, ${r.peakRssMB.toFixed(0)} MB\n`);
    }
  }
  const train = [];
  for (const workers of trainWorkers) {
    train.push(trainRun(file, dir, workers, 0));
    process.stderr.write(`bench data-memory: ${train.at(-1)!.command}: ${train.at(-1)!.peakRssMB.toFixed(0)} MB\n`);
  }
  if (evalRun) {
    train.push(trainRun(file, dir, 1, 5));
    process.stderr.write(`bench data-memory: ${train.at(-1)!.command}: ${train.at(-1)!.peakRssMB.toFixed(0)} MB\n`);
  }
  return { file: { rows: 0, sizeMB: fileMB }, work, stream, train };
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, {
    rows: { type: "string" }, dim: { type: "string" }, "big-rows": { type: "string" }, batches: { type: "string" }, reps: { type: "string" }, dir: { type: "string" }, "no-compare": { type: "boolean" }, workers: { type: "string" }, "no-eval-run": { type: "boolean" }, "no-import": { type: "boolean" }, help: { type: "boolean" },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const rows = positiveIntegerFlag("rows", values.rows ?? "400000"), dim = positiveIntegerFlag("dim", values.dim ?? "1000");
  const bigRows = values["big-rows"] === undefined || values["big-rows"] === "0" ? 0 : positiveIntegerFlag("big-rows", values["big-rows"]);
  const batches = positiveIntegerFlag("batches", values.batches ?? "200"), reps = positiveIntegerFlag("reps", values.reps ?? "3");
  const trainWorkers = (values.workers ?? "1,2,4").split(",").map((w) => positiveIntegerFlag("workers", w));
  if (!existsSync("/usr/bin/time")) {
    console.error("bench data-memory: GNU time is missing at /usr/bin/time (Debian: apt-get install time)");
    process.exitCode = 2;
    return;
  }
  const dir = values.dir ? mkdtempSync(join(values.dir, "bench-data-memory-")) : mkdtempSync(join(tmpdir(), "bench-data-memory-"));
  try {
    const sets: { name: string; rows: number; compare: boolean }[] = [{ name: "file", rows, compare: !values["no-compare"] }];
    if (bigRows) sets.push({ name: "big", rows: bigRows, compare: false });
    const results: Record<string, Awaited<ReturnType<typeof measureFile>> & { generateSeconds: number; importNpy?: ReturnType<typeof importRun> }> = {};
    for (const set of sets) {
      const file = join(dir, `${set.name}.arrow`);
      const started = performance.now();
      await generate(file, set.rows, dim);
      const generateSeconds = (performance.now() - started) / 1000;
      process.stderr.write(`bench data-memory: wrote ${file} (${(statSync(file).size / 1e6).toFixed(0)} MB) in ${generateSeconds.toFixed(1)} s\n`);
      const measured = await measureFile(file, dir, batches, reps, set.compare, trainWorkers, !values["no-eval-run"]);
      measured.file.rows = set.rows;
      results[set.name] = { ...measured, generateSeconds };
      rmSync(file, { force: true });
      if (!values["no-import"]) {
        const imported = importRun(dir, set.rows, dim);
        results[set.name].importNpy = imported;
        process.stderr.write(`bench data-memory: ${imported.command} (${(imported.sizeMB / 1000).toFixed(2)} GB): ${imported.peakRssMB.toFixed(0)} MB, ${imported.seconds.toFixed(1)} s\n`);
      }
    }

    const table: string[][] = [["file", "measurement", "peak RSS", "minibatches/s or seconds"]];
    for (const r of Object.values(results)) {
      const label = `${r.file.rows.toLocaleString("en")} × ${dim} (${(r.file.sizeMB / 1000).toFixed(2)} GB)`;
      if (r.work) {
        table.push([label, `a worker's work per minibatch, positioned reads (${r.work.reads}; the three readers take turns)`, "", `${r.work.fileMs.toFixed(1)} ms median: ${(1000 / r.work.fileMs).toFixed(1)} minibatches/s`]);
        table.push([label, "a worker's work per minibatch, positioned reads by pread", "", `${r.work.preadMs.toFixed(1)} ms median: ${(1000 / r.work.preadMs).toFixed(1)} minibatches/s`]);
        table.push([label, "a worker's work per minibatch, whole file in memory", "", `${r.work.memoryMs.toFixed(1)} ms median: ${(1000 / r.work.memoryMs).toFixed(1)} minibatches/s`]);
      }
      for (const [reader, s] of Object.entries(r.stream)) {
        table.push([label, `stream alone, 1 worker, batch 1000: ${WAYS[reader].name}`, `${median(s.peakRssMB).toFixed(0)} MB`, `${median(s.batchesPerSecond).toFixed(1)} minibatches/s (open ${median(s.openSeconds).toFixed(1)} s)`]);
      }
      for (const t of r.train) table.push([label, t.command, `${t.peakRssMB.toFixed(0)} MB`, `${t.seconds.toFixed(1)} s, waited ${t.dataWaitMs.toFixed(0)} ms for data`]);
      if (r.importNpy) table.push([label, `${r.importNpy.command} (the same rows as a .npy)`, `${r.importNpy.peakRssMB.toFixed(0)} MB`, `${r.importNpy.seconds.toFixed(1)} s`]);
    }
    const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
    console.log(table.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join("  ")).join("\n"));
    const out = { benchmark: "data-memory", date: new Date().toISOString(), options: { rows, dim, bigRows, batches, reps, compare: !values["no-compare"], trainWorkers, evalRun: !values["no-eval-run"], importNpy: !values["no-import"] }, medians: "stream figures: medians over reps", results };
    writeFileAtomic(join(here, "results", "data-memory.json"), `${JSON.stringify(out, null, 2)}\n`);
    console.log(`\nwrote bench/results/data-memory.json`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main && process.argv[2] === "--child-stream") {
  const [file, way, workers, batches] = process.argv.slice(3);
  await streamChild(file, WAYS[way], Number(workers), Number(batches));
}
if (import.meta.main && process.argv[2] === "--child-work") workChild(process.argv[3], Number(process.argv[4]));
