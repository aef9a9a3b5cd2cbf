// `bun run bench collect`: the same as `bun run sweep collect` (src/sweep/collect.ts), kept for existing scripts.
import { main as sweepMain } from "../src/sweep/collect.ts";

export const main = (argv: string[]) => sweepMain(argv, "bench collect");
