// Allocation-free Threefry-2x32-20 for the CPU backend's hot loops. Same definition as
// src/backend/random.ts (tests hold the two to identical words): key (k0, k1), counter (c0, c1),
// 20 rounds with rotations 13 15 26 6 / 17 29 16 24 and a key injection after every fourth round.
import { seedKey } from "../random.ts";

const SKEIN_PARITY = 0x1bd11bda;

/** The two output words of the last `threefry` call (uint32 values). */
export const words = new Uint32Array(2);

/** The key schedule (k0, k1, k0 ^ k1 ^ parity) of a seed, reused between calls. */
export const key = new Int32Array(3);
export function setKey(seed: number): void {
  const [k0, k1] = seedKey(seed);
  key[0] = k0 | 0;
  key[1] = k1 | 0;
  key[2] = SKEIN_PARITY ^ k0 ^ k1;
}

// Threefry-2x32-20 of counter (c0, c1) under `key`; writes `words`. All arithmetic is int32
// (| 0 wraps mod 2³²), which is bit-identical to the uint32 arithmetic of the definition.
export function threefry(c0: number, c1: number): void {
  const k0 = key[0];
  const k1 = key[1];
  const k2 = key[2];
  let x0 = (c0 + k0) | 0;
  let x1 = (c1 + k1) | 0;
  // rounds 1–4, injection 1
  x0 = (x0 + x1) | 0; x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
  x0 = (x0 + k1) | 0; x1 = (x1 + k2 + 1) | 0;
  // rounds 5–8, injection 2
  x0 = (x0 + x1) | 0; x1 = ((x1 << 17) | (x1 >>> 15)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 29) | (x1 >>> 3)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 16) | (x1 >>> 16)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 24) | (x1 >>> 8)) ^ x0;
  x0 = (x0 + k2) | 0; x1 = (x1 + k0 + 2) | 0;
  // rounds 9–12, injection 3
  x0 = (x0 + x1) | 0; x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
  x0 = (x0 + k0) | 0; x1 = (x1 + k1 + 3) | 0;
  // rounds 13–16, injection 4
  x0 = (x0 + x1) | 0; x1 = ((x1 << 17) | (x1 >>> 15)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 29) | (x1 >>> 3)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 16) | (x1 >>> 16)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 24) | (x1 >>> 8)) ^ x0;
  x0 = (x0 + k1) | 0; x1 = (x1 + k2 + 4) | 0;
  // rounds 17–20, injection 5
  x0 = (x0 + x1) | 0; x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
  x0 = (x0 + x1) | 0; x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
  x0 = (x0 + k2) | 0; x1 = (x1 + k0 + 5) | 0;
  words[0] = x0;
  words[1] = x1;
}

// u = ((x >>> 8) + 0.5) · 2⁻²⁴, in (0, 1) and exact in float32.
export function uniformOf(word: number): number {
  return ((word >>> 8) + 0.5) * 5.9604644775390625e-8;
}

// Box–Muller, first output: z = √(−2 ln u(x0)) · cos(2π u(x1)), as in random.ts.
export function normalOf(x0: number, x1: number): number {
  return Math.sqrt(-2 * Math.log(uniformOf(x0))) * Math.cos(2 * Math.PI * uniformOf(x1));
}
