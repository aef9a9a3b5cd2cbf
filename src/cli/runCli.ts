// The CLIs' runner lives with the utilities (src/io/program.ts), so that the programs outside
// src/cli (bench/, data-prep/) use it without reaching into the CLI.
export { reportError, runCli } from "../io/program.ts";
