#!/usr/bin/env node
// kfra-sweep: `bun run sweep` of an installed package (bin/bun-shim.mjs).
import { runOnBun } from "./bun-shim.mjs";

runOnBun("src/sweep/cli.ts", "kfra-sweep");
