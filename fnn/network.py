"""The forward pass, the cost of a batch and its exact gradient, a whole batch at a time.

Examples are rows: ``x`` is (m, n_in) and a layer computes ``z = a @ w.T + b``. Hidden layers
use ``activation`` (one ``Activation`` for all, or a tuple with one per hidden layer; sigmoid
by default); the output layer uses the activation that belongs with the cost (``cost.output``:
σ, or softmax for ``log_likelihood``). ``masks`` (inverted dropout) multiply the hidden
activations: one (m, n_l) array per hidden layer, or None.

Every public function takes any ``(weights, biases)`` pair as ``params`` and targets ``y`` as
one-hot rows (m, n_out) or integer labels (m,); it checks them once and then runs the one
forward pass (``_pass``) and the one backward pass (``_summed_gradient``) that training,
monitoring and the gradient checks all use. Where params go, a ``Model`` (what ``fnn.load``
returns) runs with its own activations, output layer and cost (``fnn.model.resolve``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from fnn.activations import Activation, Hidden, per_layer
from fnn.costs import Cost
from fnn.data import as_inputs, as_targets
from fnn.errors import FnnTypeError
from fnn.model import Output, resolve
from fnn.params import Array, Grads, Params, as_params

__all__ = ["Trace", "backprop", "cost", "forward", "output_z", "predict", "summed_gradient",
           "trace"]

Masks = Sequence[Array] | None

CHUNK_ROWS = 1000
"""Rows per forward pass in ``forward``, ``output_z`` and ``cost``: bounds the memory of
the hidden activations of a large set; rows are independent, so results do not depend on it."""


class Trace(NamedTuple):
    """What the forward pass leaves for backprop: ``zs[l]`` and ``activations[l]``.

    ``activations[0]`` is the input; ``zs[l]`` feeds ``activations[l + 1]``.
    """

    zs: tuple[Array, ...]
    activations: tuple[Array, ...]


# --------------------------------------------------------------------------- the one pass


def _pass(params: Params, x: Array, acts: tuple[Activation, ...], output: Output | None,
          masks: Masks, *, by_columns: bool = False) -> Trace:
    """The forward pass on checked inputs; ``output`` None leaves the output layer at z.

    Each layer is z = a·wᵀ + b. ``by_columns`` computes the product as (w·aᵀ)ᵀ, which BLAS
    runs faster on the tall inputs of evaluation in float64 (the same sums; the last bits may
    differ from a·wᵀ). Training's batches take a·wᵀ; every evaluation takes (w·aᵀ)ᵀ, so a
    monitored cost is exactly ``fnn.cost``.
    """
    zs: list[Array] = []
    activations = [x]
    for l, (w, b) in enumerate(zip(params.weights, params.biases)):
        a = activations[-1]
        zs.append((w @ a.T).T + b if by_columns else a @ w.T + b)
        if l == len(acts):
            if output is not None:
                activations.append(output(zs[-1]))
        elif masks is None:
            activations.append(acts[l].fn(zs[-1]))
        else:
            activations.append(acts[l].fn(zs[-1]) * masks[l])
    return Trace(tuple(zs), tuple(activations))


def _output_z(params: Params, x: Array, acts: tuple[Activation, ...],
              masks: Masks = None) -> Array:
    """The output layer's weighted input for every row of ``x``, CHUNK_ROWS rows at a time."""
    if x.shape[0] <= CHUNK_ROWS:
        return _pass(params, x, acts, None, masks, by_columns=True).zs[-1]
    parts = [_pass(params, x[i:i + CHUNK_ROWS], acts, None,
                   None if masks is None else [m[i:i + CHUNK_ROWS] for m in masks],
                   by_columns=True).zs[-1]
             for i in range(0, x.shape[0], CHUNK_ROWS)]
    return np.concatenate(parts)


def _summed_gradient(params: Params, x: Array, y: Array, cost: Cost,
                     acts: tuple[Activation, ...], masks: Masks) -> Grads:
    """The gradient of the per-example cost summed over the batch (network2's nabla sums)."""
    zs, a = _pass(params, x, acts, cost.output, masks)
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


def _mean(summed: Grads, m: int) -> Grads:
    scale = 1.0 / m
    return Params(weights=tuple(g * scale for g in summed.weights),
                  biases=tuple(g * scale for g in summed.biases))


# --------------------------------------------------------------------------- checked edges


class _Checked(NamedTuple):
    params: Params
    x: Array
    acts: tuple[Activation, ...]
    cost: Cost | None
    output: Output


def _checked(params: Any, x: Any, activation: Hidden | None, *, cost: Cost | None = None,
             output: Output | None = None) -> _Checked:
    run = resolve(params, activation=activation, cost=cost, output=output)
    p = as_params(run.params)
    return _Checked(p, as_inputs(x, p.weights[0].shape[1]),
                    per_layer(run.activation, len(p.weights) - 1), run.cost, run.output)


def _targets(checked: _Checked, y: Any) -> Array:
    n_out = checked.params.weights[-1].shape[0]
    return as_targets(y, checked.x.shape[0], n_out, checked.params.weights[0].dtype)


def _cost_value(cost: Any) -> Cost:
    if not isinstance(cost, Cost):
        raise FnnTypeError(f"cost must be an fnn Cost such as fnn.cross_entropy, got {cost!r}")
    return cost


def trace(params: Any, x: Array, *, activation: Hidden | None = None,
          output: Output | None = None, masks: Masks = None) -> Trace:
    """The weighted inputs and activations of every layer for the batch ``x``.

    Hidden layers use ``activation`` (sigmoid by default), the output layer ``output`` (σ by
    default); a ``Model`` uses its own.

    >>> from fnn.params import init_params
    >>> t = trace(init_params([3, 4, 2], seed=0), np.zeros((5, 3)))
    >>> [a.shape for a in t.activations], [z.shape for z in t.zs]
    ([(5, 3), (5, 4), (5, 2)], [(5, 4), (5, 2)])
    """
    c = _checked(params, x, activation, output=output)
    return _pass(c.params, c.x, c.acts, c.output, masks)


def output_z(params: Any, x: Array, *, activation: Hidden | None = None) -> Array:
    """The output layer's weighted input z, shape (m, n_out): what costs and accuracy read.

    >>> from fnn.params import init_params
    >>> output_z(init_params([4, 3, 2], seed=0), np.zeros((2500, 4))).shape
    (2500, 2)
    """
    c = _checked(params, x, activation)
    return _output_z(c.params, c.x, c.acts)


def forward(params: Any, x: Array, *, activation: Hidden | None = None,
            output: Output | None = None) -> Array:
    """The output activations, shape (m, n_out), for the batch ``x`` of shape (m, n_in).

    ``params`` is any ``(weights, biases)`` pair, with hidden ``activation`` (sigmoid by
    default) and ``output``, the output layer's activation (σ by default; ``fnn.softmax`` for
    a net trained with ``log_likelihood``); or a ``Model``, which runs its own.

    >>> from fnn.params import init_params
    >>> weights, biases = init_params([784, 30, 10], seed=0)
    >>> forward((weights, biases), np.zeros((7, 784))).shape
    (7, 10)
    >>> model = fnn.Model((weights, biases), (fnn.RELU,), fnn.log_likelihood)
    >>> forward(model, np.zeros((7, 784))).sum(axis=1).round(12).tolist() == [1.0] * 7  # softmax
    True
    """
    c = _checked(params, x, activation, output=output)
    return c.output(_output_z(c.params, c.x, c.acts))


def predict(params: Any, x: Array, *, activation: Hidden | None = None) -> NDArray[np.intp]:
    """The predicted class of every row of ``x``, shape (m,): the argmax of the output layer.

    ``params`` is a ``Model`` (run with its own activations) or any ``(weights, biases)`` pair
    with hidden ``activation`` (sigmoid by default). The class is the argmax of the weighted
    input z, the same as the argmax of σ(z) or softmax(z) but without their ties where they
    round to 1 (``fnn.accuracy`` counts the same classes).

    >>> from fnn.params import init_params
    >>> p = ([np.zeros((3, 2))], [np.array([0.0, 2.0, 1.0])])
    >>> predict(p, np.zeros((4, 2))).tolist()
    [1, 1, 1, 1]
    """
    c = _checked(params, x, activation)
    labels: NDArray[np.intp] = np.argmax(_output_z(c.params, c.x, c.acts), axis=1)
    return labels


def cost(params: Any, x: Array, y: Array, *, cost: Cost | None = None,
         activation: Hidden | None = None, masks: Masks = None) -> float:
    """The mean over the batch of the per-example ``cost`` (no L2 term).

    ``y`` is one-hot (m, n_out) or integer labels (m,). ``cost`` is required for plain
    params; a ``Model`` uses its own.

    >>> from fnn.costs import cross_entropy
    >>> p = ([np.zeros((1, 2))], [np.zeros(1)])
    >>> round(cost(p, np.zeros((3, 2)), np.ones((3, 1)), cost=cross_entropy), 6)  # ln 2
    0.693147
    """
    c = _checked(params, x, activation, cost=cost)
    return _cost_value(c.cost).fn(_output_z(c.params, c.x, c.acts, masks), _targets(c, y))


def summed_gradient(params: Any, x: Array, y: Array, cost: Cost | None = None, *,
                    activation: Hidden | None = None, masks: Masks = None) -> Grads:
    """The gradient of the per-example cost summed over the batch (network2's nabla sums).

    >>> from fnn.costs import quadratic
    >>> p = ([np.zeros((1, 2))], [np.zeros(1)])
    >>> summed_gradient(p, np.ones((4, 2)), np.ones((4, 1)), quadratic).biases[0].tolist()
    [-0.5]
    """
    c = _checked(params, x, activation, cost=cost)
    return _summed_gradient(c.params, c.x, _targets(c, y), _cost_value(c.cost), c.acts, masks)


def backprop(params: Any, x: Array, y: Array, cost: Cost | None = None, *,
             activation: Hidden | None = None, masks: Masks = None) -> Grads:
    """The exact gradient of ``cost(params, x, y, cost=cost, ...)`` (mean over the batch).

    >>> from fnn.params import init_params, shapes
    >>> from fnn.costs import quadratic
    >>> p = init_params([3, 4, 2], seed=0)
    >>> shapes(backprop(p, np.ones((5, 3)), np.array([0, 1, 1, 0, 1]), quadratic)) == shapes(p)
    True
    """
    grads = summed_gradient(params, x, y, cost, activation=activation, masks=masks)
    return _mean(grads, x.shape[0])
