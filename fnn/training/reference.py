"""Mini-batch training as a fold: a step is a pure function, an epoch folds it over batches.

This is the reference every faster engine must reproduce bit for bit. A step is either

- ``sgd_step``, network2's update, when the optimizer is plain ``gradient_descent(eta)``:
  w ← (1 − η·λ/n)·w − (η/m)·Σ∇w [− η·(λ₁/n)·sgn w],  b ← b − (η/m)·Σ∇b, with network2's
  order of roundings; or
- ``optimizer_step`` for any other optimizer: the mean gradient, plus (λ/n)·W and
  (λ₁/n)·sgn W (``add_decayed_weights``, ``add_l1``), through ``optimizer.update``, then
  ``apply_updates``.

``run_epoch`` folds the step over the epoch's shuffled mini-batches (with their dropout
masks), carrying ``(params, optimizer state)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from functools import partial, reduce
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np
from toolz import partition_all

from fnn._checks import Seed, positive_float, positive_int, shown
from fnn.activations import SIGMOID, Activation, Hidden, per_layer
from fnn.augment import Augmentation
from fnn.costs import Cost
from fnn.data import Batch, as_batch, take
from fnn.errors import DataError, FnnTypeError
from fnn.network import _mean, _summed_gradient
from fnn.optimizers import (
    GradientTransformation,
    State,
    add_decayed_weights,
    add_l1,
    apply_updates,
    descent_rate,
)
from fnn.params import Array, Params, as_params
from fnn.seeds import AUGMENT, DROPOUT, SHUFFLE, stream
from fnn.training.config import TrainConfig

__all__ = ["EpochStreams", "Progress", "Step", "augmented", "config_streams", "dropout_masks",
           "epoch_streams", "minibatches", "optimizer_step", "run_epoch", "sgd_step", "stepper"]

Masks = tuple[Array, ...] | None
Carry = tuple[Params, State]
Item = tuple[Batch, Masks]
Step = Callable[[Carry, Item], Carry]
"""One mini-batch's update of the carry (params and optimizer state): what an epoch folds."""
Progress = Callable[[int, int], None]
"""``progress(done, total)``, called with the mini-batches done so far in the epoch."""


class EpochStreams(NamedTuple):
    """The random streams of one epoch: the shuffle, the dropout masks and the augmentation
    (None when the run has none)."""

    shuffle: np.random.Generator
    dropout: np.random.Generator | None
    augment: np.random.Generator | None = None


def epoch_rng(seed: Seed, epoch: int) -> np.random.Generator:
    """Deprecated: ``epoch_streams(seed, epoch, dropout=False).shuffle``."""
    warnings.warn("epoch_rng is deprecated; use epoch_streams(seed, epoch, dropout=...).shuffle",
                  DeprecationWarning, stacklevel=2)
    return stream(seed, SHUFFLE, epoch)


def epoch_streams(seed: Seed, epoch: int, *, dropout: bool,
                  augment: bool = False) -> EpochStreams:
    """Epoch ``epoch``'s streams: functions of (seed, epoch) only, so reruns and resumes match.

    >>> a = epoch_streams(3, 0, dropout=False).shuffle.permutation(5)
    >>> bool((a == epoch_streams(3, 0, dropout=True, augment=True).shuffle.permutation(5)).all())
    True
    """
    return EpochStreams(stream(seed, SHUFFLE, epoch),
                        stream(seed, DROPOUT, epoch) if dropout else None,
                        stream(seed, AUGMENT, epoch) if augment else None)


def config_streams(config: TrainConfig, epoch: int) -> EpochStreams:
    """The streams epoch ``epoch`` of a run of ``config`` draws from."""
    return epoch_streams(config.seed, epoch, dropout=bool(config.dropout),
                         augment=config.augment is not None)


# --------------------------------------------------------------------------- steps


def _network2_step(carry: Carry, item: Item, *, eta: float, lmbda: float, n: int, cost: Cost,
                   l1: float, acts: tuple[Activation, ...]) -> Carry:
    params, (batch, masks) = carry[0], item
    grads = _summed_gradient(params, batch.x, batch.y, cost, acts, masks)
    step, shrink = eta / batch.x.shape[0], 1 - eta * (lmbda / n)
    weights = tuple(shrink * w - step * g for w, g in zip(params.weights, grads.weights))
    if l1:
        kick = eta * (l1 / n)
        weights = tuple(w - kick * np.sign(w0) for w, w0 in zip(weights, params.weights))
    biases = tuple(b - step * g for b, g in zip(params.biases, grads.biases))
    return Params(weights, biases), carry[1]


def _optimizer_step(carry: Carry, item: Item, *, optimizer: GradientTransformation,
                    penalties: tuple[GradientTransformation, ...], cost: Cost,
                    acts: tuple[Activation, ...]) -> Carry:
    (params, state), (batch, masks) = carry, item
    grads = _mean(_summed_gradient(params, batch.x, batch.y, cost, acts, masks),
                  batch.x.shape[0])
    for penalty in penalties:  # stateless: add_decayed_weights, add_l1
        grads = penalty.update(grads, (), params)[0]
    updates, state = optimizer.update(grads, state, params)
    return apply_updates(params, updates), state


def _penalties(lmbda: float, l1: float, n: int) -> tuple[GradientTransformation, ...]:
    """The gradients of the objective's L2 and L1 terms, as transformations."""
    return (*([add_decayed_weights(lmbda / n)] if lmbda else []),
            *([add_l1(l1 / n)] if l1 else []))


def stepper(config: TrainConfig, n: int, n_hidden: int) -> Step:
    """The step of ``config`` on a training set of ``n`` examples: network2's for plain
    gradient descent, else the optimizer's."""
    acts = per_layer(config.activation, n_hidden)
    eta = descent_rate(config.optimizer)
    if eta is not None:
        return partial(_network2_step, eta=eta, lmbda=config.lmbda, n=n, cost=config.cost,
                       l1=config.l1, acts=acts)
    return partial(_optimizer_step, optimizer=config.optimizer,
                   penalties=_penalties(config.lmbda, config.l1, n), cost=config.cost,
                   acts=acts)


def _checked_step_inputs(params: Any, batch: Any, cost: Any, activation: Hidden,
                         n: Any) -> tuple[Params, Batch, tuple[Activation, ...], int]:
    p = as_params(params)
    b = as_batch(batch, n_in=p.weights[0].shape[1], n_out=p.weights[-1].shape[0],
                 dtype=p.weights[0].dtype)
    if not isinstance(cost, Cost):
        raise FnnTypeError(f"cost must be an fnn Cost such as fnn.cross_entropy, got {cost!r}")
    return p, b, per_layer(activation, len(p.weights) - 1), positive_int("n", n)


def sgd_step(params: Any, batch: Any, *, eta: float, lmbda: float, n: int, cost: Cost,
             l1: float = 0.0, activation: Hidden = SIGMOID,
             masks: Sequence[Array] | None = None) -> Params:
    """Params after one mini-batch of network2's update; ``n`` is the training-set size.

    w ← (1 − η·λ/n)·w − (η/m)·Σ∇w [− η·(λ₁/n)·sgn w],  b ← b − (η/m)·Σ∇b, over the m
    examples of ``batch`` (any ``(x, y)`` pair; ``y`` one-hot rows or integer labels).
    ``params`` is any ``(weights, biases)`` pair; ``masks`` are dropout masks of the hidden
    layers.

    >>> from fnn.params import init_params, shapes
    >>> weights, biases = init_params([3, 2], seed=0)
    >>> q = sgd_step((weights, biases), (np.ones((4, 3)), np.array([0, 1, 1, 0])), eta=0.5,
    ...              lmbda=0.0, n=4, cost=fnn.cross_entropy)
    >>> shapes(q) == shapes((weights, biases))
    True
    """
    p, b, acts, n = _checked_step_inputs(params, batch, cost, activation, n)
    step = partial(_network2_step, eta=positive_float("eta", eta), lmbda=lmbda, n=n,
                   cost=cost, l1=l1, acts=acts)
    return step((p, ()), (b, None if masks is None else tuple(masks)))[0]


def optimizer_step(state: tuple[Any, State], batch: Any, *, optimizer: GradientTransformation,
                   lmbda: float, n: int, cost: Cost, l1: float = 0.0,
                   activation: Hidden = SIGMOID,
                   masks: Sequence[Array] | None = None) -> tuple[Params, State]:
    """(params, optimizer state) after one mini-batch: ``optimizer.update`` of the objective's
    gradient (mean cost gradient + (λ/n)·W + (λ₁/n)·sgn W), applied to the params.

    >>> from fnn.optimizers import momentum
    >>> p = fnn.init_params([3, 2], seed=0)
    >>> opt = momentum(eta=0.1)
    >>> q, s = optimizer_step((p, opt.init(p)), (np.ones((4, 3)), np.array([0, 1, 1, 0])),
    ...                       optimizer=opt, lmbda=1.0, n=4, cost=fnn.cross_entropy)
    >>> len(s), fnn.shapes(q) == fnn.shapes(p)
    (1, True)
    """
    p, b, acts, n = _checked_step_inputs(state[0], batch, cost, activation, n)
    step = partial(_optimizer_step, optimizer=optimizer, penalties=_penalties(lmbda, l1, n),
                   cost=cost, acts=acts)
    return step((p, state[1]), (b, None if masks is None else tuple(masks)))


# --------------------------------------------------------------------------- an epoch


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


def augmented(augment: Augmentation, rng: np.random.Generator, x: Array) -> Array:
    """``augment(rng, x)``, checked to be an array of x's shape and dtype (a DataError
    naming the augmentation otherwise).

    >>> augmented(fnn.augment.shift(side=2), np.random.default_rng(0), np.eye(4)[:1]).shape
    (1, 4)
    """
    out: Any = augment(rng, x)  # a user's function may return anything
    if not isinstance(out, np.ndarray) or out.shape != x.shape or out.dtype != x.dtype:
        got = (f"{out.shape} {out.dtype}" if isinstance(out, np.ndarray)
               else type(out).__name__)
        raise DataError(f"augment {shown(augment)} must return an array of its input's shape "
                        f"and dtype, {x.shape} {x.dtype}; got {got}")
    return out


def epoch_items(params: Params, data: Batch, config: TrainConfig,
                streams: EpochStreams) -> Iterator[Item]:
    """The epoch's (batch, dropout masks) pairs, each batch's inputs augmented when the
    config says so; masks are None without dropout."""
    batches = minibatches(data, config.mini_batch_size, streams.shuffle)
    if config.augment is not None:
        assert streams.augment is not None, "config_streams gives the augmentation stream"
        aug, aug_rng = config.augment, streams.augment
        batches = (Batch(augmented(aug, aug_rng, b.x), b.y) for b in batches)
    if not config.dropout:
        return zip(batches, repeat(None))
    assert streams.dropout is not None, "epoch_streams(dropout=True) gives the mask stream"
    widths = [b.shape[0] for b in params.biases[:-1]]
    masks_rng = streams.dropout
    return ((b, dropout_masks(b, widths, config.dropout, masks_rng)) for b in batches)


def _reporting(items: Iterator[Item], total: int, progress: Progress) -> Iterator[Item]:
    every = max(1, total // 100)
    for done, item in enumerate(items, 1):
        yield item  # the fold asks for the next batch only once this one's step is done
        if done % every == 0 or done == total:
            progress(done, total)


def run_epoch(carry: Carry, data: Batch, config: TrainConfig, streams: EpochStreams, *,
              progress: Progress | None = None) -> Carry:
    """(params, optimizer state) after one epoch: the config's step folded over the batches.

    ``config.optimizer`` is the epoch's (already scaled by the schedule). ``progress(done,
    total)``, if given, is called after about every 1% of the batches (it sees counts only
    and cannot change the result).
    """
    items = epoch_items(carry[0], data, config, streams)
    if progress is not None:
        items = _reporting(items, -(-data.x.shape[0] // config.mini_batch_size), progress)
    step = stepper(config, data.x.shape[0], len(carry[0].weights) - 1)
    return reduce(step, items, carry)
