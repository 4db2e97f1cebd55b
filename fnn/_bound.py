"""``Bound``: a function with its settings fixed, comparable and self-describing.

fnn's own optimizers, schedules and augmentations are built from ``Bound`` objects, so a
value knows what it is (``fn``) and how it was set (``settings``): ``fnn.registry`` names it
for a file or a record, the fast paths recognise it, and two values built alike are equal.
A user's own functions need none of this; they simply cannot be written by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Bound", "bind"]


@dataclass(frozen=True)
class Bound:
    """``fn`` with keyword ``settings`` fixed: ``Bound(f, (("eta", 0.5),))(g)`` is ``f(g, eta=0.5)``.

    >>> def step(g, *, eta): return g * eta
    >>> b = bind(step, eta=0.5)
    >>> b(4.0), b == bind(step, eta=0.5), b.setting("eta")
    (2.0, True, 0.5)
    """

    fn: Callable[..., Any]
    settings: tuple[tuple[str, Any], ...] = ()
    _kwargs: dict[str, Any] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_kwargs", dict(self.settings))

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args, **self._kwargs)

    def setting(self, name: str, default: Any = None) -> Any:
        """The value of one setting (``default`` when it has none)."""
        return self._kwargs.get(name, default)

    def replace(self, **changes: Any) -> Bound:
        """A copy with some settings changed."""
        return Bound(self.fn, tuple((k, changes.get(k, v)) for k, v in self.settings))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings)
        return f"{self.fn.__name__.lstrip('_')}({args})"


def bind(fn: Callable[..., Any], /, **settings: Any) -> Bound:
    """``Bound(fn, settings)`` with the settings in the order given."""
    return Bound(fn, tuple(settings.items()))
