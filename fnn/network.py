"""The forward pass, the cost of a batch and its exact gradient, a whole batch at a time.

Examples are rows: ``x`` is (m, n_in) and a layer computes ``z = a @ w.T + b``. Hidden layers
use ``activation`` (one ``Activation`` for all, or a tuple with one per hidden layer; sigmoid
by default); the output layer uses the activation that belongs with the cost (``cost.output``:
σ, or softmax for ``log_likelihood``). ``masks`` (inverted dropout) multiply the hidden
activations: one (m, n_l) array per hidden layer, or None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from fnn.activations import SIGMOID, Activation, sigmoid
from fnn.costs import Cost
from fnn.errors import ConfigError
from fnn.params import Array, Grads, Params

__all__ = ["Hidden", "Trace", "backprop", "cost", "forward", "hidden_activations",
           "summed_gradient", "trace"]

Hidden = Activation | Sequence[Activation]
Masks = Sequence[Array] | None


class Trace(NamedTuple):
    """What the forward pass leaves for backprop: ``zs[l]`` and ``activations[l]``.

    ``activations[0]`` is the input; ``zs[l]`` feeds ``activations[l + 1]``.
    """

    zs: tuple[Array, ...]
    activations: tuple[Array, ...]


def hidden_activations(activation: Hidden, n_hidden: int) -> tuple[Activation, ...]:
    """One Activation per hidden layer from ``activation`` (a single one, or one per layer).

    >>> [a.name for a in hidden_activations(SIGMOID, 2)]
    ['sigmoid', 'sigmoid']
    """
    if isinstance(activation, Activation):
        return (activation,) * n_hidden
    acts = tuple(activation)
    if len(acts) != n_hidden:
        raise ConfigError(f"activation needs one entry per hidden layer ({n_hidden}), "
                          f"got {[a.name for a in acts]}")
    return acts


def trace(params: Params, x: Array, *, activation: Hidden = SIGMOID,
          output: Callable[[Array], Array] = sigmoid, masks: Masks = None) -> Trace:
    """The weighted inputs and activations of every layer for the batch ``x``.

    >>> from fnn.params import init_params
    >>> t = trace(init_params([3, 4, 2], seed=0), np.zeros((5, 3)))
    >>> [a.shape for a in t.activations], [z.shape for z in t.zs]
    ([(5, 3), (5, 4), (5, 2)], [(5, 4), (5, 2)])
    """
    acts = hidden_activations(activation, len(params.weights) - 1)
    zs: list[Array] = []
    activations = [x]
    for l, (w, b) in enumerate(zip(params.weights, params.biases)):
        zs.append(activations[-1] @ w.T + b)
        if l == len(acts):
            activations.append(output(zs[-1]))
        elif masks is None:
            activations.append(acts[l].fn(zs[-1]))
        else:
            activations.append(acts[l].fn(zs[-1]) * masks[l])
    return Trace(tuple(zs), tuple(activations))


def forward(params: Params, x: Array, *, activation: Hidden = SIGMOID,
            output: Callable[[Array], Array] = sigmoid) -> Array:
    """The output activations, shape (m, n_out), for the batch ``x`` of shape (m, n_in).

    >>> from fnn.params import init_params
    >>> forward(init_params([784, 30, 10], seed=0), np.zeros((7, 784))).shape
    (7, 10)
    """
    return trace(params, x, activation=activation, output=output).activations[-1]


def cost(params: Params, x: Array, y: Array, *, cost: Cost, activation: Hidden = SIGMOID,
         masks: Masks = None) -> float:
    """The mean over the batch of the per-example ``cost`` (no L2 term).

    ``y`` is one-hot, shape (m, n_out).

    >>> from fnn.params import init_params
    >>> from fnn.costs import cross_entropy
    >>> p = init_params([2, 1], seed=0)._replace(weights=(np.zeros((1, 2)),), biases=(np.zeros(1),))
    >>> round(cost(p, np.zeros((3, 2)), np.ones((3, 1)), cost=cross_entropy), 6)  # ln 2
    0.693147
    """
    return cost.fn(trace(params, x, activation=activation, masks=masks).zs[-1], y)


def summed_gradient(params: Params, x: Array, y: Array, cost: Cost, *,
                    activation: Hidden = SIGMOID, masks: Masks = None) -> Grads:
    """The gradient of the per-example cost summed over the batch (network2's nabla sums)."""
    acts = hidden_activations(activation, len(params.weights) - 1)
    zs, a = trace(params, x, activation=acts, output=cost.output, masks=masks)
    delta = cost.delta(zs[-1], a[-1], y)
    gw, gb = [delta.T @ a[-2]], [delta.sum(axis=0)]
    for l in range(len(zs) - 2, -1, -1):
        if masks is None:
            delta = (delta @ params.weights[l + 1]) * acts[l].prime(zs[l], a[l + 1])
        else:  # a[l + 1] holds the masked activation; prime wants fn(z) itself
            unmasked = acts[l].fn(zs[l])
            delta = (delta @ params.weights[l + 1]) * acts[l].prime(zs[l], unmasked) * masks[l]
        gw.append(delta.T @ a[l])
        gb.append(delta.sum(axis=0))
    return Params(weights=tuple(reversed(gw)), biases=tuple(reversed(gb)))


def backprop(params: Params, x: Array, y: Array, cost: Cost, *, activation: Hidden = SIGMOID,
             masks: Masks = None) -> Grads:
    """The exact gradient of ``cost(params, x, y, cost=cost, ...)`` (mean over the batch).

    >>> from fnn.params import init_params, shapes
    >>> from fnn.costs import quadratic
    >>> p = init_params([3, 4, 2], seed=0)
    >>> shapes(backprop(p, np.ones((5, 3)), np.ones((5, 2)), quadratic)) == shapes(p)
    True
    """
    summed = summed_gradient(params, x, y, cost, activation=activation, masks=masks)
    scale = 1.0 / x.shape[0]
    return Params(weights=tuple(g * scale for g in summed.weights),
                  biases=tuple(g * scale for g in summed.biases))
