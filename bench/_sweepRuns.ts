// The runs of a sweep directory, for bench's analysis experiments: src/sweep/runs.ts.
export * from "../src/sweep/runs.ts";
