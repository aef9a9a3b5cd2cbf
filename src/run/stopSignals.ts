// Ctrl-C (SIGINT) and SIGTERM during training: the first asks the loop to stop after the current
// update and save a checkpoint; a second Ctrl-C exits at once (the checkpoints already saved are
// whole and kept). A SIGTERM after the first signal is ignored: the run is already stopping.
import { EXIT } from "../errors.ts";

export type StopSignal = "SIGINT" | "SIGTERM";

export class StopSignals {
  /** The first signal received, if any. */
  received?: StopSignal;
  private readonly handlers: [StopSignal, () => void][];

  constructor(onFirst: (signal: StopSignal) => void, onForced: () => void) {
    const handle = (signal: StopSignal) => () => {
      if (!this.received) {
        this.received = signal;
        onFirst(signal);
      } else if (signal === "SIGINT") {
        onForced();
        process.exit(EXIT.sigint);
      }
    };
    this.handlers = [["SIGINT", handle("SIGINT")], ["SIGTERM", handle("SIGTERM")]];
    for (const [signal, handler] of this.handlers) process.on(signal, handler);
  }

  dispose(): void {
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
  }
}

/** The exit status of a run stopped by `signal` (128 + its number). */
export function exitCodeFor(signal: StopSignal | undefined): number {
  return signal === "SIGTERM" ? EXIT.sigterm : signal === "SIGINT" ? EXIT.sigint : EXIT.ok;
}

/** Lets the event loop run (timers, I/O, signal handlers) between two updates. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
