"""Activation functions as values: the sigmoid (default), tanh, ReLU, and the softmax output.

An ``Activation`` is a name, the function ``fn(z)`` and its derivative ``prime(z, a)`` (given
both the weighted input ``z`` and ``a = fn(z)``, so each can use the cheaper one).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from fnn._checks import named
from fnn.errors import ConfigError, FnnTypeError
from fnn.params import Array

__all__ = [
    "BUILT_IN",
    "RELU",
    "SIGMOID",
    "TANH",
    "Activation",
    "Hidden",
    "log_softmax",
    "per_layer",
    "relu",
    "sigmoid",
    "sigmoid_prime",
    "softmax",
]


def sigmoid(z: Array) -> Array:
    """σ(z) = 1/(1 + e^-z), elementwise, without overflow or warnings for any z.

    Works from e^-|z| ≤ 1 so nothing overflows; small results keep full relative
    precision (σ(-700) ≈ 9.86e-305, not 0).

    >>> sigmoid(np.array([-np.inf, 0.0, np.inf])).tolist()
    [0.0, 0.5, 1.0]
    """
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def sigmoid_prime(z: Array) -> Array:
    """σ'(z) = σ(z)(1 - σ(z)), elementwise, computed as e^-|z| / (1 + e^-|z|)².

    >>> sigmoid_prime(np.array([0.0, 1000.0])).tolist()
    [0.25, 0.0]
    """
    e = np.exp(-np.abs(z))
    return e / (1.0 + e) ** 2


def relu(z: Array) -> Array:
    """max(z, 0), elementwise.

    >>> relu(np.array([-2.0, 0.0, 3.0])).tolist()
    [0.0, 0.0, 3.0]
    """
    return np.maximum(z, 0)


def softmax(z: Array) -> Array:
    """Row-wise softmax e^z / Σ e^z, shifted by the row maximum so nothing overflows.

    >>> softmax(np.array([[0.0, 0.0], [1000.0, 0.0]])).tolist()
    [[0.5, 0.5], [1.0, 0.0]]
    """
    e: Array = np.exp(z - z.max(axis=1, keepdims=True))
    out: Array = e / e.sum(axis=1, keepdims=True)
    return out


def log_softmax(z: Array) -> Array:
    """Row-wise log of the softmax, computed without forming it (finite for any finite z).

    >>> log_softmax(np.array([[1000.0, 0.0]])).tolist()
    [[0.0, -1000.0]]
    """
    shifted: Array = z - z.max(axis=1, keepdims=True)
    out: Array = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return out


class Activation(NamedTuple):
    """A hidden-layer activation: ``fn(z)`` and ``prime(z, a)`` = dfn/dz, elementwise."""

    name: str
    fn: Callable[[Array], Array]
    prime: Callable[[Array, Array], Array]


def _sigmoid_prime(z: Array, a: Array) -> Array:  # noqa: ARG001 (the Activation signature)
    return sigmoid_prime(z)


def _tanh_prime(z: Array, a: Array) -> Array:  # noqa: ARG001 (the Activation signature)
    return 1.0 - a * a


def _relu_prime(z: Array, a: Array) -> Array:  # noqa: ARG001 (the Activation signature)
    return (z > 0).astype(z.dtype)


SIGMOID = Activation("sigmoid", sigmoid, _sigmoid_prime)
"""σ(z) = 1/(1 + e^-z), with σ'(z) = a(1 - a): network2's activation, fnn's default."""
TANH = Activation("tanh", np.tanh, _tanh_prime)
"""tanh(z), with tanh'(z) = 1 - a²."""
RELU = Activation("relu", relu, _relu_prime)
"""max(z, 0), with derivative 1 where z > 0 and 0 elsewhere (0 at the kink)."""
BUILT_IN = (SIGMOID, TANH, RELU)
"""fnn's own activations (``fnn.registry`` names them for files and the command line)."""

Hidden = Activation | Sequence[Activation]
"""The hidden layers' activations: one ``Activation`` for all, or one per hidden layer."""


def per_layer(activation: Any, n_hidden: int) -> tuple[Activation, ...]:
    """One Activation per hidden layer from ``activation`` (a single one, or one per layer).

    >>> [a.name for a in per_layer(SIGMOID, 2)]
    ['sigmoid', 'sigmoid']
    >>> per_layer((SIGMOID,), 2)
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: activation needs one entry per hidden layer (2), got ['sigmoid']
    """
    if isinstance(activation, Activation):
        return (activation,) * n_hidden
    if isinstance(activation, str | bytes) or not isinstance(activation, Sequence) or not all(
            isinstance(a, Activation) for a in activation):
        raise FnnTypeError(f"activation must be an fnn Activation such as fnn.RELU, or one per "
                           f"hidden layer, got {activation!r}")
    acts = tuple(activation)
    if len(acts) != n_hidden:
        raise ConfigError(f"activation needs one entry per hidden layer ({n_hidden}), "
                          f"got {[a.name for a in acts]}")
    return acts


def get_activation(name: Any) -> Activation:
    """Deprecated: pass the value (``fnn.RELU``), or ``fnn.registry.activation(name)``."""
    warnings.warn("fnn.activations.get_activation is deprecated; pass the value (fnn.RELU) or "
                  "use fnn.registry.activation(name)", DeprecationWarning, stacklevel=2)
    found: Activation = name if isinstance(name, Activation) else named("activation", name,
                                                                          BUILT_IN)
    return found
