"""Training runs: epochs in order, each by the fastest engine that supports it, then measured.

``train_states`` yields a ``TrainState`` after each epoch, lazily, so a caller can stop,
checkpoint or show progress; ``train`` folds it into ``(params, history)`` for a
``TrainConfig``, and ``sgd``/``iterate_sgd`` take network2's keywords and build the config.

Engines: each epoch runs on the first engine whose ``supports`` accepts the params, data and
config (the NumPy fast path for network2's update), else on the reference fold; they give
the same bytes, so the choice never changes a result.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from functools import reduce
from typing import Any, NamedTuple

import numpy as np

from fnn._checks import Seed
from fnn.activations import SIGMOID, per_layer
from fnn.data import Batch, Labelled, as_evaluation_data, as_training_data
from fnn.errors import ConfigError, FnnTypeError, NonFiniteError
from fnn.history import EpochRecord, History, Monitor
from fnn.monitor import measure
from fnn.optimizers import State, learning_rate, scale_learning_rate
from fnn.params import Params, check_params, sizes_of, tree_map
from fnn.schedules import EpochSchedule, epochs_without_improvement, is_constant
from fnn.training.config import TrainConfig, make_config
from fnn.training.engines import ENGINES, REFERENCE, Engine, choose
from fnn.training.reference import Carry, EpochStreams, Progress, config_streams

__all__ = ["ENGINES", "Engine", "Prepared", "TrainState", "iterate_sgd", "prepare",
           "result_params", "sgd", "sgd_config", "train", "train_prepared", "train_states"]


class TrainState(NamedTuple):
    """Where training stands after an epoch: everything a checkpoint must keep.

    ``params`` are the last epoch's; ``history`` includes its record; ``best`` holds the
    params of the best epoch by evaluation accuracy when early stopping is on (else None).
    """

    params: Params
    opt_state: State
    history: History
    best: Params | None = None


class Prepared(NamedTuple):
    """Validated inputs of a training run, and the engine that will run its epochs."""

    params: Params
    data: Batch
    evaluation: Labelled | None
    config: TrainConfig
    engine: Engine = REFERENCE


def prepare(params: Any, training_data: Any, config: TrainConfig, *,
            evaluation_data: Any = None) -> Prepared:
    """Check every argument of a run, before any random draw or training step.

    Early stopping and epoch schedules other than ``constant()`` watch evaluation accuracy,
    so they turn its monitoring on (and need ``evaluation_data``).
    """
    if not isinstance(config, TrainConfig):
        raise FnnTypeError(f"config must be a TrainConfig (see make_config), got "
                           f"{type(config).__name__}")
    if config.early_stop is not None or not is_constant(config.schedule):
        config = config._replace(monitor=config.monitor._replace(evaluation_accuracy=True))
    params = check_params(params)
    sizes, dtype = sizes_of(params), params.weights[0].dtype
    per_layer(config.activation, len(sizes) - 2)  # one per hidden layer, if a tuple
    data = as_training_data(training_data, n_in=sizes[0], n_out=sizes[-1], dtype=dtype)
    if config.mini_batch_size > data.x.shape[0]:
        raise ConfigError(f"mini_batch_size must be <= the {data.x.shape[0]} training examples, "
                          f"got {config.mini_batch_size!r}")
    monitor = config.monitor
    if (monitor.evaluation_cost or monitor.evaluation_accuracy) and evaluation_data is None:
        raise ConfigError("evaluation monitoring (also used by early stopping and epoch "
                          "schedules) needs evaluation_data, got None")
    evaluation = None if evaluation_data is None else as_evaluation_data(
        evaluation_data, n_in=sizes[0], n_out=sizes[-1], dtype=dtype)
    return Prepared(tree_map(np.copy, params), data, evaluation, config,
                    choose(params, data, config))


# --------------------------------------------------------------------------- the epochs


def _all_finite(params: Params) -> bool:
    return all(np.isfinite(a).all() for a in (*params.weights, *params.biases))


def _locate_divergence(engine: Engine, carry: Carry, data: Batch, config: TrainConfig,
                       streams: EpochStreams, epoch: int, history: History) -> NonFiniteError:
    """Replay the (deterministic) epoch step by step to name the first bad mini-batch."""
    steps = engine.steps(carry, data, config, streams)
    last = next(steps)
    for i, new in enumerate(steps):
        if not _all_finite(new[0]):
            rate = learning_rate(config.optimizer)
            return NonFiniteError(
                f"parameters became non-finite in epoch {epoch}, mini-batch {i} "
                f"(eta={rate}, lmbda={config.lmbda})",
                epoch=epoch, batch=i, params=last[0], history=history)
        last = new
    raise AssertionError("replayed epoch stayed finite")  # pragma: no cover


def _schedule_stop(config: TrainConfig, history: History) -> str | None:
    if config.schedule(len(history), history) is None:
        return f"the schedule {config.schedule!r} stopped training (eta fell to its floor)"
    return None


def _stop_reason(config: TrainConfig, history: History) -> str | None:
    if len(history) < config.epochs and (reason := _schedule_stop(config, history)):
        return reason
    if config.early_stop is not None and epochs_without_improvement(history) >= config.early_stop:
        best = history[-1 - epochs_without_improvement(history)].epoch
        return (f"early stop: no improvement in evaluation accuracy for {config.early_stop} "
                f"epochs; the params returned are epoch {best}'s")
    return None


def _advance(state: TrainState, carry: Carry, record: EpochRecord,
             config: TrainConfig) -> TrainState:
    history = state.history.append(record)
    best = state.best
    if config.early_stop is not None and epochs_without_improvement(history) == 0:
        best = carry[0]
    reason = _stop_reason(config, history)
    if reason is not None:
        history = state.history.append(record._replace(stopped=reason))
    return TrainState(carry[0], carry[1], history, best)


def result_params(state: TrainState, config: TrainConfig) -> Params:
    """The params a run returns: with early stopping, the best epoch's; else the last's."""
    return state.best if config.early_stop is not None and state.best is not None \
        else state.params


def _epoch_optimizer(config: TrainConfig, epoch: int, history: History) -> TrainConfig:
    factor = config.schedule(epoch, history)
    assert factor is not None, "a stop is noted on the previous record"
    return config._replace(optimizer=scale_learning_rate(config.optimizer, factor)) \
        if factor != 1.0 else config


def _measured(carry: Carry, epoch: int, prepared: Prepared, epoch_config: TrainConfig,
              history: History) -> EpochRecord:
    config = prepared.config
    record = measure(carry[0], epoch, prepared.data, prepared.evaluation, cost=config.cost,
                     lmbda=config.lmbda, l1=config.l1, activation=config.activation,
                     monitor=config.monitor)._replace(eta=learning_rate(epoch_config.optimizer))
    if any(isinstance(v, float) and not np.isfinite(v) for v in record):
        raise NonFiniteError(f"a monitored cost is not finite after epoch {epoch}: {record}",
                             epoch=epoch, batch=None, params=carry[0], history=history)
    return record


def train_states(prepared: Prepared, *, start: TrainState | None = None,
                 progress: Callable[[int, int, int], None] | None = None) -> Iterator[TrainState]:
    """The training generator on validated inputs: a TrainState after each epoch.

    ``start`` continues a run (e.g. from a checkpoint); ``progress(epoch, done, total)`` is
    called as epochs run. A run that stops early (schedule or early stopping) marks its last
    record's ``stopped``.
    """
    params, data, _, config, engine = prepared
    state = start or TrainState(params, config.optimizer.init(params), History())
    if state.history.stopped is not None:
        return
    if start is not None and len(state.history) < config.epochs and (
            reason := _schedule_stop(config, state.history)):
        # a run that ended on the epoch its schedule stops: the uninterrupted run notes it there
        last = state.history[-1]._replace(stopped=reason)
        yield state._replace(history=state.history[:-1].append(last))
        return
    for epoch in range(len(state.history), config.epochs):
        epoch_config = _epoch_optimizer(config, epoch, state.history)
        streams = config_streams(config, epoch)
        carry = (state.params, state.opt_state)
        tick: Progress | None = None if progress is None else (
            lambda done, total, e=epoch: progress(e, done, total))
        new = engine.epoch(carry, data, epoch_config, streams, progress=tick)
        if not _all_finite(new[0]):
            raise _locate_divergence(engine, carry, data, epoch_config,
                                     config_streams(config, epoch), epoch, state.history)
        record = _measured(new, epoch, prepared, epoch_config, state.history)
        state = _advance(state, new, record, config)
        yield state
        if state.history.stopped is not None:
            return


def train(params: Any, training_data: Any, config: TrainConfig, *,
          evaluation_data: Any = None) -> tuple[Params, History]:
    """Train ``params`` as ``config`` says; return the final params and the History.

    ``sgd`` is this with network2's keywords; the command line and sweeps build the
    ``TrainConfig`` once and call this.
    """
    return train_prepared(prepare(params, training_data, config,
                                  evaluation_data=evaluation_data))


def train_prepared(prepared: Prepared) -> tuple[Params, History]:
    """``train`` of inputs already ``prepare``d (whose ``engine`` a caller may record)."""
    first = TrainState(prepared.params, (), History())  # a copy: epochs=0 returns no input
    last = reduce(lambda _, state: state, train_states(prepared), first)
    return result_params(last, prepared.config), last.history


# --------------------------------------------------------------------------- network2's API


def _monitor(flags: Mapping[str, Any], misspelt: Any) -> Monitor:
    if misspelt is not None:
        warnings.warn("monitor_traning_cost is a deprecated misspelling; use "
                      "monitor_training_cost", DeprecationWarning, stacklevel=4)
    values = dict(flags)
    if misspelt is not None:
        values["training_cost"] = values["training_cost"] or misspelt
    for name, flag in values.items():
        if not isinstance(flag, bool | np.bool_):
            raise FnnTypeError(f"monitor_{name} must be a bool, got {flag!r}")
    return Monitor(**{k: bool(v) for k, v in values.items()})


def sgd_config(kwargs: dict[str, Any]) -> tuple[TrainConfig, Any]:
    """The TrainConfig that ``sgd``'s keywords describe, and the evaluation data among them."""
    kwargs = dict(kwargs)
    evaluation = kwargs.pop("evaluation_data", None)
    flags = {name: kwargs.pop(f"monitor_{name}", False) for name in Monitor._fields}
    monitor = _monitor(flags, kwargs.pop("monitor_traning_cost", None))
    return make_config(monitor=monitor, **kwargs), evaluation


def iterate_sgd(params: Any, training_data: Any, **kwargs: Any) -> Iterator[tuple[Params,
                                                                                EpochRecord]]:
    """Train lazily: yield ``(params, record)`` after each epoch (keywords as ``sgd``).

    Every argument is checked when this is called, not at the first ``next``.

    >>> x = np.random.default_rng(0).random((20, 2)); y = (x[:, 0] > x[:, 1]).astype(int)
    >>> run = iterate_sgd(fnn.init_params([2, 2], seed=0), (x, y), epochs=3, mini_batch_size=5,
    ...                   eta=1.0, cost=fnn.cross_entropy, seed=0)
    >>> [record.epoch for _, record in run]
    [0, 1, 2]
    """
    config, evaluation = sgd_config(kwargs)
    prepared = prepare(params, training_data, config, evaluation_data=evaluation)
    return ((s.params, s.history[-1]) for s in train_states(prepared))


def sgd(params: Any, training_data: Any, *, epochs: int, mini_batch_size: int, cost: Any,
        seed: Seed, eta: float | None = None, optimizer: Any = None, lmbda: float = 0.0,
        l1: float = 0.0, activation: Any = SIGMOID, dropout: float = 0.0,
        schedule: EpochSchedule | None = None, early_stop: int | None = None,
        evaluation_data: Any = None, monitor_evaluation_cost: bool = False,
        monitor_evaluation_accuracy: bool = False, monitor_training_cost: bool = False,
        monitor_training_accuracy: bool = False, monitor_traning_cost: bool | None = None,
        optimizer_settings: Mapping[str, float] | None = None,
        jit: bool | None = None, augment: Any = None) -> tuple[Params, History]:
    """Train ``params`` by mini-batch gradient descent; return the final params and the History.

    ``params`` is any ``(weights, biases)`` pair; ``training_data`` is ``(x, y)``: x (n, n_in),
    y one-hot (n, n_out) or integer labels (n,); ``evaluation_data`` is ``(x, labels)`` or
    one-hot. ``eta`` is the shorthand for network2's update (``optimizer=gradient_descent(
    eta)``, computed exactly as network2 does); or pass any ``optimizer`` value
    (``fnn.optimizers``), including your own. ``lmbda`` and ``l1`` are the objective's L2
    and L1 strengths. ``activation`` is the hidden layers' (one, or one per layer), ``cost``
    a value such as ``fnn.cross_entropy`` (``fnn.log_likelihood`` for softmax outputs);
    ``dropout`` the probability of dropping a hidden unit; ``schedule`` a function of
    (epoch, history) giving the factor of η for the epoch or None to stop
    (``fnn.schedules``); ``early_stop=N`` stops after N epochs without better evaluation
    accuracy and returns the best params seen. ``jit`` chooses the compiled epoch
    (``fnn[jit]``): by default it runs when numba is installed and covers the run; its bits
    differ from NumPy's in the last places (see ``fnn.training.compiled``); ``jit=False``
    keeps NumPy's, ``jit=True`` insists on the compiled one. ``augment`` (``fnn.augment``,
    or any ``aug(rng, x) -> x'``) distorts each shuffled mini-batch's inputs, afresh every
    epoch, from the epoch's own stream of ``seed``.

    Each epoch shuffles with its own stream of ``seed``, so the same seed gives bit-identical
    results and a k-epoch run is a prefix of a longer one; monitoring never changes the
    trajectory. Training runs in the dtype of ``params``. Raises NonFiniteError (with the
    last finite params) if training diverges.

    >>> x = np.random.default_rng(0).random((20, 2)); y = (x[:, 0] > x[:, 1]).astype(int)
    >>> params, history = sgd(fnn.init_params([2, 2], seed=0), (x, y), epochs=2,
    ...                       mini_batch_size=5, eta=1.0, cost=fnn.cross_entropy, seed=0,
    ...                       monitor_training_accuracy=True)
    >>> len(history), history[-1].training_cost is None
    (2, True)
    """
    config, evaluation = sgd_config({
        "epochs": epochs, "mini_batch_size": mini_batch_size, "cost": cost, "seed": seed,
        "eta": eta, "optimizer": optimizer, "optimizer_settings": optimizer_settings,
        "lmbda": lmbda, "l1": l1, "activation": activation, "dropout": dropout,
        "schedule": schedule, "early_stop": early_stop, "evaluation_data": evaluation_data,
        "monitor_evaluation_cost": monitor_evaluation_cost,
        "monitor_evaluation_accuracy": monitor_evaluation_accuracy,
        "monitor_training_cost": monitor_training_cost,
        "monitor_training_accuracy": monitor_training_accuracy,
        "monitor_traning_cost": monitor_traning_cost, "jit": jit, "augment": augment})
    return train(params, training_data, config, evaluation_data=evaluation)
