"""Parameters and gradients as one immutable tree type, and how to make them.

``Params`` holds one weight matrix and one bias vector per non-input layer. A
gradient has exactly the same structure (``Grads = Params``), so every tree helper
here serves both.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import DTypeLike, NDArray

from fnn._checks import Seed, choice
from fnn.errors import ConfigError, FnnTypeError
from fnn.seeds import INIT, stream

__all__ = [
    "INITIALIZERS",
    "Array",
    "Grads",
    "Params",
    "Shapes",
    "check_params",
    "check_sizes",
    "init_params",
    "shapes",
    "sizes_of",
    "tree_equal",
    "tree_map",
    "zeros_like",
]

Array = NDArray[np.floating[Any]]
Shapes = tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]


class Params(NamedTuple):
    """Per non-input layer l: ``weights[l]`` is (n_out, n_in), ``biases[l]`` is (n_out,)."""

    weights: tuple[Array, ...]
    biases: tuple[Array, ...]


Grads = Params  # same structure, so every tree helper serves both


def tree_map(fn: Callable[..., Array], tree: Params, *rest: Params) -> Params:
    """Apply ``fn`` leaf by leaf across trees of one structure.

    >>> p = Params(weights=(np.ones((3, 2)),), biases=(np.zeros(3),))
    >>> float(tree_map(np.add, p, p).weights[0].sum())
    12.0
    """
    return Params(*(tuple(map(fn, *fields)) for fields in zip(tree, *rest, strict=True)))


def shapes(tree: Params) -> Shapes:
    """The shapes of the leaves: ``(weight shapes, bias shapes)``.

    >>> shapes(init_params([3, 2, 1], seed=0))
    (((2, 3), (1, 2)), ((2,), (1,)))
    """
    return (tuple(w.shape for w in tree.weights), tuple(b.shape for b in tree.biases))


def sizes_of(params: Params) -> tuple[int, ...]:
    """The layer sizes ``(n_in, ..., n_out)`` that ``params`` describe.

    >>> sizes_of(init_params([4, 3, 2], seed=0))
    (4, 3, 2)
    """
    return (params.weights[0].shape[1], *(w.shape[0] for w in params.weights))


def zeros_like(tree: Params) -> Params:
    """A tree of zeros with the shapes and dtypes of ``tree``.

    >>> float(sum(w.sum() for w in zeros_like(init_params([3, 2], seed=1)).weights))
    0.0
    """
    return tree_map(np.zeros_like, tree)


def tree_equal(a: Params, b: Params) -> bool:
    """True when both trees have the same shapes, dtypes and bytes (so -0.0 != 0.0, NaN == NaN).

    >>> p = init_params([3, 2], seed=1)
    >>> tree_equal(p, tree_map(np.copy, p)), tree_equal(p, init_params([3, 2], seed=2))
    (True, False)
    """
    if shapes(a) != shapes(b):
        return False
    leaves = zip((*a.weights, *a.biases), (*b.weights, *b.biases), strict=True)
    return all(x.dtype == y.dtype and x.tobytes() == y.tobytes() for x, y in leaves)


def check_sizes(sizes: Any) -> tuple[int, ...]:
    """``sizes`` as a tuple of ints ≥ 1 with at least an input and an output layer."""
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence | np.ndarray):
        raise FnnTypeError(f"sizes must be a sequence of ints such as [784, 30, 10], got {sizes!r}")
    if len(sizes) < 2:
        raise ConfigError(f"sizes needs an input and an output layer, got {sizes!r}")
    for i, s in enumerate(sizes):
        if isinstance(s, bool | np.bool_) or not isinstance(s, numbers.Integral):
            raise FnnTypeError(f"sizes[{i}] must be an int >= 1, got {s!r} in {sizes!r}")
        if s < 1:
            raise ConfigError(f"sizes[{i}] must be an int >= 1, got {s!r} in {sizes!r}")
    return tuple(int(s) for s in sizes)


def _default(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[Array, Array]:
    # network2's default_weight_initializer: W ~ N(0, 1/n_in), b ~ N(0, 1)
    return rng.standard_normal((n_out, n_in)) / np.sqrt(n_in), rng.standard_normal(n_out)


def _large(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[Array, Array]:
    # network2's large_weight_initializer: W ~ N(0, 1), b ~ N(0, 1)
    return rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)


def _he(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[Array, Array]:
    # He et al. (2015) for ReLU layers: W ~ N(0, 2/n_in), b = 0
    return rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in), np.zeros(n_out)


Initializer = Callable[[np.random.Generator, int, int], tuple[Array, Array]]
INITIALIZERS: dict[str, Initializer] = {"default": _default, "large": _large, "he": _he}


def init_params(sizes: Sequence[int], *, seed: Seed, scheme: str = "default",
                dtype: DTypeLike = np.float64) -> Params:
    """Fresh parameters for a net of layer ``sizes`` (input first), drawn from ``seed``.

    ``scheme`` names an entry of ``INITIALIZERS``: ``"default"`` draws weights from
    N(0, 1)/sqrt(n_in) and biases from N(0, 1) (network2's default; it also suits tanh),
    ``"large"`` draws weights from N(0, 1), ``"he"`` draws weights from N(0, 2/n_in) with
    zero biases (for ReLU layers). Values are drawn in float64 and then cast, so a
    float32 net starts from the rounded float64 one. Layer l has its own stream.

    >>> p = init_params([784, 30, 10], seed=0)
    >>> shapes(p)
    (((30, 784), (10, 30)), ((30,), (10,)))
    >>> init_params([784, 30, 10], seed=0, dtype=np.float32).weights[0].dtype
    dtype('float32')
    >>> init_params([784], seed=0)
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: sizes needs an input and an output layer, got [784]
    """
    sizes = check_sizes(sizes)
    draw = choice("scheme", scheme, INITIALIZERS)
    dtype = _float_dtype(dtype)
    layers = [draw(stream(seed, INIT, l), n_out, n_in)
              for l, (n_in, n_out) in enumerate(pairwise(sizes))]
    return Params(weights=tuple(w.astype(dtype) for w, _ in layers),
                  biases=tuple(b.astype(dtype) for _, b in layers))


def _float_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise FnnTypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ConfigError(f"dtype must be float32 or float64, got {dtype!r}")
    return dt


def check_params(params: Any, name: str = "params") -> Params:
    """``params`` if it is a well-formed, finite ``Params`` tree; else a clear error."""
    if not isinstance(params, Params):
        raise FnnTypeError(f"{name} must be an fnn Params, got {type(params).__name__}")
    ws, bs = tuple[Any, ...](params)  # as plain objects: a Params may hold anything
    if not (isinstance(ws, tuple) and isinstance(bs, tuple)) or len(ws) != len(bs) or not ws:
        raise FnnTypeError(f"{name} must hold equal, non-empty tuples of weights and biases")
    leaves = (*ws, *bs)
    if not all(isinstance(a, np.ndarray) for a in leaves):
        raise FnnTypeError(f"{name} leaves must be numpy arrays")
    dtypes = {a.dtype for a in leaves}
    if len(dtypes) != 1 or dtypes - {np.dtype(np.float32), np.dtype(np.float64)}:
        raise ConfigError(f"{name} must be all float32 or all float64, got {sorted(map(str, dtypes))}")
    _check_layer_shapes(params, name)
    if not all(np.isfinite(a).all() for a in leaves):
        raise ConfigError(f"{name} contain NaN or inf")
    return params


def _check_layer_shapes(params: Params, name: str) -> None:
    ws, bs = params
    ok = all(w.ndim == 2 for w in ws) and all(b.ndim == 1 for b in bs)
    ok = ok and all(w.shape[0] == b.shape[0] for w, b in zip(ws, bs))
    ok = ok and all(a.shape[0] == b.shape[1] for a, b in pairwise(ws))
    if not ok:
        raise ConfigError(f"{name} have inconsistent layer shapes {shapes(params)}")
