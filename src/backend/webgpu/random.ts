// Random numbers on WebGPU (shaders/random_fill.wgsl + shaders/random.wgsl): bit-identical
// Threefry-2x32-20 words to src/backend/random.ts; element (i, j) uses counter i·cols + j.
import { fillTemplate, shaderFile } from "./device/pipelines.ts";
import { seedKey } from "../random.ts";
import { requireSameShape } from "../shapes.ts";
import type { RandomKind, Tensor } from "../types.ts";
import type { KernelContext } from "./context.ts";
import { bindOperands, grid1d } from "./operands.ts";
import { storageOf } from "./storage.ts";

const MODE = { uniform: 0, normal: 1, bernoulli: 2, words: 3 } as const;

function launch(ctx: KernelContext, op: string, mode: keyof typeof MODE, out: Tensor, p: Tensor, seed: number, counter: number): void {
  if (!Number.isInteger(counter) || counter < 0 || counter >= 2 ** 32) {
    throw new RangeError(`${op}: counter must be an integer in [0, 2³²), got ${counter}`);
  }
  const [k0, k1] = seedKey(seed);
  if (out.rows === 0 || out.cols === 0) return;
  const bound = bindOperands(["x0", "x1"], [storageOf(op, out), storageOf(op, p)]);
  const key = `random:${mode}:${bound.pattern}`;
  const pipeline = ctx.pipelines.get(key, `random ${mode}`, bound.storage, () =>
    fillTemplate("random_fill", shaderFile("random_fill.wgsl"), { MODE: MODE[mode], RANDOM: shaderFile("random.wgsl"), OPERANDS: bound.wgsl }),
  );
  const { groups, gridX } = grid1d(out.rows * out.cols, 256);
  ctx.recorder.dispatch({
    kernel: op,
    pipeline,
    storage: bound.storage,
    buffers: bound.buffers,
    u32: [out.rows, out.cols, gridX, k0, k1, counter, out.offset, out.stride, p.offset, p.stride],
    groups,
  });
}

export function random(ctx: KernelContext, kind: RandomKind, out: Tensor, seed: number, counter: number): void {
  if (kind !== "uniform" && kind !== "normal") throw new RangeError(`random: kind must be "uniform" or "normal", got ${kind}`);
  launch(ctx, "random", kind, out, out, seed, counter);
}

export function bernoulli(ctx: KernelContext, p: Tensor, out: Tensor, seed: number, counter: number): void {
  requireSameShape("bernoulli", ["p", p], ["out", out]);
  launch(ctx, "bernoulli", "bernoulli", out, p, seed, counter);
}

/**
 * Verification aid: element e of `out` (row-major) receives word e mod 2 of Threefry counter
 * (⌊e/2⌋, counter), its 32 bits stored unchanged (read them back through a Uint32Array view).
 */
export function threefryWords(ctx: KernelContext, out: Tensor, seed: number, counter: number): void {
  launch(ctx, "threefryWords", "words", out, out, seed, counter);
}
