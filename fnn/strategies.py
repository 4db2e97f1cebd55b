"""Hypothesis strategies for fnn nets: layer sizes, params and batches (optional extra).

Needs ``hypothesis`` (``pip install fnn[test]``); ``import fnn`` never imports this.
Every bound is keyword-only with a small default, bad bounds raise ConfigError at
once, and every float is finite and bounded.

>>> from hypothesis import given
>>> @given(nets())
... def test_shapes(net):
...     params, batch = net
...     assert batch.x.shape[1] == params.weights[0].shape[1]
>>> test_shapes()
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fnn._checks import positive_float, positive_int
from fnn.data import Batch, one_hot
from fnn.errors import ConfigError
from fnn.params import Params

__all__ = ["batches", "layer_sizes", "nets", "params"]


def _bounds(low_name: str, low: Any, high_name: str, high: Any) -> tuple[int, int]:
    low, high = positive_int(low_name, low), positive_int(high_name, high)
    if low > high:
        raise ConfigError(f"{low_name} must be <= {high_name}, got {low} > {high}")
    return low, high


def layer_sizes(*, min_layers: int = 2, max_layers: int = 4, min_width: int = 1,
                max_width: int = 5) -> st.SearchStrategy[tuple[int, ...]]:
    """Tuples of layer sizes: 2-4 layers of width 1-5 by default (input layer included).

    Shrinks towards ``min_layers`` layers of ``min_width`` units.

    >>> layer_sizes(min_layers=1)
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: min_layers must be >= 2 (an input and an output layer), got 1
    """
    lo, hi = _bounds("min_layers", min_layers, "max_layers", max_layers)
    if lo < 2:
        raise ConfigError(f"min_layers must be >= 2 (an input and an output layer), got {lo}")
    w_lo, w_hi = _bounds("min_width", min_width, "max_width", max_width)
    widths = st.integers(w_lo, w_hi)
    return st.lists(widths, min_size=lo, max_size=hi).map(tuple)


def _arrays(shape: tuple[int, ...], bound: float, dtype: Any) -> st.SearchStrategy[Any]:
    elements = st.floats(-bound, bound, allow_nan=False, allow_infinity=False,
                         width=np.dtype(dtype).itemsize * 8)
    return hnp.arrays(dtype, shape, elements=elements)


def params(sizes: tuple[int, ...], *, bound: float = 2.0,
           dtype: Any = np.float64) -> st.SearchStrategy[Params]:
    """Params for ``sizes`` with every entry in [-bound, bound] (default 2).

    Shrinks towards all-zero weights and biases.
    """
    bound = positive_float("bound", bound)
    layers = list(pairwise(sizes))
    weights = st.tuples(*(_arrays((n_out, n_in), bound, dtype) for n_in, n_out in layers))
    biases = st.tuples(*(_arrays((n_out,), bound, dtype) for _, n_out in layers))
    return st.builds(Params, weights=weights, biases=biases)


def batches(sizes: tuple[int, ...], *, min_size: int = 1, max_size: int = 4, bound: float = 1.0,
            dtype: Any = np.float64) -> st.SearchStrategy[Batch]:
    """Batches of 1-4 rows (by default) for a net of ``sizes``: x in [-bound, bound], y one-hot.

    Shrinks towards ``min_size`` rows of zeros labelled 0.
    """
    lo, hi = _bounds("min_size", min_size, "max_size", max_size)
    bound = positive_float("bound", bound)

    @st.composite
    def draw_batch(draw: st.DrawFn) -> Batch:
        m = draw(st.integers(lo, hi))
        x = draw(_arrays((m, sizes[0]), bound, dtype))
        labels = np.array(draw(st.lists(st.integers(0, sizes[-1] - 1), min_size=m, max_size=m)))
        return Batch(x, one_hot(labels.astype(np.int64), sizes[-1], dtype))

    return draw_batch()


def nets(*, min_batch: int = 1, max_batch: int = 4,
         **size_kwargs: int) -> st.SearchStrategy[tuple[Params, Batch]]:
    """``(params, batch)`` pairs of matching shapes; ``size_kwargs`` go to ``layer_sizes``.

    Shrinks towards the smallest net with zero params and a one-row zero batch.
    """
    sizes = layer_sizes(**size_kwargs)
    return sizes.flatmap(lambda s: st.tuples(params(s), batches(s, min_size=min_batch,
                                                                   max_size=max_batch)))
