// `bun run bench worker`: the same as `bun run sweep worker` (src/sweep/worker.ts), kept for existing scripts.
import { main as sweepMain } from "../src/sweep/worker.ts";

export const main = (argv: string[]) => sweepMain(argv, "bench worker");
