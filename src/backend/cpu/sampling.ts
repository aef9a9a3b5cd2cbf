// Counter-based random numbers on the CPU backend (definition: src/backend/random.ts). Element
// (i, j) of out draws from counter (i·cols + j, counter) under the seed's key.
import type { RandomKind, Tensor } from "../types.ts";
import { requireSameShape } from "../shapes.ts";
import { cpu } from "./tensor.ts";
import { normalOf, setKey, threefry, uniformOf, words } from "./threefry.ts";

// out = u(x0) (uniform) or √(−2 ln u(x0)) cos(2π u(x1)) (normal).
export function random(kind: RandomKind, outT: Tensor, seed: number, counter: number): void {
  const out = cpu("random", outT);
  if (kind !== "uniform" && kind !== "normal") throw new RangeError(`random: kind must be "uniform" or "normal", got '${kind as string}'`);
  setKey(seed);
  const c1 = counter >>> 0;
  const o = out.storage;
  const cols = out.cols;
  for (let i = 0; i < out.rows; i++) {
    const po = out.offset + i * out.stride;
    const base = i * cols;
    if (kind === "uniform") {
      for (let j = 0; j < cols; j++) { threefry((base + j) >>> 0, c1); o[po + j] = uniformOf(words[0]); }
    } else {
      for (let j = 0; j < cols; j++) { threefry((base + j) >>> 0, c1); o[po + j] = normalOf(words[0], words[1]); }
    }
  }
}

// out = 1 where u(x0) < p else 0.
export function bernoulli(pT: Tensor, outT: Tensor, seed: number, counter: number): void {
  const p = cpu("bernoulli", pT);
  const out = cpu("bernoulli", outT);
  requireSameShape("bernoulli", ["p", p], ["out", out]);
  setKey(seed);
  const c1 = counter >>> 0;
  const o = out.storage;
  const ps = p.storage;
  const cols = out.cols;
  for (let i = 0; i < out.rows; i++) {
    const pp = p.offset + i * p.stride;
    const po = out.offset + i * out.stride;
    const base = i * cols;
    for (let j = 0; j < cols; j++) {
      threefry((base + j) >>> 0, c1);
      o[po + j] = uniformOf(words[0]) < ps[pp + j] ? 1 : 0;
    }
  }
}
