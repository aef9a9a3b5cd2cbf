// The ETA on a scripted timeline with a fake clock: a slow first update (kernel compilation), a
// periodic whole-set evaluation, steady updates otherwise. The first estimate must be within a
// factor 2 of the time really left; counting the warm-up in, it is not.
import { describe, expect, it } from "vitest";
import { EtaEstimator, type EtaPlan, formatDuration } from "../../src/io/eta.ts";

interface Timeline {
  steps: number;
  evalEvery: number;
  firstUpdate: number;
  update: number;
  evaluation: number;
}

/** Replays a run on a fake clock; returns each estimate with the seconds that were really left then. */
function replay(t: Timeline, plan: Partial<EtaPlan> = {}): { step: number; estimate?: number; actual: number }[] {
  let now = 0;
  const eta = new EtaEstimator({ startStep: 0, steps: t.steps, evalEvery: t.evalEvery, ...plan }, () => now);
  const events: { step: number; estimate?: number; at: number }[] = [];
  const evaluate = () => {
    eta.evalStart();
    now += t.evaluation;
    eta.evalEnd();
  };
  evaluate();
  for (let step = 1; step <= t.steps; step++) {
    now += step === 1 ? t.firstUpdate : t.update;
    eta.update(step);
    events.push({ step, estimate: eta.remaining(), at: now });
    if (step % t.evalEvery === 0) evaluate();
  }
  return events.map((e) => ({ step: e.step, estimate: e.estimate, actual: now - e.at }));
}

const faces: Timeline = { steps: 200, evalEvery: 50, firstUpdate: 120, update: 1.2, evaluation: 25 };

describe("EtaEstimator", () => {
  it("says 'estimating…' through the warm-up, then its first estimate is within a factor 2 of the time left", () => {
    const events = replay(faces);
    const first = events.findIndex((e) => e.estimate !== undefined);
    expect(first).toBeGreaterThanOrEqual(3);
    const { estimate, actual } = events[first];
    expect(estimate! / actual).toBeGreaterThan(0.5);
    expect(estimate! / actual).toBeLessThan(2);
  });

  it("keeps every later estimate within 10% of the time left, evaluations included (no jump after each)", () => {
    for (const { step, estimate, actual } of replay(faces).filter((e) => e.estimate !== undefined && e.actual > 10)) {
      expect(Math.abs(estimate! - actual) / actual, `update ${step}`).toBeLessThan(0.1);
    }
  });

  it("is far off when the warm-up is counted, as the rate since the start would (the check above can fail)", () => {
    const events = replay(faces);
    const first = events.find((e) => e.estimate !== undefined)!;
    const sinceStart = (faces.evaluation + faces.firstUpdate + (first.step - 1) * faces.update) / first.step;
    expect(((faces.steps - first.step) * sinceStart) / first.actual).toBeGreaterThan(2);
  });

  it("counts the evaluations left, the end's off-schedule one included", () => {
    const eta = new EtaEstimator({ startStep: 0, steps: 120, evalEvery: 50 }, () => 0);
    expect(eta.evaluationsLeft()).toBe(4); // 0 (not yet run), 50, 100 and the end, 120
    eta.evalStart();
    eta.evalEnd();
    expect(eta.evaluationsLeft()).toBe(3);
    eta.update(100);
    expect(eta.evaluationsLeft()).toBe(2); // 100's is due
    eta.evalStart();
    eta.evalEnd();
    expect(eta.evaluationsLeft()).toBe(1);
    expect(new EtaEstimator({ startStep: 0, steps: 10, evalEvery: 0 }).evaluationsLeft()).toBe(1);
  });

  it("formats durations in words", () => {
    expect(new EtaEstimator({ startStep: 0, steps: 1, evalEvery: 0 }).format()).toBe("estimating…");
    expect(formatDuration(42.4)).toBe("42 s");
    expect(formatDuration(200)).toBe("3 min 20 s");
    expect(formatDuration(3900)).toBe("1 h 05 min");
  });
});
