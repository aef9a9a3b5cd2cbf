// Expected failures are one line `<cli>: <message>` naming the file or flag, with exit 1 (2 for a
// missing system dependency), never a stack trace with exit 70: a full disk (a real tmpfs in a
// private mount namespace), a read-only or forbidden run directory, a directory where a file should
// be, a corrupt config.json, an out-of-range flag, an unknown flag of any CLI, and a Cholesky failure
// on a diverged model.
import { nobodyCanReach } from "../helpers/unprivileged.ts";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readSafetensors, writeSafetensors } from "../../src/io/safetensors.ts";
import { BUN, REPO, type Workspace, canMountTmpfs, cli, quick, trainCli, workspace } from "./helpers.ts";

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace("errors");
});
afterAll(() => ws.remove());

/** One line on stderr, starting with the CLI's name. */
function expectOneLine(stderr: string, cliName: string, pattern: RegExp): void {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^${cliName}: `));
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/unexpected error|    at /);
}

describe("a full or read-only disk (tmpfs)", () => {
  const tmpfs = canMountTmpfs();
  const train = `${BUN} ${join(REPO, "src/cli/train.ts")}`;
  /** Runs `script` as root of a private mount namespace with a tmpfs of `size` at $MNT. */
  function inTmpfs(size: string, script: string): { code: number; stdout: string; stderr: string } {
    const mnt = mkdtempSync(join(tmpdir(), "kfra-tmpfs-"));
    try {
      const run = Bun.spawnSync(["unshare", "-rm", "sh", "-c", `mount -t tmpfs -o size=${size} tmpfs "$MNT" || exit 99\n${script}`], {
        cwd: REPO,
        env: { ...process.env, MNT: mnt, TRAIN: train },
        timeout: 120_000,
      });
      return { code: run.exitCode ?? -1, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
    } finally {
      rmSync(mnt, { recursive: true, force: true });
    }
  }

  test.skipIf(!tmpfs)("no space for a checkpoint: one line naming it, exit 1, no temporary left, the run resumable once there is room", () => {
    const result = inTmpfs(
      "100k",
      `$TRAIN --opt adam --steps 3 --save-every 0 --out "$MNT/run" --quiet ${quick(ws.dataDir).join(" ")} 2>&1; echo "exit $?"
       find "$MNT" -name '*.tmp*'
       mount -o remount,size=2m "$MNT"
       $TRAIN --resume "$MNT/run" --steps 5 --quiet 2>&1; echo "resumed $?"
       grep -c '"type":"step"' "$MNT/run/metrics.ndjson"`,
    );
    const [failure, exit, ...rest] = result.stdout.trim().split("\n");
    expectOneLine(failure, "train", /cannot write the checkpoint .*\/run\/checkpoints\/step-000000003: no space left on the device \(ENOSPC\)/);
    expect(exit).toBe("exit 1");
    expect(rest.join("\n")).toMatch(/train: .*has no checkpoint yet.*starting it again from update 0\ntrain: 5 steps, final minibatch loss .*\nresumed 0\n5$/);
  });

  test.skipIf(!tmpfs)("no space for the metrics log, then a read-only run directory: one line each naming the file and the cause, exit 1", () => {
    const result = inTmpfs(
      "12k",
      `$TRAIN --opt adam --steps 100000 --save-every 0 --out "$MNT/run" --quiet ${quick(ws.dataDir).join(" ")} 2>&1; echo "exit $?"
       mount -o remount,size=2m "$MNT"
       $TRAIN --resume "$MNT/run" --steps 4 --quiet 2>/dev/null; echo "resumed $?"
       grep -c '"type":"step"' "$MNT/run/metrics.ndjson"
       mount -o remount,ro "$MNT"
       $TRAIN --resume "$MNT/run" --steps 6 --quiet 2>&1; echo "exit $?"`,
    );
    const [full, exit, resumed, steps, readOnly, exitReadOnly] = result.stdout.trim().split("\n");
    expectOneLine(full, "train", /cannot append to .*\/run\/metrics\.ndjson: no space left on the device \(ENOSPC\)/);
    expect(exit).toBe("exit 1");
    // The torn line the full disk left is dropped, and the run (no checkpoint yet) starts again.
    expect(resumed).toBe("resumed 0");
    expect(steps).toBe("4");
    expectOneLine(readOnly, "train", /cannot create the lock .*\/run\/lock: read-only file system \(EROFS\)/);
    expect(exitReadOnly).toBe("exit 1");
  });
});

test.skipIf(!nobodyCanReach(REPO))("a run directory the user may not write: one line naming it and EACCES, exit 1", () => {
  const parent = mkdtempSync(join(tmpdir(), "kfra-eacces-"));
  chmodSync(parent, 0o755);
  try {
    const run = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BUN, join(REPO, "src/cli/train.ts"), "--out", join(parent, "run"), "--steps", "1", "--device", "cpu"], { cwd: REPO, env: { ...process.env, HOME: parent } });
    expect(run.exitCode).toBe(1);
    expectOneLine(run.stderr.toString(), "train", /cannot create the run directory .*\/run: permission denied \(EACCES\)/);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

describe("files that are not what they should be", () => {
  let run: string;
  beforeAll(() => {
    run = join(ws.root, "base");
    const made = trainCli(["--opt", "adam", "--steps", "2", "--out", run, "--quiet", ...quick(ws.dataDir)]);
    expect(made.code, made.stderr).toBe(0);
  });

  test("a corrupt config.json", () => {
    const copy = join(ws.root, "corrupt-config");
    mkdirSync(copy);
    writeFileSync(join(copy, "config.json"), '{"opt": "adam", "steps": 4,');
    const result = trainCli(["--resume", copy]);
    expect(result.code).toBe(1);
    expectOneLine(result.stderr, "train", /corrupt-config\/config\.json: not valid JSON/);
  });

  test("a corrupt result.json in a sweep", () => {
    const sweep = join(ws.root, "corrupt-sweep");
    mkdirSync(join(sweep, "runs", "adam", "one"), { recursive: true });
    writeFileSync(join(sweep, "sweep.json"), JSON.stringify({ spec: { name: "x", description: "" }, scale: 1, runs: [{ id: "adam/one" }] }));
    writeFileSync(join(sweep, "runs", "adam", "one", "result.json"), '{"status": "do');
    const result = cli("bench/cli.ts", ["report", sweep]);
    expect(result.code).toBe(1);
    expectOneLine(result.stderr, "bench report", /corrupt-sweep\/runs\/adam\/one\/result\.json: not valid JSON/);
  });

  test("a directory where config.json should be", () => {
    const copy = join(ws.root, "dir-config");
    mkdirSync(join(copy, "config.json"), { recursive: true });
    const result = trainCli(["--resume", copy]);
    expect(result.code).toBe(1);
    expectOneLine(result.stderr, "train", /cannot read .*dir-config\/config\.json: it is a directory \(EISDIR\)/);
  });

  test("a directory where a data file should be", () => {
    const data = join(ws.root, "dir-data");
    mkdirSync(join(data, "curves-train.arrow"), { recursive: true });
    writeFileSync(join(data, "curves-test.arrow"), "");
    const result = trainCli(["--out", join(ws.root, "dir-data-run"), "--quiet", ...quick(data)]);
    expect(result.code).toBe(1);
    expectOneLine(result.stderr, "train", /dir-data\/curves-train\.arrow: a directory, not a dataset file/);
    expect(existsSync(join(ws.root, "dir-data-run"))).toBe(false);
  });

  test("KFRA's Cholesky failing on a diverged model", () => {
    // A relu network started from weights 1e10 times those of a trained one: the factors overflow.
    const model = readSafetensors(join(run, "model.safetensors"));
    const big = join(ws.root, "big.safetensors");
    writeSafetensors(big, [...model.tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data.map((v) => v * 1e10) })), model.metadata);
    const result = trainCli(["--opt", "kfra", "--init", big, "--act", "relu", "--loss", "sse", "--steps", "3", "--out", join(ws.root, "cholesky"), "--quiet", ...quick(ws.dataDir)]);
    expect(result.code).toBe(1);
    expectOneLine(result.stderr, "train", /the curvature became unusable at step 1 \(cholesky: the 785×785 matrix is not positive definite .*the model has diverged\); stopped\. No checkpoint had been saved yet\./);
  });
});

describe("flags", () => {
  // More out-of-range values are checked in-process by test/cli/config.test.ts.
  test("train --seed 1e30", () => {
    const result = trainCli(["--seed", "1e30", "--out", join(ws.root, "never")]);
    expect(result.code).toBe(1);
    expectOneLine(result.stderr, "train", /--seed: must be an integer ≥ 0, got '1e30'/);
  });

  test.each([
    ["train", "src/cli/train.ts", []],
    ["prep", "data-prep/cli.ts", ["curves"]],
    ["plot", "src/cli/plot.ts", ["runs/x"]],
    ["bench sweep", "bench/cli.ts", ["sweep", "fig2-curves"]],
    ["bench report", "bench/cli.ts", ["report", "runs/x"]],
    ["bench step", "bench/cli.ts", ["step"]],
    ["bench kernels", "bench/cli.ts", ["kernels"]],
    ["smoke", "src/cli/smoke.ts", []],
    ["bench status", "bench/cli.ts", ["status", "--queue", "redis://127.0.0.1:1"]],
    ["bench worker", "bench/cli.ts", ["worker", "--queue", "redis://127.0.0.1:1"]],
    ["bench collect", "bench/cli.ts", ["collect", "--queue", "redis://127.0.0.1:1", "x"]],
  ])("%s rejects an unknown flag in one line, exit 1", (name, script, args) => {
    const result = cli(script, [...args, "--frobnicate", "3"]);
    expect(result.code, result.stderr).toBe(1);
    expectOneLine(result.stderr, name, /unknown flag --frobnicate; valid flags: --/);
  });

  test.each([
    ["train", "src/cli/train.ts", ["--opt", "adam", "--lr", "0.1", "--steps", "1", "--out", "/nonexistent/never", "--data-dir", "/nonexistent/data", "--lr", "0.2"], /--lr is given twice \('0\.1', then '0\.2'\); give it once/],
    ["train", "src/cli/train.ts", ["--quiet", "--steps", "1", "--out", "/nonexistent/never", "--data-dir", "/nonexistent/data", "--quiet"], /--quiet is given twice/],
    ["prep", "data-prep/cli.ts", ["curves", "--data-dir", "/nonexistent/data", "--seed", "1", "--seed=2"], /--seed is given twice \('1', then '2'\)/],
    ["bench sweep", "bench/cli.ts", ["sweep", "curves-small", "--dry-run", "--scale", "0.5", "--scale", "1"], /--scale is given twice/],
    ["bench status", "bench/cli.ts", ["status", "--queue", "redis://127.0.0.1:1", "--queue", "redis://127.0.0.1:2"], /--queue is given twice/],
  ])("%s refuses a flag given twice instead of taking the last value (%#)", (name, script, args, message) => {
    const result = cli(script, args as string[]);
    expect(result.code, result.stderr).toBe(1);
    expectOneLine(result.stderr, name, message as RegExp);
  });

  test.each([
    ["bench sweep", ["sweep", "curves-small", "--dry-run", "--jobs", "0x2"], /--jobs '0x2': expected a positive integer/],
    ["bench sweep", ["sweep", "curves-small", "--dry-run", "--scale", "Infinity"], /--scale 'Infinity': expected a number in \(0, 1\]/],
    ["bench worker", ["worker", "--queue", "redis://127.0.0.1:1", "--concurrency", "0b10"], /--concurrency '0b10': expected a positive integer/],
    ["bench worker", ["worker", "--queue", "redis://127.0.0.1:1", "--lock-ms", "1e300"], /--lock-ms '1e300': expected a positive whole number of milliseconds, at most 2147483647/],
    ["bench step", ["step", "--arch", "784-8-784", "--device", "cpu", "--out", "/nonexistent/step.json", "--batch", " 10"], /--batch ' 10': expected a positive integer/],
  ])("%s reads numbers only as decimals and within range (%#)", (name, args, message) => {
    const result = cli("bench/cli.ts", args as string[]);
    expect(result.code, result.stderr).toBe(1);
    expectOneLine(result.stderr, name, message as RegExp);
  });

  test("bench step checks every --opt before running the first", () => {
    const result = cli("bench/cli.ts", ["step", "--opt", "adam,bogus", "--arch", "784-8-784", "--batch", "10", "--device", "cpu", "--steps", "1", "--out", "/nonexistent/step.json"]);
    expect(result.code, result.stderr).toBe(1);
    expectOneLine(result.stderr, "bench step", /--opt: must be one of kfra, .*, got 'bogus'/);
    expect(result.stdout).toBe("");
  });
});

test("a run that steps past the dataset's size is refused before it writes anything", () => {
  const out = join(ws.root, "too-big");
  const result = trainCli(["--out", out, "--quiet", ...quick(ws.dataDir, "--batch", "5000")]);
  expect(result.code).toBe(1);
  expectOneLine(result.stderr, "train", /batch size 5000 is larger than the dataset/);
  expect(existsSync(out)).toBe(false);
});
