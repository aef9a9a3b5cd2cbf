#!/usr/bin/env python3
"""Plain PyTorch reference for `bun run bench step`: seconds per Adam, KFAC and KFRA update.

Same network as the project's CURVES autoencoder (784-1000-500-250-30-250-500-1000-784, tanh on
every hidden layer, linear output into binary cross-entropy with logits), batch 1000, random
CURVES-like data (pixels k/255 on ~20% of the pixels, the rest 0; target = input).

Each update, written with samples as columns (A is D x N, Abar = [A; 1]):
  forward      h_l = W_l Abar_{l-1},  a_l = tanh(h_l)  (l < L);  E = sum_i softplus(h_L) - y h_L
  gradient     d_L = sigmoid(h_L) - y;  g_l = d_l Abar_{l-1}^T / N + eta W_l;
               d_{l-1} = (Wt_l^T d_l) * tanh'(h_{l-1})     (Wt: W without its bias column)
  Q factors    Q_l = Abar_{l-1} Abar_{l-1}^T / N
  G factors    KFRA: G_L = diag(mean_n s(1-s)), s = sigmoid(h_L);
                     G_{l-1} = (Wt_l^T G_l Wt_l) o (B_{l-1} B_{l-1}^T / N),  B = tanh'(h) (D x N)
               KFAC: yhat ~ Bernoulli(s); dhat_L = s - yhat, back-propagated like d;
                     G_l = dhat_l dhat_l^T / N
  averaging    Qbar <- e Qbar + (1-e) Q, Gbar likewise (first update: the factors themselves);
               e ramped linearly to 0.9 over the first 100 updates, as the project's `fixed` preset
  direction    k = sqrt(gamma + eta), pi_l = sqrt((tr Q / dim Q) / (tr G / dim G));
               delta_l = (Gbar + (k/pi) I)^-1 g_l (Qbar + k pi I)^-1, both by Cholesky solves
  step size    R-op forward pass: Rh_l = delta_l Abar_{l-1} + Wt_l Ra_{l-1}, Ra_l = tanh'(h_l) Rh_l,
               v = Rh_L;  dCd = mean_n sum_i s(1-s) v^2 + (tau + eta) |delta|^2;
               alpha = -(delta . grad f) / dCd;  W <- W + alpha delta
  Polyak       theta_hat <- b theta_hat + (1-b) theta
Damping is the project's `fixed` preset (tau = gamma = 1e-3, eta = 1e-5, no adaptation), so the
project's `bench step --preset fixed` does the same work per update.
Adam uses the same hand-written gradient and torch.optim.Adam (fused on CUDA), lr 2^-9.

Timing: warm-up updates, then the median of --steps updates, each between torch.cuda.synchronize()
calls; in fp32 (TF32 off) and with TF32 matmuls on. Runs on CPU too (--device cpu).

usage: python3 bench/reference/pytorch_step.py [--device cuda|cpu] [--opt adam,kfac,kfra]
       [--precision fp32,tf32] [--steps 10] [--warmup 3] [--batch 1000] [--sizes 784-...-784]
       [--json FILE]
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

try:
    import torch
except ImportError:
    torch = None

SIZES = [784, 1000, 500, 250, 30, 250, 500, 1000, 784]
ETA = 1e-5
DAMPING = 1e-3  # tau = gamma
ADAM_LR = 2.0 ** -9


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def batch_data(dim, n, generator, device):
    """CURVES-like pixels: k/255 on about 20% of the entries, 0 elsewhere (no subnormal floats)."""
    on = torch.rand(dim, n, generator=generator, device=device) < 0.2
    levels = torch.randint(0, 256, (dim, n), generator=generator, device=device).float() / 255.0
    return levels * on


def initial_weights(sizes, generator, device):
    """W_l ~ N(0, 1/D_{l-1}) with a zero bias column, shape D_l x (D_{l-1} + 1)."""
    ws = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = torch.randn(fan_out, fan_in + 1, generator=generator, device=device) / math.sqrt(fan_in)
        w[:, -1] = 0.0
        ws.append(w)
    return ws


def with_bias_row(a):
    return torch.cat([a, torch.ones(1, a.shape[1], dtype=a.dtype, device=a.device)], dim=0)


def forward(ws, x):
    """Returns Abar (the inputs of each layer, bias row appended) and h (each pre-activation)."""
    abar, hs = [], []
    a = x
    for l, w in enumerate(ws):
        abar.append(with_bias_row(a))
        h = w @ abar[l]
        hs.append(h)
        if l < len(ws) - 1:
            a = torch.tanh(h)
    return abar, hs


def bce_mean(h, y):
    """Minibatch mean of E = sum_i softplus(h_i) - y_i h_i."""
    return torch.sum(torch.nn.functional.softplus(h) - y * h) / h.shape[1]


def tanh_prime(h):
    t = torch.tanh(h)
    return 1.0 - t * t


def backward(ws, hs, d_last):
    """Back-propagates d_L through the tanh layers: returns [d_1, ..., d_L]."""
    ds = [d_last]
    for l in range(len(ws) - 1, 0, -1):
        ds.insert(0, (ws[l][:, :-1].T @ ds[0]) * tanh_prime(hs[l - 1]))
    return ds


def gradients(ws, abar, ds):
    n = abar[0].shape[1]
    return [d @ a.T / n + ETA * w for d, a, w in zip(ds, abar, ws)]


def kfra_g_factors(ws, hs):
    """G_L = mean_n diag(s(1-s)); G_{l-1} = (Wt^T G Wt) o (B B^T / N)."""
    n = hs[-1].shape[1]
    s = torch.sigmoid(hs[-1])
    gs = [torch.diag(torch.mean(s * (1.0 - s), dim=1))]
    for l in range(len(ws) - 1, 0, -1):
        wt = ws[l][:, :-1]
        b = tanh_prime(hs[l - 1])
        gs.insert(0, (wt.T @ gs[0] @ wt) * (b @ b.T / n))
    return gs


def kfac_g_factors(ws, hs, generator):
    """Sampled targets yhat ~ Bernoulli(sigmoid(h_L)); G_l = dhat_l dhat_l^T / N."""
    n = hs[-1].shape[1]
    s = torch.sigmoid(hs[-1])
    yhat = (torch.rand(s.shape, generator=generator, device=s.device) < s).to(s.dtype)
    return [d @ d.T / n for d in backward(ws, hs, s - yhat)]


def damped_direction(g, qbar, gbar, gamma):
    """delta = (Gbar + (k/pi) I)^-1 g (Qbar + k pi I)^-1 by two Cholesky solves."""
    k = math.sqrt(gamma + ETA)
    pi = torch.sqrt((torch.trace(qbar) / qbar.shape[0]) / (torch.trace(gbar) / gbar.shape[0]))
    eye_g = torch.eye(gbar.shape[0], dtype=g.dtype, device=g.device)
    eye_q = torch.eye(qbar.shape[0], dtype=g.dtype, device=g.device)
    lg, info_g = torch.linalg.cholesky_ex(gbar + (k / pi) * eye_g)
    lq, info_q = torch.linalg.cholesky_ex(qbar + (k * pi) * eye_q)
    left = torch.cholesky_solve(g, lg)  # (Gbar + (k/pi) I)^-1 g
    delta = torch.cholesky_solve(left.T, lq).T  # ... (Qbar + k pi I)^-1, Qbar symmetric
    return delta, info_g + info_q


def r_op(ws, abar, hs, deltas):
    """v = J delta: Rh_l = delta_l Abar_{l-1} + Wt_l Ra_{l-1}, Ra_l = tanh'(h_l) Rh_l; Ra_0 = 0."""
    ra = None
    rh = None
    for l, (w, d) in enumerate(zip(ws, deltas)):
        rh = d @ abar[l]
        if ra is not None:
            rh = rh + w[:, :-1] @ ra
        if l < len(ws) - 1:
            ra = tanh_prime(hs[l]) * rh
    return rh


def ramp(step, value, ramp_steps=100):
    """The `fixed` preset's constants rise linearly to `value` over the first `ramp_steps` updates."""
    return value * min(1.0, step / ramp_steps)


class Kronecker:
    """KFRA or KFAC with factor averaging, fixed damping, the Gauss-Newton step size and Polyak averaging."""

    def __init__(self, curvature, ws, generator):
        self.curvature = curvature
        self.ws = ws
        self.generator = generator
        self.qbar = None
        self.gbar = None
        self.polyak = [w.clone() for w in ws]
        self.failures = torch.zeros((), dtype=torch.int32, device=ws[0].device)

    def step(self, x, y, t):
        ws = self.ws
        n = x.shape[1]
        abar, hs = forward(ws, x)
        s = torch.sigmoid(hs[-1])
        loss = bce_mean(hs[-1], y) + 0.5 * ETA * sum(torch.sum(w * w) for w in ws)
        ds = backward(ws, hs, s - y)
        grads = gradients(ws, abar, ds)
        qs = [a @ a.T / n for a in abar]
        gs = kfra_g_factors(ws, hs) if self.curvature == "kfra" else kfac_g_factors(ws, hs, self.generator)
        if self.qbar is None:
            self.qbar, self.gbar = qs, gs
        else:
            e = ramp(t, 0.9)
            self.qbar = [e * qb + (1.0 - e) * q for qb, q in zip(self.qbar, qs)]
            self.gbar = [e * gb + (1.0 - e) * g for gb, g in zip(self.gbar, gs)]
        deltas = []
        for g, qb, gb in zip(grads, self.qbar, self.gbar):
            delta, info = damped_direction(g, qb, gb, DAMPING)
            deltas.append(delta)
            self.failures = self.failures + info
        v = r_op(ws, abar, hs, deltas)
        dgd = torch.sum(s * (1.0 - s) * v * v) / n
        dcd = dgd + (DAMPING + ETA) * sum(torch.sum(d * d) for d in deltas)
        slope = sum(torch.sum(d * g) for d, g in zip(deltas, grads))
        alpha = -slope / dcd
        for w, d in zip(ws, deltas):
            w.add_(alpha * d)
        beta = min(ramp(t, 0.9), 1.0 - 1.0 / t)
        for p, w in zip(self.polyak, ws):
            p.mul_(beta).add_((1.0 - beta) * w)
        return loss


class Adam:
    """The hand-written gradient above, applied by torch.optim.Adam (fused on CUDA)."""

    def __init__(self, ws):
        self.ws = ws
        for w in ws:
            w.requires_grad_(True)  # torch.optim wants trainable leaves; the updates run under no_grad
        kwargs = {"fused": True} if ws[0].device.type == "cuda" else {}
        self.opt = torch.optim.Adam(ws, lr=ADAM_LR, betas=(0.9, 0.999), eps=1e-8, **kwargs)

    def step(self, x, y, t):
        abar, hs = forward(self.ws, x)
        loss = bce_mean(hs[-1], y) + 0.5 * ETA * sum(torch.sum(w * w) for w in self.ws)
        ds = backward(self.ws, hs, torch.sigmoid(hs[-1]) - y)
        for w, g in zip(self.ws, gradients(self.ws, abar, ds)):
            w.grad = g
        self.opt.step()
        return loss


def time_updates(opt_name, sizes, batch, steps, warmup, device):
    generator = torch.Generator(device=device).manual_seed(0)
    ws = initial_weights(sizes, generator, device)
    optimizer = Adam(ws) if opt_name == "adam" else Kronecker(opt_name, ws, generator)
    batches = [batch_data(sizes[0], batch, generator, device) for _ in range(4)]
    seconds, losses = [], []
    with torch.no_grad():
        for t in range(1, warmup + steps + 1):
            x = batches[t % len(batches)]
            synchronize(device)
            start = time.perf_counter()
            loss = optimizer.step(x, x, t)
            synchronize(device)
            if t > warmup:
                seconds.append(time.perf_counter() - start)
            losses.append(float(loss))
    failures = int(optimizer.failures) if isinstance(optimizer, Kronecker) else 0
    if failures or not all(math.isfinite(v) for v in losses):
        raise RuntimeError(f"{opt_name}: {failures} Cholesky failures, losses {losses}")
    return {"medianSeconds": statistics.median(seconds), "seconds": seconds, "losses": losses}


def set_tf32(on):
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on
    torch.set_float32_matmul_precision("high" if on else "highest")


def main(argv):
    parser = argparse.ArgumentParser(description="Plain PyTorch seconds per Adam/KFAC/KFRA update (see the module docstring).")
    parser.add_argument("--device", default="cuda" if torch is not None and torch.cuda.is_available() else "cpu")
    parser.add_argument("--opt", default="adam,kfac,kfra")
    parser.add_argument("--precision", default="fp32,tf32", help="fp32 (TF32 off), tf32 (TF32 matmuls on); comma-separated")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--sizes", default="-".join(map(str, SIZES)))
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if torch is None:
        print("pytorch_step: PyTorch is not installed (python3 -c 'import torch' fails); nothing measured", file=sys.stderr)
        return 3
    sizes = [int(s) for s in args.sizes.split("-")]
    if len(sizes) < 2 or sizes[0] != sizes[-1] or min(sizes) < 1:
        print(f"pytorch_step: --sizes must be an autoencoder D-...-D with positive sizes, got '{args.sizes}'", file=sys.stderr)
        return 2
    opts = args.opt.split(",")
    for o in opts:
        if o not in ("adam", "kfac", "kfra"):
            print(f"pytorch_step: --opt: unknown optimiser '{o}'; valid: adam, kfac, kfra", file=sys.stderr)
            return 2
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    precisions = args.precision.split(",")
    if device.type != "cuda":
        precisions = ["fp32"]
    results = []
    print(f"PyTorch {torch.__version__} on {name}; network {'-'.join(map(str, sizes))}, batch {args.batch}, median of {args.steps} after {args.warmup} warm-up")
    for precision in precisions:
        if precision not in ("fp32", "tf32"):
            print(f"pytorch_step: --precision: unknown value '{precision}'; valid: fp32, tf32", file=sys.stderr)
            return 2
        if device.type == "cuda":
            set_tf32(precision == "tf32")
        for o in opts:
            r = time_updates(o, sizes, args.batch, args.steps, args.warmup, device)
            results.append({"opt": o, "precision": precision, **r})
            print(f"  {o:5s} {precision}: {r['medianSeconds']:.4f} s per update (loss {r['losses'][0]:.2f} -> {r['losses'][-1]:.2f})")
    if args.json:
        doc = {"torch": torch.__version__, "device": name, "sizes": sizes, "batch": args.batch, "steps": args.steps, "results": results}
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=2)
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
