"""GEMM-only through numba: the compiled epoch's own floor.

The compiled engine calls BLAS from numba: ``np.dot`` there goes to SciPy's OpenBLAS (not
NumPy's, which may be another build or version) with no Python between the calls. This
times only the matrix products of one epoch the same way: one compiled call running every
step's products (forward, Σ∇w, δ·w) into reused outputs, for a net of one hidden layer.
So ``jit / GEMM-jit`` is the compiled epoch's time over its own products, and
``GEMM-jit / GEMM`` is what the BLAS build and the call path change.

Needs numba and SciPy (the kernel is compiled on first use, cached under bench/__pycache__).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from itertools import pairwise

import numpy as np
from _baselines import timed


@cache
def _kernel():
    """The compiled products loop (numba is imported here, on first use)."""
    import numba
    import scipy.linalg.cython_blas  # noqa: F401  (numba's np.dot calls SciPy's BLAS)

    @numba.njit(cache=True)
    def products(count, x, w0, z0, d0, g0, a1, w1, z1, d1, g1, back):
        for _ in range(count):
            np.dot(x, w0.T, z0)       # z = a·wᵀ, layer 1
            np.dot(a1, w1.T, z1)      # layer 2
            np.dot(d1.T, a1, g1)      # Σ∇w = δᵀ·a, layer 2
            np.dot(d1, w1, back)      # δ·w, back to layer 1
            np.dot(d0.T, x, g0)       # Σ∇w, layer 1

    return products


def gemm_only_jit_epoch(sizes: Sequence[int], n: int, *, batch: int, dtype: type) -> float:
    """Seconds for only the matrix products of one epoch of a 3-layer net, in one compiled
    call per batch size (as ``_baselines.gemm_only_epoch``, but from numba)."""
    assert len(sizes) == 3, f"one hidden layer only, got {sizes}"
    steps = [(batch, n // batch)] + ([(n % batch, 1)] if n % batch else [])
    plans = [(count, _operands(sizes, m, dtype)) for m, count in steps]
    for _, operands in plans:
        _kernel()(1, *operands)  # compiles, or loads the cache, per dtype

    def run():
        for count, operands in plans:
            _kernel()(count, *operands)

    return timed(run)


def _operands(sizes: Sequence[int], m: int, dtype: type) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    n0, n1, n2 = sizes

    def new(*shape: int) -> np.ndarray:
        return rng.random(shape, dtype=dtype)

    return (new(m, n0), new(n1, n0), new(m, n1), new(m, n1), new(n1, n0), new(m, n1),
            new(n2, n1), new(m, n2), new(m, n2), new(n2, n1), new(m, n1))


# --------------------------------------------------------------------------- update alone

def update_codes() -> dict[str, int]:
    """The compiled engine's optimizer codes (``fnn.training.compiled``) of the optimizers
    with an update pass of their own (plain SGD's, code 0, is fused into the gemm)."""
    from fnn.training.compiled import _OPTIMIZERS
    return {name: code for name, code in _OPTIMIZERS.items() if code}


@cache
def _updates():
    """A compiled loop calling the engine's own update pass ``count`` times."""
    import numba

    from fnn.training import _kernel

    @numba.njit(cache=True)
    def updates(count, opt, flat, grads, m1, m2, c):
        for _ in range(count):
            _kernel._update(opt, flat, grads, m1, m2, c, 0, flat.shape[0], True, False)

    return updates


def update_alone_epoch(sizes: Sequence[int], n: int, *, batch: int, dtype: type,
                       optimizer: str) -> float:
    """Seconds of only the compiled engine's update pass of ``optimizer`` (with L2) over all
    parameters of ``sizes``, once per step of an epoch of ``n`` examples in batches of
    ``batch``: the time an optimizer adds that no fusion with the products can hide."""
    count = -(-n // batch)
    total = sum(a * b + b for a, b in pairwise(sizes))
    rng = np.random.default_rng(0)
    flat, grads = (rng.standard_normal(total).astype(dtype) * s for s in (0.01, 0.001))
    m1, m2 = np.zeros(total, dtype), np.zeros(total, dtype)
    # 1/m, λ/n, λ₁/n, eta, mu, β₁, 1-β₁, β₂, 1-β₂, eta/(1-β₁ᵗ), 1/(1-β₂ᵗ), eps at t = 1000
    c = np.array([1 / batch, 5 / n, 0.0, 1e-3, 0.9, 0.9, 0.1, 0.999, 1e-3,
                  1e-3 / (1 - 0.9 ** 1000), 1 / (1 - 0.999 ** 1000), 1e-8], dtype)
    code = update_codes()[optimizer]
    _updates()(1, code, flat, grads, m1, m2, c)  # compiles, or loads the cache
    return timed(lambda: _updates()(count, code, flat, grads, m1, m2, c))
