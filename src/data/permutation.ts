// The visiting order of epoch e: a Fisher–Yates shuffle whose draws come from the project's
// counter-based generator (src/backend/random.ts), so it depends on (seed, e) only and any epoch can
// be recomputed on its own (a run resumes at any (epoch, batch)).
//   for i = n−1 … 1:  (x0, x1) = threefry2x32(key(seed), (i, e)),
//                     u = (x0·2²¹ + ⌊x1 / 2¹¹⌋) / 2⁵³ ∈ [0, 1),  j = ⌊u·(i+1)⌋,  swap(π[i], π[j])
// (the 53-bit u makes the bias of j at most n/2⁵³).
import { seedKey, threefry2x32 } from "../backend/random.ts";

export function epochPermutation(count: number, seed: number, epoch: number): Uint32Array {
  if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch >= 2 ** 32) throw new RangeError(`epoch must be an integer in [0, 2³²), got ${epoch}`);
  const [k0, k1] = seedKey(seed);
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const [x0, x1] = threefry2x32(k0, k1, i, epoch);
    const u = (x0 * 2 ** 21 + (x1 >>> 11)) / 2 ** 53;
    const j = Math.floor(u * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

export function identityOrder(count: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return order;
}
