// The dashboard in a real browser: Debian's chromium, headless, driven by playwright-core (no
// browser download), on a runs folder made by small real trainings (a 784-8-784 autoencoder on 200
// CURVES images, CPU backend): the run list, the chart's points against metrics.ndjson, a sweep's
// methods with their seed range, a training followed live, a screenshot that is not blank, a path
// outside the folder refused, a run named like markup shown as text.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BrowserContext, type Page, chromium } from "playwright-core";
import sharp from "sharp";
import { type Dashboard, startDashboard } from "../../src/dashboard/server.ts";
import { parseTrainArgs } from "../../src/run/config.ts";
import { trainFromConfig } from "../../src/cli/plan.ts";
import { REPO, type Workspace, quick, spawnTrain, waitFor, workspace } from "../faults/helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn("test/dashboard: /usr/bin/chromium is not installed (bash scripts/setup.sh installs it): the browser tests are SKIPPED");

/** Headless Debian chromium with a fresh profile, nothing fetched from the network. */
async function openBrowser(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 860 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

const MARKUP = "<img src=x onerror=alert(1)>";

interface EvalLine {
  step: number;
  time: number;
  train: number;
  heldOut: number;
}
const evalsOf = (runDir: string): EvalLine[] =>
  readFileSync(join(runDir, "metrics.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.type === "eval");

/** Trains runs in this process, as `bun run train` does (its run directory and files; no chart drawn). */
async function trainAll(runs: string[][]): Promise<void> {
  for (const args of runs) await trainFromConfig(parseTrainArgs(args));
}

type Drawn = { labels: string[]; data: (number | null)[][] };

describe.skipIf(!HAVE_CHROMIUM)("the dashboard in chromium", () => {
  let ws: Workspace;
  let runs: string;
  let dashboard: Dashboard;
  let browser: BrowserContext;
  let page: Page;
  const dialogs: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    ws = await workspace("dashboard");
    runs = join(ws.root, "runs");
    const sweep = join(runs, "demo-sweep");
    await trainAll([
      ["--steps", "12", "--out", join(runs, "alone"), "--quiet", ...quick(ws.dataDir, "--eval-every", "4", "--opt", "adam", "--lr", "0.01")],
      ["--steps", "12", "--out", join(sweep, "runs", "kfac", "kfac-seed0"), "--seed", "0", "--quiet", ...quick(ws.dataDir, "--eval-every", "4", "--opt", "kfac")],
      ["--steps", "12", "--out", join(sweep, "runs", "kfac", "kfac-seed1"), "--seed", "1", "--quiet", ...quick(ws.dataDir, "--eval-every", "4", "--opt", "kfac")],
    ]);
    writeFileSync(join(sweep, "sweep.json"), JSON.stringify({ spec: { name: "demo", description: "KFAC over two seeds", seeds: [0, 1] }, scale: 1, runs: [{ id: "kfac/kfac-seed0" }, { id: "kfac/kfac-seed1" }] }));
    cpSync(join(runs, "alone"), join(runs, MARKUP), { recursive: true });
    dashboard = startDashboard({ roots: [runs], host: "127.0.0.1", port: 0, pollMs: 300 });
    browser = await openBrowser(mkdtempSync(join(ws.root, "profile-")));
    page = await browser.newPage();
    page.on("console", (m) => void (m.type() === "error" && consoleErrors.push(m.text())));
    page.on("pageerror", (e) => void consoleErrors.push(e.message));
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(dashboard.url);
    await page.waitForSelector("tr[data-run-id]");
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.stop();
    ws?.remove();
  });

  const drawn = async (): Promise<{ update: Drawn; seconds: Drawn }> => page.evaluate(() => (globalThis as unknown as { dashboard: { drawn(): { update: Drawn; seconds: Drawn } } }).dashboard.drawn());
  const rowText = (name: string) => page.locator("tr[data-run-id]", { hasText: name }).first().innerText();

  it("lists every run, its status, progress and last errors, and the sweep", async () => {
    const rows = await page.locator("tr[data-run-id]").count();
    expect(rows).toBe(4);
    const alone = await rowText("alone");
    const last = evalsOf(join(runs, "alone")).at(-1)!;
    expect(alone).toContain("finished");
    expect(alone).toContain("12/12");
    expect(alone).toContain("adam");
    expect(alone).toContain(last.train.toPrecision(5));
    expect(alone).toContain(last.heldOut.toPrecision(5));
    await expect(page.locator("[data-sweep-id]").innerText()).resolves.toContain("demo-sweep (demo)");
    expect(await rowText("kfac/kfac-seed1")).toContain("finished");
  });

  it("draws each run's training and held-out error at the points of its metrics.ndjson, per update and per second", async () => {
    const { update, seconds } = await drawn();
    const evals = evalsOf(join(runs, "alone"));
    const train = update.labels.indexOf("alone: training set");
    const heldOut = update.labels.indexOf("alone: held-out set");
    expect(train).toBeGreaterThan(0);
    expect(heldOut).toBeGreaterThan(0);
    for (const e of evals) {
      const i = update.data[0].indexOf(e.step);
      expect(i, `update ${e.step}`).toBeGreaterThanOrEqual(0);
      expect(update.data[train][i]).toBe(e.train);
      expect(update.data[heldOut][i]).toBe(e.heldOut);
      const j = seconds.data[0].indexOf(e.time);
      expect(seconds.data[seconds.labels.indexOf("alone: training set")][j]).toBe(e.train);
    }
  });

  it("draws a sweep's method as the mean over its seeds with their range", async () => {
    await page.locator("[data-sweep-id] input[type=checkbox]").check();
    await page.waitForFunction(() => (globalThis as unknown as { dashboard: { drawn(): { update: Drawn } } }).dashboard.drawn().update.labels.some((l: string) => l.startsWith("kfac (2 seeds)")));
    const { update } = await drawn();
    const mean = update.labels.indexOf("kfac (2 seeds): training set");
    const max = update.labels.indexOf("kfac (2 seeds): training set (seeds' max)");
    const min = update.labels.indexOf("kfac (2 seeds): training set (seeds' min)");
    const seeds = [0, 1].map((s) => evalsOf(join(runs, "demo-sweep", "runs", "kfac", `kfac-seed${s}`)));
    for (const [k, e0] of seeds[0].entries()) {
      const e1 = seeds[1][k];
      const i = update.data[0].indexOf(e0.step);
      expect(update.data[mean][i]).toBeCloseTo((e0.train + e1.train) / 2, 9);
      expect(update.data[max][i]).toBe(Math.max(e0.train, e1.train));
      expect(update.data[min][i]).toBe(Math.min(e0.train, e1.train));
    }
    // The choice is kept in the address: a reload draws the same.
    await page.reload();
    await page.waitForFunction(() => (globalThis as unknown as { dashboard: { drawn(): { update?: Drawn } } }).dashboard.drawn().update?.labels.includes("kfac (2 seeds): training set"));
    expect(await page.locator("[data-sweep-id] input[type=checkbox]").isChecked()).toBe(true);
  });

  it("shows a run named like markup as text, and runs none of it", async () => {
    const row = page.locator("tr[data-run-id]", { hasText: MARKUP });
    await expect(row.count()).resolves.toBe(1);
    expect(await page.locator("#lists img").count()).toBe(0);
    await row.locator("button").click();
    await expect(page.locator("#details-title").innerText()).resolves.toContain(MARKUP);
    expect(await page.locator("#details-settings").innerText()).toContain("adam");
    expect(await page.locator("#details-environment").innerText()).toContain("cpu");
    expect(dialogs).toEqual([]);
    // The page runs under its Content-Security-Policy without a violation or an error.
    expect(consoleErrors).toEqual([]);
  });

  it("refuses a path outside its folder", async () => {
    for (const path of ["..%2f..%2fpackage.json", "%2e%2e/%2e%2e/etc/passwd", "alone/config.json"]) {
      const response = await page.goto(`${dashboard.url}${path}`);
      expect(response!.status(), path).toBe(404);
    }
    await page.goto(dashboard.url);
    await page.waitForSelector("tr[data-run-id]");
  });

  it("follows a training as it runs: the run appears, its evaluations and progress grow without a reload", async () => {
    const live = join(runs, "live");
    const child = spawnTrain(["--steps", "2000", "--out", live, ...quick(ws.dataDir, "--eval-every", "5")]);
    try {
      await page.waitForSelector(`tr[data-run-id]:has-text("live")`, { timeout: 60_000 });
      await page.locator("tr[data-run-id]", { hasText: "live" }).locator("input[type=checkbox]").check();
      await waitFor("two evaluations in the live run's metrics", () => existsSync(join(live, "metrics.ndjson")) && evalsOf(live).length >= 2, 60_000);
      const points = async () => {
        const { update } = await drawn();
        const column = update.labels.indexOf("live: training set");
        return column < 0 ? 0 : update.data[column].filter((v) => v !== null).length;
      };
      await expect.poll(points, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
      const before = await points();
      await expect.poll(points, { timeout: 30_000 }).toBeGreaterThan(before);
      expect(await rowText("live")).toContain("running");
      expect(await rowText("live")).toMatch(/\/2000/);
    } finally {
      child.kill("SIGTERM");
      await child.exited;
    }
    await expect.poll(() => rowText("live"), { timeout: 15_000 }).toContain("interrupted");
  });

  it("takes a screenshot that is not blank", async () => {
    await page.locator("[data-sweep-id] input[type=checkbox]").check();
    await page.waitForTimeout(500);
    const shot = await page.screenshot();
    const stats = await sharp(shot).stats();
    // A blank page is one colour: every channel's standard deviation near 0.
    expect(Math.max(...stats.channels.slice(0, 3).map((c) => c.stdev))).toBeGreaterThan(15);
    const { update } = await drawn();
    expect(update.data[0].length).toBeGreaterThan(2);
    if (process.env.KFRA_DASHBOARD_SCREENSHOT) {
      mkdirSync(join(REPO, "docs"), { recursive: true });
      await sharp(shot).png({ palette: true, colours: 64 }).toFile(process.env.KFRA_DASHBOARD_SCREENSHOT);
    }
  });
});
