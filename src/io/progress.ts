// Progress on stderr for long work (training, dataset preparation): a live bar (cli-progress) when
// stderr is a terminal, a plain line every 1/`lines` of the work otherwise (logs, CI), nothing when
// quiet.
import cliProgress from "cli-progress";

export interface ProgressOptions {
  quiet?: boolean;
  /** Units already done (a resumed run). */
  start?: number;
  /** cli-progress format; `{label}`, `{value}`, `{total}` and any field given to `update`. */
  format?: string;
  /** The plain line for non-terminals, from the same fields plus {rate} and {eta}. */
  plain?: (fields: Record<string, string | number>) => string;
  /** Plain lines per run (default 10). */
  lines?: number;
  /** Values of the format's own fields before the first update. */
  initial?: Record<string, string>;
}

export class ProgressReporter {
  private readonly bar?: cliProgress.SingleBar;
  private readonly startedAt = performance.now();
  private readonly first: number;
  private lastLine = -1;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly options: ProgressOptions = {},
  ) {
    this.first = options.start ?? 0;
    if (!options.quiet && process.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar(
        { format: options.format ?? "{label} {bar} {percentage}% {value}/{total} | {duration}s", stream: process.stderr, etaBuffer: 20, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, this.first, { label, ...options.initial });
    }
  }

  /** Whether a live bar is drawn (stderr is a terminal and not quiet). */
  get live(): boolean {
    return this.bar !== undefined;
  }

  seconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  /** Units per second since the start (of this process). */
  rate(done: number): number {
    return (done - this.first) / this.seconds();
  }

  update(done: number, fields: Record<string, string | number> = {}): void {
    if (this.options.quiet) return;
    if (this.bar) {
      this.bar.update(done, { label: this.label, ...fields });
      if (done >= this.total) this.bar.stop();
      return;
    }
    const lines = this.options.lines ?? 10;
    const line = Math.floor((lines * done) / this.total);
    if (line === this.lastLine) return;
    this.lastLine = line;
    const rate = this.rate(done);
    const eta = rate > 0 ? `${((this.total - done) / rate).toFixed(0)} s` : "-";
    const all = { label: this.label, value: done, total: this.total, rate: rate.toFixed(2), eta, seconds: this.seconds().toFixed(1), ...fields };
    process.stderr.write(`${this.options.plain ? this.options.plain(all) : `${this.label}: ${done}/${this.total} (${Math.floor((100 * done) / this.total)}%) ${all.seconds}s`}\n`);
  }

  /** A message that the bar must not draw over. */
  note(line: string): void {
    if (this.options.quiet) return;
    if (this.bar) {
      process.stderr.write(`\r\x1b[2K${line}\n`);
      this.bar.render();
    } else {
      process.stderr.write(`${line}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
