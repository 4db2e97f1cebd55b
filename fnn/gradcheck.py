"""Finite-difference gradient checks for any scalar function of ``Params``, and for fnn's nets.

``check_gradient`` compares every partial derivative with a central difference (2 evaluations
per parameter: for small nets); ``check_directional`` compares the derivative along one random
unit direction v, ``<grads, v>``, with (f(p + εv) - f(p - εv)) / 2ε (2 evaluations whatever the
size). An entry passes when |analytic - numerical| <= atol + rtol·|numerical| (by default
rtol 1e-5, atol 1e-7, ε 1e-6). ``check_backprop`` runs either check on ``fnn.backprop`` of a
net with your activation and cost, and names the hidden unit when a step crosses a kink.

A failure is one of two exceptions (both ``AssertionError``s, so a test fails either way):

- ``GradientMismatch``: the function is smooth within the step and the gradient is wrong;
  the message shows both numbers.
- ``NonDifferentiable``: the step crosses a point where the function bends (a ReLU unit at
  z = 0), so the central difference means nothing and there is no verdict on the gradient.
  Told apart by the one-sided differences (f(p+h) - f(p))/ε and (f(p) - f(p-h))/ε: across one
  kink they differ by twice the central difference's error, for a smooth f only by about
  ε·|f''|; so a failing entry is a kink when they differ by at least |analytic - central|.
  ``check_backprop`` also looks inside the net (``straddled_kinks``), which catches kinks
  that cancel out in the loss. A wrong gradient at another entry is always reported first.

>>> from fnn.params import Params
>>> p = Params(weights=(np.array([[1.0, -2.0]]),), biases=(np.array([0.5]),))
>>> loss = lambda q: float(np.sum(q.weights[0] ** 2) + 3 * q.biases[0][0])
>>> exact = Params(weights=(2 * p.weights[0],), biases=(np.array([3.0]),))
>>> check_gradient(loss, exact, p)
>>> check_gradient(loss, exact._replace(biases=(np.array([2.0]),)), p)
Traceback (most recent call last):
...
fnn.gradcheck.GradientMismatch: biases[0][0]: analytic 2.0, numerical 2.99999..., |diff| 0.99999... > 1e-07 + 1e-05 * 2.99999...
>>> bent = lambda q: float(np.abs(q.biases[0][0] - 0.5))   # |b - 0.5| at b = 0.5
>>> check_gradient(bent, Params(weights=(np.zeros((1, 2)),), biases=(np.ones(1),)), p)
Traceback (most recent call last):
...
fnn.gradcheck.NonDifferentiable: the loss is not differentiable within ±1e-06 along biases[0][0] (one-sided differences -0.99... below, 1.00... above, ...
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from fnn._checks import non_negative_float, positive_float, positive_int
from fnn.activations import SIGMOID, Activation, Hidden, per_layer
from fnn.costs import Cost, l2_gradient, l2_penalty
from fnn.data import as_batch
from fnn.errors import FnnError, FnnTypeError
from fnn.network import backprop, trace
from fnn.network import cost as batch_cost
from fnn.params import Array, Grads, Params, as_params, tree_map

__all__ = [
    "GradientMismatch",
    "Kink",
    "NonDifferentiable",
    "check_backprop",
    "check_directional",
    "check_gradient",
    "directional_derivative",
    "directional_error",
    "numerical_gradient",
    "random_direction",
    "straddled_kinks",
    "tree_vdot",
]

Loss = Callable[[Params], float]


class GradientMismatch(FnnError, AssertionError):
    """An analytic gradient disagrees with the finite difference beyond tolerance."""


class Kink(NamedTuple):
    """A hidden unit whose activation bends within a finite-difference step.

    ``trace(params, x).zs[layer][row, unit]`` is ``z``; the step moved it to ``low``..``high``
    (``z`` included), and the activation's secant slopes on the lower and the upper part of
    that range are ``slopes``: for ReLU at z = 0, (0.0, 1.0).
    """

    layer: int
    row: int
    unit: int
    z: float
    low: float
    high: float
    slopes: tuple[float, float]
    activation: str

    def describe(self) -> str:
        """One line: where, and what the activation does there."""
        return (f"kink at layer {self.layer} unit {self.unit} (row {self.row}): "
                f"zs[{self.layer}][{self.row}, {self.unit}] = {self.z!r} moved over "
                f"[{self.low!r}, {self.high!r}], where the activation {self.activation!r} "
                f"bends (secant slopes {self.slopes[0]!r} below, {self.slopes[1]!r} above)")


class NonDifferentiable(FnnError, AssertionError):
    """The finite-difference step crosses a kink: no verdict on the gradient.

    ``kinks`` holds the hidden units that bend within the step, largest effect first (empty
    when the check does not know the net, or the bend is in the cost).
    """

    def __init__(self, message: str, kinks: tuple[Kink, ...] = ()) -> None:
        super().__init__(message)
        self.kinks = kinks

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.args[0], self.kinks)


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


def _moved(params: Params, step: Params, sign: float) -> Params:
    """params + sign·step in float64 (a zero step leaves an entry exactly as it was)."""
    return tree_map(lambda p, h: p.astype(np.float64) + sign * h, params, step)


def _unit_step(params: Params, field: int, layer: int, index: tuple[int, ...],
               eps: float) -> Params:
    """The step of size ``eps`` along one entry: zeros elsewhere."""
    step = tree_map(lambda a: np.zeros(a.shape), params)
    step[field][layer][index] = eps
    return step


def _shifted(params: Params, field: int, layer: int, index: tuple[int, ...],
             delta: float) -> Params:
    """A copy of ``params`` with one entry moved by ``delta`` (the original is untouched)."""
    leaf = params[field][layer].astype(np.float64)  # a new array: perturb in float64
    leaf[index] += delta
    arrays = tuple(leaf if l == layer else a for l, a in enumerate(params[field]))
    return params._replace(**{params._fields[field]: arrays})


def _evaluations(loss: Loss, params: Params, eps: float) -> tuple[Params, Params]:
    """loss(p + ε e_j) and loss(p - ε e_j) for every entry j, as two trees."""
    def at(delta: float) -> Params:
        def leaf(field: int, layer: int, a: Array) -> Array:
            out = np.empty(a.shape)
            for index in np.ndindex(a.shape):
                out[index] = loss(_shifted(params, field, layer, index, delta))
            return out
        return Params(*(tuple(leaf(f, l, a) for l, a in enumerate(arrays))
                        for f, arrays in enumerate(params)))
    return at(eps), at(-eps)


def numerical_gradient(loss: Loss, params: Params, *, eps: float = 1e-6) -> Grads:
    """The central-difference gradient of ``loss`` at ``params``, entry by entry."""
    up, down = _evaluations(loss, params, eps)
    return tree_map(lambda u, d: (u - d) / (2 * eps), up, down)


class _Entry(NamedTuple):
    """One failing comparison: where, both values, f at p - h, p and p + h, and h itself."""

    where: str
    analytic: float
    numeric: float
    f: tuple[float, float, float]
    step: Callable[[], Params]  # made only when a kink is to be located

    def one_sided(self, eps: float) -> tuple[float, float]:
        below, at, above = self.f
        return (at - below) / eps, (above - at) / eps

    def is_kink(self, eps: float) -> bool:
        """Across one kink the one-sided differences differ by 2 × the central error."""
        lower, upper = self.one_sided(eps)
        return abs(upper - lower) >= abs(self.analytic - self.numeric)

    def along(self) -> str:
        return self.where if self.where.startswith("along") else f"along {self.where}"


def _mismatch(name: str, analytic: float, numeric: float, rtol: float, atol: float) -> str:
    return (f"{name}: analytic {analytic!r}, numerical {numeric!r}, "
            f"|diff| {abs(analytic - numeric)!r} > {atol!r} + {rtol!r} * {abs(numeric)!r}")


_NO_VERDICT = "a finite difference across a kink means nothing, so this is no verdict on the " \
              "gradient"
_OFF_KINKS = ("keep pre-activations off the kink, e.g. with fnn.strategies.nets(activation=..., "
              "kinks=(<where it bends>,))")


def _kink_message(entry: _Entry, eps: float, kinks: tuple[Kink, ...], net: _Net | None) -> str:
    lower, upper = entry.one_sided(eps)
    values = f"(analytic {entry.analytic!r}, central {entry.numeric!r})"
    if kinks:
        more = f" (and {len(kinks) - 1} more)" if len(kinks) > 1 else ""
        return (f"{kinks[0].describe()}{more}, as the step ±{eps!r} went {entry.along()}; "
                f"{_NO_VERDICT} {values}; {_OFF_KINKS}")
    sides = f"one-sided differences {lower!r} below, {upper!r} above"
    if net is None:
        return (f"the loss is not differentiable within ±{eps!r} {entry.along()} ({sides}, "
                f"apart by at least |analytic - central|); {_NO_VERDICT} {values}")
    return (f"no hidden unit bends within ±{eps!r} {entry.along()}, but the loss does "
            f"({sides}): {net.cost_bend(entry.step())}; {_NO_VERDICT} {values}")


def _verdict(entries: list[_Entry], eps: float, rtol: float, atol: float,
             net: _Net | None) -> None:
    """Raise for the worst wrong gradient, else for the worst kink (entries come worst first).

    An entry is a kink when its one-sided differences say so or, for a net, when a hidden
    unit bends within its step (two kinks can cancel in the loss, never in the unit).
    """
    first: tuple[_Entry, tuple[Kink, ...]] | None = None
    for entry in entries:
        kinks = () if net is None else net.kinks(entry.step())
        if not (kinks or entry.is_kink(eps)):
            raise GradientMismatch(_mismatch(entry.where, entry.analytic, entry.numeric, rtol,
                                             atol))
        first = first or (entry, kinks)
    assert first is not None
    raise NonDifferentiable(_kink_message(first[0], eps, first[1], net), first[1])


def _check_entries(loss: Loss, grads: Grads, params: Params, rtol: float, atol: float,
                   eps: float, net: _Net | None = None) -> None:
    up, down = _evaluations(loss, params, eps)
    failing: list[tuple[float, _Entry]] = []
    f0: list[float] = []  # loss(params), once, if anything fails
    for f, (gs, us, ds) in enumerate(zip(grads, up, down, strict=True)):
        for l, (g, u, d) in enumerate(zip(gs, us, ds, strict=True)):
            n = (u - d) / (2 * eps)
            excess = np.abs(g - n) - (atol + rtol * np.abs(n))
            for i in zip(*np.nonzero(excess > 0)):
                f0 = f0 or [loss(params)]
                where = f"{params._fields[f]}[{l}]" + "".join(f"[{k}]" for k in i)
                entry = _Entry(where, float(g[i]), float(n[i]), (float(d[i]), f0[0],
                                                                 float(u[i])),
                               partial(_unit_step, params, f, l, i, eps))
                failing.append((float(excess[i]), entry))
    if failing:
        _verdict([e for _, e in sorted(failing, key=lambda x: -x[0])], eps, rtol, atol, net)


def check_gradient(loss: Loss, grads: Grads, params: Params, *, rtol: float = 1e-5,
                   atol: float = 1e-7, eps: float = 1e-6) -> None:
    """Check every entry of ``grads`` against a central difference of ``loss``.

    Passes when |grads - numerical| <= atol + rtol·|numerical| everywhere. Otherwise raises
    ``GradientMismatch`` at the worst entry where ``loss`` is smooth within ±eps, or, when
    every failing entry's step crosses a kink, ``NonDifferentiable`` at the worst of those.
    """
    _check_entries(loss, grads, params, rtol, atol, eps)


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


def _check_along(loss: Loss, grads: Grads, params: Params, v: Params, rtol: float,
                 atol: float, eps: float, net: _Net | None = None) -> None:
    step = tree_map(lambda a: eps * a, v)
    up, down = loss(_moved(params, step, 1.0)), loss(_moved(params, step, -1.0))
    analytic, numeric = tree_vdot(grads, v), (up - down) / (2 * eps)
    if abs(analytic - numeric) > atol + rtol * abs(numeric):
        entry = _Entry("along a random direction", analytic, numeric,
                       (down, loss(params), up), lambda: step)
        _verdict([entry], eps, rtol, atol, net)


def check_directional(loss: Loss, grads: Grads, params: Params, *, rng: np.random.Generator,
                      rtol: float = 1e-5, atol: float = 1e-7, eps: float = 1e-6) -> None:
    """Check the derivative along one random unit direction v drawn from ``rng``.

    Passes when |<grads, v> - numerical| <= atol + rtol·|numerical|; otherwise raises
    ``GradientMismatch``, or ``NonDifferentiable`` when the step ±εv crosses a kink.

    >>> from fnn.params import Params
    >>> p = Params(weights=(np.array([[1.0, -2.0]]),), biases=(np.array([0.5]),))
    >>> loss = lambda q: float(np.sum(q.weights[0] ** 2))
    >>> good = Params(weights=(2 * p.weights[0],), biases=(np.zeros(1),))
    >>> check_directional(loss, good, p, rng=np.random.default_rng(0))
    """
    _check_along(loss, grads, params, random_direction(params, rng), rtol, atol, eps)


# --------------------------------------------------------------------------- fnn's nets


def _secants(act: Activation, low: Array, at: Array, high: Array) -> tuple[Array, Array, Array]:
    """The activation's secant slopes on [low, at] and [at, high], and where both exist."""
    d_low, d_high = at - low, high - at
    a_low, a_at, a_high = act.fn(low), act.fn(at), act.fn(high)
    defined = (d_low != 0) & (d_high != 0)
    s_low = np.divide(a_at - a_low, d_low, out=np.zeros_like(at), where=defined)
    s_high = np.divide(a_high - a_at, d_high, out=np.zeros_like(at), where=defined)
    # what rounding alone can make of a slope over so short a range
    size = np.maximum(np.maximum(np.abs(a_low), np.abs(a_at)), np.abs(a_high))
    shortest = np.minimum(np.abs(d_low), np.abs(d_high))
    noise = np.divide(8 * np.spacing(size), shortest, out=np.full_like(at, np.inf),
                      where=defined)
    bent = defined & (np.abs(s_high - s_low) > 1e-3 * np.maximum(
        1.0, np.maximum(np.abs(s_low), np.abs(s_high))) + noise)
    return s_low, s_high, bent


def _layer_kinks(layer: int, act: Activation, zs: tuple[Array, Array, Array]) -> list[Kink]:
    low, at, high = zs
    s_low, s_high, bent = _secants(act, low, at, high)
    lo, hi = np.minimum(np.minimum(low, at), high), np.maximum(np.maximum(low, at), high)
    return [Kink(layer, int(r), int(u), float(at[r, u]), float(lo[r, u]), float(hi[r, u]),
                 (float(s_low[r, u]), float(s_high[r, u])), act.name)
            for r, u in zip(*np.nonzero(bent))]


def _effect(kink: Kink) -> float:
    return abs(kink.slopes[1] - kink.slopes[0]) * (kink.high - kink.low)


def straddled_kinks(params: Any, x: Array, step: Any, *,
                    activation: Hidden = SIGMOID) -> tuple[Kink, ...]:
    """The hidden units whose activation bends between params - step and params + step.

    Compares, for every hidden pre-activation z of ``trace`` on ``x``, the activation's
    secant slopes on the two halves of the range the step moves z over: they agree to about
    |Δz|·|fn''| where ``fn`` is smooth, and differ by the jump in slope across a kink. The
    largest effect (jump × range) comes first. Any activation works: nothing needs to know
    where its kinks are.

    >>> from fnn.activations import RELU
    >>> p = Params(weights=(np.ones((2, 1)), np.ones((1, 2))),
    ...            biases=(np.array([0.0, 1.0]), np.zeros(1)))
    >>> step = Params(weights=(np.zeros((2, 1)), np.zeros((1, 2))),
    ...               biases=(np.full(2, 1e-6), np.zeros(1)))
    >>> [(k.layer, k.row, k.unit, k.slopes) for k in
    ...  straddled_kinks(p, np.zeros((1, 1)), step, activation=RELU)]
    [(0, 0, 0, (0.0, 1.0))]
    """
    p = as_params(params)
    h = as_params(step, "step")
    acts = per_layer(activation, len(p.weights) - 1)
    x = np.asarray(x, dtype=np.float64)
    low, at, high = (trace(_moved(p, h, sign), x, activation=acts).zs[:-1]
                     for sign in (-1.0, 0.0, 1.0))
    kinks = [k for l, act in enumerate(acts) for k in _layer_kinks(l, act, (low[l], at[l],
                                                                              high[l]))]
    return tuple(sorted(kinks, key=_effect, reverse=True))


class _Net(NamedTuple):
    """What ``check_backprop`` knows about the loss: the net, its batch, cost and activations."""

    params: Params
    x: Array
    y: Array
    cost: Cost
    acts: tuple[Activation, ...]

    def kinks(self, step: Params) -> tuple[Kink, ...]:
        return straddled_kinks(self.params, self.x, step, activation=self.acts)

    def cost_bend(self, step: Params) -> str:
        """Where the cost itself bends most within the step: a sentence."""
        low, at, high = (trace(_moved(self.params, step, sign), self.x,
                               activation=self.acts).zs[-1] for sign in (-1.0, 0.0, 1.0))
        rows = [[self.cost.fn(z[r:r + 1], self.y[r:r + 1]) for z in (low, at, high)]
                for r in range(self.x.shape[0])]
        r = int(np.argmax([abs(c[2] - 2 * c[1] + c[0]) for c in rows]))
        return (f"the kink is in the cost {self.cost.name!r} (or its output activation), most "
                f"at row {r}, output z {at[r].tolist()!r}")


def _the_cost(value: Any) -> Cost:
    if not isinstance(value, Cost):
        raise FnnTypeError(f"cost must be an fnn Cost such as fnn.cross_entropy, got {value!r}")
    return value


def check_backprop(params: Any, batch: Any, cost: Cost, *, activation: Hidden = SIGMOID,
                   lmbda: float = 0.0, n: int = 1, rng: np.random.Generator | None = None,
                   rtol: float = 1e-5, atol: float = 1e-7, eps: float = 1e-6) -> None:
    """Check ``backprop`` (+ the L2 gradient) of a net against finite differences of its cost.

    The loss is ``fnn.cost(p, x, y, cost=cost, activation=activation) + l2_penalty(p, lmbda,
    n)``; ``batch`` is any ``(x, y)`` pair (one-hot rows or integer labels). Entry by entry
    (``check_gradient``), or along one random direction drawn from ``rng`` when given
    (``check_directional``: 2 evaluations, for wide nets); the same tolerances. When the step
    crosses a kink, ``NonDifferentiable`` names the unit: "kink at layer L unit U (row R)", L
    and R, U indexing ``trace(...).zs[L][R, U]`` and the hidden unit whose activation bends;
    its ``kinks`` lists every such unit. Draw nets away from kinks with
    ``fnn.strategies.nets(activation=..., kinks=...)``. The check runs in float64.

    >>> from fnn.activations import RELU
    >>> from fnn.costs import cross_entropy
    >>> p = Params(weights=(np.zeros((1, 1)), np.ones((1, 1))), biases=(np.zeros(1),
    ...                                                                 np.zeros(1)))
    >>> batch = (np.zeros((1, 1)), np.array([0]))
    >>> check_backprop(p, batch, cross_entropy)                   # sigmoid: smooth
    >>> check_backprop(p, batch, cross_entropy, activation=RELU)  # z = 0: ReLU's kink
    Traceback (most recent call last):
    ...
    fnn.gradcheck.NonDifferentiable: kink at layer 0 unit 0 (row 0): zs[0][0, 0] = 0.0 moved over [-1e-06, 1e-06], where the activation 'relu' bends (secant slopes 0.0 below, 1.0 above)...
    """
    p = tree_map(lambda a: a.astype(np.float64), as_params(params))  # checks run in float64
    xy = as_batch(batch, n_in=p.weights[0].shape[1], n_out=p.weights[-1].shape[0],
                  dtype=np.float64)
    xy, the_cost = xy._replace(x=xy.x.astype(np.float64)), _the_cost(cost)
    acts = per_layer(activation, len(p.weights) - 1)
    lmbda, n = non_negative_float("lmbda", lmbda), positive_int("n", n)
    rtol, atol = non_negative_float("rtol", rtol), non_negative_float("atol", atol)
    eps = positive_float("eps", eps)

    def loss(q: Params) -> float:
        value = batch_cost(q, xy.x, xy.y, cost=the_cost, activation=acts)
        return value + l2_penalty(q, lmbda, n)

    grads = tree_map(np.add, backprop(p, xy.x, xy.y, the_cost, activation=acts),
                     l2_gradient(p, lmbda, n))
    net = _Net(p, xy.x, xy.y, the_cost, acts)
    if rng is None:
        _check_entries(loss, grads, p, rtol, atol, eps, net)
    else:
        _check_along(loss, grads, p, random_direction(p, rng), rtol, atol, eps, net)
