"""The contract every fnn loader keeps whatever a file holds, checked on every fuzz input.

A load either returns, or raises the loader's own ``fnn.errors`` class, whose message names
the file, stays within ``MESSAGE_LIMIT`` characters besides the file's name, and did not come
from the loaders' safety net (which turns an unforeseen exception into the loader's error and
keeps it as ``__cause__``: fnn's users see a clean error, the fuzzer still reports the bug).
The peak memory of the load must stay within the target's documented bound. Anything
else is a finding: ``Finding``, or the stray exception itself.
"""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fnn.errors import FnnError

__all__ = ["MESSAGE_LIMIT", "Finding", "check_load", "peak_growth", "slack"]

MESSAGE_LIMIT = 1000
"""Most characters of an error message besides the file names in it (README: files)."""

_CLEAR_REFS, _STATUS = Path("/proc/self/clear_refs"), Path("/proc/self/status")


class Finding(AssertionError):
    """An input broke the contract."""


def _kib(field: str) -> int:
    match = re.search(rf"{field}:\s+(\d+) kB", _STATUS.read_text())
    return int(match.group(1)) * 1024 if match else 0


def peak_growth(run: Callable[[], Any], *, exact: bool) -> tuple[Any, int]:
    """``run()``'s result and how far the memory in use rose above where it started, in bytes.

    ``exact``: the peak of Python's and NumPy's allocations, traced by ``tracemalloc`` (which
    slows the run down about threefold). Otherwise the peak resident memory, which Linux lets
    us reset through ``/proc/self/clear_refs`` (elsewhere the growth is reported as 0).
    """
    start = 0
    if exact:
        tracemalloc.start()
    else:
        try:
            _CLEAR_REFS.write_text("5")
        except OSError:
            return run(), 0
        start = _kib("VmRSS")

    def measure() -> int:
        return tracemalloc.get_traced_memory()[1] if exact else _kib("VmHWM") - start

    try:
        return run(), max(0, measure())
    except BaseException as e:  # the growth matters for a raising load too
        e.add_note(f"peak memory growth: {measure() / 2**20:.1f} MiB")
        raise
    finally:
        if exact:
            tracemalloc.stop()


def slack(*, exact: bool) -> int:
    """What a measurement may add to a loader's documented bound: 2 MiB when exact
    (interpreter and NumPy bookkeeping), 64 MiB of resident memory (allocator arenas too)."""
    return (2 if exact else 64) * 2**20


def check_load(load: Callable[[Path], Any], path: Path, error: type[FnnError],
               memory_bound: int, *, exact: bool) -> str:
    """Run ``load(path)`` and check the contract (memory measured ``exact``ly or not, see
    ``peak_growth``); return what happened: ``"loaded"`` or the error's class name."""
    named = path
    try:
        _, growth = peak_growth(lambda: load(path), exact=exact)
        outcome = "loaded"
    except error as e:
        _check_message(e, named)
        if e.__cause__ is not None and not isinstance(e.__cause__, FnnError):
            raise Finding(f"the safety net caught {type(e.__cause__).__name__}: {e}") \
                from e.__cause__
        growth, outcome = 0, type(e).__name__
    except FnnError as e:
        raise Finding(f"{type(e).__name__} is not the loader's {error.__name__}: {e}") from e
    if growth > memory_bound + slack(exact=exact):
        raise Finding(f"the load's peak memory rose {growth / 2**20:.1f} MiB, above the "
                      f"bound of {memory_bound / 2**20:.1f} MiB for this input "
                      f"(+ {slack(exact=exact) / 2**20:.0f} MiB of slack)")
    return outcome


def _check_message(e: Exception, named: Path) -> None:
    message = str(e)
    if str(named) not in message:
        raise Finding(f"the message does not name {named}: {message[:300]!r}") from e
    if len(message) - message.count(str(named)) * len(str(named)) > MESSAGE_LIMIT:
        raise Finding(f"a message of {len(message)} characters: {message[:300]!r}...") from e
