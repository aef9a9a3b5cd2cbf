// `bun run bench status`: the same as `bun run sweep status` (src/sweep/status.ts), kept for existing scripts.
import { main as sweepMain } from "../src/sweep/status.ts";

export const main = (argv: string[]) => sweepMain(argv, "bench status");
