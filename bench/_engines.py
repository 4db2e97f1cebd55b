"""fnn's training engines as the bench runs them: one epoch by name, how far two results are
apart, epoch orders that take the row gather out of the picture, and running without numba.

The engines are ``fnn.training.engines``'s: ``reference`` (the pure fold), ``numpy`` (the
fast path, bit-identical to the fold) and ``numba`` (the compiled epoch, within
``fnn.training.compiled.TOLERANCE`` of the fast path). Every epoch here starts from the
given params and the optimizer's initial state, with epoch 0's streams of seed 0, as the
first epoch of training does.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

NUMBA_HIDDEN = False


def hide_numba() -> None:
    """Make ``import numba`` fail in this process, as if it were not installed: call before
    fnn is imported (``fnn.training.compiled.available`` asks ``importlib`` once)."""
    global NUMBA_HIDDEN  # noqa: PLW0603 (one setting for the whole worker process)
    sys.modules["numba"] = None  # type: ignore[assignment]  # find_spec gives None, import fails
    NUMBA_HIDDEN = True


def jit_available() -> bool:
    """Whether the compiled engine can run here (numba and SciPy importable, not hidden)."""
    from fnn.training import compiled
    return compiled.available()


def engine(name: str):
    """The ``fnn.training.engines.Engine`` called ``name`` (reference, numpy, numba)."""
    from fnn.training.engines import ENGINES
    return next(e for e in ENGINES if e.name == name)


def streams_for(config, order=None):
    """Epoch 0's streams of seed 0 for ``config``; with ``order``, a shuffle that returns it."""
    from fnn.training import epoch_streams
    streams = epoch_streams(0, 0, dropout=bool(config.dropout))
    return streams if order is None else streams._replace(shuffle=FixedOrder(order))


def one_epoch(name: str, params, data, config, order=None):
    """(params, state) after one epoch of engine ``name`` from ``params`` and a fresh state."""
    carry = (params, config.optimizer.init(params))
    return engine(name).epoch(carry, data, config, streams_for(config, order))


class FixedOrder:
    """A stand-in for an epoch's shuffle generator: ``permutation(n)`` returns one order.

    >>> FixedOrder(np.arange(6) % 2).permutation(6).tolist()
    [0, 1, 0, 1, 0, 1]
    """

    def __init__(self, order: np.ndarray) -> None:
        self.order = order

    def permutation(self, n: int) -> np.ndarray:
        assert n == self.order.shape[0], (n, self.order.shape)
        return self.order.copy()


ORDERS = ("shuffled", "sequential", "resident")
"""The epoch orders of the streaming measurement: the real shuffle; every row once in
memory order (what hardware prefetchers stream best); and the same m rows again and again
(``arange(n) % m``: every batch's rows already in cache, so no data streaming at all)."""


def order_of(kind: str, n: int, m: int) -> np.ndarray | None:
    """The row order of ``kind`` (see ORDERS) for n rows in batches of m; None = shuffled.

    >>> order_of("resident", 5, 2).tolist()
    [0, 1, 0, 1, 0]
    """
    return {"shuffled": None, "sequential": np.arange(n),
            "resident": np.arange(n) % m}[kind]


def leaves(params) -> tuple[np.ndarray, ...]:
    """The weight and bias arrays of params."""
    return (*params.weights, *params.biases)


def relative_gap(a, b) -> float:
    """Largest |a − b| over every parameter ÷ the largest |b|: how the tests compare the
    compiled epoch with the NumPy one (``fnn.training.compiled.TOLERANCE``).

    >>> from fnn.params import Params
    >>> p = Params((np.array([[2.0]]),), (np.array([1.0]),))
    >>> q = Params((np.array([[2.0]]),), (np.array([1.5]),))
    >>> relative_gap(q, p)
    0.25
    """
    ours, theirs = leaves(a), leaves(b)
    scale = max(float(np.abs(x).max()) for x in theirs) or 1.0
    return max(float(np.abs(x - y).max()) for x, y in zip(ours, theirs)) / scale


def agreement(jit, fast) -> dict[str, Any]:
    """The compiled epoch's params against the NumPy one's: the gap, the tolerance, whether
    it is within it (and the params finite: a diverged run is no comparison)."""
    from fnn.training.compiled import TOLERANCE
    gap, dtype, ok = relative_gap(jit, fast), leaves(fast)[0].dtype.name, finite(fast)
    return {"relative_gap": gap, "tolerance": TOLERANCE[dtype], "finite": ok,
            "within": bool(ok and gap <= TOLERANCE[dtype])}


def finite(params) -> bool:
    """Whether every parameter is finite (a diverged run would time something else)."""
    return all(bool(np.isfinite(x).all()) for x in leaves(params))
