// Progress on stderr: a redrawn bar when stderr is a terminal, a plain line every 10% otherwise,
// and nothing at all when quiet (tests).
export interface ProgressOptions {
  quiet?: boolean;
}

export class Progress {
  private done = 0;
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly startedAt = performance.now();
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly options: ProgressOptions = {},
  ) {}

  seconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  advance(n: number): void {
    this.done = Math.min(this.total, this.done + n);
    if (this.options.quiet) return;
    if (this.tty) {
      const now = performance.now();
      if (now - this.lastDraw < 100 && this.done < this.total) return;
      this.lastDraw = now;
      const width = 30;
      const filled = Math.round((width * this.done) / this.total);
      const bar = "#".repeat(filled) + "-".repeat(width - filled);
      process.stderr.write(`\r${this.label} [${bar}] ${this.percent()}% ${this.done}/${this.total} ${this.seconds().toFixed(1)}s`);
      if (this.done === this.total) process.stderr.write("\n");
    } else {
      const decile = Math.floor((10 * this.done) / this.total);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      process.stderr.write(`${this.label}: ${this.done}/${this.total} (${this.percent()}%) ${this.seconds().toFixed(1)}s\n`);
    }
  }

  private percent(): number {
    return Math.floor((100 * this.done) / this.total);
  }
}
