#!/usr/bin/env bun
// `bun scripts/dashboard-load.ts [--runs 100] [--updates 5000] [--eval-every 50]`: how the dashboard
// copes with many long runs. Writes a synthetic runs folder (metrics lines shaped as train writes
// them; a third of the runs form a three-seed sweep), then measures the server's first scan, the
// page load in headless chromium (until every run is listed and the chart is drawn) and how long an
// appended evaluation takes to reach the chart. Needs /usr/bin/chromium (bash scripts/setup.sh).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startDashboard } from "../src/dashboard/server.ts";
import { parseFlags, positiveIntegerFlag } from "../src/flags.ts";

const { values } = parseFlags(process.argv.slice(2), { runs: { type: "string", default: "100" }, updates: { type: "string", default: "5000" }, "eval-every": { type: "string", default: "50" } });
const runs = positiveIntegerFlag("runs", values.runs);
const updates = positiveIntegerFlag("updates", values.updates);
const evalEvery = positiveIntegerFlag("eval-every", values["eval-every"]);

const root = mkdtempSync(join(tmpdir(), "kfra-dashboard-load-"));
try {
  const made = performance.now();
  let bytes = 0;
  const sweepRuns = Math.floor(runs / 3);
  if (sweepRuns > 0) writeFileSync(join(root, "sweep.json"), "{}");
  for (let r = 0; r < runs; r++) {
    const inSweep = r < sweepRuns;
    const dir = inSweep ? join(root, "runs", `m${r % 3}`, `m${r % 3}-x${Math.floor(r / 9)}-seed${Math.floor(r / 3) % 3}`) : join(root, `run-${r}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "config.json"), JSON.stringify({ opt: "kfra", steps: updates, evalEvery }));
    const lines: string[] = [];
    for (let step = 0; step <= updates; step++) {
      if (step > 0) lines.push(JSON.stringify({ type: "step", step, time: step * 0.4, dataWaitMs: 0.1, loss: 100 / Math.sqrt(step), tau: 0.001, gamma: 0.001, alpha: -1, predicted: -1, rho: 0.5, rejected: 0 }));
      if (step % evalEvery === 0) lines.push(JSON.stringify({ type: "eval", step, time: step * 0.4, train: 90 / Math.sqrt(step + 1) + r / 100, trainAverage: 88 / Math.sqrt(step + 1), heldOut: 95 / Math.sqrt(step + 1), heldOutAverage: 93 / Math.sqrt(step + 1) }));
    }
    const text = `${lines.join("\n")}\n`;
    bytes += text.length;
    writeFileSync(join(dir, "metrics.ndjson"), text);
    mkdirSync(join(dir, "checkpoints", `step-${String(updates).padStart(9, "0")}`), { recursive: true });
  }
  console.log(`${runs} runs × ${updates} updates (evaluation every ${evalEvery}), ${(bytes / 1e6).toFixed(0)} MB of metrics, written in ${((performance.now() - made) / 1000).toFixed(1)} s`);

  const scan = performance.now();
  const cpu = process.cpuUsage();
  const dashboard = startDashboard({ roots: [root], host: "127.0.0.1", port: 0 });
  const used = process.cpuUsage(cpu);
  console.log(`server: first scan and read of every metrics file ${((performance.now() - scan) / 1000).toFixed(2)} s (${((used.user + used.system) / 1e6).toFixed(2)} s of CPU)`);
  const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "kfra-chromium-")), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1200, height: 860 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    const load = performance.now();
    await page.goto(dashboard.url);
    await page.waitForFunction((n) => document.querySelectorAll("tr[data-run-id]").length === n, runs, { timeout: 120_000 });
    await page.waitForFunction(() => (globalThis as unknown as { dashboard: { drawn(): { update?: { labels: string[] } } } }).dashboard.drawn().update?.labels.length! > 1);
    console.log(`page: loaded, ${runs} runs listed and the chart drawn in ${((performance.now() - load) / 1000).toFixed(2)} s`);
    const target = join(root, `run-${runs - 1}`, "metrics.ndjson");
    const appended = performance.now();
    appendFileSync(target, `${JSON.stringify({ type: "eval", step: updates + 1, time: updates * 0.4 + 1, train: 0.5 })}\n`);
    await page.waitForFunction((step) => (globalThis as unknown as { dashboard: { runs(): { step: number }[] } }).dashboard.runs().some((r) => r.step === step), updates + 1, { timeout: 30_000 });
    console.log(`live: an appended evaluation reached the page in ${((performance.now() - appended) / 1000).toFixed(2)} s`);
  } finally {
    await browser.close();
    await dashboard.stop();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
