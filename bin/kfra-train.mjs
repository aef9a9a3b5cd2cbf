#!/usr/bin/env node
// kfra-train: `bun run train` of an installed package (bin/bun-shim.mjs).
import { runOnBun } from "./bun-shim.mjs";

runOnBun("src/cli/train.ts", "kfra-train");
