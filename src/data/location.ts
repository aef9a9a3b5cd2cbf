// Where prepared datasets live, for `prep` and `train` alike: --data-dir when given, else the
// KFRA_DATA_DIR environment variable, else data/ at the repository root; always an absolute path,
// resolved once against the working directory.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const DATA_DIR_ENV = "KFRA_DATA_DIR";
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function dataDir(flag?: string): string {
  if (flag !== undefined && flag !== "") return resolve(flag);
  const env = process.env[DATA_DIR_ENV];
  return env ? resolve(env) : join(REPO_ROOT, "data");
}
