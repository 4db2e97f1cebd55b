"""Costs as values: a name, the per-batch cost and the output-layer error.

A cost works from the output layer's weighted input ``z`` (not its activation
``a = σ(z)``): that keeps the cross-entropy finite and exact where σ(z) rounds
to 0 or 1, so no ``nan_to_num`` is needed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from fnn._checks import named, non_negative_float, positive_int
from fnn.activations import log_softmax, sigmoid, sigmoid_prime, softmax
from fnn.params import Array, Params, as_params

__all__ = ["BUILT_IN", "Cost", "cross_entropy", "l1_gradient", "l1_penalty", "l2_gradient",
           "l2_penalty", "log_likelihood", "quadratic"]


class Cost(NamedTuple):
    """``fn(z, y)``: mean over the batch of the per-example cost, as a float.
    ``delta(z, a, y)``: ∂C_x/∂z per example, shape (m, n_out), for backprop.
    ``output``: the output layer's activation the cost belongs with (σ, or softmax)."""

    name: str
    fn: Callable[[Array, Array], float]
    delta: Callable[[Array, Array, Array], Array]
    output: Callable[[Array], Array] = sigmoid


def _quadratic_fn(z: Array, y: Array) -> float:
    return float(0.5 * np.sum((sigmoid(z) - y) ** 2) / z.shape[0])


def _quadratic_delta(z: Array, a: Array, y: Array) -> Array:
    return (a - y) * sigmoid_prime(z)


def _cross_entropy_fn(z: Array, y: Array) -> float:
    # -y ln σ(z) - (1-y) ln(1-σ(z)) = max(z, 0) - y z + ln(1 + e^-|z|): no log of 0
    per_output = np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))
    return float(np.sum(per_output) / z.shape[0])


def _cross_entropy_delta(z: Array, a: Array, y: Array) -> Array:  # noqa: ARG001 (Cost API)
    return a - y


quadratic = Cost("quadratic", _quadratic_fn, _quadratic_delta)
"""C = ½‖a - y‖², δ = (a - y) ⊙ σ'(z).

>>> quadratic.fn(np.array([[0.0]]), np.array([[1.0]]))
0.125
"""

cross_entropy = Cost("cross_entropy", _cross_entropy_fn, _cross_entropy_delta)
"""C = -Σ [y ln a + (1 - y) ln(1 - a)], δ = a - y.

>>> cross_entropy.fn(np.array([[40.0]]), np.array([[0.0]]))
40.0
>>> cross_entropy.fn(np.array([[-1000.0]]), np.array([[1.0]]))
1000.0
"""



def _log_likelihood_fn(z: Array, y: Array) -> float:
    return float(-np.sum(y * log_softmax(z)) / z.shape[0])


log_likelihood = Cost("log_likelihood", _log_likelihood_fn, _cross_entropy_delta, softmax)
"""Softmax outputs with C = -ln a_y, computed through log-softmax; δ = a - y.

>>> log_likelihood.fn(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]])) == float(np.log(2))
True
>>> log_likelihood.fn(np.array([[-1000.0, 0.0]]), np.array([[1.0, 0.0]]))
1000.0
"""

BUILT_IN = (quadratic, cross_entropy, log_likelihood)
"""fnn's own costs (``fnn.registry`` names them for files and the command line)."""


def get_cost(name: Any) -> Cost:
    """Deprecated: pass the value (``fnn.cross_entropy``), or ``fnn.registry.cost(name)``."""
    warnings.warn("fnn.costs.get_cost is deprecated; pass the value (fnn.cross_entropy) or use "
                  "fnn.registry.cost(name)", DeprecationWarning, stacklevel=2)
    cost: Cost = named("cost", name, BUILT_IN)
    return cost


def l2_penalty(params: Any, lmbda: float, n: int) -> float:
    """The L2 term lmbda/(2n) · Σ‖W‖² over weight matrices only (biases are not decayed).

    >>> p = Params(weights=(np.ones((2, 3)),), biases=(np.ones(2),))
    >>> l2_penalty(p, lmbda=5.0, n=10)
    1.5
    """
    lmbda, n = non_negative_float("lmbda", lmbda), positive_int("n", n)
    return float(0.5 * lmbda / n * sum(np.vdot(w, w) for w in as_params(params).weights))


def l2_gradient(params: Any, lmbda: float, n: int) -> Params:
    """The gradient of ``l2_penalty``: (lmbda/n)·W for weights, zeros for biases.

    >>> p = Params(weights=(np.ones((1, 2)),), biases=(np.ones(1),))
    >>> l2_gradient(p, lmbda=5.0, n=10).weights[0].tolist()
    [[0.5, 0.5]]
    """
    scale = non_negative_float("lmbda", lmbda) / positive_int("n", n)
    params = as_params(params)
    return Params(weights=tuple(scale * w for w in params.weights),
                  biases=tuple(np.zeros_like(b) for b in params.biases))


def l1_penalty(params: Any, l1: float, n: int) -> float:
    """The L1 term l1/n · Σ|w| over weight matrices only (the book's λ/n Σ|w|).

    >>> p = Params(weights=(np.array([[1.0, -2.0]]),), biases=(np.ones(1),))
    >>> l1_penalty(p, l1=5.0, n=10)
    1.5
    """
    l1, n = non_negative_float("l1", l1), positive_int("n", n)
    return float(l1 / n * sum(np.abs(w).sum() for w in as_params(params).weights))


def l1_gradient(params: Any, l1: float, n: int) -> Params:
    """The (sub)gradient of ``l1_penalty``: (l1/n)·sgn(W), zeros for biases (sgn 0 = 0).

    >>> p = Params(weights=(np.array([[1.0, 0.0, -3.0]]),), biases=(np.ones(1),))
    >>> l1_gradient(p, l1=5.0, n=10).weights[0].tolist()
    [[0.5, 0.0, -0.5]]
    """
    scale = non_negative_float("l1", l1) / positive_int("n", n)
    params = as_params(params)
    return Params(weights=tuple(scale * np.sign(w) for w in params.weights),
                  biases=tuple(np.zeros_like(b) for b in params.biases))
