// The files of a run directory, and the record of where a run ran.
import { execFileSync } from "node:child_process";
import { cpus, hostname } from "node:os";
import type { Backend } from "../backend/types.ts";

export const CONFIG_FILE = "config.json";
export const METRICS_FILE = "metrics.ndjson";
export const ENVIRONMENT_FILE = "environment.json";
export { MODEL_FILE, OPTIMIZER_FILE } from "./checkpoint.ts";
/** The best evaluated weights by held-out error (θ or θ̂), and a small record of where they come from. */
export const BEST_DIR = "best";
export const BEST_MODEL_FILE = "best/model.safetensors";
export const BEST_RECORD_FILE = "best/best.json";

/** Machine, backend, adapter and git revision, saved with every run so results can be traced. */
export function describeEnvironment(backend: Backend): Record<string, unknown> {
  let revision = "unknown";
  try {
    revision = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    if (dirty) revision += "+dirty";
  } catch {
    // not a git checkout (e.g. a bundle on the GPU machine)
  }
  return {
    backend: backend.info.name,
    device: backend.info.device,
    host: hostname(),
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    bun: Bun.version,
    revision,
    started: new Date().toISOString(),
  };
}
