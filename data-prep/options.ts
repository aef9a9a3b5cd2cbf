import type { Progress } from "./progress.ts";

/** What every generator receives from `bun run prep`. */
export interface GeneratorOptions {
  seed: number;
  /** Source file or folder (MNIST IDX folder, Olivetti .mat file); each generator has a default. */
  source?: string;
  /** Internal, for tests: MNIST images per split / CURVES training images / FACES pairs per source image. */
  count?: number;
  /** Internal, for tests and benchmarks: worker threads for FACES (default one per core). */
  workers?: number;
  progress?: Progress;
}
