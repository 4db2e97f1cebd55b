"""Mini-batch SGD as a fold: a step is a pure function, an epoch folds it over batches.

``iterate_sgd`` yields ``(params, record)`` after each epoch, lazily, so a caller can
stop early or show progress; ``sgd`` folds it into ``(params, history)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from functools import partial, reduce
from typing import Any, NamedTuple

import numpy as np
from toolz import partition_all

from fnn import _checks
from fnn._checks import Seed
from fnn.costs import Cost, get_cost
from fnn.data import Batch, Labelled, as_evaluation_data, as_training_data, take
from fnn.errors import ConfigError, FnnTypeError, NonFiniteError
from fnn.monitor import EpochRecord, History, Monitor, measure
from fnn.network import summed_gradient
from fnn.params import Params, check_params, sizes_of, tree_map
from fnn.seeds import SHUFFLE, stream

__all__ = ["Prepared", "TrainConfig", "epoch_rng", "epochs_from", "iterate_sgd", "make_config",
           "minibatches", "prepare", "prepare_sgd", "run_epoch", "sgd", "sgd_step"]


class TrainConfig(NamedTuple):
    """Everything that decides a training trajectory, validated by ``make_config``."""

    epochs: int
    mini_batch_size: int
    eta: float
    lmbda: float
    cost: Cost
    seed: Seed
    monitor: Monitor = Monitor()


def make_config(*, epochs: Any, mini_batch_size: Any, eta: Any, lmbda: Any, cost: Any,
                seed: Any, monitor: Monitor = Monitor()) -> TrainConfig:
    """A TrainConfig with every value checked; ConfigError/FnnTypeError name the culprit."""
    if isinstance(cost, str):
        cost = get_cost(cost)
    elif not isinstance(cost, Cost):
        raise FnnTypeError(f"cost must be an fnn Cost or a cost name, got {cost!r}")
    _checks.seed_sequence(seed)
    return TrainConfig(epochs=_checks.non_negative_int("epochs", epochs),
                       mini_batch_size=_checks.positive_int("mini_batch_size", mini_batch_size),
                       eta=_checks.positive_float("eta", eta),
                       lmbda=_checks.non_negative_float("lmbda", lmbda),
                       cost=cost, seed=seed, monitor=monitor)


def sgd_step(params: Params, batch: Batch, *, eta: float, lmbda: float, n: int,
             cost: Cost) -> Params:
    """Params after one mini-batch: network2's update, with n the training-set size.

    w ← (1 - eta·(lmbda/n))·w - (eta/m)·Σ∇w,  b ← b - (eta/m)·Σ∇b, over the m examples.

    >>> from fnn.params import init_params, shapes
    >>> from fnn.costs import cross_entropy
    >>> p = init_params([3, 2], seed=0)
    >>> q = sgd_step(p, Batch(np.ones((4, 3)), np.eye(2)[[0, 1, 1, 0]]), eta=0.5, lmbda=0.0,
    ...              n=4, cost=cross_entropy)
    >>> shapes(q) == shapes(p)
    True
    """
    grads = summed_gradient(params, batch.x, batch.y, cost)
    step, shrink = eta / batch.x.shape[0], 1 - eta * (lmbda / n)
    return Params(
        weights=tuple(shrink * w - step * g for w, g in zip(params.weights, grads.weights)),
        biases=tuple(b - step * g for b, g in zip(params.biases, grads.biases)),
    )


def epoch_rng(seed: Seed, epoch: int) -> np.random.Generator:
    """The random stream of epoch ``epoch``'s shuffle: a function of (seed, epoch) only."""
    return stream(seed, SHUFFLE, epoch)


def minibatches(data: Batch, batch_size: int, rng: np.random.Generator) -> Iterator[Batch]:
    """The shuffled mini-batches of one epoch, the last one partial when size ∤ n.

    >>> [b.x.shape[0] for b in minibatches(Batch(np.ones((11, 2)), np.ones((11, 1))), 5,
    ...                                    np.random.default_rng(0))]
    [5, 5, 1]
    """
    order = rng.permutation(data.x.shape[0])
    return (take(data, np.asarray(rows)) for rows in partition_all(batch_size, order))


Progress = Callable[[int, int], None]


def run_epoch(params: Params, data: Batch, config: TrainConfig, rng: np.random.Generator, *,
              progress: Progress | None = None) -> Params:
    """Params after one epoch: ``sgd_step`` folded over the shuffled mini-batches.

    ``progress(done, total)``, if given, is called after about every 1% of the batches (for
    a progress bar; it sees counts only and cannot change the result).
    """
    step = partial(sgd_step, eta=config.eta, lmbda=config.lmbda, n=data.x.shape[0],
                   cost=config.cost)
    batches = minibatches(data, config.mini_batch_size, rng)
    if progress is not None:
        batches = _reporting(batches, -(-data.x.shape[0] // config.mini_batch_size), progress)
    return reduce(step, batches, params)


def _reporting(batches: Iterator[Batch], total: int, progress: Progress) -> Iterator[Batch]:
    every = max(1, total // 100)
    for done, batch in enumerate(batches, 1):
        yield batch  # the fold asks for the next batch only once this one's step is done
        if done % every == 0 or done == total:
            progress(done, total)


def _all_finite(params: Params) -> bool:
    return all(np.isfinite(a).all() for a in (*params.weights, *params.biases))


def _locate_divergence(params: Params, data: Batch, config: TrainConfig, epoch: int,
                       history: History) -> NonFiniteError:
    """Replay the (deterministic) epoch step by step to name the first bad mini-batch."""
    step = partial(sgd_step, eta=config.eta, lmbda=config.lmbda, n=data.x.shape[0],
                   cost=config.cost)
    batches = minibatches(data, config.mini_batch_size, epoch_rng(config.seed, epoch))
    for i, batch in enumerate(batches):
        new = step(params, batch)
        if not _all_finite(new):
            return NonFiniteError(
                f"parameters became non-finite in epoch {epoch}, mini-batch {i} "
                f"(eta={config.eta}, lmbda={config.lmbda})",
                epoch=epoch, batch=i, params=params, history=history)
        params = new
    raise AssertionError("replayed epoch stayed finite")  # pragma: no cover


def epochs_from(params: Params, data: Batch, evaluation: Labelled | None, config: TrainConfig,
                *, start: int = 0, history: History = History(),
                progress: Callable[[int, int, int], None] | None = None,
                ) -> Iterator[tuple[Params, EpochRecord]]:
    """The training generator on already-validated inputs, from epoch ``start``.

    ``history`` (the records before ``start``) only serves NonFiniteError reports;
    ``progress(epoch, done, total)`` is passed on to ``run_epoch``.
    """
    for epoch in range(start, config.epochs):
        tick = None if progress is None else partial(progress, epoch)
        new = run_epoch(params, data, config, epoch_rng(config.seed, epoch), progress=tick)
        if not _all_finite(new):
            raise _locate_divergence(params, data, config, epoch, history)
        record = measure(new, epoch, data, evaluation, cost=config.cost, lmbda=config.lmbda,
                         monitor=config.monitor)
        if any(isinstance(v, float) and not np.isfinite(v) for v in record):
            raise NonFiniteError(f"a monitored cost is not finite after epoch {epoch}: {record}",
                                 epoch=epoch, batch=None, params=new, history=history)
        history = history.append(record)
        params = new
        yield params, record


class Prepared(NamedTuple):
    """Validated inputs of a training run."""

    params: Params
    data: Batch
    evaluation: Labelled | None
    config: TrainConfig


def prepare(params: Any, training_data: Any, *, epochs: Any, mini_batch_size: Any, eta: Any,
            lmbda: Any, cost: Any, seed: Any, evaluation_data: Any, monitor: Monitor) -> Prepared:
    """Check every argument of a run, before any random draw or training step."""
    config = make_config(epochs=epochs, mini_batch_size=mini_batch_size, eta=eta, lmbda=lmbda,
                         cost=cost, seed=seed, monitor=monitor)
    params = check_params(params)
    sizes, dtype = sizes_of(params), params.weights[0].dtype
    data = as_training_data(training_data, n_in=sizes[0], n_out=sizes[-1], dtype=dtype)
    if config.mini_batch_size > data.x.shape[0]:
        raise ConfigError(f"mini_batch_size must be <= the {data.x.shape[0]} training examples, "
                          f"got {mini_batch_size!r}")
    wants_eval = monitor.evaluation_cost or monitor.evaluation_accuracy
    if wants_eval and evaluation_data is None:
        raise ConfigError("evaluation monitoring needs evaluation_data, got None")
    evaluation = None if evaluation_data is None else as_evaluation_data(
        evaluation_data, n_in=sizes[0], n_out=sizes[-1], dtype=dtype)
    return Prepared(tree_map(np.copy, params), data, evaluation, config)


def _monitor(monitor_evaluation_cost: bool, monitor_evaluation_accuracy: bool,
             monitor_training_cost: bool, monitor_training_accuracy: bool,
             monitor_traning_cost: bool | None) -> Monitor:
    if monitor_traning_cost is not None:
        warnings.warn("monitor_traning_cost is a deprecated misspelling; use "
                      "monitor_training_cost", DeprecationWarning, stacklevel=3)
        monitor_training_cost = monitor_training_cost or monitor_traning_cost
    flags = (monitor_training_cost, monitor_training_accuracy, monitor_evaluation_cost,
             monitor_evaluation_accuracy)
    for name, flag in zip(Monitor._fields, flags):
        if not isinstance(flag, bool | np.bool_):
            raise FnnTypeError(f"monitor_{name} must be a bool, got {flag!r}")
    return Monitor(*map(bool, flags))


def prepare_sgd(params: Params, training_data: Any, *, epochs: int, mini_batch_size: int,
                eta: float, lmbda: float = 0.0, cost: Cost | str, seed: Seed,
                evaluation_data: Any = None, monitor_evaluation_cost: bool = False,
                monitor_evaluation_accuracy: bool = False, monitor_training_cost: bool = False,
                monitor_training_accuracy: bool = False,
                monitor_traning_cost: bool | None = None) -> Prepared:
    """``prepare`` with ``sgd``'s keywords: every argument checked, nothing trained yet."""
    monitor = _monitor(monitor_evaluation_cost, monitor_evaluation_accuracy,
                       monitor_training_cost, monitor_training_accuracy, monitor_traning_cost)
    return prepare(params, training_data, epochs=epochs, mini_batch_size=mini_batch_size,
                   eta=eta, lmbda=lmbda, cost=cost, seed=seed, evaluation_data=evaluation_data,
                   monitor=monitor)


def iterate_sgd(params: Params, training_data: Any, **kwargs: Any) -> Iterator[tuple[Params,
                                                                                EpochRecord]]:
    """Train lazily: yield ``(params, record)`` after each epoch (keywords as ``sgd``).

    Every argument is checked when this is called, not at the first ``next``.

    >>> from fnn.params import init_params
    >>> x = np.random.default_rng(0).random((20, 2)); y = (x[:, 0] > x[:, 1]).astype(int)
    >>> run = iterate_sgd(init_params([2, 2], seed=0), (x, y), epochs=3, mini_batch_size=5,
    ...                   eta=1.0, cost="cross_entropy", seed=0)
    >>> [record.epoch for _, record in run]
    [0, 1, 2]
    """
    return epochs_from(*prepare_sgd(params, training_data, **kwargs))


def sgd(params: Params, training_data: Any, *, epochs: int, mini_batch_size: int, eta: float,
        lmbda: float = 0.0, cost: Cost | str, seed: Seed, evaluation_data: Any = None,
        monitor_evaluation_cost: bool = False, monitor_evaluation_accuracy: bool = False,
        monitor_training_cost: bool = False, monitor_training_accuracy: bool = False,
        monitor_traning_cost: bool | None = None) -> tuple[Params, History]:
    """Train ``params`` by mini-batch SGD; return the final params and the History.

    ``training_data`` is ``(x, y)``: x (n, n_in), y one-hot (n, n_out) or integer labels
    (n,). ``evaluation_data`` is ``(x, labels)`` or one-hot. Each epoch shuffles with
    its own stream ``epoch_rng(seed, epoch)``, so the same seed gives bit-identical
    results and a k-epoch run is a prefix of a longer one; monitoring never changes
    the trajectory. Training runs in the dtype of ``params``. Raises NonFiniteError
    (with the last finite params) if training diverges.

    >>> from fnn.params import init_params
    >>> x = np.random.default_rng(0).random((20, 2)); y = (x[:, 0] > x[:, 1]).astype(int)
    >>> params, history = sgd(init_params([2, 2], seed=0), (x, y), epochs=2,
    ...                       mini_batch_size=5, eta=1.0, cost="cross_entropy", seed=0,
    ...                       monitor_training_accuracy=True)
    >>> len(history), history[-1].training_cost is None
    (2, True)
    """
    prepared = prepare_sgd(params, training_data, epochs=epochs, mini_batch_size=mini_batch_size,
                           eta=eta, lmbda=lmbda, cost=cost, seed=seed,
                           evaluation_data=evaluation_data,
                           monitor_evaluation_cost=monitor_evaluation_cost,
                           monitor_evaluation_accuracy=monitor_evaluation_accuracy,
                           monitor_training_cost=monitor_training_cost,
                           monitor_training_accuracy=monitor_training_accuracy,
                           monitor_traning_cost=monitor_traning_cost)
    start = (prepared.params, History())  # a copy: epochs=0 must not return the inputs
    return reduce(lambda state, step: (step[0], state[1].append(step[1])),
                  epochs_from(*prepared), start)
