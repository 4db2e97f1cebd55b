"""Learning-rate schedules as values: per epoch (with the history so far) or per step.

An **epoch schedule** maps ``(epoch, history)`` — ``history`` holds the records of the epochs
before ``epoch`` — to the factor by which the optimizer's learning rate η is multiplied in that
epoch, or ``None`` to stop training. ``fnn.sgd(..., schedule=...)`` takes one. Because it sees
only the history, a run resumed from a checkpoint gets the same factors as an uninterrupted one.

>>> from fnn.history import EpochRecord, History
>>> rule = halve_on_plateau(patience=2)
>>> h = History(tuple(EpochRecord(e, evaluation_accuracy=a) for e, a in
...                   enumerate([0.90, 0.91, 0.91, 0.90, 0.92])))
>>> [rule(e, h[:e]) for e in range(6)]
[1.0, 1.0, 1.0, 1.0, 0.5, 0.5]

A **step schedule** maps the number of updates made so far to a factor; put it in an
optimizer with ``fnn.optimizers.scale_by_schedule`` (e.g. ``cosine_decay``). Any function of
the right shape is a schedule; fnn's own are ``Bound`` values, so files can name them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

from fnn._bound import bind
from fnn._checks import fraction, positive_float, positive_int
from fnn.errors import ConfigError
from fnn.history import History

__all__ = ["EpochSchedule", "StepSchedule", "constant", "cosine_decay",
           "epochs_without_improvement", "halve_on_plateau", "is_constant", "step_decay"]

EpochSchedule = Callable[[int, History], float | None]
"""``(epoch, history) -> factor of eta, or None to stop``: an epoch schedule."""
StepSchedule = Callable[[int], float]
"""``(updates made so far) -> factor``: a step schedule, for ``scale_by_schedule``."""


def _constant(epoch: int, history: History) -> float:  # noqa: ARG001 (the schedule signature)
    return 1.0


def constant(eta: float | None = None) -> EpochSchedule:
    """The optimizer's own learning rate every epoch (factor 1): the default.

    >>> constant()(7, History())
    1.0
    """
    if eta is not None:
        warnings.warn("schedules now scale the optimizer's eta; constant() takes no eta",
                      DeprecationWarning, stacklevel=2)
    return bind(_constant)


def _accuracies(history: History) -> list[float]:
    values = [r.evaluation_accuracy for r in history]
    if any(v is None for v in values):
        raise ConfigError("this schedule needs evaluation accuracy monitored every epoch")
    return [v for v in values if v is not None]


def epochs_without_improvement(history: History) -> int:
    """Epochs since the best evaluation accuracy so far (0 if the last epoch was the best).

    >>> from fnn.history import EpochRecord
    >>> epochs_without_improvement(History(tuple(
    ...     EpochRecord(e, evaluation_accuracy=a) for e, a in enumerate([0.5, 0.7, 0.6, 0.7]))))
    2
    """
    values = _accuracies(history)
    if not values:
        return 0
    best = max(range(len(values)), key=lambda i: (values[i], -i))  # the first best epoch
    return len(values) - 1 - best


def _halve_on_plateau(epoch: int, history: History, *,  # noqa: ARG001 (the signature)
                      patience: int, min_factor: float) -> float | None:
    factor, best, since = 1.0, float("-inf"), 0
    for value in _accuracies(history):
        best, since = (value, 0) if value > best else (best, since + 1)
        if since >= patience:
            factor, since = factor / 2, 0
    return None if factor <= min_factor else factor


def halve_on_plateau(eta: float | None = None, *, patience: int = 10,
                     min_factor: float = 1 / 128) -> EpochSchedule:
    """The book's rule: halve η each time evaluation accuracy has not improved for
    ``patience`` epochs (counting anew after each halving); stop once η has fallen to
    ``min_factor`` of its start (1/128 by default). Needs evaluation accuracy monitored.

    >>> halve_on_plateau(patience=0)
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: patience must be an int >= 1, got 0
    """
    if eta is not None:
        warnings.warn("schedules now scale the optimizer's eta; halve_on_plateau takes no eta",
                      DeprecationWarning, stacklevel=2)
    return bind(_halve_on_plateau, patience=positive_int("patience", patience),
                min_factor=positive_float("min_factor", min_factor))


def _step_decay(epoch: int, history: History, *,  # noqa: ARG001 (the signature)
                every: int, factor: float) -> float:
    return factor ** (epoch // every)


def step_decay(every: int, factor: float = 0.5) -> EpochSchedule:
    """Multiply η by ``factor`` every ``every`` epochs (a staircase; never stops).

    >>> rule = step_decay(2, factor=0.1)
    >>> [round(rule(e, History()), 3) for e in range(5)]
    [1.0, 1.0, 0.1, 0.1, 0.01]
    """
    return bind(_step_decay, every=positive_int("every", every),
                factor=fraction("factor", factor, closed=True))


def _cosine_decay(count: int, *, steps: int, alpha: float) -> float:
    progress = min(count, steps) / steps
    return alpha + (1 - alpha) * 0.5 * (1 + math.cos(math.pi * progress))


def cosine_decay(steps: int, alpha: float = 0.0) -> StepSchedule:
    """A step schedule from 1 down to ``alpha`` along a half cosine over ``steps`` updates.

    >>> rule = cosine_decay(10)
    >>> rule(0), rule(5), rule(10), rule(99)
    (1.0, 0.5, 0.0, 0.0)
    """
    return bind(_cosine_decay, steps=positive_int("steps", steps),
                alpha=fraction("alpha", alpha, closed=True))


def is_constant(schedule: Any) -> bool:
    """True for ``constant()``: the one schedule that needs no evaluation data."""
    return bool(schedule == bind(_constant))
