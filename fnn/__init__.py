"""fnn: a functional feedforward neural-network library on NumPy and toolz.

Parameters are immutable trees of arrays (``Params``); every operation is a pure
function returning new values; randomness enters only through an explicit seed.

>>> import fnn
>>> params = fnn.init_params([2, 3, 2], seed=0)
>>> fnn.forward(params, np.zeros((4, 2))).shape
(4, 2)
"""

from fnn.activations import (
    ACTIVATIONS,
    RELU,
    SIGMOID,
    TANH,
    Activation,
    get_activation,
    sigmoid,
    sigmoid_prime,
    softmax,
)
from fnn.costs import (
    COSTS,
    Cost,
    cross_entropy,
    get_cost,
    l1_gradient,
    l1_penalty,
    l2_gradient,
    l2_penalty,
    log_likelihood,
    quadratic,
)
from fnn.data import Batch, Labelled, one_hot, take
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
from fnn.monitor import EpochRecord, History, Monitor, accuracy, measure, total_cost
from fnn.network import Trace, backprop, cost, forward, trace
from fnn.params import (
    INITIALIZERS,
    Array,
    Grads,
    Params,
    init_params,
    shapes,
    sizes_of,
    tree_equal,
    tree_map,
    zeros_like,
)
from fnn.training import TrainConfig, epoch_rng, iterate_sgd, run_epoch, sgd, sgd_step

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "COSTS",
    "INITIALIZERS",
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
    "Grads",
    "History",
    "Labelled",
    "ModelFormatError",
    "Monitor",
    "NonFiniteError",
    "Params",
    "Trace",
    "TrainConfig",
    "UnsafeFileError",
    "__version__",
    "accuracy",
    "backprop",
    "cost",
    "cross_entropy",
    "epoch_rng",
    "forward",
    "get_activation",
    "get_cost",
    "init_params",
    "iterate_sgd",
    "l1_gradient",
    "l1_penalty",
    "l2_gradient",
    "l2_penalty",
    "log_likelihood",
    "measure",
    "one_hot",
    "quadratic",
    "run_epoch",
    "sgd",
    "sgd_step",
    "shapes",
    "sigmoid",
    "sigmoid_prime",
    "sizes_of",
    "softmax",
    "take",
    "total_cost",
    "trace",
    "tree_equal",
    "tree_map",
    "zeros_like",
]
