// Where a running run is, read from the end of its metrics.ndjson while its `train` process writes
// it: the last update, its minibatch loss, and the last whole-set evaluation. The local sweep prints
// it per run; `sweep worker` sends it to the queue for `sweep status`.
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";

export interface RunPosition {
  /** The last update logged (0 before the first). */
  step: number;
  loss?: number;
  /** The last whole-set evaluation: its update and training error. */
  evaluation?: { step: number; train: number };
}

/** The records in the last 16 KB of a metrics file (a torn line, being written, is skipped). */
export function runPosition(runDir: string): RunPosition {
  const path = join(runDir, "metrics.ndjson");
  const position: RunPosition = { step: 0 };
  if (!existsSync(path)) return position;
  const fd = openSync(path, "r");
  let text: string;
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 16384);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    text = buffer.toString("utf8");
  } finally {
    closeSync(fd);
  }
  for (const line of text.split("\n")) {
    let record: { type?: string; step?: number; loss?: number; train?: number } | undefined;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof record?.step !== "number") continue;
    if (record.type === "step" && record.step >= position.step) Object.assign(position, { step: record.step, loss: record.loss ?? undefined });
    if (record.type === "eval" && typeof record.train === "number" && record.step >= (position.evaluation?.step ?? -1)) position.evaluation = { step: record.step, train: record.train };
  }
  return position;
}

/** "update 40 of 100, loss 0.0123, train error 0.0101 at update 40" */
export function describePosition(p: RunPosition, steps: number): string {
  const parts = [`update ${p.step} of ${steps}`];
  if (p.loss !== undefined) parts.push(`loss ${p.loss.toPrecision(4)}`);
  if (p.evaluation) parts.push(`train error ${p.evaluation.train.toPrecision(4)} at update ${p.evaluation.step}`);
  return parts.join(", ");
}
