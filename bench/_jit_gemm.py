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
