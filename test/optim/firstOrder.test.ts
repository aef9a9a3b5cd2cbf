// Each first-order optimiser's updates against the update rule written out by hand, from
// gradients computed at each iterate (float64 reference backend).
import { describe, expect, test } from "vitest";
import { createReferenceBackend } from "../../src/backend/reference.ts";
import { gradient } from "../../src/nn/backward.ts";
import { forward } from "../../src/nn/forward.ts";
import { allocLayers, downloadLayers, uploadLayers } from "../../src/nn/params.ts";
import { FirstOrderOptimizer } from "../../src/optim/firstOrder.ts";
import { halvedLearningRate } from "../../src/optim/optimizer.ts";
import { tinyProblem, tinySpec } from "../helpers/tinyNet.ts";
import type { FirstOrderMethod as FirstOrderName } from "../../src/optim/settings.ts";
import { FIRST_ORDER_DEFAULTS } from "../helpers/settings.ts";

const backend = createReferenceBackend();
const eta = 1e-3;
const lr = 0.05;
const decayPeriod = 2;

describe.each(["sgd", "momentum", "nesterov", "adam"] as FirstOrderName[])("%s", (name) => {
  test("three updates match the hand-written rule, with the learning rate halved after two", async () => {
    const spec = tinySpec("bce", "tanh");
    const problem = tinyProblem(backend, spec, 5);
    const optimizer = new FirstOrderOptimizer(name, backend, spec, problem.weights, { ...FIRST_ORDER_DEFAULTS, lr, decayPeriod, weightDecay: eta });
    const probe = tinyProblem(backend, spec, 5);
    const grads = allocLayers(backend, spec);
    const gradAt = async (theta: number[]) => {
      uploadLayers(backend, probe.weights, splitLike(theta, problem.w0));
      forward(backend, spec, probe.weights, probe.ws);
      gradient(backend, spec, probe.weights, probe.ws, eta, grads);
      return (await downloadLayers(backend, grads)).flatMap((t) => [...t]);
    };
    let theta = problem.w0.flatMap((w) => [...w]);
    let v = theta.map(() => 0);
    let m = theta.map(() => 0);
    let s = theta.map(() => 0);
    const { momentum: mu, beta1, beta2, epsilon } = FIRST_ORDER_DEFAULTS;
    for (let t = 1; t <= 3; t++) {
      await optimizer.step(problem.ws, t);
      const g = await gradAt(theta);
      const rate = halvedLearningRate(lr, decayPeriod, t);
      if (name === "sgd") theta = theta.map((x, i) => x - rate * g[i]);
      if (name === "momentum") {
        v = v.map((vi, i) => mu * vi + g[i]);
        theta = theta.map((x, i) => x - rate * v[i]);
      }
      if (name === "nesterov") {
        v = v.map((vi, i) => mu * vi + g[i]);
        theta = theta.map((x, i) => x - rate * (g[i] + mu * v[i]));
      }
      if (name === "adam") {
        m = m.map((mi, i) => beta1 * mi + (1 - beta1) * g[i]);
        s = s.map((si, i) => beta2 * si + (1 - beta2) * g[i] ** 2);
        theta = theta.map((x, i) => x - (rate * m[i]) / (1 - beta1 ** t) / (Math.sqrt(s[i] / (1 - beta2 ** t)) + epsilon));
      }
      const got = (await downloadLayers(backend, problem.weights)).flatMap((w) => [...w]);
      got.forEach((x, i) => expect(x).toBeCloseTo(theta[i], 12));
    }
    expect(halvedLearningRate(lr, decayPeriod, 3)).toBe(lr / 2);
  });
});

function splitLike(flat: number[], like: Float64Array[]): Float64Array[] {
  let o = 0;
  return like.map((w) => Float64Array.from(flat.slice(o, (o += w.length))));
}
