// Issue 26 item 7: after `bash scripts/setup.sh`, a NEW shell finds `bun`. setup.sh's last step,
// scripts/link-bun.sh, is run here where it cannot touch this machine: as root in a private mount
// namespace with a tmpfs over /usr/local/bin, and as an unprivileged user with a fresh home. Each
// time a new shell with nothing inherited (env -i, the default PATH) must run `bun run train --help`
// — login (bash -lc) and, for root, plain (bash -c) — and the script's last line must say so.
import { nobodyCanReach } from "../helpers/unprivileged.ts";
import { mkdtempSync, readFileSync, rmSync, chownSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, test } from "vitest";
import { canMountTmpfs } from "../faults/helpers.ts";

const repo = resolve(import.meta.dirname, "../..");
const version = Bun.spawnSync([join(repo, "node_modules/.bin/bun"), "--version"]).stdout.toString().trim();
const clean = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "");

test.skipIf(!canMountTmpfs())("root: a link in /usr/local/bin; login and plain new shells run bun run train --help; a second run changes nothing", () => {
  const home = mkdtempSync(join(tmpdir(), "kfra-home-"));
  try {
    const script = `mount -t tmpfs tmpfs /usr/local/bin || exit 99
      bash scripts/link-bun.sh 2>&1; echo "first $?"
      bash scripts/link-bun.sh 2>&1; echo "second $?"
      env -i HOME="$HOME" PATH=/usr/local/bin:/usr/bin:/bin bash -lc 'bun run train --help | head -1'
      env -i HOME="$HOME" PATH=/usr/local/bin:/usr/bin:/bin bash -c 'bun --version'`;
    const run = Bun.spawnSync(["unshare", "-rm", "sh", "-c", script], { cwd: repo, env: { ...process.env, HOME: home }, timeout: 60_000 });
    const lines = clean(run.stdout.toString()).trim().split("\n");
    expect(lines, run.stderr.toString()).toEqual([
      `[setup] linking /usr/local/bin/bun to this project's Bun ${version} (${join(repo, "node_modules/bun/bin/bun.exe")})`,
      `[setup] ready: bun ${version} at /usr/local/bin/bun; new shells find it`,
      "first 0",
      `[setup] /usr/local/bin/bun: already links to this project's Bun ${version}`,
      `[setup] ready: bun ${version} at /usr/local/bin/bun; new shells find it`,
      "second 0",
      "usage: bun run train [flags]",
      version,
    ]);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test.skipIf(!nobodyCanReach(repo))("without root: a link in ~/.local/bin and a PATH line in ~/.profile; a new login shell runs bun run train --help", () => {
  const home = mkdtempSync(join(tmpdir(), "kfra-home-"));
  chmodSync(home, 0o755);
  chownSync(home, 65534, 65534);
  try {
    const asUser = (...command: string[]) =>
      Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "-i", `HOME=${home}`, "PATH=/usr/bin:/bin", ...command], { cwd: repo, timeout: 60_000 });
    const linked = asUser("bash", "scripts/link-bun.sh");
    expect(linked.exitCode, clean(linked.stderr.toString())).toBe(0);
    expect(clean(linked.stderr.toString()).trim().split("\n").at(-1)).toBe(
      `[setup] ready: bun ${version} at ${home}/.local/bin/bun; new login shells find it (a new terminal, bash -l); for others put ${home}/.local/bin on the PATH`,
    );
    expect(readFileSync(join(home, ".profile"), "utf8")).toContain('PATH="$HOME/.local/bin:$PATH"');
    const shell = asUser("bash", "-lc", "bun run train --help | head -1");
    expect(shell.stdout.toString().trim()).toBe("usage: bun run train [flags]");
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
