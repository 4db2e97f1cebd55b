"""fnn: a functional feedforward neural-network library on NumPy and toolz.

Parameters are immutable trees of arrays (``Params``, or any plain ``(weights, biases)``
pair); every operation is a pure function returning new values; optimizers, schedules,
activations and costs are values; randomness enters only through an explicit seed.

>>> import fnn
>>> weights, biases = fnn.init_params([2, 3, 2], seed=0)
>>> fnn.forward((weights, biases), np.zeros((4, 2))).shape
(4, 2)
"""

import warnings
from collections.abc import Callable
from typing import Any

from fnn import optimizers, registry, schedules
from fnn._version import __version__
from fnn.activations import (
    RELU,
    SIGMOID,
    TANH,
    Activation,
    log_softmax,
    relu,
    sigmoid,
    sigmoid_prime,
    softmax,
)
from fnn.costs import (
    Cost,
    cross_entropy,
    l1_gradient,
    l1_penalty,
    l2_gradient,
    l2_penalty,
    log_likelihood,
    quadratic,
)
from fnn.data import Batch, Labelled, one_hot, take
from fnn.datasets import load_mnist
from fnn.errors import (
    CheckpointMismatchError,
    ConfigError,
    DataError,
    DatasetFormatError,
    FnnError,
    FnnTypeError,
    ModelFormatError,
    NonFiniteError,
    UnsafeFileError,
)
from fnn.history import EpochRecord, History, Monitor
from fnn.model import Model
from fnn.monitor import accuracy, measure, total_cost
from fnn.network import (
    Trace,
    backprop,
    cost,
    forward,
    output_z,
    predict,
    summed_gradient,
    trace,
)
from fnn.optimizers import GradientTransformation, apply_updates, chain
from fnn.params import (
    Array,
    Grads,
    Initializer,
    Params,
    as_params,
    default_init,
    he_init,
    init_params,
    large_init,
    shapes,
    sizes_of,
    tree_equal,
    tree_map,
    zeros_like,
)
from fnn.serialization import load, save
from fnn.training import (
    TrainConfig,
    iterate_sgd,
    make_config,
    optimizer_step,
    run_epoch,
    sgd,
    sgd_step,
    train,
)

__all__ = [
    "RELU",
    "SIGMOID",
    "TANH",
    "Activation",
    "Array",
    "Batch",
    "CheckpointMismatchError",
    "ConfigError",
    "Cost",
    "DataError",
    "DatasetFormatError",
    "EpochRecord",
    "FnnError",
    "FnnTypeError",
    "GradientTransformation",
    "Grads",
    "History",
    "Initializer",
    "Labelled",
    "Model",
    "ModelFormatError",
    "Monitor",
    "NonFiniteError",
    "Params",
    "Trace",
    "TrainConfig",
    "UnsafeFileError",
    "__version__",
    "accuracy",
    "apply_updates",
    "as_params",
    "backprop",
    "chain",
    "cost",
    "cross_entropy",
    "default_init",
    "forward",
    "he_init",
    "init_params",
    "iterate_sgd",
    "l1_gradient",
    "l1_penalty",
    "l2_gradient",
    "l2_penalty",
    "large_init",
    "load",
    "load_mnist",
    "log_likelihood",
    "log_softmax",
    "make_config",
    "measure",
    "one_hot",
    "optimizer_step",
    "optimizers",
    "output_z",
    "predict",
    "quadratic",
    "registry",
    "relu",
    "run_epoch",
    "save",
    "schedules",
    "sgd",
    "sgd_step",
    "shapes",
    "sigmoid",
    "sigmoid_prime",
    "sizes_of",
    "softmax",
    "summed_gradient",
    "take",
    "total_cost",
    "trace",
    "train",
    "tree_equal",
    "tree_map",
    "zeros_like",
]

_DEPRECATED: dict[str, tuple[str, Callable[[], Any]]] = {
    "ACTIVATIONS": ("fnn.registry.ACTIVATIONS", lambda: registry.ACTIVATIONS),
    "COSTS": ("fnn.registry.COSTS", lambda: registry.COSTS),
    "INITIALIZERS": ("fnn.registry.INITIALIZERS", lambda: registry.INITIALIZERS),
    "get_activation": ("fnn.registry.activation", lambda: registry.activation),
    "get_cost": ("fnn.registry.cost", lambda: registry.cost),
}


def __getattr__(name: str) -> Any:
    """Names of fnn 0.1 that moved, still reachable for one release with a warning."""
    if name in _DEPRECATED:
        new, value = _DEPRECATED[name]
        warnings.warn(f"fnn.{name} is deprecated; use {new}", DeprecationWarning, stacklevel=2)
        return value()
    raise AttributeError(f"module 'fnn' has no attribute {name!r}")
