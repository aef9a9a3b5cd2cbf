// Files are written to a temporary sibling and renamed into place, so a crash or Ctrl-C never
// leaves a partial file where a complete one is expected. A temporary's name is one only this
// program makes, `NAME.kfra-<pid>-<8 random hex digits>.tmp`; a temporary left by a killed process
// is removed by the next writer into the same folder (removeStaleTemporaries), and nothing else is:
// a user's `thesis.2023.tmp` is not ours. Failures with an outside cause (disk full, read-only,
// permissions) are one-line FileErrors naming the file.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { asFileError } from "../errors.ts";

const TEMPORARY = /^.+\.kfra-(\d+)-[0-9a-f]{8}\.tmp$/;

/** A fresh temporary name beside `path`, unique to this process and call. */
export function temporaryName(path: string): string {
  return join(dirname(path), `${basename(path)}.kfra-${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
}

/** Whether `name` is a temporary made by temporaryName. */
export function isTemporaryName(name: string): boolean {
  return TEMPORARY.test(name);
}

/** Whether a process with this id exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}

/**
 * Whether `path` looks like what this program leaves: a regular file, or a folder of regular files
 * (a checkpoint being staged), owned by this user; links and deeper trees are never ours.
 */
function shapedLikeOurs(path: string): boolean {
  const uid = process.getuid?.();
  const stat = lstatSync(path);
  if (uid !== undefined && stat.uid !== uid) return false;
  if (stat.isFile()) return true;
  if (!stat.isDirectory()) return false;
  return readdirSync(path).every((name) => lstatSync(join(path, name)).isFile());
}

/**
 * Removes the temporaries of `dir` (names made by temporaryName) whose process is gone and which
 * are shaped like ours; returns their names. Nothing else in `dir` is touched.
 */
export function removeStaleTemporaries(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(TEMPORARY.exec(name)?.[1]);
    if (!pid || pid === process.pid || processAlive(pid)) continue;
    try {
      const path = join(dir, name);
      if (!shapedLikeOurs(path)) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // another process removed it, or the folder is read-only: not ours to report
    }
  }
  return removed;
}

/** Writes all of `data` to a new file and flushes it to the disk. */
export function writeDurably(path: string, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const fd = openSync(path, "wx");
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const temporary = temporaryName(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeDurably(temporary, data);
    renameSync(temporary, path);
  } catch (error) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // the clean-up failing (read-only folder) must not hide the cause
    }
    throw asFileError(error, "write", path);
  }
}
