"""Mini-batch training as a fold: a step is a pure function, an epoch folds it over batches.

``iterate_sgd`` yields ``(params, record)`` after each epoch, lazily, so a caller can
stop early or show progress; ``sgd`` folds it into ``(params, history)``.

Beyond network2's plain SGD with L2 (the default, computed exactly as network2 does):
hidden activations (sigmoid, tanh, ReLU), softmax outputs (``cost="log_likelihood"``),
optimizers (``fnn.optimizers``: momentum, Nesterov, Adam), L1, inverted dropout on hidden
layers, eta schedules and early stopping (``fnn.schedules``). The epoch fold then carries
``(params, optimizer state)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial, reduce
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np
from toolz import accumulate, partition_all

from fnn import _checks
from fnn._checks import Seed
from fnn.activations import SIGMOID, Activation, get_activation
from fnn.costs import Cost, get_cost, l1_gradient, l2_gradient
from fnn.data import Batch, Labelled, as_evaluation_data, as_training_data, take
from fnn.errors import ConfigError, FnnTypeError, NonFiniteError
from fnn.fastpath import fast_epoch
from fnn.monitor import EpochRecord, History, Monitor, measure
from fnn.network import backprop, hidden_activations, summed_gradient
from fnn.optimizers import State, make_optimizer
from fnn.params import Array, Params, check_params, sizes_of, tree_map
from fnn.schedules import Schedule, epochs_without_improvement, parse_schedule
from fnn.seeds import DROPOUT, SHUFFLE, stream

__all__ = ["Prepared", "TrainConfig", "TrainState", "epoch_rng", "epochs_from", "iterate_sgd",
           "make_config", "minibatches", "optimizer_step", "prepare", "prepare_sgd",
           "run_epoch", "sgd", "sgd_step", "train_states"]

Masks = tuple[Array, ...] | None


class TrainConfig(NamedTuple):
    """Everything that decides a training trajectory, validated by ``make_config``."""

    epochs: int
    mini_batch_size: int
    eta: float
    lmbda: float
    cost: Cost
    seed: Seed
    monitor: Monitor = Monitor()
    activation: tuple[Activation, ...] | Activation = SIGMOID
    optimizer: str = "sgd"
    optimizer_settings: tuple[tuple[str, float], ...] = ()
    l1: float = 0.0
    dropout: float = 0.0
    schedule: str | Schedule = "constant"
    early_stop: int | None = None


def make_config(*, epochs: Any, mini_batch_size: Any, eta: Any, lmbda: Any = 0.0, cost: Any,
                seed: Any, monitor: Monitor = Monitor(), activation: Any = SIGMOID,
                optimizer: Any = "sgd", optimizer_settings: Mapping[str, float] | None = None,
                l1: Any = 0.0, dropout: Any = 0.0, schedule: Any = "constant",
                early_stop: Any = None) -> TrainConfig:
    """A TrainConfig with every value checked; ConfigError/FnnTypeError name the culprit."""
    if isinstance(cost, str):
        cost = get_cost(cost)
    elif not isinstance(cost, Cost):
        raise FnnTypeError(f"cost must be an fnn Cost or a cost name, got {cost!r}")
    _checks.seed_sequence(seed)
    eta = _checks.positive_float("eta", eta)
    settings = tuple(sorted((optimizer_settings or {}).items()))
    make_optimizer(optimizer, eta=eta, **dict(settings))  # checks the name and settings now
    if isinstance(schedule, str):
        parse_schedule(schedule, eta)
    elif not callable(schedule):
        raise FnnTypeError(f"schedule must be a name such as 'halve:10' or a function of "
                           f"(epoch, history), got {schedule!r}")
    return TrainConfig(epochs=_checks.non_negative_int("epochs", epochs),
                       mini_batch_size=_checks.positive_int("mini_batch_size", mini_batch_size),
                       eta=eta, lmbda=_checks.non_negative_float("lmbda", lmbda),
                       cost=cost, seed=seed, monitor=monitor, activation=_activation(activation),
                       optimizer=optimizer, optimizer_settings=settings,
                       l1=_checks.non_negative_float("l1", l1),
                       dropout=_checks.fraction("dropout", dropout), schedule=schedule,
                       early_stop=None if early_stop is None else _checks.positive_int(
                           "early_stop", early_stop))


def _activation(activation: Any) -> tuple[Activation, ...] | Activation:
    if isinstance(activation, str | Activation):
        return get_activation(activation)
    if isinstance(activation, Sequence):
        return tuple(map(get_activation, activation))
    raise FnnTypeError(f"activation must be a name, an Activation or one per hidden layer, "
                       f"got {activation!r}")


def sgd_step(params: Params, batch: Batch, *, eta: float, lmbda: float, n: int, cost: Cost,
             l1: float = 0.0, activation: Any = SIGMOID, masks: Masks = None) -> Params:
    """Params after one mini-batch: network2's update, with n the training-set size.

    w ← (1 - eta·(lmbda/n))·w - (eta/m)·Σ∇w [- eta·(l1/n)·sgn(w)],  b ← b - (eta/m)·Σ∇b,
    over the m examples of the batch (``masks``: dropout masks of the hidden layers).

    >>> from fnn.params import init_params, shapes
    >>> from fnn.costs import cross_entropy
    >>> p = init_params([3, 2], seed=0)
    >>> q = sgd_step(p, Batch(np.ones((4, 3)), np.eye(2)[[0, 1, 1, 0]]), eta=0.5, lmbda=0.0,
    ...              n=4, cost=cross_entropy)
    >>> shapes(q) == shapes(p)
    True
    """
    grads = summed_gradient(params, batch.x, batch.y, cost, activation=activation, masks=masks)
    step, shrink = eta / batch.x.shape[0], 1 - eta * (lmbda / n)
    weights = tuple(shrink * w - step * g for w, g in zip(params.weights, grads.weights))
    if l1:
        kick = eta * (l1 / n)
        weights = tuple(w - kick * np.sign(w0) for w, w0 in zip(weights, params.weights))
    return Params(weights=weights,
                  biases=tuple(b - step * g for b, g in zip(params.biases, grads.biases)))


def optimizer_step(state: tuple[Params, State], batch: Batch, *, optimizer: Any, lmbda: float,
                   n: int, cost: Cost, l1: float = 0.0, activation: Any = SIGMOID,
                   masks: Masks = None) -> tuple[Params, State]:
    """(params, optimizer state) after one mini-batch: the optimizer's update of the
    objective's gradient (mean cost gradient + (lmbda/n)·W + (l1/n)·sgn W)."""
    params, opt_state = state
    grads = backprop(params, batch.x, batch.y, cost, activation=activation, masks=masks)
    if lmbda:
        grads = tree_map(np.add, grads, l2_gradient(params, lmbda, n))
    if l1:
        grads = tree_map(np.add, grads, l1_gradient(params, l1, n))
    new: tuple[Params, State] = optimizer.update(grads, opt_state, params)
    return new


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


def dropout_masks(batch: Batch, widths: Sequence[int], p: float,
                  rng: np.random.Generator) -> tuple[Array, ...]:
    """Inverted-dropout masks for one batch: each hidden unit kept with probability 1 - p
    and scaled by 1/(1 - p), so evaluation needs no rescaling.

    >>> m = dropout_masks(Batch(np.ones((2, 3)), np.ones((2, 1))), [4], 0.5,
    ...                   np.random.default_rng(0))
    >>> m[0].shape, sorted(set(m[0].ravel().tolist()))
    ((2, 4), [0.0, 2.0])
    """
    m, dtype = batch.x.shape[0], batch.x.dtype
    return tuple((rng.random((m, w)) >= p).astype(dtype) / dtype.type(1 - p) for w in widths)


Progress = Callable[[int, int], None]


def _items(params: Params, data: Batch, config: TrainConfig, rng: np.random.Generator,
           masks_rng: np.random.Generator | None) -> Iterator[tuple[Batch, Masks]]:
    """The epoch's (batch, dropout masks) pairs; masks are None without dropout."""
    batches = minibatches(data, config.mini_batch_size, rng)
    if not config.dropout:
        return zip(batches, repeat(None))
    if masks_rng is None:
        raise ConfigError("dropout needs masks_rng (stream(seed, DROPOUT, epoch))")
    widths = [b.shape[0] for b in params.biases[:-1]]
    return ((b, dropout_masks(b, widths, config.dropout, masks_rng)) for b in batches)


def masks_rng_for(config: TrainConfig, epoch: int) -> np.random.Generator | None:
    """Epoch ``epoch``'s dropout stream (None without dropout): a function of (seed, epoch)."""
    return stream(config.seed, DROPOUT, epoch) if config.dropout else None


def _stepper(config: TrainConfig,
             n: int) -> Callable[[tuple[Params, State], tuple[Batch, Masks]], tuple[Params, State]]:
    common: dict[str, Any] = {"lmbda": config.lmbda, "n": n, "cost": config.cost, "l1": config.l1,
              "activation": config.activation}
    if config.optimizer == "sgd":
        def plain(state: tuple[Params, State], item: tuple[Batch, Masks]) -> tuple[Params, State]:
            return sgd_step(state[0], item[0], eta=config.eta, masks=item[1], **common), state[1]
        return plain
    optimizer = make_optimizer(config.optimizer, eta=config.eta,
                               **dict(config.optimizer_settings))
    return lambda state, item: optimizer_step(state, item[0], optimizer=optimizer,
                                              masks=item[1], **common)


def run_epoch(params: Params, data: Batch, config: TrainConfig, rng: np.random.Generator, *,
              progress: Progress | None = None,
              masks_rng: np.random.Generator | None = None) -> Params:
    """Params after one epoch of plain SGD: ``sgd_step`` folded over the shuffled batches.

    ``progress(done, total)``, if given, is called after about every 1% of the batches (for
    a progress bar; it sees counts only and cannot change the result).
    """
    if config.optimizer != "sgd":
        raise ConfigError(f"run_epoch runs plain SGD; use run_epoch_state for "
                          f"optimizer {config.optimizer!r}")
    return run_epoch_state((params, ()), data, config, rng, progress=progress,
                           masks_rng=masks_rng)[0]


def run_epoch_state(state: tuple[Params, State], data: Batch, config: TrainConfig,
                    rng: np.random.Generator, *, progress: Progress | None = None,
                    masks_rng: np.random.Generator | None = None) -> tuple[Params, State]:
    """(params, optimizer state) after one epoch: the configured step folded over batches."""
    items = _items(state[0], data, config, rng, masks_rng)
    if progress is not None:
        items = _reporting(items, -(-data.x.shape[0] // config.mini_batch_size), progress)
    return reduce(_stepper(config, data.x.shape[0]), items, state)


def _epoch(state: tuple[Params, State], data: Batch, config: TrainConfig,
           rng: np.random.Generator, *, progress: Progress | None,
           masks_rng: np.random.Generator | None) -> tuple[Params, State]:
    """``run_epoch_state``'s result; plain SGD takes ``fast_epoch`` (the same bits, faster;
    it hands any setting it does not cover back to ``run_epoch``)."""
    if config.optimizer != "sgd":
        return run_epoch_state(state, data, config, rng, progress=progress, masks_rng=masks_rng)
    return fast_epoch(state[0], data, config, rng, progress=progress,
                      masks_rng=masks_rng), state[1]


def _reporting(items: Iterator[Any], total: int, progress: Progress) -> Iterator[Any]:
    every = max(1, total // 100)
    for done, item in enumerate(items, 1):
        yield item  # the fold asks for the next batch only once this one's step is done
        if done % every == 0 or done == total:
            progress(done, total)


def _all_finite(params: Params) -> bool:
    return all(np.isfinite(a).all() for a in (*params.weights, *params.biases))


def _locate_divergence(state: tuple[Params, State], data: Batch, config: TrainConfig,
                       epoch: int, history: History) -> NonFiniteError:
    """Replay the (deterministic) epoch step by step to name the first bad mini-batch."""
    items = _items(state[0], data, config, epoch_rng(config.seed, epoch),
                   masks_rng_for(config, epoch))
    states = accumulate(_stepper(config, data.x.shape[0]), items, state)
    last = next(states)
    for i, new in enumerate(states):
        if not _all_finite(new[0]):
            return NonFiniteError(
                f"parameters became non-finite in epoch {epoch}, mini-batch {i} "
                f"(eta={config.eta}, lmbda={config.lmbda})",
                epoch=epoch, batch=i, params=last[0], history=history)
        last = new
    raise AssertionError("replayed epoch stayed finite")  # pragma: no cover


class TrainState(NamedTuple):
    """Where training stands after an epoch: everything a checkpoint must keep.

    ``history`` includes the latest record; ``best`` holds the params of the best epoch
    by evaluation accuracy when early stopping is on (else None).
    """

    params: Params
    opt_state: State
    history: History
    best: Params | None = None


def _schedule(config: TrainConfig) -> Schedule:
    if isinstance(config.schedule, str):
        return parse_schedule(config.schedule, config.eta)
    return config.schedule


def _stop_reason(config: TrainConfig, schedule: Schedule, history: History) -> str | None:
    epoch = len(history)
    if epoch < config.epochs and schedule(epoch, history) is None:
        return f"eta fell to eta0/128 under schedule {config.schedule}"
    if config.early_stop is not None and epochs_without_improvement(history) >= config.early_stop:
        best = history[-1 - epochs_without_improvement(history)].epoch
        return (f"early stop: no improvement in evaluation accuracy for {config.early_stop} "
                f"epochs; the params returned are epoch {best}'s")
    return None


def train_states(prepared: Prepared, *, start: TrainState | None = None,
                 progress: Callable[[int, int, int], None] | None = None) -> Iterator[TrainState]:
    """The training generator on validated inputs: a TrainState after each epoch.

    ``start`` continues a run (e.g. from a checkpoint); ``progress(epoch, done, total)`` is
    called as epochs run. A run that stops early (schedule or early stopping) marks its last
    record's ``stopped`` and, for early stopping, yields the best params seen.
    """
    params, data, evaluation, config = prepared
    optimizer = make_optimizer(config.optimizer, eta=config.eta, **dict(config.optimizer_settings))
    state = start or TrainState(params, optimizer.init(params), History())
    schedule = _schedule(config)
    if state.history.stopped is not None:
        return
    for epoch in range(len(state.history), config.epochs):
        eta = schedule(epoch, state.history)
        assert eta is not None, "a stop is noted on the previous record"
        cfg = config._replace(eta=eta)
        tick = None if progress is None else partial(progress, epoch)
        new = _epoch((state.params, state.opt_state), data, cfg, epoch_rng(config.seed, epoch),
                     progress=tick, masks_rng=masks_rng_for(config, epoch))
        if not _all_finite(new[0]):
            raise _locate_divergence((state.params, state.opt_state), data, cfg, epoch,
                                     state.history)
        record = measure(new[0], epoch, data, evaluation, cost=config.cost,
                         lmbda=config.lmbda, l1=config.l1, activation=config.activation,
                         monitor=config.monitor)._replace(eta=eta)
        if any(isinstance(v, float) and not np.isfinite(v) for v in record):
            raise NonFiniteError(f"a monitored cost is not finite after epoch {epoch}: {record}",
                                 epoch=epoch, batch=None, params=new[0], history=state.history)
        state = _advance(state, new, record, config, schedule)
        yield state
        if state.history.stopped is not None:
            return


def _advance(state: TrainState, new: tuple[Params, State], record: EpochRecord,
             config: TrainConfig, schedule: Schedule) -> TrainState:
    history = state.history.append(record)
    best = state.best
    if config.early_stop is not None and epochs_without_improvement(history) == 0:
        best = new[0]
    reason = _stop_reason(config, schedule, history)
    if reason is None:
        return TrainState(new[0], new[1], history, best)
    history = state.history.append(record._replace(stopped=reason))
    returned = best if config.early_stop is not None and best is not None else new[0]
    return TrainState(returned, new[1], history, best)


def epochs_from(params: Params, data: Batch, evaluation: Labelled | None, config: TrainConfig,
                *, progress: Callable[[int, int, int], None] | None = None,
                ) -> Iterator[tuple[Params, EpochRecord]]:
    """``(params, record)`` after each epoch of a run on validated inputs."""
    states = train_states(Prepared(params, data, evaluation, config), progress=progress)
    return ((s.params, s.history[-1]) for s in states)


class Prepared(NamedTuple):
    """Validated inputs of a training run."""

    params: Params
    data: Batch
    evaluation: Labelled | None
    config: TrainConfig


def prepare(params: Any, training_data: Any, *, evaluation_data: Any, monitor: Monitor,
            **settings: Any) -> Prepared:
    """Check every argument of a run, before any random draw or training step.

    ``settings`` are ``make_config``'s keywords. Early stopping and eta schedules other than
    ``constant`` watch evaluation accuracy, so they turn its monitoring on.
    """
    if settings.get("early_stop") is not None or settings.get("schedule", "constant") != "constant":
        monitor = monitor._replace(evaluation_accuracy=True)
    config = make_config(monitor=monitor, **settings)
    params = check_params(params)
    sizes, dtype = sizes_of(params), params.weights[0].dtype
    hidden_activations(config.activation, len(sizes) - 2)  # one per hidden layer, if a tuple
    data = as_training_data(training_data, n_in=sizes[0], n_out=sizes[-1], dtype=dtype)
    if config.mini_batch_size > data.x.shape[0]:
        raise ConfigError(f"mini_batch_size must be <= the {data.x.shape[0]} training examples, "
                          f"got {settings['mini_batch_size']!r}")
    wants_eval = monitor.evaluation_cost or monitor.evaluation_accuracy
    if wants_eval and evaluation_data is None:
        raise ConfigError("evaluation monitoring (also used by early stopping and eta "
                          "schedules) needs evaluation_data, got None")
    evaluation = None if evaluation_data is None else as_evaluation_data(
        evaluation_data, n_in=sizes[0], n_out=sizes[-1], dtype=dtype)
    return Prepared(tree_map(np.copy, params), data, evaluation, config)


def _monitor(monitor_evaluation_cost: bool, monitor_evaluation_accuracy: bool,
             monitor_training_cost: bool, monitor_training_accuracy: bool,
             monitor_traning_cost: bool | None) -> Monitor:
    if monitor_traning_cost is not None:
        warnings.warn("monitor_traning_cost is a deprecated misspelling; use "
                      "monitor_training_cost", DeprecationWarning, stacklevel=4)
        monitor_training_cost = monitor_training_cost or monitor_traning_cost
    flags = (monitor_training_cost, monitor_training_accuracy, monitor_evaluation_cost,
             monitor_evaluation_accuracy)
    for name, flag in zip(Monitor._fields, flags):
        if not isinstance(flag, bool | np.bool_):
            raise FnnTypeError(f"monitor_{name} must be a bool, got {flag!r}")
    return Monitor(*map(bool, flags))


def prepare_sgd(params: Params, training_data: Any, *, evaluation_data: Any = None,
                monitor_evaluation_cost: bool = False, monitor_evaluation_accuracy: bool = False,
                monitor_training_cost: bool = False, monitor_training_accuracy: bool = False,
                monitor_traning_cost: bool | None = None, **settings: Any) -> Prepared:
    """``prepare`` with ``sgd``'s keywords: every argument checked, nothing trained yet."""
    monitor = _monitor(monitor_evaluation_cost, monitor_evaluation_accuracy,
                       monitor_training_cost, monitor_training_accuracy, monitor_traning_cost)
    return prepare(params, training_data, evaluation_data=evaluation_data, monitor=monitor,
                   **settings)


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
        monitor_traning_cost: bool | None = None, activation: Any = SIGMOID,
        optimizer: str = "sgd", optimizer_settings: Mapping[str, float] | None = None,
        l1: float = 0.0, dropout: float = 0.0, schedule: str | Schedule = "constant",
        early_stop: int | None = None) -> tuple[Params, History]:
    """Train ``params`` by mini-batch gradient descent; return the final params and the History.

    ``training_data`` is ``(x, y)``: x (n, n_in), y one-hot (n, n_out) or integer labels
    (n,). ``evaluation_data`` is ``(x, labels)`` or one-hot. Each epoch shuffles with
    its own stream ``epoch_rng(seed, epoch)``, so the same seed gives bit-identical
    results and a k-epoch run is a prefix of a longer one; monitoring never changes
    the trajectory. Training runs in the dtype of ``params``. Raises NonFiniteError
    (with the last finite params) if training diverges.

    Beyond network2: ``activation`` for hidden layers ("sigmoid", "tanh", "relu", or one
    per hidden layer); ``cost="log_likelihood"`` for softmax outputs; ``optimizer``
    ("sgd", "momentum", "nesterov", "adam") with ``optimizer_settings`` such as
    ``{"mu": 0.9}``; ``l1``; ``dropout`` (probability of dropping a hidden unit);
    ``schedule`` ("constant", "halve:N" or a function of (epoch, history) giving eta or
    None to stop); ``early_stop=N`` stops after N epochs without a better evaluation
    accuracy and returns the best params seen. The defaults are network2's update.

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
                           monitor_traning_cost=monitor_traning_cost, activation=activation,
                           optimizer=optimizer, optimizer_settings=optimizer_settings, l1=l1,
                           dropout=dropout, schedule=schedule, early_stop=early_stop)
    start = (prepared.params, History())  # a copy: epochs=0 must not return the inputs
    return reduce(lambda _, state: (state.params, state.history), train_states(prepared), start)
