// Updates whose reports come one update late: a first-order step records its work and returns without
// waiting for the device (its loss is read back after the fact), and a loop that records the next
// update before reading a report gets the same figures as one that waits for every report.
import { afterAll, describe, expect, test } from "vitest";
import { availableBackends, createBackend } from "../../src/backend/index.ts";
import { createReferenceBackend } from "../../src/backend/reference.ts";
import type { Backend } from "../../src/backend/types.ts";
import { FirstOrderOptimizer } from "../../src/optim/firstOrder.ts";
import { KroneckerOptimizer } from "../../src/optim/kronecker/optimizer.ts";
import { type Optimizer, type RecordedUpdate, type StepReport, stepAndReport } from "../../src/optim/optimizer.ts";
import { tinyProblem, tinySpec, uniforms } from "../helpers/tinyNet.ts";
import type { FirstOrderMethod as FirstOrderName } from "../../src/optim/settings.ts";
import { dampingPreset, FIRST_ORDER_DEFAULTS } from "../helpers/settings.ts";

const SIZES = [13, 17, 5, 13];
const BATCH = 31;
const UPDATES = 5;
const spec = tinySpec("sse", "tanh", SIZES);
const options = { ...FIRST_ORDER_DEFAULTS, lr: 0.01, decayPeriod: 0, weightDecay: 1e-4 };

/** Settles to "pending" unless `promise` settles within `ms`. */
function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | "pending"> {
  return Promise.race([promise, new Promise<"pending">((resolve) => setTimeout(() => resolve("pending"), ms))]);
}

/** The reference backend whose downloads take their values at once but answer only when released. */
function gatedBackend(): { backend: Backend; release: () => void } {
  const inner = createReferenceBackend();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const backend: Backend = Object.assign(Object.create(inner), {
    async download(t: Parameters<Backend["download"]>[0]) {
      const values = inner.download(t);
      await gate;
      return values;
    },
  });
  return { backend, release };
}

describe.each(["sgd", "adam"] as FirstOrderName[])("%s", (name) => {
  test("step() returns while its loss is still on its way; two updates recorded ahead report the waiting losses", async () => {
    const waiting = tinyProblem(createReferenceBackend(), spec, BATCH);
    const waitingOpt = new FirstOrderOptimizer(name, createReferenceBackend(), spec, waiting.weights, options);
    const want = [await stepAndReport(waitingOpt, waiting.ws, 1), await stepAndReport(waitingOpt, waiting.ws, 2)];

    const { backend, release } = gatedBackend();
    const problem = tinyProblem(backend, spec, BATCH);
    const optimizer = new FirstOrderOptimizer(name, backend, spec, problem.weights, options);
    const first = await settledWithin(optimizer.step(problem.ws, 1), 2000);
    expect(first, "step() waited for its download").not.toBe("pending");
    const second = await settledWithin(optimizer.step(problem.ws, 2), 2000);
    expect(second).not.toBe("pending");
    const report = (first as RecordedUpdate).report();
    expect(await settledWithin(report, 50)).toBe("pending");
    release();
    expect([await report, await (second as RecordedUpdate).report()]).toEqual(want);
    expect(want[1].loss).toBeLessThan(want[0].loss);
  });
});

const names = await availableBackends();
const backends = new Map<string, Backend>();
for (const device of names) backends.set(device, await createBackend({ device }));
afterAll(() => backends.forEach((b) => b.dispose()));

/** UPDATES updates on fresh minibatches; `ahead`: each report read once the next update is recorded. */
async function losses(backend: Backend, make: (weights: ReturnType<typeof tinyProblem>["weights"]) => Optimizer, ahead: boolean): Promise<StepReport[]> {
  const problem = tinyProblem(backend, spec, BATCH);
  const optimizer = make(problem.weights);
  const reports: StepReport[] = [];
  let pending: RecordedUpdate | undefined;
  for (let t = 1; t <= UPDATES; t++) {
    problem.ws.loadBatch(uniforms(BATCH * SIZES[0], 100 + t));
    if (!ahead) {
      reports.push(await stepAndReport(optimizer, problem.ws, t));
      continue;
    }
    const update = await optimizer.step(problem.ws, t);
    if (pending) reports.push(await pending.report());
    pending = update;
  }
  if (pending) reports.push(await pending.report());
  optimizer.dispose();
  problem.ws.dispose();
  return reports;
}

describe.each(names)("backend %s", (device) => {
  const makers: Record<string, (backend: Backend) => (weights: ReturnType<typeof tinyProblem>["weights"]) => Optimizer> = {
    adam: (backend) => (weights) => new FirstOrderOptimizer("adam", backend, spec, weights, options),
    nesterov: (backend) => (weights) => new FirstOrderOptimizer("nesterov", backend, spec, weights, options),
    kfra: (backend) => (weights) =>
      new KroneckerOptimizer(backend, spec, weights, BATCH, { ...dampingPreset("adaptive"), tauPeriod: 2, curvature: "kfra", weightDecay: 1e-5, seed: 2 }),
  };
  test.each(Object.keys(makers))("%s: reports read one update late equal those read at once, bit for bit", async (opt) => {
    const backend = backends.get(device)!;
    const atOnce = await losses(backend, makers[opt](backend), false);
    const late = await losses(backend, makers[opt](backend), true);
    expect(late).toEqual(atOnce);
    expect(new Set(late.map((r) => r.loss)).size).toBe(UPDATES);
  });
});
