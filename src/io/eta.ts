// The time left in a training run: the updates still to do at the seconds per update measured since
// the warm-up ended (the first updates compile kernels and fill caches, so they are left out), plus
// the whole-set evaluations still to do at the mean seconds of those measured. Fed by events and an
// injectable clock (seconds), so that it can be tested on a scripted timeline.

export interface EtaPlan {
  /** Updates already done when this process began (a resumed run's step). */
  startStep: number;
  /** The update count to reach. */
  steps: number;
  /** Whole-set evaluation every N updates (and at the end when off that schedule); 0: only at the end. */
  evalEvery: number;
  /** Updates after startStep left out of the rate (default 3). */
  warmup?: number;
  /** Updates after the warm-up needed before an estimate (default 2). */
  samples?: number;
}

export class EtaEstimator {
  private readonly warmup: number;
  private readonly samples: number;
  private step: number;
  private mark?: { step: number; time: number; evalSeconds: number };
  private last?: { step: number; time: number; evalSeconds: number };
  private evalSeconds = 0;
  private evalCount = 0;
  private evalStartedAt?: number;
  private evaluatedAt?: number;

  constructor(
    private readonly plan: EtaPlan,
    private readonly clock: () => number = () => performance.now() / 1000,
  ) {
    this.warmup = plan.warmup ?? 3;
    this.samples = plan.samples ?? 2;
    this.step = plan.startStep;
  }

  /** Update `step` is done. */
  update(step: number): void {
    this.step = step;
    const now = { step, time: this.clock(), evalSeconds: this.evalSeconds };
    if (step >= this.plan.startStep + this.warmup && this.mark === undefined) this.mark = now;
    this.last = now;
  }

  evalStart(): void {
    this.evalStartedAt = this.clock();
  }

  /** An evaluation ended; returns its seconds. */
  evalEnd(): number {
    const seconds = this.evalStartedAt === undefined ? 0 : this.clock() - this.evalStartedAt;
    this.evalStartedAt = undefined;
    this.evaluatedAt = this.step;
    this.evalSeconds += seconds;
    this.evalCount += 1;
    return seconds;
  }

  /** Seconds per update since the warm-up, evaluations excluded; undefined until measured. */
  secondsPerUpdate(): number | undefined {
    const { mark, last } = this;
    if (!mark || !last || last.step - mark.step < this.samples) return undefined;
    return (last.time - mark.time - (last.evalSeconds - mark.evalSeconds)) / (last.step - mark.step);
  }

  /** Evaluations still to run: those due from update `step` (unless already run there) to the end. */
  evaluationsLeft(): number {
    const { steps, evalEvery } = this.plan;
    const done = (at: number) => this.evaluatedAt === at;
    if (evalEvery <= 0) return done(steps) ? 0 : 1;
    let count = Math.floor(steps / evalEvery) - Math.floor((this.step - 1) / evalEvery);
    if (this.step % evalEvery === 0 && done(this.step)) count -= 1;
    if (steps % evalEvery !== 0 && !done(steps)) count += 1;
    return Math.max(count, 0);
  }

  /** Seconds left; undefined while estimating. */
  remaining(): number | undefined {
    const perUpdate = this.secondsPerUpdate();
    if (perUpdate === undefined) return undefined;
    const perEval = this.evalCount > 0 ? this.evalSeconds / this.evalCount : 0;
    const sinceLast = this.evalStartedAt === undefined && this.last ? Math.min(this.clock() - this.last.time, perUpdate) : 0;
    const underWay = this.evalStartedAt === undefined ? 0 : Math.max(perEval - (this.clock() - this.evalStartedAt), 0);
    return Math.max((this.plan.steps - this.step) * perUpdate - sinceLast, 0) + this.evaluationsLeft() * perEval + underWay;
  }

  /** "estimating…" or the time left in words ("42 s", "3 min 20 s", "1 h 05 min"). */
  format(): string {
    const left = this.remaining();
    return left === undefined ? "estimating…" : formatDuration(left);
  }
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}
