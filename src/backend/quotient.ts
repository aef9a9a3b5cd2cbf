// The rule of Backend.quotient for one element, shared by the CPU and reference backends (the WGSL
// version is op 10 of shaders/elementwise.wgsl).
import type { QuotientOptions } from "./types.ts";

/**
 * s · q or s · √q with q = num / den rounded to storage (`round`: Math.fround for float32); NaN
 * where q is not finite, or opts.fallback where q is not a finite positive number.
 */
export function quotientValue(num: number, den: number, opts: QuotientOptions, round: (x: number) => number): number {
  const q = round(num / den);
  const valid = opts.fallback === undefined ? Number.isFinite(q) : Number.isFinite(q) && q > 0;
  if (!valid) return opts.fallback ?? Number.NaN;
  return round((opts.scale ?? 1) * (opts.root ? Math.sqrt(q) : q));
}
