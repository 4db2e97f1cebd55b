"""Optimizers as values, in the style of optax: gradient transformations you can compose.

A ``GradientTransformation`` is a pair of pure functions, ``init(params) -> state`` and
``update(grads, state, params) -> (updates, state)``; ``apply_updates(params, updates)`` adds
the updates. ``grads`` is the gradient of the mini-batch's mean cost. fnn's own values are
built the same way a user's would be, and compose with ``chain``:

>>> opt = chain(clip_by_global_norm(1.0), add_decayed_weights(5.0 / 50_000),
...             momentum(eta=0.1, mu=0.9))
>>> p = Params(weights=(np.array([[1.0]]),), biases=(np.array([0.0]),))
>>> g = Params(weights=(np.array([[0.5]]),), biases=(np.array([1.0]),))
>>> updates, state = opt.update(g, opt.init(p), p)
>>> apply_updates(p, updates).biases[0].tolist()     # clipped to norm 1, then -eta·g
[-0.08944271909999159]

Writing your own takes a few lines, e.g. sign descent:

>>> def sign_descent(eta):
...     def update(grads, state, params):
...         return tree_map(lambda g: -eta * np.sign(g), grads), state
...     return GradientTransformation(init=lambda params: (), update=update)
>>> apply_updates(p, sign_descent(0.1).update(g, (), p)[0]).weights[0].tolist()
[[0.9]]

States are tuples of ``Params`` trees and counters; nothing is changed in place. Training
with the plain ``gradient_descent`` (the default, ``fnn.sgd(..., eta=...)``) applies it the
way network2 rounds it, w ← (1 − η·λ/n)·w − (η/m)·Σ∇w: the same update, bit for bit
network2's; see ``fnn.training.sgd_step``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from fnn._bound import Bound, bind
from fnn._checks import choice, finite_float, fraction, non_negative_float, positive_float
from fnn.errors import ConfigError, FnnTypeError
from fnn.params import Grads, Params, tree_map, zeros_like

__all__ = [
    "GradientTransformation",
    "Kind",
    "State",
    "adam",
    "add_decayed_weights",
    "add_l1",
    "apply_updates",
    "chain",
    "clip_by_global_norm",
    "descent_rate",
    "global_norm",
    "gradient_descent",
    "kind_of",
    "learning_rate",
    "momentum",
    "nesterov",
    "scale",
    "scale_by_schedule",
    "scale_learning_rate",
    "with_learning_rate",
]

State = Any
"""An optimizer's state: a tuple of ``Params`` trees and counters (``()`` for none)."""
StepSchedule = Callable[[int], float]


class GradientTransformation(NamedTuple):
    """``init(params) -> state``; ``update(grads, state, params) -> (updates, state)``."""

    init: Callable[[Params], State]
    update: Callable[[Grads, State, Params], tuple[Grads, State]]


def apply_updates(params: Params, updates: Grads) -> Params:
    """``params + updates``, leaf by leaf (new arrays).

    >>> p = Params(weights=(np.ones((1, 1)),), biases=(np.ones(1),))
    >>> apply_updates(p, p).weights[0].tolist()
    [[2.0]]
    """
    return tree_map(np.add, params, updates)


def global_norm(tree: Params) -> float:
    """sqrt of the sum of squares of every leaf.

    >>> global_norm(Params(weights=(np.array([[3.0]]),), biases=(np.array([4.0]),)))
    5.0
    """
    return math.sqrt(sum(float(np.vdot(a, a)) for a in (*tree.weights, *tree.biases)))


def _no_state(params: Params) -> State:  # noqa: ARG001 (the init signature)
    return ()


def _transformation(update: Bound, init: Callable[[Params], State] = _no_state,
                    ) -> GradientTransformation:
    return GradientTransformation(init if isinstance(init, Bound) else bind(init), update)


# --------------------------------------------------------------------------- composing


def _chain_init(params: Params, *, links: tuple[GradientTransformation, ...]) -> State:
    return tuple(t.init(params) for t in links)


def _chain_update(grads: Grads, state: State, params: Params, *,
                  links: tuple[GradientTransformation, ...]) -> tuple[Grads, State]:
    new_state = []
    for t, link_state in zip(links, state):
        grads, updated = t.update(grads, link_state, params)
        new_state.append(updated)
    return grads, tuple(new_state)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """One transformation applying ``transforms`` in order; its state is the tuple of theirs.

    >>> p = Params(weights=(np.array([[2.0]]),), biases=(np.array([0.0]),))
    >>> t = chain(scale(0.5), gradient_descent(eta=1.0))
    >>> t.update(p, t.init(p), p)[0].weights[0].tolist()
    [[-1.0]]
    """
    if not transforms or not all(isinstance(t, GradientTransformation) for t in transforms):
        raise FnnTypeError(f"chain needs one or more GradientTransformations, got {transforms!r}")
    return GradientTransformation(bind(_chain_init, links=transforms),
                                  bind(_chain_update, links=transforms))


def _scale_update(grads: Grads, state: State, params: Params, *,  # noqa: ARG001
                  factor: float) -> tuple[Grads, State]:
    return tree_map(lambda g: factor * g, grads), state


def scale(factor: float) -> GradientTransformation:
    """Multiply the gradient by ``factor``.

    >>> p = Params(weights=(np.array([[2.0]]),), biases=(np.array([1.0]),))
    >>> scale(-0.5).update(p, (), p)[0].biases[0].tolist()
    [-0.5]
    """
    return _transformation(bind(_scale_update, factor=finite_float("factor", factor)))


def _count(params: Params) -> State:  # noqa: ARG001 (the init signature)
    return 0


def _scale_by_schedule_update(grads: Grads, state: State, params: Params, *,  # noqa: ARG001
                              schedule: StepSchedule) -> tuple[Grads, State]:
    factor = float(schedule(state))
    return tree_map(lambda g: factor * g, grads), state + 1


def scale_by_schedule(schedule: StepSchedule) -> GradientTransformation:
    """Multiply the gradient by ``schedule(count)``, count = updates made so far (0, 1, ...).

    ``schedule`` is any function of the step count, e.g. ``fnn.schedules.cosine_decay``;
    put it before an optimizer to scale its steps (its state counts the steps).

    >>> p = Params(weights=(np.array([[1.0]]),), biases=(np.array([1.0]),))
    >>> t = scale_by_schedule(lambda count: 0.5 ** count)
    >>> g1, s = t.update(p, t.init(p), p); g2, s = t.update(p, s, p)
    >>> g1.weights[0].tolist(), g2.weights[0].tolist(), s
    ([[1.0]], [[0.5]], 2)
    """
    if not callable(schedule):
        raise FnnTypeError(f"schedule must be a function of the step count, got {schedule!r}")
    return _transformation(bind(_scale_by_schedule_update, schedule=schedule), _count)


def _clip_update(grads: Grads, state: State, params: Params, *,  # noqa: ARG001
                 max_norm: float) -> tuple[Grads, State]:
    norm = global_norm(grads)
    if norm <= max_norm:
        return grads, state
    factor = max_norm / norm
    return tree_map(lambda g: g * factor, grads), state


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Scale the whole gradient down to global norm ``max_norm`` when it is longer.

    >>> p = Params(weights=(np.array([[3.0]]),), biases=(np.array([4.0]),))
    >>> clip_by_global_norm(1.0).update(p, (), p)[0].biases[0].tolist()
    [0.8]
    """
    return _transformation(bind(_clip_update, max_norm=positive_float("max_norm", max_norm)))


def _decay_update(grads: Grads, state: State, params: Params, *,
                  rate: float) -> tuple[Grads, State]:
    weights = tuple(g + rate * w for g, w in zip(grads.weights, params.weights))
    return Params(weights, grads.biases), state


def add_decayed_weights(rate: float) -> GradientTransformation:
    """Add ``rate``·W to the weights' gradient (biases untouched): L2 weight decay.

    network2's L2 term λ/(2n)·Σ‖W‖² has gradient (λ/n)·W, so ``rate = lmbda / n``.

    >>> p = Params(weights=(np.array([[2.0]]),), biases=(np.array([1.0]),))
    >>> add_decayed_weights(0.5).update(p, (), p)[0]
    Params(weights=(array([[3.]]),), biases=(array([1.]),))
    """
    return _transformation(bind(_decay_update, rate=non_negative_float("rate", rate)))


def _l1_update(grads: Grads, state: State, params: Params, *,
               rate: float) -> tuple[Grads, State]:
    weights = tuple(g + rate * np.sign(w) for g, w in zip(grads.weights, params.weights))
    return Params(weights, grads.biases), state


def add_l1(rate: float) -> GradientTransformation:
    """Add ``rate``·sgn(W) to the weights' gradient: the L1 term λ₁/n·Σ|w| with ``rate = l1 / n``.

    >>> p = Params(weights=(np.array([[-2.0, 0.0]]),), biases=(np.array([1.0]),))
    >>> add_l1(0.5).update(p, (), p)[0].weights[0].tolist()
    [[-2.5, 0.0]]
    """
    return _transformation(bind(_l1_update, rate=non_negative_float("rate", rate)))


# --------------------------------------------------------------------------- optimizers


def _descent_update(grads: Grads, state: State, params: Params, *,  # noqa: ARG001
                    eta: float) -> tuple[Grads, State]:
    return tree_map(lambda g: -eta * g, grads), state


def gradient_descent(eta: float) -> GradientTransformation:
    """Plain gradient descent: updates −η·g.

    Given to ``fnn.sgd`` on its own it is network2's update, applied with network2's
    arithmetic (see the module docstring); inside a ``chain`` it steps along the
    transformed gradient.

    >>> p = Params(weights=(np.array([[1.0]]),), biases=(np.array([0.0]),))
    >>> gradient_descent(eta=0.5).update(p, (), p)[0].weights[0].tolist()
    [[-0.5]]
    """
    return _transformation(bind(_descent_update, eta=positive_float("eta", eta)))


def _velocity(params: Params) -> State:
    return (zeros_like(params),)


def _momentum_update(grads: Grads, state: State, params: Params, *,  # noqa: ARG001
                     eta: float, mu: float) -> tuple[Grads, State]:
    v = tree_map(lambda v, g: mu * v - eta * g, state[0], grads)
    return v, (v,)


def momentum(eta: float, mu: float = 0.9) -> GradientTransformation:
    """The book's momentum-based gradient descent: v ← μ·v − η·g, updates v.

    >>> p = Params(weights=(np.array([[1.0]]),), biases=(np.array([0.0]),))
    >>> g = Params(weights=(np.array([[0.5]]),), biases=(np.array([1.0]),))
    >>> opt = momentum(eta=0.1, mu=0.9)
    >>> u1, s1 = opt.update(g, opt.init(p), p)
    >>> u2, s2 = opt.update(g, s1, apply_updates(p, u1))
    >>> u2.biases[0].tolist()   # 0.9·(-0.1) - 0.1
    [-0.19]
    """
    eta, mu = positive_float("eta", eta), fraction("mu", mu)
    return _transformation(bind(_momentum_update, eta=eta, mu=mu), _velocity)


def _nesterov_update(grads: Grads, state: State, params: Params, *,  # noqa: ARG001
                     eta: float, mu: float) -> tuple[Grads, State]:
    v = tree_map(lambda v, g: mu * v - eta * g, state[0], grads)
    return tree_map(lambda v, g: mu * v - eta * g, v, grads), (v,)


def nesterov(eta: float, mu: float = 0.9) -> GradientTransformation:
    """Nesterov momentum (Bengio et al.'s form): v ← μ·v − η·g, updates μ·v − η·g.

    >>> p = Params(weights=(np.array([[1.0]]),), biases=(np.array([0.0]),))
    >>> nesterov(eta=0.1, mu=0.5).update(p, nesterov(eta=0.1, mu=0.5).init(p), p)[0].weights
    (array([[-0.15]]),)
    """
    eta, mu = positive_float("eta", eta), fraction("mu", mu)
    return _transformation(bind(_nesterov_update, eta=eta, mu=mu), _velocity)


def _moments(params: Params) -> State:
    return (0, zeros_like(params), zeros_like(params))


def _adam_update(grads: Grads, state: State, params: Params, *,  # noqa: ARG001
                 eta: float, beta1: float, beta2: float, eps: float) -> tuple[Grads, State]:
    t = state[0] + 1
    m = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state[1], grads)
    v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * (g * g), state[2], grads)
    c1, c2 = 1 - beta1**t, 1 - beta2**t
    updates = tree_map(lambda m, v: -(eta * (m / c1) / (np.sqrt(v / c2) + eps)), m, v)
    return updates, (t, m, v)


def adam(eta: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
         eps: float = 1e-8) -> GradientTransformation:
    """Adam (Kingma & Ba): bias-corrected moments of g; state (t, m, v).

    >>> p = Params(weights=(np.array([[1.0]]),), biases=(np.array([0.0]),))
    >>> opt = adam(eta=0.01)
    >>> round(float(opt.update(p, opt.init(p), p)[0].weights[0][0, 0]), 6)   # about -eta
    -0.01
    """
    eta, eps = positive_float("eta", eta), positive_float("eps", eps)
    beta1, beta2 = fraction("beta1", beta1), fraction("beta2", beta2)
    return _transformation(bind(_adam_update, eta=eta, beta1=beta1, beta2=beta2, eps=eps),
                           _moments)


# --------------------------------------------------------------------------- learning rates


def _links(t: GradientTransformation) -> tuple[GradientTransformation, ...]:
    """The transformations of a chain, flattened; ``(t,)`` for anything else."""
    if isinstance(t.update, Bound) and t.update.fn is _chain_update:
        return tuple(link for inner in t.update.setting("links") for link in _links(inner))
    return (t,)


def _rates(t: GradientTransformation) -> list[float]:
    return [link.update.setting("eta") for link in _links(t)
            if isinstance(link.update, Bound) and link.update.setting("eta") is not None]


def learning_rate(t: GradientTransformation) -> float | None:
    """The learning rate η of ``t`` if it holds exactly one of fnn's optimizers, else None.

    >>> learning_rate(chain(clip_by_global_norm(1.0), momentum(eta=0.1)))
    0.1
    """
    rates = _rates(t)
    return rates[0] if len(rates) == 1 else None


def scale_learning_rate(t: GradientTransformation, factor: float) -> GradientTransformation:
    """``t`` with the η of each of fnn's optimizers in it multiplied by ``factor``.

    Raises ``ConfigError`` when ``t`` holds none (a user's own optimizer has no η fnn can
    change): epoch schedules work through this.

    >>> learning_rate(scale_learning_rate(momentum(eta=0.1, mu=0.5), 0.5))
    0.05
    """
    if not _rates(t):
        raise ConfigError(f"optimizer {t!r} has no learning rate eta fnn can scale (none of "
                          "fnn's optimizers is in it); an epoch schedule needs one")
    return t if factor == 1.0 else _map_rates(t, lambda eta: eta * factor)


def with_learning_rate(t: GradientTransformation, eta: float) -> GradientTransformation:
    """``t`` with the η of the one fnn optimizer in it set to ``eta``.

    >>> learning_rate(with_learning_rate(chain(scale(2.0), adam(eta=0.1)), 0.01))
    0.01
    """
    eta = positive_float("eta", eta)
    if len(_rates(t)) != 1:
        raise ConfigError(f"optimizer {t!r} must hold exactly one of fnn's optimizers (with a "
                          f"learning rate eta) to set its eta, it holds {len(_rates(t))}")
    return _map_rates(t, lambda _: eta)


def _map_rates(t: GradientTransformation, new: Callable[[float], float]) -> GradientTransformation:
    """``t`` with each built-in link's η replaced by ``new(η)``; other links unchanged."""
    update = t.update
    if not isinstance(update, Bound):
        return t
    if update.fn is _chain_update:
        links = tuple(_map_rates(link, new) for link in update.setting("links"))
        init = t.init.replace(links=links) if isinstance(t.init, Bound) else t.init
        return GradientTransformation(init, update.replace(links=links))
    eta = update.setting("eta")
    return t if eta is None else t._replace(update=update.replace(eta=new(eta)))


_KINDS = {"gradient_descent": _descent_update, "momentum": _momentum_update,
          "nesterov": _nesterov_update, "adam": _adam_update}


class Kind(NamedTuple):
    """Which of fnn's four optimizers a value is, and its settings (``eta``, ``mu``, ...)."""

    name: str
    settings: dict[str, float]


def kind_of(t: Any) -> Kind | None:
    """The ``Kind`` of ``t`` when it is exactly one of fnn's four optimizers (not a chain,
    not a user's own), else None: engines recognise what they can run by it.

    >>> kind_of(momentum(eta=0.1, mu=0.5))
    Kind(name='momentum', settings={'eta': 0.1, 'mu': 0.5})
    >>> kind_of(chain(momentum(eta=0.1))) is None
    True
    """
    update = getattr(t, "update", None)
    if not (isinstance(t, GradientTransformation) and isinstance(update, Bound)):
        return None
    name = next((k for k, fn in _KINDS.items() if update.fn is fn), None)
    return None if name is None else Kind(name, dict(update.settings))


def descent_rate(t: Any) -> float | None:
    """η when ``t`` is exactly ``gradient_descent(eta)``, else None: training then uses
    network2's arithmetic for the step (``fnn.training.sgd_step``)."""
    update = getattr(t, "update", None)
    if isinstance(t, GradientTransformation) and isinstance(update, Bound) and (
            update.fn is _descent_update):
        rate: float = update.setting("eta")
        return rate
    return None


# --------------------------------------------------------------------------- deprecated


def sgd(*, eta: float) -> GradientTransformation:
    """Deprecated name of ``gradient_descent`` (``fnn.sgd`` is the training function)."""
    warnings.warn("fnn.optimizers.sgd is renamed gradient_descent", DeprecationWarning,
                  stacklevel=2)
    return gradient_descent(eta)


def make_optimizer(name: str, **settings: float) -> GradientTransformation:
    """Deprecated: build optimizers as values (``momentum(eta=0.1, mu=0.9)``), or from a
    name with ``fnn.registry.optimizer``."""
    warnings.warn("make_optimizer is deprecated; call the optimizer itself, e.g. "
                  "fnn.optimizers.momentum(eta=0.1, mu=0.9)", DeprecationWarning, stacklevel=2)
    factories: dict[str, Callable[..., GradientTransformation]] = {
        "sgd": gradient_descent, "gradient_descent": gradient_descent, "momentum": momentum,
        "nesterov": nesterov, "adam": adam}
    factory: Callable[..., GradientTransformation] = choice("optimizer", name, factories)
    try:
        return factory(**settings)
    except TypeError:
        raise ConfigError(f"optimizer {name!r} does not take settings {sorted(settings)}") \
            from None
