// Files are written to a temporary sibling (`NAME.<pid>.tmp`) and renamed into place, so a crash or
// Ctrl-C never leaves a partial file where a complete one is expected; a temporary left by a killed
// process is removed by the next writer into the same folder (removeStaleTemporaries). Failures
// with an outside cause (disk full, read-only, permissions) are one-line FileErrors naming the file.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { asFileError } from "../errors.ts";

const TEMPORARY = /^.+\.(\d+)\.tmp$/;

export function temporaryName(path: string): string {
  return `${path}.${process.pid}.tmp`;
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

/** Removes `*.<pid>.tmp` entries of `dir` whose process is gone; returns their names. */
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
      rmSync(join(dir, name), { recursive: true, force: true });
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
  const fd = openSync(path, "w");
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
