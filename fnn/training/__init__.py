"""Training: one ``TrainConfig`` of values, the reference fold, the fast engines, the run loop.

- ``config``: ``TrainConfig``, ``make_config`` and their JSON and command-line forms;
- ``reference``: a step is a pure function; an epoch folds it over the mini-batches;
- ``fastpath``: the NumPy engine for network2's update, bit-identical to the reference;
- ``loop``: epochs in order, measured; ``sgd``, ``iterate_sgd``, ``train``.
"""

from fnn.training.config import TrainConfig, config_from_json, config_to_json, make_config
from fnn.training.loop import (
    ENGINES,
    Engine,
    Prepared,
    TrainState,
    iterate_sgd,
    prepare,
    result_params,
    sgd,
    train,
    train_states,
)
from fnn.training.reference import (
    dropout_masks,
    epoch_streams,
    minibatches,
    optimizer_step,
    run_epoch,
    sgd_step,
)

__all__ = [
    "ENGINES",
    "Engine",
    "Prepared",
    "TrainConfig",
    "TrainState",
    "config_from_json",
    "config_to_json",
    "dropout_masks",
    "epoch_streams",
    "iterate_sgd",
    "make_config",
    "minibatches",
    "optimizer_step",
    "prepare",
    "result_params",
    "run_epoch",
    "sgd",
    "sgd_step",
    "train",
    "train_states",
]
