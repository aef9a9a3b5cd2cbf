// An evaluation record (metrics.ndjson's "eval" line) in a person's words, one line for the
// terminal. The fields and their words live in EVAL_FIELDS; a numeric field not named there (one a
// newer evaluation adds) is still printed, under its own key.
import type { EvalRecord } from "./metrics.ts";

export interface EvalField {
  key: string;
  /** The words shown before the value. */
  label: string;
  format: (value: number) => string;
}

const error = (v: number) => v.toPrecision(5);
const percent = (v: number) => `${(100 * v).toFixed(2)}%`;

/** The fields of an evaluation, in the order shown. */
export const EVAL_FIELDS: EvalField[] = [
  { key: "train", label: "training error", format: error },
  { key: "heldOut", label: "held-out error", format: error },
  // The Polyak average θ̂ of the Kronecker methods.
  { key: "trainAverage", label: "averaged training error", format: error },
  { key: "heldOutAverage", label: "averaged held-out error", format: error },
  // A classifier's share of samples whose predicted class is their label (docs/algorithm.md §12.1).
  { key: "trainAccuracy", label: "training accuracy", format: percent },
  { key: "heldOutAccuracy", label: "held-out accuracy", format: percent },
  { key: "trainAverageAccuracy", label: "averaged training accuracy", format: percent },
  { key: "heldOutAverageAccuracy", label: "averaged held-out accuracy", format: percent },
];

/** Keys of an eval record that are not measurements. */
const NOT_SHOWN = new Set(["type", "step", "time"]);

/** `evaluation at update 50/200:  training error 12.345  held-out error 13.456  …  (3.2 s)`. */
export function evalLine(record: EvalRecord | Record<string, unknown>, steps: number, seconds?: number): string {
  const r = record as Record<string, unknown>;
  const parts = [`evaluation at update ${r.step}/${steps}:`];
  const named = new Set(EVAL_FIELDS.map((f) => f.key));
  for (const field of EVAL_FIELDS) {
    const v = r[field.key];
    if (typeof v === "number") parts.push(`${field.label} ${field.format(v)}`);
    else if (v === null) parts.push(`${field.label} non-finite`);
  }
  for (const [key, v] of Object.entries(r)) {
    if (named.has(key) || NOT_SHOWN.has(key)) continue;
    if (typeof v === "number") parts.push(`${key} ${Number.isInteger(v) ? v : v.toPrecision(5)}`);
  }
  if (seconds !== undefined) parts.push(`(${seconds.toFixed(1)} s)`);
  return parts.join("  ");
}
