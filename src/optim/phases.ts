// Optional timing of an optimiser step by phase, for `bun run bench step`. The optimiser calls
// `mark(phase)` when a phase begins; the timer waits for the backend's queue to drain so that
// queued GPU work is charged to the phase that enqueued it. Training runs without one.
import type { Backend } from "../backend/types.ts";

export interface PhaseMarker {
  mark(phase: string): Promise<void>;
}

export class PhaseTimer implements PhaseMarker {
  readonly totals = new Map<string, number>();
  private current?: string;
  private last = 0;

  constructor(private readonly backend: Backend) {}

  async mark(phase: string): Promise<void> {
    await this.backend.flush();
    const now = performance.now();
    if (this.current !== undefined) this.totals.set(this.current, (this.totals.get(this.current) ?? 0) + now - this.last);
    this.current = phase;
    this.last = now;
  }

  /** Ends the current phase (call after the step). */
  async stop(): Promise<void> {
    await this.mark("");
    this.totals.delete("");
    this.current = undefined;
  }

  reset(): void {
    this.totals.clear();
    this.current = undefined;
  }
}
