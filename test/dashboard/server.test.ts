// The dashboard's server without a browser: a run's status from its lock, checkpoints and steps;
// metrics read incrementally (a truncated log read again); paths outside the folders, other hosts
// and writes refused; nothing in the folders changed by serving them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { type Dashboard, startDashboard, thin } from "../../src/dashboard/server.ts";
import { RunWatch, findRuns } from "../../src/dashboard/runs.ts";
import { processStartTime } from "../../src/run/runLock.ts";
import { BUN, REPO, cli } from "../faults/helpers.ts";

/** A run directory as `train` leaves it, written by hand: config.json, metrics, checkpoints. */
function fakeRun(dir: string, steps: number, done: number, evalEvery: number, checkpoint?: number, evalSeconds?: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ opt: "kfac", steps, evalEvery }));
  writeFileSync(join(dir, "environment.json"), JSON.stringify({ backend: "cpu", host: "test" }));
  let text = "";
  for (let step = 0; step <= done; step++) {
    if (step > 0) text += `${JSON.stringify({ type: "step", step, time: step * 0.5, dataWaitMs: 0, loss: 100 / step })}\n`;
    if (step % evalEvery === 0) text += `${JSON.stringify({ type: "eval", step, time: step * 0.5, train: 50 / (step + 1), heldOut: 60 / (step + 1), seconds: evalSeconds })}\n`;
  }
  writeFileSync(join(dir, "metrics.ndjson"), text);
  if (checkpoint !== undefined) mkdirSync(join(dir, "checkpoints", `step-${String(checkpoint).padStart(9, "0")}`), { recursive: true });
}

/** Every file under `dir` with its size and modification time. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).map((e) => {
    const path = join(e.parentPath, e.name);
    const s = statSync(path);
    return `${path} ${s.size} ${s.mtimeMs}`;
  }).sort();
}

/** A raw HTTP request line, as a browser would never normalise it. */
function rawGet(port: number, target: string, host = `127.0.0.1:${port}`): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    let reply = "";
    socket.on("data", (d) => (reply += d.toString()));
    socket.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(reply)?.[1] ?? 0)));
    socket.on("error", reject);
  });
}

describe("run status and metrics", () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "kfra-dash-status-"));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("finished, interrupted, running, a killed process's lock and a run stopped by an error, from the lock, failure.json, checkpoints and config steps", () => {
    fakeRun(join(root, "finished"), 20, 20, 5, 20);
    fakeRun(join(root, "stopped"), 20, 12, 5, 10);
    fakeRun(join(root, "running"), 20, 12, 5, 10);
    writeFileSync(join(root, "running", "lock"), JSON.stringify({ pid: process.pid, start: processStartTime(process.pid), host: hostname() }));
    fakeRun(join(root, "evaluating"), 20, 12, 5, 10, 2);
    writeFileSync(join(root, "evaluating", "lock"), JSON.stringify({ pid: process.pid, start: processStartTime(process.pid), host: hostname() }));
    fakeRun(join(root, "killed"), 20, 12, 5, 10);
    writeFileSync(join(root, "killed", "lock"), JSON.stringify({ pid: 2 ** 22 + 12345, start: 1, host: hostname() }));
    fakeRun(join(root, "diverged"), 20, 12, 5, 10);
    writeFileSync(join(root, "diverged", "failure.json"), JSON.stringify({ step: 12, message: "non-finite loss at step 12; stopped. The last finite checkpoint is step 10, in X." }));
    const found = findRuns([root]);
    const status = Object.fromEntries(found.runs.map(({ dir, base }) => {
      const run = new RunWatch(dir, base);
      run.poll();
      return [base.name, run.summary()];
    }));
    expect(status.finished.status).toBe("finished");
    expect(status.stopped.status).toBe("interrupted");
    expect(status.stopped.reason).toContain("update 12");
    expect(status.running.status).toBe("running");
    expect(status.running.step).toBe(12);
    // 0.5 s per update after the warm-up: 8 updates left.
    expect(status.running.eta).toBeCloseTo(4, 6);
    // Evaluations of 2 s each (metrics' seconds): the rate leaves them out, and the two left (15, 20) add 4 s.
    expect(status.evaluating.secondsPerUpdate).toBeCloseTo(0.5, 6);
    expect(status.evaluating.eta).toBeCloseTo(8, 6);
    expect(status.killed.status).toBe("interrupted");
    expect(status.killed.reason).toContain("killed");
    expect(status.diverged.status).toBe("failed");
    expect(status.diverged.reason).toBe("non-finite loss at step 12; stopped. The last finite checkpoint is step 10, in X.");
  });

  it("reads only what was appended, keeps a torn last line for later, and reads a shrunk log again", () => {
    const dir = join(root, "growing");
    fakeRun(dir, 100, 10, 5);
    const run = new RunWatch(dir, { id: "x", root, name: "growing" });
    expect(run.poll().added.map((e) => e.step)).toEqual([0, 5, 10]);
    const line = `${JSON.stringify({ type: "eval", step: 15, time: 7.5, train: 1.5 })}\n`;
    appendFileSync(join(dir, "metrics.ndjson"), line.slice(0, 20));
    expect(run.poll().added).toEqual([]);
    appendFileSync(join(dir, "metrics.ndjson"), line.slice(20));
    expect(run.poll().added).toEqual([{ step: 15, time: 7.5, train: 1.5 }]);
    fakeRun(dir, 100, 5, 5);
    const again = run.poll();
    expect(again.reset).toBe(true);
    expect(run.evals.map((e) => e.step)).toEqual([0, 5]);
  });

  it("thins a long log evenly and keeps its last point", () => {
    const points = Array.from({ length: 5000 }, (_, i) => i);
    const kept = thin(points, 600);
    expect(kept).toHaveLength(600);
    expect(kept[0]).toBe(0);
    expect(kept.at(-1)).toBe(4999);
  });
});

describe("the server", () => {
  let root: string;
  let outside: string;
  let dashboard: Dashboard;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "kfra-dash-serve-"));
    outside = mkdtempSync(join(tmpdir(), "kfra-dash-outside-"));
    writeFileSync(join(outside, "secret.txt"), "not for the page");
    fakeRun(join(root, "runs", "a"), 20, 20, 5, 20);
    cpSync(join(root, "runs", "a"), join(root, "runs", "b"), { recursive: true });
    dashboard = startDashboard({ roots: [join(root, "runs")], host: "127.0.0.1", port: 0, pollMs: 100 });
  });
  afterAll(async () => {
    await dashboard?.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it("serves its page with a strict Content-Security-Policy, and the runs it found", async () => {
    const page = await fetch(dashboard.url);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const state = (await (await fetch(`${dashboard.url}api/state`)).json()) as { runs: { name: string }[] };
    expect(state.runs.map((r) => r.name).sort()).toEqual(["a", "b"]);
  });

  it("refuses paths outside its folders: ../, encoded, absolute, and anything not its own", async () => {
    const targets = ["/../secret.txt", `/..%2f..%2f${outside.slice(1)}/secret.txt`, "/%2e%2e/%2e%2e/etc/passwd", `/${outside}/secret.txt`, `//${outside}/secret.txt`, "/a/config.json", "/runs/a/metrics.ndjson", "/api/state/../../package.json", "/app.js/..%2f..%2fserver.ts"];
    for (const target of targets) {
      const status = await rawGet(dashboard.port, target);
      expect(status, target).toBeGreaterThanOrEqual(400);
      expect(status, target).toBeLessThan(500);
    }
    expect(await rawGet(dashboard.port, `http://127.0.0.1:${dashboard.port}/../../../etc/passwd`)).toBeGreaterThanOrEqual(400);
  });

  it("its page script writes text only: no HTML is ever parsed from data", () => {
    const script = readFileSync(join(REPO, "src/dashboard/page/app.js"), "utf8");
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
    expect(script).toContain("textContent");
  });

  it("refuses another Host (DNS rebinding) and any method but GET", async () => {
    expect(await rawGet(dashboard.port, "/", "evil.example:80")).toBe(403);
    expect((await fetch(dashboard.url, { method: "POST", body: "x" })).status).toBe(405);
    expect((await fetch(dashboard.url, { method: "DELETE" })).status).toBe(405);
  });

  it("sends an appended evaluation to a connected page, also when another page connects first", async () => {
    const events = await fetch(`${dashboard.url}events`);
    const reader = events.body!.getReader();
    let text = "";
    const until = async (pattern: RegExp) => {
      const deadline = Date.now() + 10_000;
      while (!pattern.test(text)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in ${text.slice(-500)}`);
        text += new TextDecoder().decode((await reader.read()).value);
      }
    };
    await until(/^event: snapshot\ndata: .*\n\n/);
    appendFileSync(join(root, "runs", "b", "metrics.ndjson"), `${JSON.stringify({ type: "eval", step: 25, time: 12.5, train: 0.75 })}\n`);
    const other = await fetch(`${dashboard.url}events`);
    await until(/event: change\ndata: .*"0:b":\[\{"step":25,"time":12\.5,"train":0\.75\}\]/);
    await other.body!.cancel();
    await reader.cancel();
  });

  it("writes nothing into the folders it serves", async () => {
    const before = listing(root);
    const events = await fetch(`${dashboard.url}events`);
    const reader = events.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first.startsWith("event: snapshot")).toBe(true);
    await Bun.sleep(300);
    await reader.cancel();
    expect(listing(root)).toEqual(before);
    expect(readFileSync(join(root, "runs", "a", "config.json"), "utf8")).toContain("kfac");
  });
});

describe("bun run dashboard", () => {
  it("prints its address in one line, serves, and exits 143 on SIGTERM", async () => {
    const root = mkdtempSync(join(tmpdir(), "kfra-dash-cli-"));
    try {
      fakeRun(join(root, "one"), 10, 10, 5, 10);
      const child = Bun.spawn([BUN, join(REPO, "src/cli/dashboard.ts"), root, "--port", "0"], { stdout: "pipe", stderr: "pipe" });
      const reader = child.stdout.getReader();
      const line = new TextDecoder().decode((await reader.read()).value);
      const url = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/) \(/.exec(line)?.[1];
      expect(url, line).toBeDefined();
      const state = (await (await fetch(`${url}api/state`)).json()) as { runs: { name: string; status: string }[] };
      expect(state.runs).toMatchObject([{ name: "one", status: "finished" }]);
      child.kill("SIGTERM");
      expect(await child.exited).toBe(143);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("a missing folder, a bad --port or one in use: one line naming it, exit 1", () => {
    const missing = cli("src/cli/dashboard.ts", [join(tmpdir(), "no-such-runs-folder")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^dashboard: .*no-such-runs-folder: no such folder/);
    const port = cli("src/cli/dashboard.ts", [tmpdir(), "--port", "http"]);
    expect(port.code).toBe(1);
    expect(port.stderr.trim()).toMatch(/^dashboard: --port 'http': expected a port number/);
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    try {
      const busy = cli("src/cli/dashboard.ts", [tmpdir(), "--port", String(taken.port)]);
      expect(busy.code).toBe(1);
      expect(busy.stderr.trim()).toBe(`dashboard: --port ${taken.port} is in use; choose another or leave --port out for a free one`);
    } finally {
      void taken.stop(true);
    }
  });
});
