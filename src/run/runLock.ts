// The lock of a run directory: a file `lock` created with O_EXCL holding the owner's pid, its start
// time (Linux: /proc/PID/stat, so a reused pid is not mistaken for the owner) and host. A second
// train on the same directory is refused while the owner lives; a lock left by a killed process is
// detected, reported and taken over.
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { UsageError, asFileError } from "../errors.ts";
import { processAlive, temporaryName } from "../io/atomicWrite.ts";

export const LOCK_FILE = "lock";

interface LockOwner {
  pid: number;
  /** Clock ticks after boot at which the process started (field 22 of /proc/PID/stat); null off Linux. */
  start: number | null;
  host: string;
}

/** The start time of process `pid` in clock ticks after boot, or null where /proc is unavailable. */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at field 3; field 22 is starttime.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = Number(fields[22 - 3]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (!processAlive(owner.pid)) return false;
  const start = processStartTime(owner.pid);
  return owner.start === null || start === null || start === owner.start;
}

function readOwner(path: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(path, "utf8")) as LockOwner;
    return typeof owner.pid === "number" ? owner : null;
  } catch {
    return null;
  }
}

export class RunLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(readonly path: string, private readonly content: string) {
    process.on("exit", this.onExit);
  }

  /** Takes the lock of `runDir` (creating the directory), or throws a UsageError naming the live owner; `program` says who took over a stale lock. */
  static acquire(runDir: string, log: (line: string) => void, program = "train"): RunLock {
    const path = join(runDir, LOCK_FILE);
    const content = `${JSON.stringify({ pid: process.pid, start: processStartTime(process.pid), host: hostname() })}\n`;
    try {
      mkdirSync(runDir, { recursive: true });
    } catch (error) {
      throw asFileError(error, "create the run directory", runDir);
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      let fd: number | undefined;
      try {
        fd = openSync(path, "wx");
      } catch (error) {
        if ((error as { code?: string }).code !== "EEXIST") throw asFileError(error, "create the lock", path);
      }
      if (fd !== undefined) {
        try {
          writeSync(fd, content);
        } catch (error) {
          rmSync(path, { force: true });
          throw asFileError(error, "write the lock", path);
        } finally {
          closeSync(fd);
        }
        return new RunLock(path, content);
      }
      const text = readFileSync(path, "utf8");
      const owner = readOwner(path);
      if (owner && ownerAlive(owner)) {
        throw new UsageError(`${runDir} is in use by process ${owner.pid} on ${owner.host} (its lock is ${path}); wait for it to finish or stop it`);
      }
      // Stale: move it aside under a name of our own, and check that what moved is what we judged.
      const aside = temporaryName(path);
      try {
        renameSync(path, aside);
      } catch {
        continue;
      }
      if (readFileSync(aside, "utf8") !== text) {
        renameSync(aside, path);
        throw new UsageError(`${runDir} was just locked by another process; try again`);
      }
      rmSync(aside, { force: true });
      log(`${program}: took over the lock of ${runDir} from process ${owner ? owner.pid : "?"}, which is no longer running`);
    }
    throw new UsageError(`${runDir}: could not take its lock ${path}; another process is starting on it`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    process.off("exit", this.onExit);
    try {
      if (readFileSync(this.path, "utf8") === this.content) rmSync(this.path, { force: true });
    } catch {
      // already gone, or the folder became unreadable: nothing to undo
    }
  }
}

/** Who holds `runDir`'s lock, read only: null when there is no lock; `alive` false for a lock a killed process left. */
export function lockHolder(runDir: string): { pid: number; host: string; alive: boolean } | null {
  const owner = readOwner(join(runDir, LOCK_FILE));
  return owner ? { pid: owner.pid, host: owner.host, alive: ownerAlive(owner) } : null;
}
