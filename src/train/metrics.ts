// The metrics log: one JSON object per line (NDJSON). A "step" record per update and an "eval"
// record every --eval-every updates. Non-finite numbers are written as null (JSON has no NaN).
import { appendFileSync, existsSync, readFileSync } from "node:fs";
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
}

export type MetricsRecord = StepRecord | EvalRecord;

export class MetricsLog {
  constructor(readonly path: string) {}

  append(record: MetricsRecord): void {
    appendFileSync(this.path, `${JSON.stringify(record, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v))}\n`);
  }

  /**
   * Drops records after `step` (the checkpoint a resumed run continues from), and the end-of-run
   * evaluation at `step` when it was off the --eval-every schedule, so that a resumed run's log
   * equals an uninterrupted one's.
   */
  truncateAfter(step: number, evalEvery = 0): void {
    if (!existsSync(this.path)) return;
    const offSchedule = (r: MetricsRecord) => r.type === "eval" && r.step === step && (evalEvery <= 0 || step % evalEvery !== 0);
    const kept = readMetrics(this.path).filter((r) => r.step < step || (r.step === step && !offSchedule(r)));
    writeFileAtomic(this.path, kept.map((r) => `${JSON.stringify(r)}\n`).join(""));
  }
}

export function readMetrics(path: string): MetricsRecord[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as MetricsRecord);
}
