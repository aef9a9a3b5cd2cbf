// The exact block-diagonal Hessian of one sample through the pre-activation Hessian recursion
// (docs/algorithm.md §8, paper eq. 8) — for analysis and tests, not for training:
//   H_L = ∇²E(h_L) (the exact output Hessian, not its PSD projection),
//   H_λ = B_λ W̃_{λ+1}ᵀ H_{λ+1} W̃_{λ+1} B_λ + D_λ,  B_λ = diag(f′(h_λ)),  D_λ = diag(f″(h_λ) ⊙ ∂E/∂a_λ),
// and the Hessian block of W_λ is (ā_{λ−1} ā_{λ−1}ᵀ) ⊗ H_λ. For piecewise-linear f, D_λ = 0 and
// every block is positive semi-definite.
import type { Backend, Tensor } from "../backend/types.ts";
import { mixtureHessian, sigmoid } from "../backend/mixture.ts";
import { softmaxHessian } from "../backend/softmax.ts";
import { type LayerTensors, weightsWithoutBias } from "../nn/params.ts";
import { type NetworkSpec, layerCount } from "../nn/spec.ts";
import type { BatchWorkspace } from "../nn/workspace.ts";

/** ∇²E(h_L) of sample n, row-major, computed on the host in float64 from h_L and y. */
export async function exactOutputHessian(backend: Backend, spec: NetworkSpec, ws: BatchWorkspace, n: number): Promise<Float64Array> {
  const h = await backend.download(backend.view(ws.output, 0, n, ws.output.rows, 1));
  const y = await backend.download(backend.view(ws.target, 0, n, ws.target.rows, 1));
  const d = h.length;
  const out = new Float64Array(d * d);
  if (spec.loss === "mixture") {
    mixtureHessian(h[0], h[1], h[2], y[0], out);
    return out;
  }
  if (spec.loss === "softmax") {
    softmaxHessian(h, new Float64Array(d), out);
    return out;
  }
  for (let i = 0; i < d; i++) out[i * d + i] = spec.loss === "sse" ? 1 : sigmoid(h[i]) * (1 - sigmoid(h[i]));
  return out;
}

/**
 * H_1 … H_L of sample n (caller frees the returned tensors). Needs a forward pass with derivatives
 * and a backward pass (ws.delta) on the batch.
 */
export async function preActivationHessians(backend: Backend, spec: NetworkSpec, weights: LayerTensors, ws: BatchWorkspace, n: number): Promise<Tensor[]> {
  const L = layerCount(spec);
  const hessians: Tensor[] = new Array(L);
  const top = backend.alloc(spec.sizes[L], spec.sizes[L]);
  backend.upload(top, await exactOutputHessian(backend, spec, ws, n));
  hessians[L - 1] = top;
  for (let l = L - 1; l >= 1; l--) {
    const d = spec.sizes[l];
    const wt = weightsWithoutBias(backend, weights[l]);
    const above = hessians[l];
    const product = backend.alloc(above.rows, d);
    const h = backend.alloc(d, d);
    backend.gemm(above, wt, product);
    backend.gemm(wt, product, h, { transA: true });
    // ⊙ b bᵀ = B (·) B for B = diag(b).
    const b = backend.view(ws.fprime[l - 1], 0, n, d, 1);
    const bbt = backend.alloc(d, d);
    backend.gemm(b, b, bbt, { transB: true });
    backend.hadamard(h, bbt, h);
    // + diag(f″(h_λ) ⊙ ∂E/∂a_λ), ∂E/∂a_λ = W̃_{λ+1}ᵀ d_{λ+1}.
    const dEda = backend.alloc(d, 1);
    backend.gemm(wt, backend.view(ws.delta[l], 0, n, spec.sizes[l + 1], 1), dEda, { transA: true });
    const second = backend.alloc(d, 1);
    backend.transfer(spec.transfers[l - 1], backend.view(ws.h[l - 1], 0, n, d, 1), second, 2);
    backend.hadamard(second, dEda, second);
    backend.diag(second, bbt);
    backend.axpby(1, bbt, 1, h);
    hessians[l - 1] = h;
    for (const t of [product, bbt, dEda, second]) backend.free(t);
  }
  return hessians;
}
