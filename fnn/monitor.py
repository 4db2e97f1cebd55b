"""Measuring a net on a data set: accuracy, network2's total cost, and each epoch's record.

Every figure comes from the network's own forward pass (``fnn.network.output_z``) and the
cost's own function, so a monitored cost is exactly ``fnn.cost`` plus the penalty terms.
``accuracy`` and ``total_cost`` take a ``Model`` where params go, run with its own activations
and cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from fnn.activations import SIGMOID, Hidden
from fnn.costs import Cost, l1_penalty, l2_penalty
from fnn.data import Batch, Labelled, as_targets, one_hot
from fnn.errors import FnnTypeError
from fnn.history import EpochRecord, Monitor
from fnn.model import resolve
from fnn.network import output_z
from fnn.params import Array

__all__ = ["accuracy", "measure", "total_cost"]


def total_cost(params: Any, x: Array, y: Any, *, cost: Cost | None = None, lmbda: float,
               l1: float = 0.0, activation: Hidden | None = None) -> float:
    """network2's total cost of a set: mean ``cost`` plus ``l2_penalty`` (and
    ``l1_penalty``) with n = len(x). ``y`` is one-hot (n, n_out) or integer labels (n,).
    ``cost`` is required for plain params; a ``Model`` uses its own cost and activations.

    >>> from fnn.costs import cross_entropy
    >>> p = ([np.zeros((1, 2))], [np.zeros(1)])
    >>> round(total_cost(p, np.zeros((3, 2)), np.array([0, 0, 0]),
    ...                  cost=cross_entropy, lmbda=5.0), 6)   # ln 2, no weights to decay
    0.693147
    """
    run = resolve(params, activation=activation, cost=cost)
    if not isinstance(run.cost, Cost):
        raise FnnTypeError(f"cost must be an fnn Cost such as fnn.cross_entropy, got {cost!r}")
    z = output_z(run.params, x, activation=run.activation)
    targets = as_targets(y, x.shape[0], z.shape[1], z.dtype)
    return run.cost.fn(z, targets) + _penalty(run.params, lmbda, l1, x.shape[0])


def _penalty(params: Any, lmbda: float, l1: float, n: int) -> float:
    return l2_penalty(params, lmbda, n) + (l1_penalty(params, l1, n) if l1 else 0.0)


def accuracy(params: Any, x: Array, labels: Any, *, activation: Hidden | None = None) -> int:
    """How many rows of ``x`` the net classifies as their label.

    ``params`` is a ``Model`` (run with its own activations) or any ``(weights, biases)``
    pair with hidden ``activation`` (sigmoid by default).

    The predicted class is the argmax of the output layer's weighted input z: the same class
    as the argmax of σ(z) or softmax(z), without the ties those make where they round to 1
    (σ(z) is 1.0 for every z > 17 in float32).

    >>> p = ([np.zeros((2, 1), np.float32)], [np.array([20.0, 30.0], np.float32)])
    >>> from fnn.activations import sigmoid
    >>> sigmoid(p[1][0]).tolist(), accuracy(p, np.zeros((1, 1), np.float32), np.array([1]))
    ([1.0, 1.0], 1)
    """
    z = output_z(params, x, activation=activation)
    return _correct(z, _labels(labels, z))


def _labels(labels: Any, z: Array) -> NDArray[Any]:
    """Integer labels (m,) as they are, or the argmax of one-hot rows (m, n_out); checked."""
    targets = as_targets(labels, z.shape[0], z.shape[1], z.dtype, "labels")
    return np.asarray(labels) if labels.ndim == 1 else np.argmax(targets, axis=1)


def _correct(z: Array, labels: NDArray[Any]) -> int:
    return int(np.count_nonzero(np.argmax(z, axis=1) == labels))


def _figures(params: Any, x: Array, labels: NDArray[Any] | None, y: Array | None, *, cost: Cost,
             lmbda: float, l1: float, activation: Hidden, want_cost: bool,
             want_accuracy: bool) -> tuple[Any, Any, Any]:
    if not (want_cost or want_accuracy):
        return None, None, None
    z = output_z(params, x, activation=activation)  # one forward pass serves both figures
    c = None
    if want_cost:
        if y is None:
            assert labels is not None, "evaluation sets carry labels"
            y = one_hot(labels, z.shape[1], z.dtype)
        c = cost.fn(z, y) + _penalty(params, lmbda, l1, x.shape[0])
    if not want_accuracy or labels is None:
        return c, None, None
    correct = _correct(z, labels)
    return c, correct, correct / x.shape[0]


def measure(params: Any, epoch: int, training: Batch, evaluation: Labelled | None, *,
            cost: Cost, lmbda: float, monitor: Monitor, l1: float = 0.0,
            activation: Hidden = SIGMOID) -> EpochRecord:
    """The EpochRecord of ``params`` after ``epoch``, with the figures ``monitor`` asks for."""
    labels = np.argmax(training.y, axis=1) if monitor.training_accuracy else None
    tc, tk, ta = _figures(params, training.x, labels, training.y,
                          cost=cost, lmbda=lmbda, l1=l1, activation=activation,
                          want_cost=monitor.training_cost,
                          want_accuracy=monitor.training_accuracy)
    ec = ek = ea = None
    if evaluation is not None:
        ec, ek, ea = _figures(params, evaluation.x, evaluation.labels, None, cost=cost,
                              lmbda=lmbda, l1=l1, activation=activation,
                              want_cost=monitor.evaluation_cost,
                              want_accuracy=monitor.evaluation_accuracy)
    return EpochRecord(epoch, tc, tk, ta, ec, ek, ea)

