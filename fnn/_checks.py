"""Validation of scalar settings where they enter fnn (never in the per-batch loop)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from fnn.errors import ConfigError, FnnTypeError

Seed = int | np.random.SeedSequence


def positive_int(name: str, value: Any) -> int:
    """``value`` as an int ≥ 1; bools and floats are refused."""
    return _int_at_least(name, value, 1)


def non_negative_int(name: str, value: Any) -> int:
    """``value`` as an int ≥ 0; bools and floats are refused."""
    return _int_at_least(name, value, 0)


def _int_at_least(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise FnnTypeError(f"{name} must be an int >= {low}, got {value!r}")
    if value < low:
        raise ConfigError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def positive_float(name: str, value: Any) -> float:
    """``value`` as a finite float > 0."""
    x = _real(name, value, "a finite number > 0")
    if not (math.isfinite(x) and x > 0):
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")
    return x


def non_negative_float(name: str, value: Any) -> float:
    """``value`` as a finite float ≥ 0."""
    x = _real(name, value, "a finite number >= 0")
    if not (math.isfinite(x) and x >= 0):
        raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
    return x


def finite_float(name: str, value: Any) -> float:
    """``value`` as a finite float of any sign."""
    x = _real(name, value, "a finite number")
    if not math.isfinite(x):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return x


def fraction(name: str, value: Any, *, closed: bool = False) -> float:
    """``value`` as a float in [0, 1) (or [0, 1] when ``closed``)."""
    x = _real(name, value, "a number in [0, 1)")
    if not (0.0 <= x < 1.0 or (closed and x == 1.0)):
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ConfigError(f"{name} must be a number in {interval}, got {value!r}")
    return x


def _real(name: str, value: Any, expected: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise FnnTypeError(f"{name} must be {expected}, got {value!r}")
    return float(value)


def seed_sequence(seed: Any, name: str = "seed") -> np.random.SeedSequence:
    """The ``SeedSequence`` behind ``seed`` (an int ≥ 0 or a SeedSequence)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise FnnTypeError(f"{name} must be an int >= 0 or a numpy SeedSequence, got {seed!r}")
    if seed < 0:
        raise ConfigError(f"{name} must be an int >= 0 or a numpy SeedSequence, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def named(kind: str, name: Any, values: Any) -> Any:
    """The one of ``values`` whose ``.name`` is ``name`` (deprecated lookups by name only;
    ``fnn.registry`` is where names live)."""
    return choice(kind, name, {v.name: v for v in values})


def choice(name: str, value: Any, options: Any) -> Any:
    """``options[value]``, or a ConfigError listing the keys."""
    try:
        return options[value]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown {name} {value!r}; expected one of {sorted(options)}") from None


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for an error message.

    >>> shown("x" * 100)[-5:], len(shown("x" * 100))
    ('xx...', 80)
    """
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
