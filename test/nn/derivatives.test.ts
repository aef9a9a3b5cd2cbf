// The gradient (§2) and the R-op (§5) against central finite differences of the definition, in
// float64 on the reference backend, for every loss and every transfer function.
import { describe, expect, test } from "vitest";
import { createReferenceBackend } from "../../src/backend/reference.ts";
import { TRANSFER_KINDS, type LossKind } from "../../src/backend/types.ts";
import { forward, meanLoss } from "../../src/nn/forward.ts";
import { gradient } from "../../src/nn/backward.ts";
import { RopWorkspace, rop } from "../../src/nn/rop.ts";
import { allocLayers, downloadLayers, uploadLayers } from "../../src/nn/params.ts";
import { tinyProblem, tinySpec, uniforms } from "../helpers/tinyNet.ts";

const backend = createReferenceBackend();
const weightDecay = 1e-3;
// Central differences with step 1e-6 in float64: truncation O(ε²·f‴) ≈ 1e-12, rounding ≈ 1e-10 / 1e-6
// = 1e-10 relative to f ≈ 1; relu and leaky relu have kinks, which a step of 1e-6 crosses with
// probability ~1e-6 per unit — none here.
const STEP = 1e-6;
const TOLERANCE = 1e-6;

async function objective(problem: ReturnType<typeof tinyProblem>, w: Float64Array[]): Promise<number> {
  uploadLayers(backend, problem.weights, w);
  forward(backend, problem.spec, problem.weights, problem.ws);
  const out = backend.alloc(1, 1);
  meanLoss(backend, problem.spec, problem.ws, out);
  let decay = 0;
  for (const layer of w) for (const v of layer) decay += v * v;
  return (await backend.download(out))[0] + 0.5 * weightDecay * decay;
}

const cases = (["bce", "sse", "mixture", "softmax"] as LossKind[]).flatMap((loss) => TRANSFER_KINDS.map((transfer) => [loss, transfer] as const));

describe.each(cases)("loss %s, transfer %s", (loss, transfer) => {
  const spec = tinySpec(loss, transfer);

  test("gradient equals central finite differences", async () => {
    const problem = tinyProblem(backend, spec, 6);
    forward(backend, spec, problem.weights, problem.ws);
    const grads = allocLayers(backend, spec);
    gradient(backend, spec, problem.weights, problem.ws, weightDecay, grads);
    const g = await downloadLayers(backend, grads);
    for (let l = 0; l < g.length; l++) {
      for (let i = 0; i < g[l].length; i++) {
        const plus = problem.w0.map((w) => w.slice());
        const minus = problem.w0.map((w) => w.slice());
        plus[l][i] += STEP;
        minus[l][i] -= STEP;
        const fd = ((await objective(problem, plus)) - (await objective(problem, minus))) / (2 * STEP);
        expect(Math.abs(g[l][i] - fd)).toBeLessThan(TOLERANCE * Math.max(1, Math.abs(fd)));
      }
    }
  });

  test("R-op equals the finite-difference directional derivative of the output", async () => {
    const problem = tinyProblem(backend, spec, 5);
    const direction = allocLayers(backend, spec);
    const dir = problem.w0.map((w, l) => uniforms(w.length, 11, l).map((u) => u - 0.5));
    uploadLayers(backend, direction, dir);
    forward(backend, spec, problem.weights, problem.ws);
    const r = new RopWorkspace(backend, spec, 5);
    rop(backend, spec, problem.weights, direction, problem.ws, r);
    const v = await backend.download(r.output);
    const outputAt = async (t: number) => {
      uploadLayers(backend, problem.weights, problem.w0.map((w, l) => w.map((x, i) => x + t * dir[l][i])));
      forward(backend, spec, problem.weights, problem.ws);
      return backend.download(problem.ws.output);
    };
    const hp = await outputAt(STEP);
    const hm = await outputAt(-STEP);
    v.forEach((vi, i) => expect(Math.abs(vi - (hp[i] - hm[i]) / (2 * STEP))).toBeLessThan(TOLERANCE * Math.max(1, Math.abs(vi))));
  });
});
