// Sweeps on the BullMQ queue, end to end against a real redis-server on a loopback port: three
// worker processes run a tiny sweep while one of them is killed with SIGKILL mid-run and Redis is
// killed and restarted; every run must finish exactly once, and `bench report` on the collected
// directory must give the same table as the same sweep run locally (runs are deterministic by seed,
// so everything but the seconds must match exactly).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Queue } from "bullmq";
import type IORedis from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { QUEUE_NAME, QUEUE_PREFIX, keys } from "../../src/sweep/queue/connection.ts";
import { queueStatus } from "../../src/sweep/queue/status.ts";
import { HAVE_REDIS, type TestRedis, startRedis } from "./redisServer.ts";

const ROOT = resolve(import.meta.dirname, "../..");
if (!HAVE_REDIS) console.warn("test/queue: redis-server is not installed (bash scripts/setup.sh installs it): the queue tests are SKIPPED");

interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every process a test started, killed at the end if a failed assertion left it running. */
const started = new Set<Bun.Subprocess>();

function bench(args: string[]): { process: Bun.Subprocess<"ignore", "pipe", "pipe">; finished: Promise<Finished> } {
  const child = Bun.spawn([process.execPath, "bench/cli.ts", ...args], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  started.add(child);
  const finished = Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]).then(([code, stdout, stderr]) => ({ code, stdout, stderr }));
  return { process: child, finished };
}
const benchDone = (args: string[]) => bench(args).finished;

/** The report's table of runs without the two columns of seconds, which differ from run to run. */
function tableRows(reportPath: string): string[][] {
  const text = readFileSync(reportPath, "utf8");
  return text
    .slice(text.indexOf("\n## Runs\n"), text.indexOf("\n## Spec\n"))
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("| run "))
    .map((line) => line.split("|").map((cell) => cell.trim()).filter((_, i, all) => i > 0 && i < all.length - 1))
    .map((cells) => cells.filter((_, i) => i !== 3 && i !== 8));
}

const root = mkdtempSync(join(tmpdir(), "kfra-queue-"));
const dataDir = join(root, "data");
const flags = ["--data-dir", dataDir, "--arch", "784-24-6-24-784", "--batch", "64"];
const LONG_RUN = "long/adam-lr0.001-seed0";
let redis: TestRedis;
let client: IORedis;

describe.skipIf(!HAVE_REDIS)("sweeps on a BullMQ queue", () => {
  beforeAll(async () => {
    await prepareDataset("curves", { out: dataDir, count: 400, quiet: true });
    const spec = {
      name: "tiny",
      description: "A tiny sweep for the queue tests.",
      dataset: "curves",
      seeds: [0],
      evaluations: 2,
      groups: [
        { name: "long", opt: ["adam"], steps: 600, lr: [0.001], flags },
        { name: "adam", opt: ["adam"], steps: 40, lr: [0.01, 0.003], flags },
        { name: "kfra", opt: ["kfra"], steps: 10, flags },
        { name: "sgd", opt: ["sgd"], steps: 10, lr: [1e30], flags },
      ],
    };
    writeFileSync(join(root, "tiny.json"), JSON.stringify(spec));
    // Runs that fail on every worker: their data folder holds files that are no Arrow files.
    const brokenData = join(root, "broken-data");
    mkdirSync(brokenData);
    for (const split of ["train", "test"]) writeFileSync(join(brokenData, `curves-${split}.arrow`), "not an Arrow file");
    writeFileSync(join(root, "broken.json"), JSON.stringify({ ...spec, name: "broken", groups: [{ name: "bad-data", opt: ["adam"], steps: 10, flags: ["--data-dir", brokenData, "--arch", "784-10-784"] }] }));
    redis = await startRedis(join(root, "redis"));
    client = redis.client();
    client.on("error", () => {});
  });
  afterAll(async () => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    client?.disconnect();
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test("three workers, one killed mid-run and Redis restarted: every run finishes once and the report equals the local sweep's", async () => {
    // The same sweep run locally, meanwhile, for the comparison at the end.
    const local = benchDone(["sweep", join(root, "tiny.json"), "--out", join(root, "local"), "--device", "cpu", "--jobs", "2"]);

    const enqueue = ["sweep", join(root, "tiny.json"), "--queue", redis.url, "--name", "tiny", "--attempts", "2", "--backoff-ms", "200"];
    const first = await benchDone(enqueue);
    expect(first.stderr).toMatch(/5 runs; 5 enqueued, 0 already on the queue/);
    expect(first.stderr).not.toContain("queue-test-password");
    expect((await benchDone(enqueue)).stderr).toMatch(/5 runs; 0 enqueued, 5 already on the queue/);

    const workers = ["w1", "w2", "w3"].map((name) => ({
      name,
      ...bench(["worker", "--queue", redis.url, "--device", "cpu", "--name", name, "--work-dir", join(root, name), "--lock-ms", "4000", "--stalled-ms", "1000", "--until-empty"]),
    }));

    // Wait for the long run to be under way, then kill its worker (not its train process) with SIGKILL.
    let victim: (typeof workers)[number] | undefined;
    const deadline = Date.now() + 120_000;
    while (!victim && Date.now() < deadline) {
      const { sweeps } = await queueStatus(client, "tiny");
      const long = sweeps[0].running.find((r) => r.id === LONG_RUN && r.step >= 1);
      if (long) victim = workers.find((w) => w.name === long.worker);
      else await Bun.sleep(100);
    }
    expect(victim, "the long run never showed progress").toBeDefined();
    const shown = await benchDone(["status", "--queue", redis.url, "tiny"]);
    expect(shown.stdout).toMatch(new RegExp(`${LONG_RUN} +${victim!.name} +\\d+/600`));
    const pid = victim!.process.pid;
    const trainPids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    victim!.process.kill("SIGKILL");
    // Its train process dies with it (parent-death signal), leaving no orphan to finish the run.
    await Bun.sleep(500);
    for (const child of trainPids) expect(existsSync(`/proc/${child}`) && !readFileSync(`/proc/${child}/stat`, "utf8").includes(") Z "), `train ${child} outlived its worker`).toBe(false);

    // Once some run has finished, kill Redis and start it again: nothing it acknowledged is lost.
    const later = Date.now() + 120_000;
    while ((await client.hlen(keys.results("tiny"))) === 0 && Date.now() < later) await Bun.sleep(100);
    const storedBefore = await client.hlen(keys.results("tiny"));
    expect(storedBefore).toBeGreaterThan(0);
    await redis.crashAndRestart();
    expect(await client.hlen(keys.results("tiny"))).toBeGreaterThanOrEqual(storedBefore);

    const survivors = workers.filter((w) => w !== victim);
    const ends = await Promise.all(survivors.map((w) => w.finished));
    const victimEnd = await victim!.finished;
    for (const end of ends) expect(end.code, end.stderr).toBe(0);
    const logs = [victimEnd, ...ends].map((e) => e.stderr).join("\n");

    // Exactly once: five results stored, five "finished" lines over all workers, five completed jobs,
    // the killed run started twice and every other run once.
    const { sweeps } = await queueStatus(client, "tiny");
    expect(sweeps[0]).toMatchObject({ planned: 5, queued: 0, running: [], done: 4, diverged: 1, failed: [], missing: 0 });
    expect(sweeps[0].restarted).toEqual({ [LONG_RUN]: 2 });
    expect(logs.match(/: (done|diverged) in /g)).toHaveLength(5);
    expect(logs).not.toMatch(/already stored it/);
    const queue = new Queue(QUEUE_NAME, { connection: client, prefix: QUEUE_PREFIX });
    expect(await queue.getJobCounts("completed", "failed", "active", "waiting", "delayed")).toEqual({ completed: 5, failed: 0, active: 0, waiting: 0, delayed: 0 });
    await queue.close();

    const collected = join(root, "collected");
    const collect = await benchDone(["collect", "--queue", redis.url, "tiny", "--out", collected]);
    expect(collect.stderr).toMatch(/5 of 5 runs/);
    for (const file of ["result.json", "config.json", "environment.json", "metrics.ndjson"]) expect(existsSync(join(collected, "runs", LONG_RUN, file))).toBe(true);
    expect((await benchDone(["report", collected])).code).toBe(0);
    const localEnd = await local;
    expect(localEnd.code, localEnd.stderr).toBe(0);
    expect((await benchDone(["report", join(root, "local")])).code).toBe(0);
    const rows = tableRows(join(collected, "report.md"));
    expect(rows).toHaveLength(5);
    expect(rows).toEqual(tableRows(join(root, "local", "report.md")));
    expect(rows.find((r) => r[0] === "sgd/sgd-lr1e+30-seed0")?.[1]).toBe("diverged");
  }, 240_000);

  test("a run that keeps failing is tried --attempts times, then recorded as failed with its stderr", async () => {
    const enqueue = await benchDone(["sweep", join(root, "broken.json"), "--queue", redis.url, "--attempts", "2", "--backoff-ms", "100"]);
    expect(enqueue.stderr).toMatch(/1 runs; 1 enqueued/);
    const worker = await benchDone(["worker", "--queue", redis.url, "--device", "cpu", "--name", "w4", "--work-dir", join(root, "w4"), "--until-empty"]);
    expect(worker.code, worker.stderr).toBe(0);
    const { sweeps } = await queueStatus(client, "broken");
    expect(sweeps[0].failed).toEqual([{ id: "bad-data/adam-seed0", reason: expect.stringMatching(/code 1: train: .*curves-train\.arrow: not an Arrow IPC file/) }]);
    expect(sweeps[0].restarted).toEqual({ "bad-data/adam-seed0": 2 });
    const collect = await benchDone(["collect", "--queue", redis.url, "broken", "--out", join(root, "broken")]);
    expect(collect.stderr).toMatch(/1 of 1 runs .*\(1 failed\)/);
    const result = JSON.parse(readFileSync(join(root, "broken", "runs", "bad-data/adam-seed0", "result.json"), "utf8"));
    expect(result).toMatchObject({ status: "failed", exitCode: 1, attempt: 2, worker: "w4" });
    expect(result.stderr).toMatch(/not an Arrow IPC file/);

    const retry = await benchDone(["sweep", join(root, "broken.json"), "--queue", redis.url, "--retry-failed"]);
    expect(retry.stderr).toMatch(/0 enqueued, 0 already on the queue, 0 already finished, 1 failed runs put back/);
    expect((await queueStatus(client, "broken")).sweeps[0]).toMatchObject({ queued: 1, failed: [], done: 0 });
  });

  test("bad input: one line naming the flag or the sweep, exit 1", async () => {
    const spec = join(root, "tiny.json");
    const cases: [string[], RegExp][] = [
      [["sweep", spec, "--queue", "http://127.0.0.1:1"], /^(bench )?sweep: --queue 'http:\/\/127.0.0.1:1': the scheme must be redis:\/\/ or rediss:\/\/$/],
      [["sweep", spec, "--queue", redis.url, "--out", "x"], /^(bench )?sweep: --out has no meaning with --queue/],
      [["status", "--queue", redis.url.replace("queue-test-password", "wrong")], /^(bench )?status: Redis at redis:\/\/:\*\*\*@127.0.0.1:\d+ refused the password/],
      [["collect", "--queue", redis.url, "no-such-sweep"], /^(bench )?collect: no sweep 'no-such-sweep' on the queue at redis:\/\/:\*\*\*@/],
      [["worker", "--queue", redis.url, "--concurrency", "0"], /^(bench )?worker: --concurrency '0': expected a positive integer$/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await benchDone(args);
      expect(code, args.join(" ")).toBe(1);
      expect(stderr.trim(), args.join(" ")).toMatch(message);
      expect(stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
    }
    const fromEnvironment = Bun.spawnSync([process.execPath, "bench/cli.ts", "status", "--queue", redis.url.replace(":queue-test-password@", ""), "broken"], { cwd: ROOT, env: { ...process.env, KFRA_REDIS_PASSWORD: "queue-test-password" } });
    expect(fromEnvironment.exitCode, fromEnvironment.stderr.toString()).toBe(0);
    expect(fromEnvironment.stdout.toString()).toMatch(/^sweep broken: 1 runs: 1 queued, 0 running, 0 done, 0 diverged, 0 failed/);
    await redis.stop();
    const unreachable = await benchDone(["status", "--queue", redis.url]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.trim()).toMatch(/^(bench )?status: cannot reach Redis at redis:\/\/:\*\*\*@127.0.0.1:\d+ \(/);
  });
});
