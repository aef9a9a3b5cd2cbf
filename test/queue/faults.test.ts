// The queue's commands against a Redis that misbehaves or a queue that holds stale state, with a
// real redis-server on a loopback port: a server that accepts connections but never answers ends
// every command within seconds in one line; a database the server lacks and a password with
// URL-special characters are handled without printing the password; a worker never resumes the
// checkpoint of an earlier run of the same name with other settings; a job whose arguments train
// would refuse fails at once; bench collect refuses an --out holding another sweep.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Queue } from "bullmq";
import IORedis from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { prepareDataset } from "../../data-prep/prepare.ts";
import { QUEUE_NAME, QUEUE_PREFIX } from "../../src/sweep/queue/connection.ts";
import { expectOneLine } from "../faults/helpers.ts";
import { HAVE_REDIS, type TestRedis, startRedis } from "./redisServer.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const PASSWORD = "p=a^s|s;w:rd";

interface Finished {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

async function bench(args: string[], env: Record<string, string> = {}): Promise<Finished> {
  const started = performance.now();
  const child = Bun.spawn([process.execPath, "bench/cli.ts", ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  clearTimeout(timer);
  return { code, stdout, stderr, seconds: (performance.now() - started) / 1000 };
}


const root = mkdtempSync(join(tmpdir(), "kfra-queue-faults-"));
const dataDir = join(root, "data");
const spec = (steps: number) => ({
  name: "same",
  description: "one tiny run",
  dataset: "curves",
  seeds: [0],
  evaluations: 1,
  groups: [{ name: "adam", opt: ["adam"], steps, lr: [0.001], flags: ["--data-dir", dataDir, "--arch", "784-8-784", "--batch", "20"] }],
});
let redis: TestRedis;
let mute: Server;
let muteUrl: string;
const sockets = new Set<Socket>();

describe.skipIf(!HAVE_REDIS)("the queue against a misbehaving Redis or stale state", () => {
  beforeAll(async () => {
    await prepareDataset("curves", { out: dataDir, count: 200, quiet: true });
    redis = await startRedis(join(root, "redis"), PASSWORD);
    // Accepts every connection and never answers.
    mute = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((done) => mute.listen(0, "127.0.0.1", done));
    muteUrl = `redis://127.0.0.1:${(mute.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    mute?.close();
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test("a server that accepts connections but never answers: status, sweep --queue and worker end within seconds, in one line", async () => {
    writeFileSync(join(root, "same-10.json"), JSON.stringify(spec(10)));
    const results = await Promise.all([
      bench(["status", "--queue", muteUrl]),
      bench(["sweep", join(root, "same-10.json"), "--queue", muteUrl]),
      bench(["worker", "--queue", muteUrl, "--work-dir", join(root, "mute-work")]),
    ]);
    for (const [result, name] of results.map((r, i) => [r, ["bench status", "bench sweep", "bench worker"][i]] as const)) {
      expectOneLine(result, name, new RegExp(`Redis at ${muteUrl} did not answer within 5 s`));
      expect(result.seconds).toBeLessThan(20);
    }
  });

  test("a database the server lacks is refused; a password with = ^ | ; is never printed", async () => {
    const url = redis.url;
    const withDb = (db: number) => `${url}/${db}`;
    expectOneLine(await bench(["status", "--queue", withDb(99)]), "bench status", /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/99 has no database 99 \(ERR DB index is out of range\)/);
    const three = await bench(["status", "--queue", withDb(3)]);
    expect(three.code, three.stderr).toBe(0);
    const wrong = await bench(["status", "--queue", url.replace(PASSWORD, "x=y^z|w;v")]);
    expectOneLine(wrong, "bench status", /refused the password/);
    const unparsable = await bench(["status", "--queue", url.replace(PASSWORD, "a#b;c=d")]);
    expectOneLine(unparsable, "bench status", /--queue 'redis:\/\/:\*\*\*@127\.0\.0\.1:\d+': not a URL/);
    for (const result of [three, wrong, unparsable]) {
      for (const secret of [PASSWORD, "x=y^z|w;v", "a#b;c=d", "w;v", "c=d"]) expect(result.stdout + result.stderr).not.toContain(secret);
    }
  });

  test("a worker never resumes the checkpoint of an earlier run of the same name with other settings", async () => {
    const work = join(root, "work");
    const worker = (db: number) => bench(["worker", "--queue", `${redis.url}/${db}`, "--device", "cpu", "--name", `w${db}`, "--work-dir", work, "--until-empty"]);
    writeFileSync(join(root, "same-12.json"), JSON.stringify(spec(12)));
    // The same sweep name on two databases: 10 updates on the first, 12 on the second.
    for (const [db, file] of [[1, "same-10.json"], [2, "same-12.json"]] as const) {
      const enqueued = await bench(["sweep", join(root, file), "--queue", `${redis.url}/${db}`, "--name", "same"]);
      expect(enqueued.code, enqueued.stderr).toBe(0);
      const ran = await worker(db);
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stderr).toMatch(/same\/adam\/adam-lr0\.001-seed0: done in/);
    }
    const collected = join(root, "collected-12");
    const collect = await bench(["collect", "--queue", `${redis.url}/2`, "same", "--out", collected]);
    expect(collect.code, collect.stderr).toBe(0);
    const run = join(collected, "runs", "adam", "adam-lr0.001-seed0");
    expect(JSON.parse(readFileSync(join(run, "config.json"), "utf8")).steps).toBe(12);
    const steps = readFileSync(join(run, "metrics.ndjson"), "utf8").split("\n").filter((l) => l.includes('"type":"step"'));
    expect(steps).toHaveLength(12);
    expect(steps.map((l) => JSON.parse(l).step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    // Collecting the 10-update sweep into the same folder would mix it into the other's report.
    expectOneLine(await bench(["collect", "--queue", `${redis.url}/1`, "same", "--out", collected]), "bench collect", /--out .*collected-12 holds another sweep \('same', 1 runs planned otherwise\)/);
  });

  test("a job whose train arguments would be refused fails at once, without retries, naming why", async () => {
    const client = new IORedis(`${redis.url}/4`, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_NAME, { connection: client, prefix: QUEUE_PREFIX });
    try {
      await queue.add("bad", { sweep: "bad", id: "adam/escape", steps: 10, argv: ["--opt", "adam", "--out", "/tmp/elsewhere"], settings: {} }, { jobId: "bad/adam/escape", attempts: 3 });
      mkdirSync(join(root, "work-bad"));
      const ran = await bench(["worker", "--queue", `${redis.url}/4`, "--device", "cpu", "--work-dir", join(root, "work-bad"), "--until-empty"]);
      expect(ran.code, ran.stderr).toBe(0);
      const job = await queue.getJob("bad/adam/escape");
      expect(await job!.getState()).toBe("failed");
      expect(job!.attemptsMade).toBe(1);
      expect(job!.failedReason).toMatch(/refused by .*: run adam\/escape: --out is set by the sweep for every run/);
    } finally {
      await queue.close();
      client.disconnect();
    }
  });
});
