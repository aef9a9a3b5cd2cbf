// Runs of a sweep that differ only in their seed form one method: its error at each evaluation as
// the mean and the min–max over the seeds, and the updates and seconds it needs to reach a target
// as mean and min–max over the seeds that reached it, with how many did.
import type { EvalRecord } from "../run/metrics.ts";

/** A sweep run's id without its seed: "kfra/kfra-dampingfixed-seed2" → "kfra/kfra-dampingfixed". */
export function methodKey(id: string): string {
  return id.replace(/-seed\d+$/, "");
}

/** Runs grouped by methodKey, in the order each method first appears. */
export function groupBySeed<T extends { id: string }>(runs: T[]): Map<string, T[]> {
  const methods = new Map<string, T[]>();
  for (const run of runs) {
    const key = methodKey(run.id);
    if (!methods.has(key)) methods.set(key, []);
    methods.get(key)!.push(run);
  }
  return methods;
}

/** n finite values: their mean, smallest and largest. */
export interface Spread {
  n: number;
  mean: number;
  min: number;
  max: number;
}

/** The spread of the finite values, or undefined when there are none. */
export function spread(values: readonly (number | null | undefined)[]): Spread | undefined {
  const finite = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  if (finite.length === 0) return undefined;
  return { n: finite.length, mean: finite.reduce((s, v) => s + v, 0) / finite.length, min: Math.min(...finite), max: Math.max(...finite) };
}

export type ErrorKey = "train" | "trainAverage" | "heldOut" | "heldOutAverage";
const ERROR_KEYS: readonly ErrorKey[] = ["train", "trainAverage", "heldOut", "heldOutAverage"];
/** A classifier's fraction of samples classified right, for each error above. */
export type AccuracyKey = "trainAccuracy" | "trainAverageAccuracy" | "heldOutAccuracy" | "heldOutAverageAccuracy";
const ACCURACY_KEYS: readonly AccuracyKey[] = ["trainAccuracy", "trainAverageAccuracy", "heldOutAccuracy", "heldOutAverageAccuracy"];

/** One evaluation of a method: the update, and each quantity's spread over the seeds evaluated there. */
export interface BandPoint {
  step: number;
  seconds: Spread;
  errors: Partial<Record<ErrorKey, Spread>>;
  /** Classifiers only (runs whose evaluations record accuracy). */
  accuracy: Partial<Record<AccuracyKey, Spread>>;
}

/**
 * The method's curve: at every update at which any of its seeds was evaluated, the spread of the
 * training seconds and of each error (and accuracy, for a classifier) over the seeds evaluated there (n says how many; a seed cut
 * short is absent from the later points).
 */
export function seedBand(seeds: readonly (readonly EvalRecord[])[]): BandPoint[] {
  const steps = [...new Set(seeds.flatMap((evals) => evals.map((e) => e.step)))].sort((a, b) => a - b);
  return steps.map((step) => {
    const at = seeds.map((evals) => evals.find((e) => e.step === step)).filter((e): e is EvalRecord => e !== undefined);
    const errors: BandPoint["errors"] = {};
    for (const key of ERROR_KEYS) {
      const s = spread(at.map((e) => e[key]));
      if (s) errors[key] = s;
    }
    const accuracy: BandPoint["accuracy"] = {};
    for (const key of ACCURACY_KEYS) {
      const s = spread(at.map((e) => e[key]));
      if (s) accuracy[key] = s;
    }
    return { step, seconds: spread(at.map((e) => e.time))!, errors, accuracy };
  });
}

/** First evaluation at which `key` is at or below the target. */
export function firstReaching(evals: readonly EvalRecord[], target: number, key: ErrorKey = "train"): EvalRecord | undefined {
  return evals.find((e) => typeof e[key] === "number" && (e[key] as number) <= target);
}

/** How a method's seeds reach a target. */
export interface ToTarget {
  seeds: number;
  reached: number;
  /** Seeds cut short (not finished) before reaching it: unknown, not failures. */
  cut: number;
  updates?: Spread;
  seconds?: Spread;
}

/** Updates and training seconds to the first evaluation at or below `target`, over the seeds that reach it. */
export function toTarget(seeds: readonly { evals: readonly EvalRecord[]; finished: boolean }[], target: number, key: ErrorKey = "train"): ToTarget {
  const hits = seeds.map((s) => firstReaching(s.evals, target, key));
  const reached = hits.filter((h): h is EvalRecord => h !== undefined);
  return {
    seeds: seeds.length,
    reached: reached.length,
    cut: seeds.filter((s, i) => hits[i] === undefined && !s.finished).length,
    updates: spread(reached.map((h) => h.step)),
    seconds: spread(reached.map((h) => h.time)),
  };
}

const FOUR_DIGITS = (x: number) => x.toPrecision(4);

/** "mean (min–max)", or the value alone for one seed; "–" for none. */
export function formatSpread(s: Spread | undefined, format: (x: number) => string = FOUR_DIGITS): string {
  if (!s) return "–";
  return s.n === 1 ? format(s.mean) : `${format(s.mean)} (${format(s.min)}–${format(s.max)})`;
}
