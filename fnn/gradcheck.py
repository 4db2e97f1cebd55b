"""Finite-difference gradient checks for any scalar function of ``Params``.

Two checks: ``check_gradient`` compares every partial derivative with a central
difference (2 evaluations per parameter: for small nets), and
``check_directional`` compares the derivative along one random unit direction v,
``<grads, v>``, with (f(p + εv) - f(p - εv)) / 2ε (2 evaluations whatever the size).
Both raise ``GradientMismatch`` (an AssertionError) showing both numbers.

>>> from fnn.params import Params
>>> p = Params(weights=(np.array([[1.0, -2.0]]),), biases=(np.array([0.5]),))
>>> loss = lambda q: float(np.sum(q.weights[0] ** 2) + 3 * q.biases[0][0])
>>> exact = Params(weights=(2 * p.weights[0],), biases=(np.array([3.0]),))
>>> check_gradient(loss, exact, p)
>>> check_gradient(loss, exact._replace(biases=(np.array([2.0]),)), p)
Traceback (most recent call last):
...
fnn.gradcheck.GradientMismatch: biases[0][0]: analytic 2.0, numerical 2.99999..., |diff| 0.99999... > 1e-07 + 1e-05 * 2.99999...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from fnn.params import Array, Grads, Params, tree_map

__all__ = [
    "GradientMismatch",
    "check_directional",
    "check_gradient",
    "directional_derivative",
    "directional_error",
    "numerical_gradient",
    "random_direction",
    "tree_vdot",
]

Loss = Callable[[Params], float]


class GradientMismatch(AssertionError):
    """An analytic gradient disagrees with the finite difference beyond tolerance."""


def tree_vdot(a: Params, b: Params) -> float:
    """Σ over leaves of <a_leaf, b_leaf>.

    >>> p = Params(weights=(np.ones((2, 2)),), biases=(np.ones(2),))
    >>> tree_vdot(p, p)
    6.0
    """
    return float(sum(np.vdot(x, y) for x, y in zip((*a.weights, *a.biases),
                                                   (*b.weights, *b.biases), strict=True)))


def random_direction(params: Params, rng: np.random.Generator) -> Params:
    """A unit-norm direction in parameter space, drawn from ``rng`` (shapes of ``params``)."""
    v = tree_map(lambda a: rng.standard_normal(a.shape), params)
    return tree_map(lambda a: a / np.sqrt(tree_vdot(v, v)), v)


def _leaves(tree: Params) -> Iterator[tuple[str, Array]]:
    for field, arrays in zip(tree._fields, tree, strict=True):
        for l, a in enumerate(arrays):
            yield f"{field}[{l}]", a


def _shifted(params: Params, field: int, layer: int, index: tuple[int, ...],
             delta: float) -> Params:
    """A copy of ``params`` with one entry moved by ``delta`` (the original is untouched)."""
    leaf = params[field][layer].astype(np.float64)  # a new array: perturb in float64
    leaf[index] += delta
    arrays = tuple(leaf if l == layer else a for l, a in enumerate(params[field]))
    return params._replace(**{params._fields[field]: arrays})


def numerical_gradient(loss: Loss, params: Params, *, eps: float = 1e-6) -> Grads:
    """The central-difference gradient of ``loss`` at ``params``, entry by entry."""
    def partials(field: int, layer: int, leaf: Array) -> Array:
        out = np.empty(leaf.shape)
        for index in np.ndindex(leaf.shape):
            up = loss(_shifted(params, field, layer, index, eps))
            down = loss(_shifted(params, field, layer, index, -eps))
            out[index] = (up - down) / (2 * eps)
        return out
    return Params(*(tuple(partials(f, l, a) for l, a in enumerate(arrays))
                    for f, arrays in enumerate(params)))


def _mismatch(name: str, analytic: float, numeric: float, rtol: float, atol: float) -> str:
    return (f"{name}: analytic {analytic!r}, numerical {numeric!r}, "
            f"|diff| {abs(analytic - numeric)!r} > {atol!r} + {rtol!r} * {abs(numeric)!r}")


def check_gradient(loss: Loss, grads: Grads, params: Params, *, rtol: float = 1e-5,
                   atol: float = 1e-7, eps: float = 1e-6) -> None:
    """Raise GradientMismatch at the worst entry where |grads - numerical| > atol + rtol·|numerical|."""
    numeric = numerical_gradient(loss, params, eps=eps)
    worst: tuple[float, str] | None = None
    for (name, g), (_, n) in zip(_leaves(grads), _leaves(numeric), strict=True):
        excess = np.abs(g - n) - (atol + rtol * np.abs(n))
        if excess.size and excess.max() > 0 and (worst is None or excess.max() > worst[0]):
            i = np.unravel_index(np.argmax(excess), excess.shape)
            where = name + "".join(f"[{k}]" for k in i)
            worst = (float(excess.max()), _mismatch(where, float(g[i]), float(n[i]), rtol, atol))
    if worst is not None:
        raise GradientMismatch(worst[1])


def directional_derivative(loss: Loss, params: Params, direction: Params, *,
                           eps: float = 1e-6) -> float:
    """(loss(p + εv) - loss(p - εv)) / 2ε: the derivative of ``loss`` along ``direction``."""
    def moved(sign: float) -> Params:
        return tree_map(lambda p, v: p.astype(np.float64) + sign * eps * v, params, direction)
    return (loss(moved(1.0)) - loss(moved(-1.0))) / (2 * eps)


def directional_error(loss: Loss, grads: Grads, params: Params, *, rng: np.random.Generator,
                      eps: float = 1e-6) -> float:
    """|<grads, v> - numerical| / max(|<grads, v>|, |numerical|, 1e-12) along a random v."""
    v = random_direction(params, rng)
    analytic, numeric = tree_vdot(grads, v), directional_derivative(loss, params, v, eps=eps)
    return abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-12)


def check_directional(loss: Loss, grads: Grads, params: Params, *, rng: np.random.Generator,
                      rtol: float = 1e-5, atol: float = 1e-7, eps: float = 1e-6) -> None:
    """Raise GradientMismatch if the derivative along a random direction disagrees.

    >>> from fnn.params import Params
    >>> p = Params(weights=(np.array([[1.0, -2.0]]),), biases=(np.array([0.5]),))
    >>> loss = lambda q: float(np.sum(q.weights[0] ** 2))
    >>> good = Params(weights=(2 * p.weights[0],), biases=(np.zeros(1),))
    >>> check_directional(loss, good, p, rng=np.random.default_rng(0))
    """
    v = random_direction(params, rng)
    analytic, numeric = tree_vdot(grads, v), directional_derivative(loss, params, v, eps=eps)
    if abs(analytic - numeric) > atol + rtol * abs(numeric):
        raise GradientMismatch(_mismatch("along a random direction", analytic, numeric,
                                         rtol, atol))
