"""Optimizers as values, in the style of optax: a pair of pure functions.

``init(params) -> state`` and ``update(grads, state, params) -> (new_params, new_state)``.
``grads`` is the full gradient of the objective (the mean cost gradient plus any L2/L1
term), so an optimizer knows nothing of regularization. States are tuples of ``Params``
trees and counters; nothing is changed in place.

>>> from fnn.params import Params
>>> p = Params(weights=(np.array([[1.0]]),), biases=(np.array([0.0]),))
>>> g = Params(weights=(np.array([[0.5]]),), biases=(np.array([1.0]),))
>>> opt = momentum(eta=0.1, mu=0.9)
>>> p1, s1 = opt.update(g, opt.init(p), p)
>>> p2, s2 = opt.update(g, s1, p1)
>>> p2.weights[0].tolist(), s2[0].biases[0].tolist()   # v = -0.1 then 0.9·(-0.1) - 0.1
([[0.855]], [-0.19])
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from fnn._checks import choice, fraction, positive_float
from fnn.errors import ConfigError
from fnn.params import Grads, Params, tree_map, zeros_like

__all__ = ["OPTIMIZERS", "Optimizer", "State", "adam", "make_optimizer", "momentum", "nesterov",
           "sgd"]

State = tuple[Any, ...]


class Optimizer(NamedTuple):
    """``init(params) -> state``; ``update(grads, state, params) -> (params, state)``.

    ``name`` and ``settings`` (eta and the rest) describe it for records and checkpoints.
    """

    name: str
    init: Callable[[Params], State]
    update: Callable[[Grads, State, Params], tuple[Params, State]]
    settings: dict[str, float]


def _no_state(params: Params) -> State:  # noqa: ARG001 (the Optimizer signature)
    return ()


def sgd(*, eta: float) -> Optimizer:
    """Plain gradient descent, p ← p - eta·g (with L2 in g: network2's weight decay).

    ``fnn.sgd_step`` computes the same update as (eta/m)·Σ∇ in network2's order of
    operations; training with the default optimizer uses that exact formula.
    """
    eta = positive_float("eta", eta)

    def update(grads: Grads, state: State, params: Params) -> tuple[Params, State]:
        return tree_map(lambda p, g: p - eta * g, params, grads), state

    return Optimizer("sgd", _no_state, update, {"eta": eta})


def _velocity(params: Params) -> State:
    return (zeros_like(params),)


def momentum(*, eta: float, mu: float = 0.9) -> Optimizer:
    """The book's momentum-based gradient descent: v ← mu·v - eta·g, p ← p + v."""
    eta, mu = positive_float("eta", eta), fraction("mu", mu)

    def update(grads: Grads, state: State, params: Params) -> tuple[Params, State]:
        v = tree_map(lambda v, g: mu * v - eta * g, state[0], grads)
        return tree_map(np.add, params, v), (v,)

    return Optimizer("momentum", _velocity, update, {"eta": eta, "mu": mu})


def nesterov(*, eta: float, mu: float = 0.9) -> Optimizer:
    """Nesterov momentum (Bengio et al.'s form): v ← mu·v - eta·g, p ← p + mu·v - eta·g."""
    eta, mu = positive_float("eta", eta), fraction("mu", mu)

    def update(grads: Grads, state: State, params: Params) -> tuple[Params, State]:
        v = tree_map(lambda v, g: mu * v - eta * g, state[0], grads)
        return tree_map(lambda p, v, g: p + mu * v - eta * g, params, v, grads), (v,)

    return Optimizer("nesterov", _velocity, update, {"eta": eta, "mu": mu})


def _moments(params: Params) -> State:
    return (0, zeros_like(params), zeros_like(params))


def adam(*, eta: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
         eps: float = 1e-8) -> Optimizer:
    """Adam (Kingma & Ba): bias-corrected first and second moments of g; state (t, m, v)."""
    eta, eps = positive_float("eta", eta), positive_float("eps", eps)
    beta1, beta2 = fraction("beta1", beta1), fraction("beta2", beta2)

    def update(grads: Grads, state: State, params: Params) -> tuple[Params, State]:
        t = state[0] + 1
        m = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state[1], grads)
        v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * (g * g), state[2], grads)
        c1, c2 = 1 - beta1**t, 1 - beta2**t
        new = tree_map(lambda p, m, v: p - eta * (m / c1) / (np.sqrt(v / c2) + eps),
                       params, m, v)
        return new, (t, m, v)

    return Optimizer("adam", _moments, update,
                     {"eta": eta, "beta1": beta1, "beta2": beta2, "eps": eps})


OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adam": adam}


def make_optimizer(name: str, **settings: float) -> Optimizer:
    """The optimizer ``name`` built with ``settings`` (eta, mu, beta1, beta2, eps).

    >>> make_optimizer("momentum", eta=0.5, mu=0.5).settings
    {'eta': 0.5, 'mu': 0.5}
    >>> make_optimizer("rmsprop", eta=0.1)
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: unknown optimizer 'rmsprop'; expected one of ['adam', 'momentum', 'nesterov', 'sgd']
    """
    factory = choice("optimizer", name, OPTIMIZERS)
    try:
        optimizer: Optimizer = factory(**settings)
    except TypeError:
        allowed = sorted(inspect.signature(factory).parameters)
        raise ConfigError(f"optimizer {name!r} takes settings {allowed}, "
                          f"got {sorted(settings)}") from None
    return optimizer
