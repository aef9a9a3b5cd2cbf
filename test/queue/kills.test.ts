// The queue after a worker was killed: the run directories such kills leave in the worker's
// --work-dir (a run killed before its first checkpoint; a run killed after its last update, before
// the worker stored its result) are picked up by the next worker there, and the sweep completes,
// every run done once, with evaluations equal to the same sweep run locally. (Before, the finished
// run failed on every attempt, "steps: must be an integer ≥ 1, got 0", and was failed for good.)
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { planSweep, validateSweepSpec } from "../../src/sweep/spec.ts";
import { jobRunDir } from "../../src/sweep/queue/worker.ts";
import { REPO, type OwnData, evaluations, ownData, sweep, writeSpec } from "../sweep/helpers.ts";
import { HAVE_REDIS, type TestRedis, startRedis } from "./redisServer.ts";

let data: OwnData;
let redis: TestRedis;

describe.skipIf(!HAVE_REDIS)("a killed worker's runs", () => {
  beforeAll(async () => {
    data = await ownData("queue-kills");
    redis = await startRedis(join(data.root, "redis"));
  }, 60_000);
  afterAll(async () => {
    await redis?.stop();
    data?.remove();
  });

  test("a run killed before its first checkpoint and one killed after its last update: the next worker completes both", async () => {
    const specPath = writeSpec(data, "kills", { saveEvery: 0, evaluations: 3 }, [
      { name: "adam", opt: "adam", steps: 2000, lr: [0.01] },
      { name: "kfac", opt: "kfac", steps: 60 },
    ]);
    const local = await sweep([specPath, "--out", join(data.root, "local"), "--device", "cpu"]);
    expect(local.code, local.stderr).toBe(0);
    const enqueued = await sweep([specPath, "--queue", redis.url, "--name", "kills"]);
    expect(enqueued.code, enqueued.stderr).toBe(0);

    const workDir = join(data.root, "work");
    const runs = planSweep(validateSweepSpec(JSON.parse(readFileSync(specPath, "utf8")), specPath), 1);
    const dirOf = (id: string) => jobRunDir(workDir, { sweep: "kills", ...runs.find((r) => r.id === id)! });
    const train = (id: string) => Bun.spawn([process.execPath, join(REPO, "src/cli/train.ts"), ...runs.find((r) => r.id === id)!.argv, "--device", "cpu", "--out", dirOf(id), "--quiet"], { cwd: REPO, stdout: "ignore", stderr: "ignore" });
    // The adam run, killed (SIGKILL) part-way, before any checkpoint (--save-every 0 saves only at the end).
    const adam = "adam/adam-lr0.01-seed0";
    const partial = train(adam);
    const metrics = join(dirOf(adam), "metrics.ndjson");
    while (partial.exitCode === null && !(existsSync(metrics) && readFileSync(metrics, "utf8").includes('"step":100,'))) await Bun.sleep(2);
    partial.kill("SIGKILL");
    await partial.exited;
    expect(existsSync(join(dirOf(adam), "checkpoints"))).toBe(false);
    // The kfac run, killed after its last update and checkpoint, before a result was stored.
    const kfac = "kfac/kfac-seed0";
    expect(await train(kfac).exited).toBe(0);

    const worker = await sweep(["worker", "--queue", redis.url, "--device", "cpu", "--work-dir", workDir, "--lock-ms", "4000", "--stalled-ms", "1000", "--until-empty"]);
    expect(worker.code, worker.stderr).toBe(0);
    expect(worker.stderr).toMatch(new RegExp(`kills/${kfac}: done`));
    expect(worker.stderr).toMatch(new RegExp(`kills/${adam}: done`));
    const status = await sweep(["status", "--queue", redis.url, "kills", "--json"]);
    expect(JSON.parse(status.stdout).sweeps[0]).toMatchObject({ planned: 2, done: 2, failed: [], queued: 0, running: [] });
    const collected = join(data.root, "collected");
    expect((await sweep(["collect", "--queue", redis.url, "kills", "--out", collected])).code).toBe(0);
    for (const id of [adam, kfac]) expect(evaluations(join(collected, "runs", id)), id).toEqual(evaluations(join(data.root, "local", "runs", id)));
  }, 180_000);
});
