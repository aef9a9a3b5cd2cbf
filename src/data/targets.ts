// Targets against the loss that will read them: bce's lie in [0, 1], the mixture loss's are labels
// 0 or 1 (docs/algorithm.md §1.2), softmax's class indices 0 … K−1 (§11); sse takes any finite value.
import type { LossKind } from "../backend/types.ts";
import { DataError } from "./data-error.ts";

/**
 * bce needs targets in [0, 1]; the mixture loss one label in {0, 1} per row; softmax one integer
 * label in [0, classes) per row (classes = the network's K outputs). The first bad value is named
 * (rows counted from firstRow).
 */
export function checkTargets(where: string, loss: LossKind, values: ArrayLike<number>, column?: { name: string; width: number }, classes?: number, firstRow = 0): void {
  if (loss === "sse" || !column) return;
  if (loss === "softmax") {
    checkClassLabels(where, values, column, classes, firstRow);
    return;
  }
  const width = column.width;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const ok = loss === "mixture" ? v === 0 || v === 1 : v >= 0 && v <= 1;
    if (ok) continue;
    const row = firstRow + Math.floor(i / width);
    const at = width > 1 ? `value ${i % width} of row ${row}` : `row ${row}`;
    const need = loss === "mixture" ? "the mixture loss needs labels 0 or 1" : "the bce loss needs targets in [0, 1] (sse takes any value)";
    throw new DataError(`${where}: column '${column.name}': ${at} is ${v}; ${need}`);
  }
}

function checkClassLabels(where: string, values: ArrayLike<number>, column: { name: string; width: number }, classes: number | undefined, firstRow: number): void {
  if (column.width !== 1) throw new DataError(`${where}: column '${column.name}' holds ${column.width} values per row; the softmax loss needs one integer class label per row`);
  const k = classes ?? Infinity;
  const range = Number.isFinite(k) ? `0 … ${k - 1} (${k} classes)` : "0, 1, 2, …";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isInteger(v) && v >= 0 && v < k) continue;
    const why = Number.isInteger(v) && v >= k ? `; the network has ${k} outputs (give --classes K for more)` : "";
    throw new DataError(`${where}: column '${column.name}': row ${firstRow + i} is ${v}; the softmax loss needs integer labels ${range}${why}`);
  }
}

/** K for the softmax loss from the labels: the largest label + 1 (at least 2); the labels are checked later by checkTargets. */
export function classCount(labels: ArrayLike<number>): number {
  let top = 0;
  for (let i = 0; i < labels.length; i++) if (Number.isFinite(labels[i]) && labels[i] > top) top = labels[i];
  return Math.max(2, Math.floor(top) + 1);
}
