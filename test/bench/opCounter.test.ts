// The flop counter behind `bench step`'s GFLOP per update: each rule checked against its formula on
// the float64 reference backend, and every op of the Backend interface covered by a rule.
import { describe, expect, it } from "vitest";
import { createReferenceBackend } from "../../src/backend/reference.ts";
import { countedBackend, ELEMENT_COUNT_OPS, FLOP_RULES, totalFlops } from "../../bench/_opCounter.ts";

describe("op counter", () => {
  it("counts gemm as 2mnk (with transposes), Cholesky as n³/3, a triangular solve as n²m", async () => {
    const { backend, counts } = countedBackend(createReferenceBackend());
    const a = backend.alloc(7, 5); // op(A) = Aᵀ is 5×7
    const b = backend.alloc(7, 3);
    const c = backend.alloc(5, 3);
    backend.gemm(a, b, c, { transA: true });
    expect(counts.flops.get("gemm")).toBe(2 * 5 * 3 * 7);
    const s = backend.alloc(6, 6);
    backend.addIdentity(1, s);
    backend.cholesky(s);
    expect(counts.flops.get("cholesky")).toBeCloseTo(6 ** 3 / 3, 12);
    const rhsLeft = backend.alloc(6, 4);
    const rhsRight = backend.alloc(9, 6);
    backend.triangularSolve(s, rhsLeft, { side: "left", transpose: false });
    backend.triangularSolve(s, rhsRight, { side: "right", transpose: true });
    expect(counts.flops.get("triangularSolve")).toBe(36 * 4 + 36 * 9);
    expect(counts.calls.get("triangularSolve")).toBe(2);
  });

  it("counts elementwise ops and reductions by the largest operand, downloads and flushes as read-backs", async () => {
    const counted = countedBackend(createReferenceBackend());
    const { backend } = counted;
    const x = backend.alloc(10, 20);
    const out = backend.alloc(1, 1);
    backend.scale(2, x);
    backend.sum(x, out);
    expect(counted.counts.flops.get("scale")).toBe(200);
    expect(counted.counts.flops.get("sum")).toBe(200);
    await backend.download(out);
    await backend.flush();
    expect(counted.counts.downloads).toBe(1);
    expect(counted.counts.flushes).toBe(1);
    expect(totalFlops(counted.counts)).toBe(400 + 0);
    counted.reset();
    expect(totalFlops(counted.counts)).toBe(0);
    expect(counted.counts.calls.size).toBe(0);
  });

  it("has a flop rule for every op of the Backend interface (add one to bench/_opCounter.ts for a new op)", () => {
    const backend = createReferenceBackend() as unknown as Record<string, unknown>;
    const notOps = new Set(["alloc", "view", "free", "upload", "download", "flush", "dispose"]);
    const ops = Object.keys(backend).filter((k) => typeof backend[k] === "function" && !notOps.has(k));
    expect(ops.length).toBeGreaterThan(20);
    const missing = ops.filter((op) => !(op in FLOP_RULES) && !ELEMENT_COUNT_OPS.has(op));
    expect(missing).toEqual([]);
  });

  it("lists an op without a rule instead of counting it silently as free", () => {
    const base = createReferenceBackend();
    const extended = Object.assign(Object.create(null), base, { batchedThing: () => undefined });
    const counted = countedBackend(extended);
    (counted.backend as unknown as { batchedThing: () => void }).batchedThing();
    expect([...counted.counts.uncounted]).toEqual(["batchedThing"]);
    expect(counted.counts.calls.get("batchedThing")).toBe(1);
  });
});
