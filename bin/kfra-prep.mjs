#!/usr/bin/env node
// kfra-prep: `bun run prep` of an installed package (bin/bun-shim.mjs).
import { runOnBun } from "./bun-shim.mjs";

runOnBun("data-prep/cli.ts", "kfra-prep");
