// Targets against the loss that will read them: bce's lie in [0, 1], the mixture loss's are labels
// 0 or 1 (docs/algorithm.md §1.2); sse takes any finite value.
import type { LossKind } from "../backend/types.ts";
import { DataError } from "./data-error.ts";

/** bce needs targets in [0, 1]; the mixture loss one label in {0, 1} per row. The first bad value is named (rows counted from firstRow). */
export function checkTargets(where: string, loss: LossKind, values: ArrayLike<number>, column?: { name: string; width: number }, firstRow = 0): void {
  if (loss === "sse" || !column) return;
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
