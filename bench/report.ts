// `bun run bench report`: the same as `bun run sweep report` (src/sweep/report.ts), kept for existing scripts.
import { main as sweepMain } from "../src/sweep/report.ts";

export const main = (argv: string[]) => sweepMain(argv, "bench report");
