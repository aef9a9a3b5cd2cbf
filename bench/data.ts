// `bun run bench data`: how long each `prep` takes (goal: FACES ≤ 60 s on this 2-core machine), how
// many minibatches per second the stream delivers on its own, and how long the trainer waits per
// step when the main thread is busy with compute between next() calls (a loop of CPU-backend gemms
// of about --busy-ms per step, the shape of a training step; a plain busy loop if the backend is
// missing). Busy steps are also timed without the stream, in the same run, to show what the worker
// costs the main thread. Prints a table and writes bench/results/data.json.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MinibatchStream, createBackend } from "../src/index.ts";
import { type DatasetName, parseFlags, positiveIntegerFlag, writeFileAtomic } from "../src/bench-internals.ts";
import { prepareDataset } from "../data-prep/prepare.ts";

const HELP = `usage: bun run bench data [--batches N] [--steps N] [--busy-ms MS]

  --batches N   minibatches timed per stream-alone measurement (default 40)
  --steps N     busy training steps timed, with and without the stream (default 15)
  --busy-ms MS  main-thread compute per step in milliseconds (default 200)

Writes bench/results/data.json.`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Returns a function that keeps the main thread computing for about `ms` milliseconds per call. */
async function makeBusyWork(ms: number): Promise<{ kind: string; device: string; run: () => Promise<void>; dispose: () => void }> {
  try {
    const backend = await createBackend({ device: "cpu" });
    const a = backend.alloc(1000, 784), b = backend.alloc(784, 1000), c = backend.alloc(1000, 1000);
    backend.upload(a, new Float32Array(1000 * 784).fill(0.5));
    backend.upload(b, new Float32Array(784 * 1000).fill(0.25));
    const gemm = () => backend.gemm(a, b, c);
    const timeReps = async (reps: number) => {
      const started = performance.now();
      for (let i = 0; i < reps; i++) gemm();
      await backend.flush();
      return performance.now() - started;
    };
    // Calibrate the repetitions to about `ms` per step: three rounds of reps ← reps · ms / measured.
    let reps = 1;
    await timeReps(3);
    for (let round = 0; round < 3; round++) reps = Math.max(1, Math.round((reps * ms) / (await timeReps(reps))));
    return {
      kind: `${reps} CPU-backend gemms 1000×784·784×1000`,
      device: backend.info.device,
      run: async () => {
        for (let i = 0; i < reps; i++) gemm();
        await backend.flush();
      },
      dispose: () => backend.dispose(),
    };
  } catch (error) {
    process.stderr.write(`bench data: CPU backend unavailable (${(error as Error).message}); using a busy loop\n`);
    return {
      kind: `busy loop of ${ms} ms`,
      device: "main thread",
      run: async () => {
        const until = performance.now() + ms;
        let x = 0;
        while (performance.now() < until) for (let i = 0; i < 10_000; i++) x = (x * 1.000001 + i) % 1e9;
        if (x < 0) throw new Error("unreachable");
      },
      dispose: () => {},
    };
  }
}

async function streamAlone(file: string, workers: number, batches: number) {
  const stream = await MinibatchStream.open({ file, batchSize: 1000, seed: 1, workers, prefetch: 2 * workers });
  try {
    for (let i = 0; i < 3; i++) await stream.next();
    const started = performance.now();
    for (let i = 0; i < batches; i++) await stream.next();
    return { batchesPerSecond: batches / ((performance.now() - started) / 1000) };
  } finally {
    await stream.close();
  }
}

async function busySteps(file: string | undefined, busy: () => Promise<void>, steps: number) {
  const stream = file ? await MinibatchStream.open({ file, batchSize: 1000, seed: 1, workers: 1, prefetch: 4 }) : undefined;
  try {
    if (stream) await stream.next();
    const waits: number[] = [];
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const started = performance.now();
      if (stream) {
        const before = stream.waitTimeMs();
        await stream.next();
        waits.push(stream.waitTimeMs() - before);
      }
      await busy();
      times.push(performance.now() - started);
    }
    return { medianStepMs: median(times), medianWaitMs: stream ? median(waits) : 0, maxWaitMs: stream ? Math.max(...waits) : 0, stepsPerSecond: 1000 / median(times) };
  } finally {
    await stream?.close();
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, { batches: { type: "string" }, steps: { type: "string" }, "busy-ms": { type: "string" }, help: { type: "boolean" } });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const batches = positiveIntegerFlag("batches", values.batches ?? "40"), steps = positiveIntegerFlag("steps", values.steps ?? "15"), busyMs = positiveIntegerFlag("busy-ms", values["busy-ms"] ?? "200");
  const dir = mkdtempSync(join(tmpdir(), "bench-data-"));
  try {
    // CPU seconds of the whole process, worker threads (FACES) and sharp's threads included.
    const prep: Record<string, { seconds: number; cpuSeconds: number; images: number }> = {};
    for (const name of ["mnist", "curves", "faces"] as DatasetName[]) {
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      const result = await prepareDataset(name, { out: dir, quiet: true });
      const cpu = process.cpuUsage(cpuBefore);
      prep[name] = { seconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, images: result.files.reduce((s, f) => s + f.count, 0) };
    }
    const alone: Record<string, { batchesPerSecond: number }> = {};
    for (const name of ["mnist", "faces"]) {
      for (const workers of [1, 2]) alone[`${name} workers=${workers}`] = await streamAlone(join(dir, `${name}-train.arrow`), workers, batches);
    }
    const work = await makeBusyWork(busyMs);
    let busy: { withoutStream: Awaited<ReturnType<typeof busySteps>>; withStream: Awaited<ReturnType<typeof busySteps>> };
    try {
      const withoutStream = await busySteps(undefined, work.run, steps);
      const withStream = await busySteps(join(dir, "mnist-train.arrow"), work.run, steps);
      busy = { withoutStream, withStream };
    } finally {
      work.dispose();
    }

    const rows: string[][] = [["measurement", "value"]];
    for (const [name, p] of Object.entries(prep)) rows.push([`prep ${name} (${p.images} images)`, `${p.seconds.toFixed(2)} s (${p.cpuSeconds.toFixed(1)} s of CPU)`]);
    for (const [name, a] of Object.entries(alone)) rows.push([`stream alone, ${name}, batch 1000`, `${a.batchesPerSecond.toFixed(1)} minibatches/s`]);
    rows.push([`busy step without stream (${work.kind})`, `${busy.withoutStream.medianStepMs.toFixed(1)} ms median`]);
    rows.push([`busy step with stream (mnist, 1 worker, prefetch 4)`, `${busy.withStream.medianStepMs.toFixed(1)} ms median`]);
    rows.push([`  minibatches/s while busy`, `${busy.withStream.stepsPerSecond.toFixed(2)}`]);
    rows.push([`  trainer wait per step`, `${busy.withStream.medianWaitMs.toFixed(3)} ms median, ${busy.withStream.maxWaitMs.toFixed(3)} ms max`]);
    const width = Math.max(...rows.map((r) => r[0].length));
    console.log(rows.map((r, i) => `${r[0].padEnd(width)}  ${r[1]}${i === 0 ? `\n${"-".repeat(width + 30)}` : ""}`).join("\n"));

    const results = { benchmark: "data", date: new Date().toISOString(), options: { batches, steps, busyMs }, busyWork: { kind: work.kind, device: work.device }, prep, streamAlone: alone, busy };
    writeFileAtomic(join(dirname(fileURLToPath(import.meta.url)), "results", "data.json"), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwrote bench/results/data.json`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
