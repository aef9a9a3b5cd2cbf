"""Checks the maths of bench/reference/pytorch_step.py in float64 on a tiny network, with the
NumPy stand-in for torch in test/bench/fake_torch (run by test/bench/pytorchReference.test.ts).
Each check compares a routine with an independent computation; tolerances are for float64."""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "fake_torch"))
sys.path.insert(0, os.path.join(here, "..", "..", "bench", "reference"))

import numpy as np  # noqa: E402
import torch  # noqa: E402  (the stand-in)
import pytorch_step as ps  # noqa: E402

sizes = [6, 5, 3, 5, 6]
n = 40
gen = torch.Generator().manual_seed(3)
ws = ps.initial_weights(sizes, gen, None)
for w in ws:  # non-zero biases, so that the bias columns are exercised
    w[:, -1] = 0.3 * np.asarray(torch.randn(w.shape[0], generator=gen))
x = ps.batch_data(sizes[0], n, gen, None)
y = x


def objective(weights):
    _, hs = ps.forward(weights, x)
    return float(ps.bce_mean(hs[-1], y) + 0.5 * ps.ETA * sum(float(np.sum(w * w)) for w in weights))


def perturbed(weights, layer, direction, eps):
    out = [w.copy().view(torch.Tensor) for w in weights]
    out[layer] = (out[layer] + eps * direction).view(torch.Tensor)
    return out


failures = []


def check(name, got, want, tol):
    err = float(np.max(np.abs(np.asarray(got) - np.asarray(want))) / max(1e-300, float(np.max(np.abs(np.asarray(want))))))
    status = "ok" if err <= tol else "FAILED"
    print(f"{name}: relative error {err:.2e} (tolerance {tol:.0e}) {status}")
    if err > tol:
        failures.append(name)


abar, hs = ps.forward(ws, x)
s = torch.sigmoid(hs[-1])
ds = ps.backward(ws, hs, s - y)
grads = ps.gradients(ws, abar, ds)

# 1. Gradient against central differences of the objective (error O(eps^2) ~ 1e-10).
rng = np.random.default_rng(0)
for layer in range(len(ws)):
    direction = rng.standard_normal(ws[layer].shape)
    eps = 1e-5
    fd = (objective(perturbed(ws, layer, direction, eps)) - objective(perturbed(ws, layer, direction, -eps))) / (2 * eps)
    check(f"gradient of layer {layer + 1} along a random direction", float(np.sum(grads[layer] * direction)), fd, 1e-7)

# 2. R-op: v = J delta against central differences of h_L.
deltas = [torch._t(rng.standard_normal(w.shape)) for w in ws]
v = ps.r_op(ws, abar, hs, deltas)
eps = 1e-6
plus = [(w + eps * d).view(torch.Tensor) for w, d in zip(ws, deltas)]
minus = [(w - eps * d).view(torch.Tensor) for w, d in zip(ws, deltas)]
fd = (ps.forward(plus, x)[1][-1] - ps.forward(minus, x)[1][-1]) / (2 * eps)
check("R-op J·delta", v, fd, 1e-7)

# 3. KFRA factors against the per-element definitions.
gs = ps.kfra_g_factors(ws, hs)
check("KFRA G_L = diag(mean s(1-s))", gs[-1], np.diag(np.mean(s * (1 - s), axis=1)), 1e-14)
for l in range(len(ws) - 1, 0, -1):
    wt = np.asarray(ws[l][:, :-1])
    b = 1 - np.tanh(np.asarray(hs[l - 1])) ** 2
    want = np.einsum("pi,pq,qj->ij", wt, np.asarray(gs[l]), wt) * np.einsum("in,jn->ij", b, b) / n
    check(f"KFRA G_{l} recursion", gs[l - 1], want, 1e-12)

# 4. The damped direction solves (G + (k/pi) I) delta (Q + k pi I) = g.
qs = [a @ a.T / n for a in abar]
for layer in range(len(ws)):
    delta, info = ps.damped_direction(grads[layer], qs[layer], gs[layer], ps.DAMPING)
    k = np.sqrt(ps.DAMPING + ps.ETA)
    q, g = np.asarray(qs[layer]), np.asarray(gs[layer])
    pi = np.sqrt((np.trace(q) / q.shape[0]) / (np.trace(g) / g.shape[0]))
    lhs = (g + (k / pi) * np.eye(g.shape[0])) @ np.asarray(delta) @ (q + k * pi * np.eye(q.shape[0]))
    check(f"damped solve of layer {layer + 1}", lhs, grads[layer], 1e-9)
    assert int(info) == 0

# 5. KFAC factors are symmetric positive semi-definite, of the layer's output size.
kfac = ps.kfac_g_factors(ws, hs, gen)
for layer, g in enumerate(kfac):
    assert g.shape == (sizes[layer + 1], sizes[layer + 1])
    check(f"KFAC G_{layer + 1} symmetric", g, np.asarray(g).T, 1e-15)
    assert np.min(np.linalg.eigvalsh(np.asarray(g))) > -1e-12

# 6. A KFRA update reports the objective before it, and five of them lower the loss; KFAC runs.
opt = ps.Kronecker("kfra", [w.copy().view(torch.Tensor) for w in ws], gen)
before = objective(opt.ws)
losses = [float(opt.step(x, y, t)) for t in range(1, 6)]
check("first reported loss is the objective before the update", losses[0], before, 1e-12)
print(f"KFRA losses over 5 updates on one batch: {[round(v, 4) for v in losses]}")
if not losses[-1] < losses[0]:
    failures.append("KFRA lowers the loss")

kfac_opt = ps.Kronecker("kfac", [w.copy().view(torch.Tensor) for w in ws], gen)
kfac_losses = [float(kfac_opt.step(x, y, t)) for t in range(1, 4)]
if not (all(np.isfinite(kfac_losses)) and int(kfac_opt.failures) == 0):
    failures.append("KFAC updates stay finite")

if failures:
    print(f"FAILED: {failures}")
    sys.exit(1)
print("all checks passed")
