// Progress of a training run: a live bar (cli-progress) on a terminal, a plain line every ~5% of the
// run otherwise (logs, CI), nothing with --quiet.
import cliProgress from "cli-progress";

export class TrainingProgress {
  private readonly bar?: cliProgress.SingleBar;
  private readonly every: number;
  private readonly startedAt = performance.now();

  constructor(
    private readonly total: number,
    private readonly first: number,
    private readonly quiet: boolean,
  ) {
    this.every = Math.max(1, Math.round(total / 20));
    if (!quiet && process.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          format: "{bar} {value}/{total} | loss {loss} | {rate} steps/s | ETA {eta_formatted}",
          stream: process.stderr,
          etaBuffer: 20,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, first, { loss: "-", rate: "-" });
    }
  }

  update(step: number, loss: number): void {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const rate = (step - this.first) / seconds;
    if (this.bar) {
      this.bar.update(step, { loss: loss.toPrecision(5), rate: rate.toFixed(2) });
    } else if (!this.quiet && (step % this.every === 0 || step === this.total)) {
      const eta = rate > 0 ? (this.total - step) / rate : NaN;
      console.error(`step ${step}/${this.total}  loss ${loss.toPrecision(5)}  ${rate.toFixed(2)} steps/s  ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)} s` : "-"}`);
    }
  }

  /** A line that must not be drawn over by the bar. */
  note(line: string): void {
    if (this.quiet) return;
    if (this.bar) {
      process.stderr.write(`\r\x1b[2K${line}\n`);
      this.bar.render();
    } else {
      console.error(line);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
