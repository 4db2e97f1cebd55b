"""Learning-rate schedules and early stopping as pure functions of the history so far.

A schedule maps ``(epoch, history)`` — the records of the epochs before ``epoch`` — to the
eta for that epoch, or ``None`` to stop training. Because it sees only the history, a run
resumed from a checkpoint gets the same etas as an uninterrupted one.

>>> from fnn.monitor import EpochRecord, History
>>> rule = halve_on_plateau(0.5, patience=2)
>>> h = History(tuple(EpochRecord(e, evaluation_accuracy=a) for e, a in
...                   enumerate([0.90, 0.91, 0.91, 0.90, 0.92])))
>>> [rule(e, h[:e]) for e in range(6)]
[0.5, 0.5, 0.5, 0.5, 0.25, 0.25]
"""

from __future__ import annotations

from collections.abc import Callable

from fnn._checks import positive_float, positive_int
from fnn.errors import ConfigError
from fnn.monitor import History

__all__ = ["Schedule", "constant", "epochs_without_improvement", "halve_on_plateau",
           "parse_schedule"]

Schedule = Callable[[int, History], float | None]


def constant(eta: float) -> Schedule:
    """The same eta every epoch.

    >>> constant(0.5)(7, History())
    0.5
    """
    eta = positive_float("eta", eta)

    def schedule(epoch: int, history: History) -> float:  # noqa: ARG001 (Schedule signature)
        return eta

    return schedule


def _accuracies(history: History) -> list[float]:
    values = [r.evaluation_accuracy for r in history]
    if any(v is None for v in values):
        raise ConfigError("this schedule needs evaluation accuracy monitored every epoch")
    return [v for v in values if v is not None]


def epochs_without_improvement(history: History) -> int:
    """Epochs since the best evaluation accuracy so far (0 if the last epoch was the best).

    >>> from fnn.monitor import EpochRecord
    >>> epochs_without_improvement(History(tuple(
    ...     EpochRecord(e, evaluation_accuracy=a) for e, a in enumerate([0.5, 0.7, 0.6, 0.7]))))
    2
    """
    values = _accuracies(history)
    if not values:
        return 0
    best = max(range(len(values)), key=lambda i: (values[i], -i))  # the first best epoch
    return len(values) - 1 - best


def halve_on_plateau(eta: float, *, patience: int = 10, min_factor: float = 1 / 128) -> Schedule:
    """The book's rule: halve eta each time evaluation accuracy has not improved for
    ``patience`` epochs (counting anew after each halving); stop once eta has fallen to
    ``eta · min_factor`` (eta0/128 by default).
    """
    eta, patience = positive_float("eta", eta), positive_int("patience", patience)
    min_factor = positive_float("min_factor", min_factor)

    def schedule(epoch: int, history: History) -> float | None:  # noqa: ARG001
        current, best, since = eta, float("-inf"), 0
        for value in _accuracies(history):
            best, since = (value, 0) if value > best else (best, since + 1)
            if since >= patience:
                current, since = current / 2, 0
        return None if current <= eta * min_factor else current

    return schedule


def parse_schedule(text: str, eta: float) -> Schedule:
    """A schedule from its command-line form: ``constant`` or ``halve:N``.

    >>> parse_schedule("halve:10", 0.5)(0, History())
    0.5
    >>> parse_schedule("cosine", 0.5)
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: schedule must be 'constant' or 'halve:N' (N epochs without improvement), got 'cosine'
    """
    if text == "constant":
        return constant(eta)
    kind, _, n = text.partition(":")
    if kind == "halve" and n.isdigit() and int(n) > 0:
        return halve_on_plateau(eta, patience=int(n))
    raise ConfigError("schedule must be 'constant' or 'halve:N' (N epochs without "
                      f"improvement), got {text!r}")
