"""A model: params together with the activations and the cost that run them, as one value.

``Model(params, activations, cost)`` is what ``fnn.load`` returns and what ``fnn.save``,
``fnn.forward``, ``fnn.accuracy`` and ``fnn.predict`` accept where params go: given a Model,
they run its own hidden activations and its own output layer (``cost.output``: σ, or
softmax for ``log_likelihood``), so a loaded net computes what it was trained to compute.
It sits just above activations and costs, below the network, so every function that takes
params can take a Model too.

>>> from fnn.activations import RELU
>>> from fnn.costs import log_likelihood
>>> from fnn.params import init_params
>>> m = Model(init_params([4, 3, 2], seed=0), (RELU,), log_likelihood)
>>> m.sizes, [a.name for a in m.activations], m.cost.name, m.metadata
((4, 3, 2), ['relu'], 'log_likelihood', None)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from fnn.activations import SIGMOID, Activation, Hidden, per_layer, sigmoid
from fnn.costs import Cost
from fnn.errors import ConfigError, FnnTypeError
from fnn.params import Array, Params, as_params, sizes_of

__all__ = ["Model", "Output", "Resolved", "as_model", "resolve"]

Output = Callable[[Array], Array]
"""An output layer's activation: ``sigmoid`` or ``softmax`` of the weighted input z."""


class Model(NamedTuple):
    """A net that knows how to run itself.

    ``params``; ``activations``, one per hidden layer; ``cost``, the cost it was trained
    with, which also fixes the output layer (``cost.output``); ``metadata``, what its file
    recorded (seed, settings, versions; ``{}`` for a network2 file, None for a Model made in
    memory). A NamedTuple, so a plain immutable tuple; ``sizes`` is derived from ``params``.
    """

    params: Params
    activations: tuple[Activation, ...]
    cost: Cost
    metadata: Mapping[str, Any] | None = None

    @property
    def sizes(self) -> tuple[int, ...]:
        """The layer sizes ``(n_in, ..., n_out)``."""
        return sizes_of(self.params)


def as_model(model: Any, name: str = "model") -> Model:
    """``model`` checked and canonical: params as ``as_params`` makes them, one activation
    per hidden layer (a single ``Activation`` is repeated), an fnn ``Cost``.

    >>> from fnn.activations import TANH
    >>> from fnn.costs import cross_entropy
    >>> from fnn.params import init_params
    >>> m = as_model(Model(init_params([3, 4, 4, 2], seed=0), TANH, cross_entropy))
    >>> [a.name for a in m.activations]
    ['tanh', 'tanh']
    >>> as_model(Model(init_params([3, 4, 2], seed=0), (), cross_entropy))
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: activation needs one entry per hidden layer (1), got []
    """
    if not isinstance(model, Model):
        raise FnnTypeError(f"{name} must be an fnn Model, got {type(model).__name__}")
    params = as_params(model.params, f"{name}.params")
    activations = per_layer(model.activations, len(params.weights) - 1)
    if not isinstance(model.cost, Cost):
        raise FnnTypeError(f"{name}.cost must be an fnn Cost such as fnn.cross_entropy, "
                           f"got {model.cost!r}")
    if model.metadata is not None and not isinstance(model.metadata, Mapping):
        raise FnnTypeError(f"{name}.metadata must be a dict or None, got "
                           f"{type(model.metadata).__name__}")
    if params is model.params and activations == model.activations:
        return model
    return model._replace(params=params, activations=activations)


class Resolved(NamedTuple):
    """How to run some params: the params, the hidden activations, the cost (None when
    neither a Model nor the caller gave one) and the output layer's activation."""

    params: Any
    activation: Hidden
    cost: Cost | None
    output: Output


def resolve(params: Any, *, activation: Hidden | None = None, cost: Cost | None = None,
            output: Output | None = None) -> Resolved:
    """How to run ``params``: a Model's own activations, cost and output layer, or for plain
    params what the caller gave (sigmoid hidden layers and a σ output when nothing).

    An activation, cost or output given together with a Model must be the Model's own:
    anything else raises ``ConfigError`` (to run its params otherwise, pass
    ``model.params``). Plain params are returned unchecked: the caller's converter checks them.

    >>> from fnn.activations import RELU, softmax
    >>> from fnn.costs import log_likelihood
    >>> from fnn.params import init_params
    >>> m = Model(init_params([4, 3, 2], seed=0), (RELU,), log_likelihood)
    >>> r = resolve(m)
    >>> [a.name for a in r.activation], r.cost.name, r.output is softmax
    (['relu'], 'log_likelihood', True)
    >>> resolve(m, activation=fnn.SIGMOID)
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: activation: this Model runs its own hidden activations ['relu'], got ['sigmoid']; pass model.params to run its params with others
    """
    if not isinstance(params, Model):
        return Resolved(params, SIGMOID if activation is None else activation, cost,
                        sigmoid if output is None else output)
    model = as_model(params)
    if activation is not None:
        given = per_layer(activation, len(model.activations))
        if given != model.activations:
            _differs("activation", "hidden activations", [a.name for a in model.activations],
                     [a.name for a in given])
    if cost is not None and cost != model.cost:
        _differs("cost", "cost", model.cost.name, getattr(cost, "name", cost))
    if output is not None and output is not model.cost.output:
        _differs("output", "output layer", model.cost.output.__name__,
                 getattr(output, "__name__", output))
    return Resolved(model.params, model.activations, model.cost, model.cost.output)


def _differs(argument: str, what: str, own: Any, given: Any) -> None:
    raise ConfigError(f"{argument}: this Model runs its own {what} {own!r}, got {given!r}; "
                      "pass model.params to run its params with others")
