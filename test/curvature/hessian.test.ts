// The pre-activation Hessian recursion (§8) against the finite-difference Hessian of one sample's
// loss with respect to each layer's weights, and the PSD property of piecewise-linear networks.
import { describe, expect, test } from "vitest";
import { createReferenceBackend } from "../../src/backend/reference.ts";
import { NotPositiveDefiniteError, type LossKind, type TransferKind } from "../../src/backend/types.ts";
import { preActivationHessians } from "../../src/curvature/hessian.ts";
import { gradient } from "../../src/nn/backward.ts";
import { forward } from "../../src/nn/forward.ts";
import { allocLayers, downloadLayers, uploadLayers } from "../../src/nn/params.ts";
import { tinyProblem, tinySpec } from "../helpers/tinyNet.ts";

const backend = createReferenceBackend();

describe.each(["bce", "sse", "mixture", "softmax"] as LossKind[])("loss %s", (loss) => {
  test.each(["tanh", "sigmoid", "relu"] as TransferKind[])("(ā āᵀ) ⊗ H_λ equals the finite-difference Hessian of W_λ (%s)", async (transfer) => {
    const spec = tinySpec(loss, transfer);
    const problem = tinyProblem(backend, spec, 1);
    const grads = allocLayers(backend, spec);
    const gradientAt = async (w: Float64Array[]) => {
      uploadLayers(backend, problem.weights, w);
      forward(backend, spec, problem.weights, problem.ws);
      gradient(backend, spec, problem.weights, problem.ws, 0, grads);
      return downloadLayers(backend, grads);
    };
    await gradientAt(problem.w0);
    const hessians = await Promise.all((await preActivationHessians(backend, spec, problem.weights, problem.ws, 0)).map((h) => backend.download(h)));
    const step = 1e-6;
    for (let l = 0; l < hessians.length; l++) {
      const abar = [...(await backend.download(problem.ws.abar[l]))];
      const cols = spec.sizes[l] + 1;
      const rows = spec.sizes[l + 1];
      for (let p = 0; p < rows * cols; p++) {
        const plus = problem.w0.map((w) => w.slice());
        const minus = problem.w0.map((w) => w.slice());
        plus[l][p] += step;
        minus[l][p] -= step;
        const gp = (await gradientAt(plus))[l];
        const gm = (await gradientAt(minus))[l];
        const [k, m] = [Math.floor(p / cols), p % cols];
        for (let q = 0; q < rows * cols; q++) {
          const [i, j] = [Math.floor(q / cols), q % cols];
          const fd = (gp[q] - gm[q]) / (2 * step);
          const exact = abar[j] * abar[m] * hessians[l][i * rows + k];
          // Central differences of an analytic float64 gradient with step 1e-6: truncation ~1e-10,
          // rounding ~ε·|g|/step ≈ 1e-8 for gradients of size ~100 (weights are 3× the default
          // initialisation); relu's kinks are not crossed at these pre-activations. 1e-5 leaves margin.
          expect(Math.abs(fd - exact)).toBeLessThan(1e-5 * Math.max(1, Math.abs(exact)));
        }
      }
    }
  });
});

describe("piecewise-linear networks (appendix E)", () => {
  /** Whether a symmetric matrix is PSD, by a Cholesky with a tiny relative shift. */
  async function isPsd(h: Float64Array, n: number): Promise<boolean> {
    const t = backend.alloc(n, n);
    let trace = 0;
    for (let i = 0; i < n; i++) trace += Math.abs(h[i * n + i]);
    backend.upload(t, h);
    backend.addIdentity(1e-10 * (trace + 1e-30), t);
    try {
      backend.cholesky(t);
      return true;
    } catch (error) {
      if (error instanceof NotPositiveDefiniteError) return false;
      throw error;
    }
  }

  test("every block is PSD with relu and leaky relu, and not always with tanh", async () => {
    let tanhIndefinite = false;
    for (const transfer of ["relu", "leaky_relu", "tanh"] as TransferKind[]) {
      for (let seed = 1; seed <= 6; seed++) {
        const spec = tinySpec("sse", transfer, [4, 6, 5, 4]);
        const problem = tinyProblem(backend, spec, 1, seed);
        forward(backend, spec, problem.weights, problem.ws);
        gradient(backend, spec, problem.weights, problem.ws, 0, allocLayers(backend, spec));
        const hs = await preActivationHessians(backend, spec, problem.weights, problem.ws, 0);
        for (const h of hs) {
          const psd = await isPsd(await backend.download(h) as Float64Array, h.rows);
          if (transfer === "tanh") tanhIndefinite ||= !psd;
          else expect(psd).toBe(true);
        }
      }
    }
    expect(tanhIndefinite).toBe(true);
  });
});
