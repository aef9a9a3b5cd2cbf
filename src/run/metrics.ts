// The metrics log: one JSON object per line (NDJSON). A "step" record per update and an "eval"
// record every --eval-every updates. Non-finite numbers are written as null (JSON has no NaN). A
// torn last line (the disk filled, or the process was killed, while it was appended) is dropped with
// a warning by every reader; a bad line elsewhere, or a line that parses but is no record (not an
// object, no "step"/"eval" type, no whole step, a value that is neither number nor string), is a
// DataError naming the file and line.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { DataError } from "../data/data-error.ts";
import { asFileError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomicWrite.ts";

export interface StepRecord {
  type: "step";
  step: number;
  /** Training seconds: wall-clock since the run started, less whole-set evaluations (continued across --resume). */
  time: number;
  loss: number;
  /** Milliseconds the trainer waited for this minibatch. */
  dataWaitMs: number;
  [scalar: string]: number | string;
}

export interface EvalRecord {
  type: "eval";
  step: number;
  time: number;
  /** Mean per-sample loss on the whole training set, at θ and at the Polyak average θ̂. */
  train: number;
  trainAverage?: number;
  /** Absent when the run has no held-out set (--data without --valid). */
  heldOut?: number;
  heldOutAverage?: number;
  /** Classifiers: the fraction of samples whose predicted class is their label, for each error above. */
  trainAccuracy?: number;
  trainAverageAccuracy?: number;
  heldOutAccuracy?: number;
  heldOutAverageAccuracy?: number;
  /** Wall-clock seconds the evaluation took (the dashboard's ETA counts the evaluations left at their mean). */
  seconds?: number;
}

/** The best held-out evaluation so far, and the held-out evaluations after it (the early-stopping state). */
export interface BestSoFar {
  step: number;
  at: "weights" | "average";
  heldOut: number;
  evaluationsSince: number;
}

/**
 * The best held-out evaluation of a log (the smaller of θ's and θ̂'s error, the first of equals)
 * and the evaluations after it: the early-stopping state a resumed run continues from. `recorded`,
 * the run's best.json, wins when it is better: an end-of-run evaluation off the --eval-every
 * schedule is dropped from the log on resume, but the best model it gave is kept.
 */
export function bestEvaluation(records: MetricsRecord[], recorded?: Omit<BestSoFar, "evaluationsSince">): BestSoFar | undefined {
  const heldOutEvals = records.filter((r): r is EvalRecord => r.type === "eval" && typeof r.heldOut === "number");
  let best: BestSoFar | undefined;
  for (const r of heldOutEvals) {
    const average = typeof r.heldOutAverage === "number" && r.heldOutAverage < r.heldOut!;
    const heldOut = average ? r.heldOutAverage! : r.heldOut!;
    if (best === undefined || heldOut < best.heldOut) best = { step: r.step, at: average ? "average" : "weights", heldOut, evaluationsSince: 0 };
    else best.evaluationsSince += 1;
  }
  if (recorded && (best === undefined || recorded.heldOut < best.heldOut)) {
    best = { ...recorded, evaluationsSince: heldOutEvals.filter((r) => r.step > recorded.step).length };
  }
  return best;
}

export type MetricsRecord = StepRecord | EvalRecord;

export class MetricsLog {
  constructor(readonly path: string, private readonly warn: (line: string) => void = (line) => console.error(line)) {}

  append(record: MetricsRecord): void {
    try {
      appendFileSync(this.path, `${JSON.stringify(record, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v))}\n`);
    } catch (error) {
      throw asFileError(error, "append to", this.path);
    }
  }

  /**
   * Drops records after `step` (the checkpoint a resumed run continues from), and the end-of-run
   * evaluation at `step` when it was off the --eval-every schedule, so that a resumed run's log
   * equals an uninterrupted one's.
   */
  truncateAfter(step: number, evalEvery = 0): void {
    if (!existsSync(this.path)) return;
    const offSchedule = (r: MetricsRecord) => r.type === "eval" && r.step === step && (evalEvery <= 0 || step % evalEvery !== 0);
    const kept = readMetrics(this.path, this.warn).filter((r) => r.step < step || (r.step === step && !offSchedule(r)));
    writeFileAtomic(this.path, kept.map((r) => `${JSON.stringify(r)}\n`).join(""));
  }
}

/** What keeps a parsed line from being a metrics record, or undefined when it is one. */
function recordProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return `${JSON.stringify(value)} is not a JSON object`;
  const record = value as Record<string, unknown>;
  if (record.type !== "step" && record.type !== "eval") return `its type is ${JSON.stringify(record.type)}, not "step" or "eval"`;
  if (typeof record.step !== "number" || !Number.isSafeInteger(record.step) || record.step < 0) return `its step is ${JSON.stringify(record.step)}, not a whole number`;
  for (const [key, v] of Object.entries(record)) {
    if (v !== null && typeof v !== "number" && typeof v !== "string") return `its '${key}' is ${JSON.stringify(v)}, not a number`;
  }
  return undefined;
}

/** The records of a metrics log; a torn last line is dropped, with a line to `warn`. */
export function readMetrics(path: string, warn: (line: string) => void = (line) => console.error(line)): MetricsRecord[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw asFileError(error, "read", path);
  }
  const lines = text.split("\n");
  const records: MetricsRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      const last = lines.slice(i + 1).every((rest) => rest.trim() === "");
      if (!last) throw new DataError(`${path}: line ${i + 1} is not a JSON record`);
      warn(`${path}: dropped a torn last line (${line.length} characters; the run stopped while writing it)`);
      return;
    }
    const problem = recordProblem(value);
    if (problem) throw new DataError(`${path}: line ${i + 1} is not a metrics record: ${problem}`);
    records.push(value as MetricsRecord);
  });
  return records;
}
