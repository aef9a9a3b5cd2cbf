// `bun run bench <name> [flags]`: each benchmark is a module bench/<name>.ts exporting
// `main(argv: string[]): Promise<void>`; it prints a table and writes bench/results/<name>.json.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../src/cli/runCli.ts";
import { UsageError } from "../src/errors.ts";

const here = import.meta.dir;
const available = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && f !== "cli.ts" && !f.startsWith("_"))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...rest] = process.argv.slice(2);
if (!name || name === "--help" || name === "-h") {
  console.log(`usage: bun run bench <name> [flags]    (bun run bench <name> --help for its flags)\n\nbenchmarks: ${available.join(", ")}`);
  process.exit(name ? 0 : 1);
}
await runCli(`bench ${name}`, async () => {
  if (!available.includes(name)) throw new UsageError(`unknown benchmark '${name}'; valid: ${available.join(", ")}`);
  const module = await import(join(here, `${name}.ts`));
  await module.main(rest);
  // A benchmark that checks (crosscheck) reports failure through process.exitCode.
  return Number(process.exitCode ?? 0);
});
