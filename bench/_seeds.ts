// Seed statistics of sweep runs, for bench's analysis reports: src/sweep/seeds.ts.
export * from "../src/sweep/seeds.ts";
