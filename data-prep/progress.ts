// Progress of a dataset preparation, counted in images (the shared reporter of src/io/progress.ts).
import { ProgressReporter } from "../src/io/progress.ts";

export interface ProgressOptions {
  quiet?: boolean;
}

export class Progress {
  private done = 0;
  private readonly reporter: ProgressReporter;

  constructor(label: string, private readonly total: number, options: ProgressOptions = {}) {
    this.reporter = new ProgressReporter(label, total, { quiet: options.quiet });
  }

  seconds(): number {
    return this.reporter.seconds();
  }

  advance(n: number): void {
    this.done = Math.min(this.total, this.done + n);
    this.reporter.update(this.done);
  }
}
