// Locations relative to the repository root (import.meta.url works under Bun and under vitest,
// where import.meta.dir is not defined).
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
