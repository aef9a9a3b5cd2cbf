// Where prepared datasets live, for `prep` and `train` alike: --data-dir when given, else the
// KFRA_DATA_DIR environment variable, else data/ at the repository root — or, for an installed
// package (this file inside a node_modules folder, which the next `npm install` may wipe), the
// user's cache folder: $XDG_CACHE_HOME/kfra-webgpu/data, else ~/.cache/kfra-webgpu/data. Always an
// absolute path, resolved once against the working directory.
import { homedir } from "node:os";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const DATA_DIR_ENV = "KFRA_DATA_DIR";
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Whether this copy of the package is an installed one (inside node_modules), not a checkout. */
export const INSTALLED = REPO_ROOT.split(sep).includes("node_modules");

/** The data folder when neither --data-dir nor KFRA_DATA_DIR chooses one. */
export function defaultDataDir(): string {
  if (!INSTALLED) return join(REPO_ROOT, "data");
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "kfra-webgpu", "data");
}

export function dataDir(flag?: string): string {
  if (flag !== undefined && flag !== "") return resolve(flag);
  const env = process.env[DATA_DIR_ENV];
  return env ? resolve(env) : defaultDataDir();
}

/** Words to say after the data folder's name when it is an installed package's default, else "". */
export function dataDirNote(dir: string): string {
  return INSTALLED && dir === defaultDataDir() ? ` (the package is installed, so its data lives outside node_modules; ${DATA_DIR_ENV} or --data-dir choose another folder)` : "";
}
