"""The forward pass, the cost of a batch and its exact gradient, a whole batch at a time.

Examples are rows: ``x`` is (m, n_in) and a layer computes ``z = a @ w.T + b``.
"""

from __future__ import annotations

from typing import NamedTuple

from fnn.activations import sigmoid, sigmoid_prime
from fnn.costs import Cost
from fnn.params import Array, Grads, Params

__all__ = ["Trace", "backprop", "cost", "forward", "summed_gradient", "trace"]


class Trace(NamedTuple):
    """What the forward pass leaves for backprop: ``zs[l]`` and ``activations[l]``.

    ``activations[0]`` is the input; ``zs[l]`` feeds ``activations[l + 1]``.
    """

    zs: tuple[Array, ...]
    activations: tuple[Array, ...]


def trace(params: Params, x: Array) -> Trace:
    """The weighted inputs and activations of every layer for the batch ``x``.

    >>> from fnn.params import init_params
    >>> t = trace(init_params([3, 4, 2], seed=0), np.zeros((5, 3)))
    >>> [a.shape for a in t.activations], [z.shape for z in t.zs]
    ([(5, 3), (5, 4), (5, 2)], [(5, 4), (5, 2)])
    """
    zs: list[Array] = []
    activations = [x]
    for w, b in zip(params.weights, params.biases):
        zs.append(activations[-1] @ w.T + b)
        activations.append(sigmoid(zs[-1]))
    return Trace(tuple(zs), tuple(activations))


def forward(params: Params, x: Array) -> Array:
    """The output activations, shape (m, n_out), for the batch ``x`` of shape (m, n_in).

    >>> from fnn.params import init_params
    >>> forward(init_params([784, 30, 10], seed=0), np.zeros((7, 784))).shape
    (7, 10)
    """
    a = x
    for w, b in zip(params.weights, params.biases):
        a = sigmoid(a @ w.T + b)
    return a


def _output_z(params: Params, x: Array) -> Array:
    a = x
    for w, b in zip(params.weights[:-1], params.biases[:-1]):
        a = sigmoid(a @ w.T + b)
    return a @ params.weights[-1].T + params.biases[-1]


def cost(params: Params, x: Array, y: Array, *, cost: Cost) -> float:
    """The mean over the batch of the per-example ``cost`` (no L2 term).

    ``y`` is one-hot, shape (m, n_out).

    >>> from fnn.params import init_params
    >>> from fnn.costs import cross_entropy
    >>> p = init_params([2, 1], seed=0)._replace(weights=(np.zeros((1, 2)),), biases=(np.zeros(1),))
    >>> round(cost(p, np.zeros((3, 2)), np.ones((3, 1)), cost=cross_entropy), 6)  # ln 2
    0.693147
    """
    return cost.fn(_output_z(params, x), y)


def summed_gradient(params: Params, x: Array, y: Array, cost: Cost) -> Grads:
    """The gradient of the per-example cost summed over the batch (network2's nabla sums)."""
    zs, acts = trace(params, x)
    delta = cost.delta(zs[-1], acts[-1], y)
    gw, gb = [delta.T @ acts[-2]], [delta.sum(axis=0)]
    for l in range(len(zs) - 2, -1, -1):
        delta = (delta @ params.weights[l + 1]) * sigmoid_prime(zs[l])
        gw.append(delta.T @ acts[l])
        gb.append(delta.sum(axis=0))
    return Params(weights=tuple(reversed(gw)), biases=tuple(reversed(gb)))


def backprop(params: Params, x: Array, y: Array, cost: Cost) -> Grads:
    """The exact gradient of ``cost(params, x, y, cost=cost)`` (mean over the batch).

    >>> from fnn.params import init_params, shapes
    >>> from fnn.costs import quadratic
    >>> p = init_params([3, 4, 2], seed=0)
    >>> shapes(backprop(p, np.ones((5, 3)), np.ones((5, 2)), quadratic)) == shapes(p)
    True
    """
    summed = summed_gradient(params, x, y, cost)
    scale = 1.0 / x.shape[0]
    return Params(weights=tuple(g * scale for g in summed.weights),
                  biases=tuple(g * scale for g in summed.biases))
