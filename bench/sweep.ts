// `bun run bench sweep`: the same as `bun run sweep` (src/sweep/sweep.ts), kept for existing scripts.
import { main as sweepMain } from "../src/sweep/sweep.ts";

export const main = (argv: string[]) => sweepMain(argv, "bench sweep");
