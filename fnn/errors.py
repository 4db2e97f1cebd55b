"""The exceptions fnn raises, each also a subclass of the built-in a caller expects.

Catch ``FnnError`` for anything fnn raises on purpose, or the built-in
(``ValueError``, ``TypeError``, ``FloatingPointError``) when the caller does not
care where the error came from.

>>> issubclass(ConfigError, ValueError) and issubclass(ConfigError, FnnError)
True
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CheckpointFormatError",
    "CheckpointMismatchError",
    "ConfigError",
    "DataError",
    "DatasetFormatError",
    "FnnError",
    "FnnTypeError",
    "ModelFormatError",
    "NonFiniteError",
    "ResultsFormatError",
    "UnsafeFileError",
]


class FnnError(Exception):
    """Base class of every exception fnn raises on purpose."""


class ConfigError(FnnError, ValueError):
    """A setting (sizes, eta, lmbda, epochs, seed, ...) has a bad value."""


class FnnTypeError(FnnError, TypeError):
    """An argument is the wrong kind of object (e.g. a bool where an int belongs)."""


class DataError(FnnError, ValueError):
    """Training or evaluation arrays are malformed (shape, NaN/inf, labels)."""


class ModelFormatError(FnnError, ValueError):
    """A model file (or a checkpoint or results file) cannot be read; the message names the
    file and the place. Any failure while loading one is raised as this class or a subclass;
    an unforeseen exception (MemoryError included) is kept as ``__cause__``."""


class CheckpointFormatError(ModelFormatError):
    """A checkpoint file cannot be read; names the file and the place."""


class ResultsFormatError(ModelFormatError):
    """A sweep's results file cannot be read; names the file, the line and the place."""


class DatasetFormatError(FnnError, ValueError):
    """A dataset file is corrupt or not what it claims to be; names file and problem. Any
    failure while loading one is raised as this class; an unforeseen exception (MemoryError
    included) is kept as ``__cause__``."""


class UnsafeFileError(DatasetFormatError):
    """A pickle asked for a global outside the allow-list (named in the message); nothing
    was executed."""


class CheckpointMismatchError(FnnError, ValueError):
    """A checkpoint was resumed with other data or settings; names what differs."""


class NonFiniteError(FnnError, FloatingPointError):
    """Training produced NaN or inf.

    ``epoch`` and ``batch`` locate the first mini-batch whose update was not
    finite (``batch`` is None when only a monitored cost was); ``params`` are the
    last finite parameters (a ``Params``) and ``history`` the records of the completed
    epochs (a ``History``). They are typed loosely here because this module sits below
    both types.
    """

    def __init__(self, message: str, *, epoch: int, batch: int | None,
                 params: Any, history: Any) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.params = params
        self.history = history

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only fields would be lost by the default pickling (process pools need it)
        return (_rebuild_non_finite, (str(self), self.epoch, self.batch, self.params, self.history))


def _rebuild_non_finite(message: str, epoch: int, batch: int | None,
                        params: Any, history: Any) -> NonFiniteError:
    return NonFiniteError(message, epoch=epoch, batch=batch, params=params, history=history)
