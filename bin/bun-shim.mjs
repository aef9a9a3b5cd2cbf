// The package's bins (kfra-train, kfra-prep) as npm links them: small Node programs that run the
// package's TypeScript CLI on Bun. Bun is found where the package's own dependency put it (the
// `bun` package's binary, or its platform package's when no install script ran), else on the PATH;
// with none, one line says so and the exit status is 2 (a missing system dependency). Ctrl-C reaches
// Bun from the terminal directly (the shim ignores it, so Bun's second-Ctrl-C rule still holds);
// SIGTERM and SIGHUP sent to the shim are passed on. The exit status is Bun's.
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The npm package `bun` ships a placeholder of a few hundred bytes where its install script puts the binary. */
const MIN_BINARY_BYTES = 1_000_000;

function isBinary(path) {
  try {
    return statSync(path).isFile() && statSync(path).size >= MIN_BINARY_BYTES;
  } catch {
    return false;
  }
}

/** The Bun executable to run, or undefined. */
export function findBun() {
  if (process.versions.bun) return process.execPath;
  const candidates = [];
  try {
    const bunPackage = createRequire(join(ROOT, "package.json")).resolve("bun/package.json");
    candidates.push(join(dirname(bunPackage), "bin", "bun.exe"));
    const fromBun = createRequire(bunPackage);
    const os = process.platform === "win32" ? "windows" : process.platform;
    const arch = process.arch === "arm64" ? "aarch64" : process.arch;
    for (const variant of ["", "-baseline", "-musl", "-musl-baseline"]) {
      try {
        const dir = dirname(fromBun.resolve(`@oven/bun-${os}-${arch}${variant}/package.json`));
        candidates.push(join(dir, "bin", process.platform === "win32" ? "bun.exe" : "bun"));
      } catch {
        // that variant is not installed
      }
    }
  } catch {
    // the dependency is missing: the PATH may still have one
  }
  const found = candidates.find(isBinary);
  if (found) return found;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) if (dir && existsSync(join(dir, "bun"))) return join(dir, "bun");
  return undefined;
}

/** Runs `script` (relative to the package) on Bun with this process's arguments, and exits with its status. */
export function runOnBun(script, name) {
  const bun = findBun();
  if (!bun) {
    console.error(`${name}: this package runs on Bun, which is not installed here: reinstall the package so that its dependency 'bun' is installed (npm install), or put bun on the PATH`);
    process.exit(2);
  }
  const child = spawn(bun, [join(ROOT, script), ...process.argv.slice(2)], { stdio: "inherit" });
  process.on("SIGINT", () => {});
  for (const signal of ["SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("error", (error) => {
    console.error(`${name}: could not start Bun (${bun}): ${error.message}`);
    process.exit(2);
  });
  child.on("exit", (code, signal) => process.exit(code ?? 128 + ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGHUP: 1 }[signal] ?? 0)));
}
