"""A float64 NumPy stand-in for the few torch functions bench/reference/pytorch_step.py calls, so
that the script's maths can be checked on a machine without PyTorch (test/bench/pytorch_reference_check.py).
It checks the formulas, not PyTorch's API: argument conventions are mirrored from the PyTorch docs."""
import numpy as np

__version__ = "numpy-stand-in"
float32 = np.float32
float64 = np.float64
int32 = np.int32


class Tensor(np.ndarray):
    def clone(self):
        return self.copy()

    def add_(self, other):
        np.add(self, np.asarray(other), out=self)
        return self

    def mul_(self, other):
        np.multiply(self, np.asarray(other), out=self)
        return self

    def float(self):
        return self.astype(np.float64).view(Tensor)

    def to(self, dtype):
        return self.astype(dtype).view(Tensor)

    def requires_grad_(self, on=True):
        return self

    @property
    def device(self):
        return device("cpu")


def _t(x, dtype=None):
    return np.asarray(x, dtype=dtype).view(Tensor)


class device:
    def __init__(self, name):
        self.type = str(name)


class Generator:
    def __init__(self, device=None):
        self.rng = np.random.default_rng(0)

    def manual_seed(self, seed):
        self.rng = np.random.default_rng(seed)
        return self


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], tuple) else tuple(shape)


def rand(*shape, generator, device=None):
    return _t(generator.rng.random(_shape(shape)))


def randn(*shape, generator, device=None):
    return _t(generator.rng.standard_normal(_shape(shape)))


def randint(low, high, shape, generator, device=None):
    return _t(generator.rng.integers(low, high, size=shape))


def ones(*shape, dtype=None, device=None):
    return _t(np.ones(shape), dtype)


def zeros(shape, dtype=None, device=None):
    return _t(np.zeros(shape), dtype)


def eye(n, dtype=None, device=None):
    return _t(np.eye(n), dtype)


def cat(xs, dim=0):
    return _t(np.concatenate(xs, axis=dim))


def tanh(x):
    return _t(np.tanh(x))


def sigmoid(x):
    return _t(1.0 / (1.0 + np.exp(-np.asarray(x))))


def sqrt(x):
    return _t(np.sqrt(x))


def sum(x):
    return _t(np.sum(x))


def mean(x, dim):
    return _t(np.mean(x, axis=dim))


def diag(v):
    return _t(np.diag(v))


def trace(x):
    return _t(np.trace(x))


def cholesky_solve(b, l, upper=False):
    """X with (L L^T) X = B, as torch.cholesky_solve(B, L)."""
    return _t(np.linalg.solve(l @ l.T, b))


class _Linalg:
    @staticmethod
    def cholesky_ex(a):
        try:
            return _t(np.linalg.cholesky(a)), _t(0, np.int32)
        except np.linalg.LinAlgError:
            return _t(np.full(a.shape, np.nan)), _t(1, np.int32)


linalg = _Linalg()


class _Functional:
    @staticmethod
    def softplus(x):
        return _t(np.logaddexp(0.0, x))


class _Nn:
    functional = _Functional()


nn = _Nn()


class no_grad:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Cuda:
    @staticmethod
    def is_available():
        return False

    @staticmethod
    def synchronize():
        pass


cuda = _Cuda()


def get_num_threads():
    return 1


def set_num_threads(n):
    pass
