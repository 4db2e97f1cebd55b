"""Planning a sweep: a base ``Run``, overrides (a grid or a list) and seeds, as ``Job``s.

A ``Sweep`` is data. ``jobs(sweep)`` turns it into ``Job``s, each a ``Run`` (any setting of
``fnn.training.run.RUN_SETTINGS`` may vary: the net, the optimizer and its settings, the
activation, dropout, L1, the schedule, the expansion, the dtype, ...) and a seed, named by
``job_id`` (a hash of both, the same on every machine).

Seeds. With ``seeds=n``, job i's seed is ``SeedSequence(root_seed, spawn_key=(i,))``: the
i-th child that ``SeedSequence(root_seed).spawn(...)`` makes, however many are made, so asking
for more seeds never changes the earlier runs. Explicit seeds ``seeds=(3, 7)`` are used as they
are: seed 3 reproduces ``fnn train --seed 3``. A job's seed feeds ``init_params``, the
expansion and training, which derive separate streams from it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from fnn import _checks
from fnn.costs import cross_entropy
from fnn.errors import ConfigError, FnnTypeError
from fnn.training.config import make_config
from fnn.training.run import RUN_SETTINGS, Run, run_to_json, with_settings

__all__ = ["Job", "JobSeed", "Override", "Sweep", "base_run", "config_id", "grid", "job_id",
           "jobs", "make_sweep"]

Override = tuple[tuple[str, Any], ...]
"""One point of a sweep: ``(setting, value)`` pairs replacing the base run's settings."""


def base_run(**settings: Any) -> Run:
    """The ``fnn train`` defaults as a ``Run`` (784-30-10, cross-entropy, 30 epochs, batch 10,
    η 0.5, λ 5.0), with ``settings`` (names of ``RUN_SETTINGS``) changed.

    >>> base_run(sizes=(784, 10, 10), epochs=2).config.epochs
    2
    """
    run = Run((784, 30, 10), make_config(epochs=30, mini_batch_size=10, eta=0.5, lmbda=5.0,
                                         cost=cross_entropy, seed=0))
    return with_settings(run, **settings)


def grid(**values: Any) -> tuple[Override, ...]:
    """Every combination of ``values``, the first name varying slowest.

    >>> grid(eta=[0.1, 0.5], lmbda=[1.0, 5.0])[:2]
    ((('eta', 0.1), ('lmbda', 1.0)), (('eta', 0.1), ('lmbda', 5.0)))
    """
    for name, options in values.items():
        if isinstance(options, str | bytes) or not isinstance(options, Sequence) or not options:
            raise ConfigError(f"grid {name} must be a non-empty list of values, got {options!r}")
    return tuple(tuple(zip(values, combo)) for combo in itertools.product(*values.values()))


class JobSeed(NamedTuple):
    """A job's seed: child ``spawn_index`` of ``SeedSequence(root)``, or ``root`` itself
    (``spawn_index`` None, as ``fnn train --seed root``)."""

    root: int
    spawn_index: int | None = None

    def sequence(self) -> np.random.SeedSequence | int:
        """The seed training gets: ``root`` itself, or the child, without spawning siblings.

        >>> s = JobSeed(0, 2).sequence()
        >>> s.spawn_key == np.random.SeedSequence(0).spawn(5)[2].spawn_key, s.entropy
        (True, 0)
        """
        if self.spawn_index is None:
            return self.root
        return np.random.SeedSequence(self.root, spawn_key=(self.spawn_index,))


class Sweep(NamedTuple):
    """A base run, the overrides to apply to it one at a time, and the seeds of each."""

    base: Run
    overrides: tuple[Override, ...]
    seeds: tuple[JobSeed, ...]


def make_sweep(base: Run | None = None, *, grid: Mapping[str, Sequence[Any]] | None = None,
               overrides: Sequence[Mapping[str, Any]] | None = None,
               seeds: int | Sequence[int] = 1, root_seed: int = 0) -> Sweep:
    """A checked ``Sweep``: ``grid`` (every combination) or ``overrides`` (a list) of settings
    (names of ``RUN_SETTINGS``, values as the Python API takes them), each run with ``seeds``
    spawned children of ``root_seed`` or with the explicit seeds given.

    >>> from fnn.optimizers import adam, momentum
    >>> s = make_sweep(base_run(epochs=2), grid={"optimizer": [momentum(eta=0.1), adam()],
    ...                                          "dropout": [0.0, 0.5]}, seeds=3)
    >>> len(jobs(s)), s.seeds[2]
    (12, JobSeed(root=0, spawn_index=2))
    >>> make_sweep(grid={"eta": [0.5, 0.5]})
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: overrides give the same run twice: (('eta', 0.5),)
    """
    base = base_run() if base is None else base
    if not isinstance(base, Run):
        raise FnnTypeError(f"base must be a Run (see base_run), got {type(base).__name__}")
    if grid is not None and overrides is not None:
        raise ConfigError("give grid or overrides, not both")
    run_to_json(base, seed=False)  # every value must have a name: records are written by name
    table = _grid_overrides(grid) if grid is not None else _list_overrides(overrides)
    _check_distinct(base, table)
    return Sweep(base, table, _job_seeds(seeds, root_seed))


def _grid_overrides(values: Mapping[str, Sequence[Any]]) -> tuple[Override, ...]:
    if not isinstance(values, Mapping):
        raise FnnTypeError(f"grid must be a dict of lists, got {type(values).__name__}")
    return _list_overrides([dict(o) for o in grid(**{str(k): v for k, v in values.items()})])


def _list_overrides(overrides: Any) -> tuple[Override, ...]:
    if overrides is None:
        return ((),)
    if isinstance(overrides, Mapping) or not isinstance(overrides, Sequence) or not overrides:
        raise ConfigError(f"overrides must be a non-empty list of dicts, got {overrides!r}")
    for i, o in enumerate(overrides):
        if not isinstance(o, Mapping):
            raise FnnTypeError(f"overrides[{i}] must be a dict of settings, got {o!r}")
        unknown = sorted(set(o) - set(RUN_SETTINGS))
        if unknown:
            raise ConfigError(f"a sweep setting must be one of {sorted(RUN_SETTINGS)}, got "
                              f"{unknown[0]!r}")
    return tuple(tuple(o.items()) for o in overrides)


def _check_distinct(base: Run, table: tuple[Override, ...]) -> None:
    seen: set[str] = set()
    for override in table:
        key = json.dumps(run_to_json(with_settings(base, **dict(override)), seed=False),
                         sort_keys=True)
        if key in seen:
            raise ConfigError(f"overrides give the same run twice: {override!r}")
        seen.add(key)


def _job_seeds(seeds: Any, root_seed: Any) -> tuple[JobSeed, ...]:
    root = _checks.non_negative_int("root_seed", root_seed)
    if isinstance(seeds, numbers.Integral):  # positive_int refuses a bool
        return tuple(JobSeed(root, i) for i in range(_checks.positive_int("seeds", seeds)))
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Sequence) or not seeds:
        raise ConfigError(f"seeds must be a count >= 1 or a non-empty list of seeds, got {seeds!r}")
    if root != 0:
        raise ConfigError(f"root_seed is only used with a count of seeds, got {root_seed!r} "
                          f"with explicit seeds {list(seeds)!r}")
    explicit = [_checks.non_negative_int(f"seeds[{i}]", s) for i, s in enumerate(seeds)]
    if len(set(explicit)) != len(explicit):
        raise ConfigError(f"seeds must not repeat, got {list(seeds)!r}")
    return tuple(JobSeed(s, None) for s in explicit)


class Job(NamedTuple):
    """One training run: a run and a seed; ``overrides`` say how it differs from the base."""

    job_id: str
    run: Run
    overrides: Override
    seed: JobSeed


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _identity(run: Run) -> dict[str, Any]:
    """The run's file form without the settings left at None (off, or automatic): so a
    setting fnn gains later, None by default, renames no job."""
    data = run_to_json(run, seed=False)
    return {k: v for k, v in data.items() if v is not None}


def job_id(run: Run, seed: JobSeed) -> str:
    """A stable 16-hex-digit name of (run, seed): the same on every machine and version.

    >>> job_id(base_run(), JobSeed(0, 0))
    '8f85b45fd725363f'
    """
    return _digest({"run": _identity(run), "seed": seed._asdict()})


def config_id(run: Run) -> str:
    """A stable name of a run whatever its seed (the runs a summary groups)."""
    return _digest({"run": _identity(run)})


def jobs(sweep: Sweep) -> tuple[Job, ...]:
    """The jobs of ``sweep``: each override in order, each with every seed."""
    found: list[Job] = []
    for override in sweep.overrides:
        run = with_settings(sweep.base, **dict(override))
        found.extend(Job(job_id(run, seed), run, override, seed) for seed in sweep.seeds)
    return tuple(found)
