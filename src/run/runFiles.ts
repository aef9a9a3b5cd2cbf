// The files of a run directory, and the record of where a run ran.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, hostname } from "node:os";
import { join } from "node:path";
import { INSTALLED, REPO_ROOT } from "../data/location.ts";
import type { Backend } from "../backend/types.ts";
import { describeReads } from "../data/dataset-reader.ts";

export const CONFIG_FILE = "config.json";
export const METRICS_FILE = "metrics.ndjson";
export const ENVIRONMENT_FILE = "environment.json";
export { MODEL_FILE, OPTIMIZER_FILE } from "./checkpoint.ts";
/** The best evaluated weights by held-out error (θ or θ̂), and a small record of where they come from. */
export const BEST_DIR = "best";
export const BEST_MODEL_FILE = "best/model.safetensors";
export const BEST_RECORD_FILE = "best/best.json";
/** Why a run stopped on an error once it had started (it diverged, its data changed, …): { step, message }; --resume removes it. */
export const FAILURE_FILE = "failure.json";

/** The packed package's revision: `npm pack` (prepack) writes it beside the type declarations. */
export const PACKED_REVISION_FILE = join("types", "REVISION");

/**
 * The source revision: `git rev-parse` of the checkout this code runs from (not of the working
 * directory), "+dirty" with uncommitted changes; for an installed package, the revision recorded
 * when it was packed; "unknown" when neither can be known (a bundle on a GPU machine).
 */
export function sourceRevision(): string {
  if (INSTALLED) {
    try {
      return readFileSync(join(REPO_ROOT, PACKED_REVISION_FILE), "utf8").trim() || "unknown";
    } catch {
      return "unknown";
    }
  }
  try {
    const git = (args: string[]) => execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const revision = git(["rev-parse", "--short", "HEAD"]);
    return git(["status", "--porcelain", "--untracked-files=no"]) ? `${revision}+dirty` : revision;
  } catch {
    return "unknown";
  }
}

/** The package's name and version, from its package.json. */
function packageVersion(): string {
  try {
    const { name, version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));
    return `${name}@${version}`;
  } catch {
    return "unknown";
  }
}

/** Machine, backend, adapter, how data rows are read, package version and revision, saved with every run so results can be traced. */
export function describeEnvironment(backend: Backend): Record<string, unknown> {
  return {
    backend: backend.info.name,
    device: backend.info.device,
    host: hostname(),
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    dataReads: describeReads(),
    bun: Bun.version,
    package: packageVersion(),
    revision: sourceRevision(),
    started: new Date().toISOString(),
  };
}
