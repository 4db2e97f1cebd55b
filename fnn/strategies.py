"""Hypothesis strategies for fnn nets: layer sizes, params and batches (optional extra).

Needs ``hypothesis`` (``pip install fnn[test]``); ``import fnn`` never imports this.
Every bound is keyword-only with a small default, bad bounds raise ConfigError at
once, and every float is finite and bounded.

For activations with kinks (ReLU, leaky ReLU, hard tanh), ``nets(activation=..., kinks=...)``
moves each hidden unit's bias so that no pre-activation z lies within ``margin`` of a kink
(``off_kinks``): a finite-difference step then never crosses one, whatever the examples
shrink towards.

>>> from hypothesis import given
>>> @given(nets())
... def test_shapes(net):
...     params, batch = net
...     assert batch.x.shape[1] == params.weights[0].shape[1]
>>> test_shapes()
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fnn._checks import finite_float, positive_float, positive_int
from fnn.activations import RELU, SIGMOID, Activation, Hidden, per_layer
from fnn.data import Batch, one_hot
from fnn.errors import ConfigError, FnnTypeError
from fnn.network import trace
from fnn.params import Array, Params, as_params

__all__ = ["batches", "layer_sizes", "nets", "off_kinks", "params"]

MARGIN = 1e-3
"""The default distance ``nets`` keeps hidden pre-activations from a kink.

A finite-difference step h moves z by at most h·|∂z/∂θ|. In nets of up to 4 layers of width
<= 8 with these bounds (|params| <= 2, |x| <= 1) and a ReLU-like activation (|fn(z)| <= |z|,
|fn'| <= 1), |∂z/∂θ| <= 18 for one entry and <= 54 along a unit direction: 1e-3 is 18 × what
``fnn.gradcheck``'s step of 1e-6 can reach. Wider or deeper nets need a larger margin."""


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


def _hidden(activation: Any) -> tuple[Activation, ...]:
    """``activation`` as a tuple of Activations (one for all layers, or one per layer)."""
    if isinstance(activation, Activation):
        return (activation,)
    if isinstance(activation, str | bytes) or not isinstance(activation, Sequence):
        raise FnnTypeError(f"activation must be an fnn Activation such as fnn.RELU, or one "
                           f"per hidden layer, got {activation!r}")
    return per_layer(activation, len(activation))


def _kinks(kinks: Any, acts: tuple[Activation, ...]) -> tuple[float, ...]:
    if kinks is None:  # fnn's own: only ReLU bends, at 0
        return (0.0,) if RELU in acts else ()
    if isinstance(kinks, str | bytes) or not isinstance(kinks, Sequence):
        raise FnnTypeError(f"kinks must be a sequence of numbers (where the activation bends), "
                           f"got {kinks!r}")
    return tuple(sorted({finite_float("kinks", k) for k in kinks}))


def _nudge(z: Array, kinks: tuple[float, ...], margin: float) -> float:
    """The smallest shift d (ties: the positive one) with every |z + d - k| >= margin."""
    forbidden = [(k - v - margin, k - v + margin) for k in kinks for v in z.tolist()]
    candidates = sorted({0.0, *(end for pair in forbidden for end in pair)},
                        key=lambda d: (abs(d), d < 0))
    return float(next(d for d in candidates if not any(lo < d < hi for lo, hi in forbidden)))


def off_kinks(params: Any, x: Array, *, activation: Hidden = RELU,
              kinks: Sequence[float] = (0.0,), margin: float = MARGIN) -> Params:
    """``params`` with hidden biases moved so every pre-activation on ``x`` clears the kinks.

    Layer by layer (a bias moves every later z), each hidden unit's bias moves by the
    smallest shift (the positive one on a tie) that puts all its rows' z = a·w + b at least
    ``margin`` from every point in ``kinks``; weights, the output layer and units already clear stay as they are. A bias
    can leave a strategy's [-bound, bound] by at most 2·rows·len(kinks)·margin.

    A finite-difference step of ε moves z by at most ε·|∂z/∂θ|, so a check with step ε
    never crosses a kink when ``margin`` > ε·max|∂z/∂θ|.

    >>> p = Params(weights=(np.zeros((2, 1)), np.ones((1, 2))),
    ...            biases=(np.array([0.0, -0.0005]), np.zeros(1)))
    >>> off_kinks(p, np.zeros((3, 1))).biases[0].round(6).tolist()
    [0.001, -0.001]
    """
    p = as_params(params)
    acts = per_layer(activation, len(p.weights) - 1)
    points, margin = _kinks(kinks, acts), positive_float("margin", margin)
    wide = margin * (1 + 1e-6)  # so that recomputing z cannot round it back inside
    for l in range(len(acts)):
        z = trace(p, x, activation=acts).zs[l]
        shifts = np.array([_nudge(z[:, u], points, wide) for u in range(z.shape[1])])
        if shifts.any():
            p = p._replace(biases=tuple(b + shifts if i == l else b
                                        for i, b in enumerate(p.biases)))
    return p


def _one_per_layer(acts: tuple[Activation, ...], size_kwargs: dict[str, int]) -> dict[str, int]:
    """The layer-count bounds that fit one activation per hidden layer."""
    if len(acts) == 1:
        return size_kwargs
    fixed = {"min_layers": len(acts) + 2, "max_layers": len(acts) + 2}
    wrong = {k: v for k, v in size_kwargs.items() if k in fixed and v != fixed[k]}
    if wrong:
        raise ConfigError(f"activation has one entry per hidden layer, so nets have "
                          f"{len(acts) + 2} layers, got {wrong}")
    return {**size_kwargs, **fixed}


def nets(*, min_batch: int = 1, max_batch: int = 4, activation: Hidden = SIGMOID,
         kinks: Sequence[float] | None = None, margin: float = MARGIN,
         **size_kwargs: int) -> st.SearchStrategy[tuple[Params, Batch]]:
    """``(params, batch)`` pairs of matching shapes; ``size_kwargs`` go to ``layer_sizes``.

    With ``kinks`` (the points where ``activation`` bends), every hidden pre-activation of
    the batch is at least ``margin`` (default 1e-3, see ``MARGIN``) from each of them, so a
    finite-difference step never crosses one: see ``off_kinks``.
    ``kinks=None`` (the default) means fnn's own: ``(0.0,)`` when ``activation`` is or
    includes ``fnn.RELU``, else none, and then nothing is moved. ``activation`` is one
    ``Activation``, or one per hidden layer (then every net has that many hidden layers;
    ``kinks`` apply to all of them).

    Shrinks towards the smallest net with zero params and a one-row zero batch (hidden biases
    of ``margin``, the positive side, when there are kinks).
    """
    acts = _hidden(activation)
    points, margin = _kinks(kinks, acts), positive_float("margin", margin)
    _bounds("min_batch", min_batch, "max_batch", max_batch)
    sizes = layer_sizes(**_one_per_layer(acts, size_kwargs))
    drawn = sizes.flatmap(lambda s: st.tuples(params(s), batches(s, min_size=min_batch,
                                                                    max_size=max_batch)))
    if not points:
        return drawn

    def moved(net: tuple[Params, Batch]) -> tuple[Params, Batch]:
        p, batch = net
        layer_acts = acts[0] if len(acts) == 1 else acts
        return off_kinks(p, batch.x, activation=layer_acts, kinks=points, margin=margin), batch

    return drawn.map(moved)
