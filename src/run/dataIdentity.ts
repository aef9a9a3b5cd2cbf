// What a run learns from: its training file, its held-out file and its --init weights, each known
// by a hash of its bytes (not its path, so a data folder moved or prepared again from the same seed
// is the same data). Checkpoints and sweep results record it, so that a resumed run or a finished
// sweep run is never continued or reused on other data.
import { createHash } from "node:crypto";
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { datasetFiles } from "../data/dataset.ts";
import { validatedDigest } from "../data/dataset-reader.ts";
import type { DatasetName } from "../data/datasets.ts";

/** The settings that name a run's data (a subset of TrainConfig, as config.json holds it). */
export interface DataSettings {
  dataset: DatasetName;
  dataDir: string;
  data?: string;
  valid?: string;
  init?: string;
}

export type DataRole = "train" | "heldOut" | "init";

/** Role → file of a run's data. */
export function runDataFiles(settings: DataSettings): Partial<Record<DataRole, string>> {
  const files: Partial<Record<DataRole, string>> = settings.data ? { train: settings.data, heldOut: settings.valid } : datasetFiles(settings.dataset, settings.dataDir);
  if (settings.init) files.init = settings.init;
  for (const role of Object.keys(files) as DataRole[]) if (files[role] === undefined) delete files[role];
  return files;
}

/** Role → sha256 of the file's bytes (the first 16 hex digits); a missing file is left out. */
export type DataFingerprint = Partial<Record<DataRole, string>>;

const cache = new Map<string, string>();

/**
 * sha256 of a file's bytes: the digest computed while the data reader checked this very file (same
 * inode, size and mtime), else read in pieces (a file cut short while it is read gives a different
 * hash, never a crash).
 */
function hashFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return undefined;
    const key = `${path}\0${stat.ino}\0${stat.size}\0${stat.mtimeMs}`;
    const known = cache.get(key) ?? validatedDigest(path, stat)?.slice(0, 16);
    if (known) return known;
    const hash = createHash("sha256");
    const buffer = Buffer.alloc(1 << 22);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
    const digest = hash.digest("hex").slice(0, 16);
    cache.set(key, digest);
    return digest;
  } finally {
    closeSync(fd);
  }
}

export function dataFingerprint(settings: DataSettings): DataFingerprint {
  const out: DataFingerprint = {};
  for (const [role, file] of Object.entries(runDataFiles(settings)) as [DataRole, string][]) {
    const hash = existsSync(file) ? hashFile(file) : undefined;
    if (hash) out[role] = hash;
  }
  return out;
}

/** The roles whose file both fingerprints know and whose bytes differ (a file missing from either is not compared). */
export function changedData(recorded: DataFingerprint, now: DataFingerprint): DataRole[] {
  return (Object.keys(recorded) as DataRole[]).filter((role) => now[role] !== undefined && recorded[role] !== now[role]);
}

/** Whether `value` has the shape of a DataFingerprint (as read back from a file). */
export function isDataFingerprint(value: unknown): value is DataFingerprint {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.entries(value).every(([role, hash]) => ["train", "heldOut", "init"].includes(role) && typeof hash === "string");
}
