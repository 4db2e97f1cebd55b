"""Parameters and gradients as one immutable tree type, and how to make them.

``Params`` holds one weight matrix and one bias vector per non-input layer. A
gradient has exactly the same structure (``Grads = Params``), so every tree helper
here serves both.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any, NamedTuple, cast

import numpy as np
from numpy.typing import DTypeLike, NDArray

from fnn._checks import Seed, named
from fnn.errors import ConfigError, FnnTypeError
from fnn.seeds import INIT, stream

__all__ = [
    "Array",
    "Grads",
    "Initializer",
    "Params",
    "Shapes",
    "as_params",
    "check_params",
    "check_sizes",
    "default_init",
    "he_init",
    "init_params",
    "large_init",
    "shapes",
    "sizes_of",
    "tree_equal",
    "tree_map",
    "zeros_like",
]

Array = NDArray[np.floating[Any]]
"""A float array: every leaf of a parameter tree, and the data fnn trains on."""
Shapes = tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]
"""What ``shapes`` returns: the weights' shapes, then the biases'."""


class Params(NamedTuple):
    """Per non-input layer l: ``weights[l]`` is (n_out, n_in), ``biases[l]`` is (n_out,)."""

    weights: tuple[Array, ...]
    biases: tuple[Array, ...]


Grads = Params  # same structure, so every tree helper serves both
"""A gradient: a ``Params`` tree of the same shapes as the parameters it is the gradient of."""


def tree_map(fn: Callable[..., Array], tree: Any, *rest: Any) -> Params:
    """Apply ``fn`` leaf by leaf across trees of one structure.

    >>> p = Params(weights=(np.ones((3, 2)),), biases=(np.zeros(3),))
    >>> float(tree_map(np.add, p, p).weights[0].sum())
    12.0
    """
    return Params(*(tuple(map(fn, *fields)) for fields in zip(tree, *rest, strict=True)))


def shapes(tree: Any) -> Shapes:
    """The shapes of the leaves: ``(weight shapes, bias shapes)``.

    >>> shapes(init_params([3, 2, 1], seed=0))
    (((2, 3), (1, 2)), ((2,), (1,)))
    """
    weights, biases = tree
    return (tuple(w.shape for w in weights), tuple(b.shape for b in biases))


def sizes_of(params: Any) -> tuple[int, ...]:
    """The layer sizes ``(n_in, ..., n_out)`` that ``params`` describe.

    >>> sizes_of(init_params([4, 3, 2], seed=0))
    (4, 3, 2)
    """
    weights = params[0]
    return (weights[0].shape[1], *(w.shape[0] for w in weights))


def zeros_like(tree: Any) -> Params:
    """A tree of zeros with the shapes and dtypes of ``tree``.

    >>> float(sum(w.sum() for w in zeros_like(init_params([3, 2], seed=1)).weights))
    0.0
    """
    return tree_map(np.zeros_like, tree)


def tree_equal(a: Any, b: Any) -> bool:
    """True when both trees have the same shapes, dtypes and bytes (so -0.0 != 0.0, NaN == NaN).

    >>> p = init_params([3, 2], seed=1)
    >>> tree_equal(p, tree_map(np.copy, p)), tree_equal(p, init_params([3, 2], seed=2))
    (True, False)
    """
    if shapes(a) != shapes(b):
        return False
    leaves = zip((*a[0], *a[1]), (*b[0], *b[1]), strict=True)
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


Draw = Callable[[np.random.Generator, int, int], tuple[Array, Array]]


class Initializer(NamedTuple):
    """How a layer's first weights and biases are drawn: ``draw(rng, n_out, n_in) -> (w, b)``.

    Values are drawn in float64 from the layer's own stream; ``init_params`` casts them.
    """

    name: str
    draw: Draw


def _default(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[Array, Array]:
    # network2's default_weight_initializer: W ~ N(0, 1/n_in), b ~ N(0, 1)
    return rng.standard_normal((n_out, n_in)) / np.sqrt(n_in), rng.standard_normal(n_out)


def _large(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[Array, Array]:
    # network2's large_weight_initializer: W ~ N(0, 1), b ~ N(0, 1)
    return rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)


def _he(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[Array, Array]:
    # He et al. (2015) for ReLU layers: W ~ N(0, 2/n_in), b = 0
    return rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in), np.zeros(n_out)


default_init = Initializer("default", _default)
"""network2's default: weights N(0, 1)/sqrt(n_in), biases N(0, 1) (also suits tanh)."""

large_init = Initializer("large", _large)
"""network2's ``large_weight_initializer``: weights and biases N(0, 1)."""

he_init = Initializer("he", _he)
"""He et al. (2015), for ReLU layers: weights N(0, 2/n_in), zero biases."""

_BUILT_IN = (default_init, large_init, he_init)


def init_params(sizes: Sequence[int], *, seed: Seed, init: Initializer = default_init,
                dtype: DTypeLike = np.float64, scheme: str | None = None) -> Params:
    """Fresh parameters for a net of layer ``sizes`` (input first), drawn from ``seed``.

    ``init`` is an ``Initializer``: ``default_init`` (network2's default), ``large_init``
    or ``he_init``, or your own. Values are drawn in float64 and then cast, so a float32
    net starts from the rounded float64 one. Layer l has its own stream. (``scheme="he"``,
    a name, is deprecated: pass the value.)

    >>> p = init_params([784, 30, 10], seed=0)
    >>> shapes(p)
    (((30, 784), (10, 30)), ((30,), (10,)))
    >>> init_params([784, 30, 10], seed=0, init=he_init, dtype=np.float32).biases[0].dtype
    dtype('float32')
    >>> init_params([784], seed=0)
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: sizes needs an input and an output layer, got [784]
    """
    sizes = check_sizes(sizes)
    if scheme is not None:
        init = _deprecated_scheme(scheme)
    if not isinstance(init, Initializer):
        raise FnnTypeError(f"init must be an fnn Initializer such as fnn.he_init, got {init!r}")
    dtype = _float_dtype(dtype)
    layers = [init.draw(stream(seed, INIT, l), n_out, n_in)
              for l, (n_in, n_out) in enumerate(pairwise(sizes))]
    return Params(weights=tuple(w.astype(dtype) for w, _ in layers),
                  biases=tuple(b.astype(dtype) for _, b in layers))


def _deprecated_scheme(scheme: Any) -> Initializer:
    warnings.warn("init_params(scheme=NAME) is deprecated; pass init=fnn.default_init, "
                  "fnn.large_init or fnn.he_init", DeprecationWarning, stacklevel=3)
    found: Initializer = named("scheme", scheme, _BUILT_IN)
    return found


def _float_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise FnnTypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ConfigError(f"dtype must be float32 or float64, got {dtype!r}")
    return dt


_EXPECTED = "a (weights, biases) pair of sequences of numpy arrays"


def as_params(params: Any, name: str = "params") -> Params:
    """``params`` as a ``Params``: any ``(weights, biases)`` pair of sequences of arrays.

    A ``Params`` of tuples passes through as it is; a plain tuple or list pair is wrapped
    (the arrays are not copied). Checked: one weight matrix (n_out, n_in) and one bias
    vector (n_out,) per layer, each layer's n_in the previous n_out, all float32 or all
    float64. Anything else raises ``FnnTypeError`` (the wrong kind of object) or
    ``ConfigError`` (the wrong shapes or dtypes), naming ``name``.

    >>> w, b = [np.ones((2, 3))], [np.zeros(2)]
    >>> as_params((w, b)) == Params(weights=(w[0],), biases=(b[0],))
    True
    >>> as_params(([np.ones((2, 3))], [np.zeros(3)]))
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: params have inconsistent layer shapes: weights ((2, 3),), biases ((3,),)
    """
    if isinstance(params, str | bytes) or not isinstance(params, Sequence) or len(params) != 2:
        raise FnnTypeError(f"{name} must be {_EXPECTED}, got {_kind(params)}")
    ws, bs = params
    if not all(isinstance(s, Sequence) and not isinstance(s, str | bytes) for s in (ws, bs)):
        raise FnnTypeError(f"{name} must be {_EXPECTED}, got a pair of {type(ws).__name__} "
                           f"and {type(bs).__name__} (weights and biases are each a list or "
                           "tuple with one array per layer)")
    leaves = (*ws, *bs)
    odd = next((a for a in leaves if not isinstance(a, np.ndarray)), None)
    if odd is not None or not ws:
        got = "no layers" if not ws else f"a leaf of type {type(odd).__name__}"
        raise FnnTypeError(f"{name} must be {_EXPECTED}, got {got}")
    tree = cast(Params, params) if _is_canonical(params) else Params(tuple(ws), tuple(bs))
    _check_dtypes(leaves, name)
    _check_layer_shapes(tree, name)
    return tree


def _kind(value: Any) -> str:
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"


def _is_canonical(params: Any) -> bool:
    return isinstance(params, Params) and all(type(f) is tuple for f in params)


def _check_dtypes(leaves: tuple[Any, ...], name: str) -> None:
    dtypes = {a.dtype for a in leaves}
    if len(dtypes) != 1 or dtypes - {np.dtype(np.float32), np.dtype(np.float64)}:
        raise ConfigError(f"{name} must be all float32 or all float64, got "
                          f"{sorted(map(str, dtypes))}")


def check_params(params: Any, name: str = "params") -> Params:
    """``as_params(params)``, also refusing NaN and inf (where training or saving starts)."""
    tree = as_params(params, name)
    if not all(np.isfinite(a).all() for a in (*tree.weights, *tree.biases)):
        raise ConfigError(f"{name} contain NaN or inf")
    return tree


def _check_layer_shapes(params: Params, name: str) -> None:
    ws, bs = params
    ok = len(ws) == len(bs) and all(w.ndim == 2 for w in ws) and all(b.ndim == 1 for b in bs)
    ok = ok and all(w.shape[0] == b.shape[0] for w, b in zip(ws, bs))
    ok = ok and all(a.shape[0] == b.shape[1] for a, b in pairwise(ws))
    if not ok:
        w_shapes, b_shapes = shapes(params)
        raise ConfigError(f"{name} have inconsistent layer shapes: weights {w_shapes}, "
                          f"biases {b_shapes}")
