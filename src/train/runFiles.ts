// The files of a run directory.
export const CONFIG_FILE = "config.json";
export const METRICS_FILE = "metrics.ndjson";
export { MODEL_FILE, OPTIMIZER_FILE } from "./checkpoint.ts";
