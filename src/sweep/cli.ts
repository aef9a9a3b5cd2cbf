#!/usr/bin/env bun
// `bun run sweep`: `sweep SPEC` runs a sweep (src/sweep/sweep.ts); `sweep report DIR`, `sweep status
// DIR`, `sweep worker` and `sweep collect` are its other commands, each a module here with
// `main(argv)`. The first word picks the command; anything else is a SPEC.
const COMMANDS = {
  report: () => import("./report.ts"),
  status: () => import("./status.ts"),
  worker: () => import("./worker.ts"),
  collect: () => import("./collect.ts"),
} as const;

const [first, ...rest] = process.argv.slice(2);
if (first !== undefined && first in COMMANDS) await (await COMMANDS[first as keyof typeof COMMANDS]()).main(rest);
else await (await import("./sweep.ts")).main(process.argv.slice(2));
export {};
