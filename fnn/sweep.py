"""Reproducible sweeps: seeds × hyper-parameters on any executor, bit for bit.

A ``Sweep`` is data: a base ``SweepConfig``, a tuple of overrides (a grid or a list) and the
seeds. ``expand`` turns it into ``Job``s, each a config and a seed, named by ``job_id`` (a
hash of both). ``run_job(job, data)`` is a pure function of the job and the data, so a job
gives the same bytes wherever it runs. ``run_sweep`` runs the jobs not yet in a results file
through any ``concurrent.futures.Executor`` (serially when none is given) and appends one
JSON line per finished job.

Seeds. With ``seeds=n``, job i's seed is ``SeedSequence(root_seed, spawn_key=(i,))``: the
i-th child that ``SeedSequence(root_seed).spawn(...)`` makes, however many are made, so
asking for more seeds never changes the earlier runs. Explicit seeds ``seeds=(3, 7)`` are
used as they are: seed 3 reproduces ``fnn train --seed 3``. A job's seed feeds both
``init_params`` and ``sgd``, which derive separate streams from it (init, each epoch's
shuffle).

Data reach each worker once: ``local_pool(n, data)`` starts processes whose initializer
keeps the data in a module global, ``dask_executor(client, data)`` scatters them to every
Dask worker; either returns a ``Backend`` (an executor and the data reference each job is
given), so ``run_sweep`` never needs to know which it has. Worker processes pin their BLAS
to one thread (with ``threadpoolctl``, an optional extra), and a serial run pins it while it
runs, so jobs do not fight for cores and results do not depend on the thread count (BLAS
results do: a matrix product on 2 threads can differ in the last bit from 1). Each record
says how many threads its BLAS had (``blas_threads``; None without threadpoolctl, when
nothing is pinned). A thread pool in the caller's process leaves the caller's BLAS alone:
pin it yourself around the call, ``with threadpoolctl.threadpool_limits(1): ...``.

The results file (JSON lines). Each finished job is one line, written with a single
``os.write`` to a file opened ``O_APPEND`` and then ``fsync``'d, so a crash leaves complete
lines and at most one torn last line (bytes after the last newline), which ``read_results``
ignores and ``run_sweep`` cuts off before appending: that job simply runs again. A line
holds the job id, config, overrides, seed (root, spawn index), status (``ok``, ``diverged`` for
``NonFiniteError``, ``failed`` for any other exception), the error text, the final params
(``serialization.to_dict``; for a diverged job the last finite ones), the ``History``, the
fnn/NumPy/Python versions, ``blas_threads``, a fingerprint of the data and
``"timing": {"wall_seconds": ...}``. Timing is the only part that differs between runs:
``result_line(result, timing=False)`` is byte-identical serially, on a process pool and on
a Dask cluster. Lines are in completion order; ``summarize`` does not depend on it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import multiprocessing
import numbers
import os
import platform
import signal
import statistics
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, Self, cast

import numpy as np

import fnn
from fnn import _checks
from fnn.checkpoint import fingerprint
from fnn.costs import COSTS
from fnn.data import Labelled
from fnn.errors import (
    CheckpointMismatchError,
    ConfigError,
    DataError,
    FnnError,
    FnnTypeError,
    ModelFormatError,
    NonFiniteError,
)
from fnn.monitor import History
from fnn.params import INITIALIZERS, Params, check_sizes, init_params
from fnn.serialization import from_dict, to_dict
from fnn.training import sgd

__all__ = [
    "FORMAT",
    "METRICS",
    "STATUSES",
    "Backend",
    "ConfigSummary",
    "Job",
    "JobResult",
    "JobSeed",
    "ResultsFile",
    "Stats",
    "Sweep",
    "SweepConfig",
    "SweepData",
    "SweepExecutorError",
    "append_line",
    "check_data",
    "config_label",
    "dask_executor",
    "data_fingerprint",
    "expand",
    "grid",
    "group_by_config",
    "job_id",
    "local_pool",
    "make_sweep",
    "parse_result",
    "read_results",
    "result_line",
    "run_job",
    "run_sweep",
    "seed_sequence",
    "summarize",
    "summary_csv",
    "summary_json",
    "summary_text",
    "sweep_config",
]

FORMAT, FORMAT_VERSION = "fnn.sweep-result", 1
STATUSES = ("ok", "diverged", "failed")
METRICS = ("final_accuracy", "best_accuracy", "best_epoch", "final_cost", "best_cost")
_DTYPES = ("float32", "float64")


class SweepExecutorError(FnnError, RuntimeError):
    """The executor lost a job (a worker died, the pool broke): not the job's own failure.

    Finished jobs are in the results file; running the sweep again resumes it.
    """


# --------------------------------------------------------------------------- configs


class SweepConfig(NamedTuple):
    """The settings of one training run but its seed; the defaults are ``fnn train``'s.

    Every run monitors evaluation cost and accuracy (what the summaries are made of).
    """

    sizes: tuple[int, ...] = (784, 30, 10)
    cost: str = "cross_entropy"
    epochs: int = 30
    mini_batch_size: int = 10
    eta: float = 0.5
    lmbda: float = 5.0
    init: str = "default"
    dtype: str = "float64"


def _name_in(name: str, options: Iterable[str]) -> Callable[[Any], str]:
    known = sorted(options)

    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in known:
            raise ConfigError(f"{name} must be one of {known}, got {value!r}")
        return value
    return check


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "sizes": check_sizes,
    "cost": _name_in("cost", COSTS),
    "epochs": lambda v: _checks.non_negative_int("epochs", v),
    "mini_batch_size": lambda v: _checks.positive_int("mini_batch_size", v),
    "eta": lambda v: _checks.positive_float("eta", v),
    "lmbda": lambda v: _checks.non_negative_float("lmbda", v),
    "init": _name_in("init", INITIALIZERS),
    "dtype": _name_in("dtype", _DTYPES),
}


def _checked_setting(name: Any, value: Any) -> Any:
    if name not in _CHECKS:
        raise ConfigError(f"a sweep setting must be one of {list(SweepConfig._fields)}, "
                          f"got {name!r}")
    return _CHECKS[name](value)


def sweep_config(**settings: Any) -> SweepConfig:
    """A ``SweepConfig`` with ``settings`` checked and normalised (eta=1 becomes 1.0).

    >>> sweep_config(sizes=[784, 10, 10], epochs=2, lmbda=1)
    SweepConfig(sizes=(784, 10, 10), cost='cross_entropy', epochs=2, mini_batch_size=10, eta=0.5, lmbda=1.0, init='default', dtype='float64')
    >>> sweep_config(eta=0)
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: eta must be a finite number > 0, got 0
    """
    return SweepConfig(**{k: _checked_setting(k, v) for k, v in settings.items()})


def _config_json(config: SweepConfig) -> dict[str, Any]:
    return {**config._asdict(), "sizes": list(config.sizes)}


Override = tuple[tuple[str, Any], ...]


def grid(**values: Any) -> tuple[Override, ...]:
    """Every combination of ``values``, the first name varying slowest.

    >>> grid(eta=[0.1, 0.5], lmbda=[1.0, 5.0])[:2]
    ((('eta', 0.1), ('lmbda', 1.0)), (('eta', 0.1), ('lmbda', 5.0)))
    """
    for name, options in values.items():
        if isinstance(options, str | bytes) or not isinstance(options, Sequence) or not options:
            raise ConfigError(f"grid {name} must be a non-empty list of values, got {options!r}")
    return tuple(tuple(zip(values, combo)) for combo in itertools.product(*values.values()))


# --------------------------------------------------------------------------- seeds and jobs


class JobSeed(NamedTuple):
    """A job's seed: child ``spawn_index`` of ``SeedSequence(root)``, or ``root`` itself
    (``spawn_index`` None, as ``fnn train --seed root``)."""

    root: int
    spawn_index: int | None = None


def seed_sequence(seed: JobSeed) -> np.random.SeedSequence:
    """The ``SeedSequence`` of a job seed, without spawning its siblings.

    >>> s = seed_sequence(JobSeed(0, 2))
    >>> s.spawn_key == np.random.SeedSequence(0).spawn(5)[2].spawn_key, s.entropy
    (True, 0)
    """
    if seed.spawn_index is None:
        return np.random.SeedSequence(seed.root)
    return np.random.SeedSequence(seed.root, spawn_key=(seed.spawn_index,))


class Sweep(NamedTuple):
    """A base config, the overrides to apply to it one at a time, and the seeds of each."""

    base: SweepConfig
    overrides: tuple[Override, ...]
    seeds: tuple[JobSeed, ...]


def make_sweep(base: SweepConfig | None = None, *, grid: Mapping[str, Sequence[Any]] | None = None,
               overrides: Sequence[Mapping[str, Any]] | None = None,
               seeds: int | Sequence[int] = 1, root_seed: int = 0) -> Sweep:
    """A checked ``Sweep``: ``grid`` (every combination) or ``overrides`` (a list), each run
    with ``seeds`` spawned children of ``root_seed`` or with the explicit seeds given.

    >>> s = make_sweep(sweep_config(epochs=2), grid={"eta": [0.1, 0.5]}, seeds=3)
    >>> len(expand(s)), s.overrides[1], s.seeds[2]
    (6, (('eta', 0.5),), JobSeed(root=0, spawn_index=2))
    >>> make_sweep(grid={"eta": [0.5, 0.5]})
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: overrides give the same config twice: (('eta', 0.5),)
    """
    base = SweepConfig() if base is None else base
    if not isinstance(base, SweepConfig):
        raise FnnTypeError(f"base must be a SweepConfig, got {type(base).__name__}")
    if grid is not None and overrides is not None:
        raise ConfigError("give grid or overrides, not both")
    base = sweep_config(**base._asdict())
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
    return tuple(tuple((k, _checked_setting(k, v)) for k, v in o.items()) for o in overrides)


def _check_distinct(base: SweepConfig, table: tuple[Override, ...]) -> None:
    seen: set[SweepConfig] = set()
    for override in table:
        config = base._replace(**dict(override))
        if config in seen:
            raise ConfigError(f"overrides give the same config twice: {override!r}")
        seen.add(config)


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
    """One training run: a config and a seed; ``overrides`` say how it differs from the base."""

    job_id: str
    config: SweepConfig
    overrides: Override
    seed: JobSeed


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def job_id(config: SweepConfig, seed: JobSeed) -> str:
    """A stable 16-hex-digit name of (config, seed): the same on every machine and version.

    >>> job_id(SweepConfig(), JobSeed(0, 0))
    '6b6e742f1f39dbf1'
    """
    return _digest({"config": _config_json(config), "seed": seed._asdict()})


def _config_id(config: SweepConfig) -> str:
    return _digest({"config": _config_json(config)})


def expand(sweep: Sweep) -> tuple[Job, ...]:
    """The jobs of ``sweep``: each override in order, each with every seed."""
    jobs: list[Job] = []
    for override in sweep.overrides:
        config = sweep.base._replace(**dict(override))
        jobs.extend(Job(job_id(config, seed), config, override, seed) for seed in sweep.seeds)
    return tuple(jobs)


# --------------------------------------------------------------------------- running a job


class SweepData(NamedTuple):
    """What every job trains on (``training``) and is measured on (``evaluation``)."""

    training: Labelled
    evaluation: Labelled


class Versions(NamedTuple):
    """The versions a result was computed with."""

    fnn: str
    numpy: str
    python: str


def _versions() -> Versions:
    return Versions(fnn.__version__, np.__version__, platform.python_version())


class JobResult(NamedTuple):
    """What one job gave. ``params`` are None for a failed job, the last finite params for a
    diverged one; ``blas_threads`` is how many threads BLAS had (None without threadpoolctl,
    or when ``run_job`` was called directly); ``data`` (the fingerprint of the data)
    is stamped by ``run_sweep``; ``wall_seconds`` is the only field that varies between runs.
    """

    job: Job
    status: str
    error: str | None
    params: Params | None
    history: History
    versions: Versions
    blas_threads: int | None = None
    data: str | None = None
    wall_seconds: float | None = None


def run_job(job: Job, data: SweepData) -> JobResult:
    """Train ``job`` on ``data``: a pure function of both, failures included.

    Training diverging (``NonFiniteError``) gives status ``diverged``; any other exception
    ``failed``; the error text is ``"Type: message"``. NumPy floating-point warnings are
    silenced inside so the outcome never depends on the caller's warning filters.
    """
    c, seed = job.config, seed_sequence(job.seed)
    try:
        with np.errstate(all="ignore"):
            params, history = sgd(
                init_params(c.sizes, seed=seed, scheme=c.init, dtype=c.dtype), data.training,
                epochs=c.epochs, mini_batch_size=c.mini_batch_size, eta=c.eta, lmbda=c.lmbda,
                cost=c.cost, seed=seed, evaluation_data=data.evaluation,
                monitor_evaluation_cost=True, monitor_evaluation_accuracy=True)
    except NonFiniteError as e:
        return JobResult(job, "diverged", _error_text(e), e.params, e.history, _versions())
    except Exception as e:  # noqa: BLE001  (a failed job is a result; the others go on)
        return JobResult(job, "failed", _error_text(e), None, History(), _versions())
    return JobResult(job, "ok", None, params, history, _versions())


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _timed(job: Job, data: SweepData) -> JobResult:
    threads, start = _blas_threads(), time.perf_counter()
    result = run_job(job, data)
    return result._replace(blas_threads=threads, wall_seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------- workers

_WORKER: dict[str, Any] = {}  # in a worker process: its one copy of the data, its BLAS pin
_PIN_LOCK = threading.Lock()


def _blas_threads() -> int | None:
    """How many threads this process's BLAS uses now; None without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info  # noqa: PLC0415  (optional extra)
    except ImportError:
        return None
    return max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"),
               default=None)


def _pin_process() -> None:
    """Pin a worker process's BLAS and OpenMP pools to one thread, once and for good.

    threadpoolctl lets only one thread of a process set a pthreads OpenBLAS's size, the
    first to try, so this runs in a worker's initializer or first job, never restored.
    """
    with _PIN_LOCK:
        if _WORKER.get("pinned"):
            return
        _WORKER["pinned"] = True
        try:
            from threadpoolctl import threadpool_limits  # noqa: PLC0415  (optional extra)
        except ImportError:
            return
        threadpool_limits(limits=1)  # applied at once; the limiter is dropped, not restored


def _pinned_here() -> contextlib.AbstractContextManager[Any]:
    """BLAS pinned to one thread in a block run by the caller (restored after it)."""
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415  (optional extra)
    except ImportError:
        return contextlib.nullcontext()
    limiter: contextlib.AbstractContextManager[Any] = threadpool_limits(limits=1)
    return limiter


def _init_worker(data: SweepData) -> None:
    """A local pool worker's initializer: keep the data, pin BLAS, leave Ctrl-C to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER["data"] = data
    _pin_process()


def _execute(job: Job, data: SweepData | None) -> JobResult:
    """What a worker runs: the job on the data (None: the copy ``_init_worker`` kept).

    In a child process (a pool or Dask worker) BLAS is pinned to one thread for good; in
    the caller's own process (a thread pool) the caller's setting is left as it is. Either
    way the record says how many threads BLAS had.
    """
    if data is None:
        if "data" not in _WORKER:
            raise RuntimeError("this worker has no sweep data; make the pool with local_pool")
        data = _WORKER["data"]
    if multiprocessing.parent_process() is not None:
        _pin_process()
    return _timed(job, _aligned(data))


def _aligned(data: SweepData) -> SweepData:
    """``data`` with every array aligned and C-contiguous, copied once per process if not.

    Dask can deserialize arrays into unaligned buffers, on which NumPy and BLAS are many
    times slower (a 784-30-10 epoch on the sample: 3.7 s instead of 0.16 s).
    """
    cached = _WORKER.get("aligned")
    if cached is not None and cached[0] is data:
        return cast(SweepData, cached[1])
    arrays = [a for part in data for a in part]
    if all(a.flags.aligned and a.flags.c_contiguous for a in arrays):
        return data
    fixed = SweepData(*(Labelled(np.require(part.x, requirements=("A", "C")),
                                 np.require(part.labels, requirements=("A", "C")))
                        for part in data))
    _WORKER["aligned"] = (data, fixed)  # keeps ``data`` alive, so ``is`` stays meaningful
    return fixed


class Backend(NamedTuple):
    """An executor and what each job is given as its data: the data themselves, a Dask
    future of them, or None (the copy a ``local_pool`` worker's initializer kept).
    ``stop``, if given, ends the running jobs at once when a sweep is abandoned (Ctrl-C).

    Use it as a context manager: leaving shuts the executor down (at once on an error).
    """

    executor: Executor
    data_ref: Any
    stop: Callable[[], None] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None and self.stop is not None:
            self.stop()
        self.executor.shutdown(wait=kind is None)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """End a local pool's workers now (they ignore Ctrl-C and would finish their jobs for
    nobody); the pool then fails its pending futures with ``BrokenProcessPool``."""
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
    else:
        for child in dict(getattr(pool, "_processes", None) or {}).values():
            child.terminate()
    pool.shutdown(wait=True)  # returns once the pool has seen its workers go


def _default_context() -> Any:
    # forkserver (the default from Python 3.14) where there is one: fork from a process with
    # threads (a Dask client, a GUI) can deadlock; spawn elsewhere
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def local_pool(workers: int, data: SweepData, *, mp_context: Any = None) -> Backend:
    """A pool of ``workers`` processes, each given ``data`` once by its initializer.

    >>> with local_pool(1, SweepData(*_toy_data())) as pool:
    ...     type(pool.executor).__name__, pool.data_ref
    ('ProcessPoolExecutor', None)
    """
    n = _checks.positive_int("workers", workers)
    pool = ProcessPoolExecutor(max_workers=n, mp_context=mp_context or _default_context(),
                               initializer=_init_worker, initargs=(_checked_data(data),))
    return Backend(pool, None, partial(_stop_pool, pool))


def dask_executor(client: Any, data: SweepData) -> Backend:
    """Run on a Dask cluster: ``data`` scattered to every worker once, jobs get its future.

    ``client`` is a ``distributed.Client``; its executor is made with ``pure=False`` so the
    scheduler never merges two submissions.
    """
    [ref] = client.scatter([_checked_data(data)], broadcast=True)
    return Backend(client.get_executor(pure=False), ref)


def _toy_data() -> tuple[Labelled, Labelled]:
    """A tiny 2-input, 2-class data set for examples."""
    x = np.random.default_rng(0).random((40, 2))
    labelled = Labelled(x, (x[:, 0] > x[:, 1]).astype(np.int64))
    return labelled, labelled


def _checked_data(data: Any) -> SweepData:
    if not isinstance(data, SweepData):
        raise FnnTypeError(f"data must be a SweepData(training, evaluation), got "
                           f"{type(data).__name__}")
    for name, part in zip(SweepData._fields, data):
        if not isinstance(part, Labelled):
            raise FnnTypeError(f"data.{name} must be a Labelled(x, labels), got "
                               f"{type(part).__name__}")
    return data


def data_fingerprint(data: SweepData) -> str:
    """SHA-256 over the shapes, dtypes and bytes of the training and evaluation arrays."""
    parts = (fingerprint(_checked_data(data).training), fingerprint(data.evaluation))
    return hashlib.sha256("".join(p or "" for p in parts).encode()).hexdigest()


def check_data(sweep: Sweep, data: SweepData) -> None:
    """Raise ``ConfigError`` if a config of ``sweep`` cannot train on ``data`` (layer sizes,
    label range, mini-batch size); ``run_sweep`` checks this before running anything."""
    _check_fits(expand(sweep), _checked_data(data))


def _check_fits(jobs: Sequence[Job], data: SweepData) -> None:
    n, n_in = data.training.x.shape if data.training.x.ndim == 2 else (0, -1)
    top = max(int(data.training.labels.max(initial=0)), int(data.evaluation.labels.max(initial=0)))
    for config in dict.fromkeys(j.config for j in jobs):
        if config.sizes[0] != n_in:
            raise ConfigError(f"sizes {list(config.sizes)} must start with the data's {n_in} "
                              f"inputs")
        if config.sizes[-1] <= top:
            raise ConfigError(f"sizes {list(config.sizes)} must end with at least {top + 1} "
                              f"outputs (the data's labels go up to {top})")
        if config.mini_batch_size > n:
            raise ConfigError(f"mini_batch_size must be <= the {n} training examples, got "
                              f"{config.mini_batch_size}")


# --------------------------------------------------------------------------- results file


def result_line(result: JobResult, *, timing: bool = True) -> bytes:
    """The JSON line of ``result`` (with its newline); floats as ``repr``, so they read back
    bit for bit. Without ``timing`` the line is the same whoever ran the job, wherever."""
    job, cost = result.job, COSTS[result.job.config.cost]
    record: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "job_id": job.job_id,
        "status": result.status, "overrides": {k: _json_value(v) for k, v in job.overrides},
        "seed": job.seed._asdict(), "error": result.error, "config": _config_json(job.config),
        "versions": result.versions._asdict(), "blas_threads": result.blas_threads,
        "data": result.data,
    }
    if timing:
        record["timing"] = {"wall_seconds": result.wall_seconds}
    record["history"] = result.history.to_dict()
    record["params"] = None if result.params is None else to_dict(result.params, cost=cost)
    return (json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n").encode()


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


_KEYS = ("format", "format_version", "job_id", "status", "overrides", "seed", "error", "config",
         "versions", "blas_threads", "data", "timing", "history", "params")


class _Bad(Exception):
    """A problem in a record, as ``"field: problem"``."""


def parse_result(line: bytes | str, *, source: str = "<line>") -> JobResult:
    """The ``JobResult`` in one results line, checked; ``ModelFormatError`` names ``source``.

    >>> parse_result(b'{"format": "fnn.model"}', source="r.jsonl: line 3")
    Traceback (most recent call last):
    ...
    fnn.errors.ModelFormatError: r.jsonl: line 3: not a sweep result (format 'fnn.model')
    """
    try:
        record = json.loads(line, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as e:
        raise ModelFormatError(f"{source}: not a JSON line: {e}") from None
    try:
        return _result(record, source)
    except _Bad as problem:
        raise ModelFormatError(f"{source}: {problem}") from None


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a finite number")


def _result(record: Any, source: str) -> JobResult:
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        kind = record.get("format") if isinstance(record, dict) else type(record).__name__
        raise _Bad(f"not a sweep result (format {kind!r})")
    if record.get("format_version") != FORMAT_VERSION:
        raise _Bad(f"format_version must be {FORMAT_VERSION}, got {record.get('format_version')!r}")
    if set(record) not in (set(_KEYS), set(_KEYS) - {"timing"}):
        raise _Bad(f"keys must be {sorted(_KEYS)} (timing optional), got {sorted(record)}")
    job = _job(record)
    status, error, params = record["status"], record["error"], record["params"]
    if not ((status == "ok" and error is None and params is not None)
            or (status in STATUSES[1:] and isinstance(error, str))):
        raise _Bad(f"status must be 'ok' (no error, params) or one of {list(STATUSES[1:])} with "
                   f"the error text, got {status!r}, error {error!r}")
    timing = record.get("timing", {"wall_seconds": None})
    return JobResult(job, status, error, _params(params, source), _history(record["history"]),
                     _record_versions(record["versions"]), _optional(record, "blas_threads", int),
                     _optional(record, "data", str), _wall_seconds(timing))


def _job(record: dict[str, Any]) -> Job:
    config, overrides, seed = record["config"], record["overrides"], record["seed"]
    if not isinstance(config, dict) or set(config) != set(SweepConfig._fields):
        raise _Bad(f"config must have the keys {list(SweepConfig._fields)}, got {config!r}")
    if not isinstance(overrides, dict):
        raise _Bad(f"overrides must be an object, got {overrides!r}")
    try:
        checked = sweep_config(**config)
        override = tuple((k, _checked_setting(k, v)) for k, v in overrides.items())
    except (ConfigError, FnnTypeError) as e:
        raise _Bad(f"config: {e}") from None
    job_seed = _seed(seed)
    name = job_id(checked, job_seed)
    if record["job_id"] != name:
        raise _Bad(f"job_id {record['job_id']!r} is not the hash of its config and seed "
                   f"({name!r})")
    return Job(name, checked, override, job_seed)


def _seed(seed: Any) -> JobSeed:
    ok = isinstance(seed, dict) and set(seed) == set(JobSeed._fields) and all(
        v is None or (type(v) is int and v >= 0) for v in seed.values()) and seed["root"] is not None
    if not ok:
        raise _Bad(f"seed must be {{\"root\": int >= 0, \"spawn_index\": int >= 0 or null}}, "
                   f"got {seed!r}")
    return JobSeed(seed["root"], seed["spawn_index"])


def _params(value: Any, source: str) -> Params | None:
    return None if value is None else from_dict(value, source=f"{source}: params").params


def _history(value: Any) -> History:
    try:
        return History.from_dict(value)
    except DataError as e:
        raise _Bad(str(e)) from None


def _record_versions(value: Any) -> Versions:
    if not (isinstance(value, dict) and set(value) == set(Versions._fields)
            and all(isinstance(v, str) for v in value.values())):
        raise _Bad(f"versions must map {list(Versions._fields)} to strings, got {value!r}")
    return Versions(**value)


def _optional(record: dict[str, Any], key: str, kind: type) -> Any:
    value = record[key]
    if value is not None and (type(value) is not kind):
        raise _Bad(f"{key} must be {kind.__name__} or null, got {value!r}")
    return value


def _wall_seconds(value: Any) -> float | None:
    seconds = value.get("wall_seconds") if isinstance(value, dict) else None
    if not (isinstance(value, dict) and set(value) == {"wall_seconds"}) or not (
            seconds is None or type(seconds) in (int, float)):
        raise _Bad(f"timing must be {{\"wall_seconds\": number or null}}, got {value!r}")
    return None if seconds is None else float(seconds)


class ResultsFile(NamedTuple):
    """The complete records of a results file, in file order, and the size in bytes of a
    torn last line that was ignored (0 when the file ends with a newline)."""

    results: tuple[JobResult, ...]
    torn: int


def read_results(path: str | os.PathLike[str]) -> ResultsFile:
    """The records in the results file at ``path``; a torn last line is left out.

    Any other bad line raises ``ModelFormatError`` naming the file and line;
    ``OSError`` (a missing file) passes through.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "r.jsonl").write_bytes(b'{"format": "fnn.swe')
    ...     read_results(Path(d, "r.jsonl"))
    ResultsFile(results=(), torn=19)
    """
    data = Path(path).read_bytes()
    *lines, tail = data.split(b"\n")
    results = tuple(parse_result(line, source=f"{path}: line {i}")
                    for i, line in enumerate(lines, 1))
    return ResultsFile(results, len(tail))


def append_line(path: str | os.PathLike[str], line: bytes) -> None:
    """Append ``line`` to ``path`` with one ``os.write`` (``O_APPEND``), then ``fsync``.

    On a local file system a regular file takes the whole line in that one call; if the
    kernel ever wrote less, the rest follows at once (a crash in between leaves a torn
    last line, which readers ignore).
    """
    if not line.endswith(b"\n") or b"\n" in line[:-1]:
        raise ConfigError("line must be one line ending with a newline")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o666)
    try:
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _finished(path: Path, jobs: Sequence[Job], stamp: str) -> dict[str, JobResult]:
    """This sweep's jobs already in ``path``, after cutting off a torn last line."""
    if not path.exists():
        return {}
    loaded = read_results(path)
    if loaded.torn:
        os.truncate(path, path.stat().st_size - loaded.torn)
    wanted = {j.job_id: j for j in jobs}
    found: dict[str, JobResult] = {}
    for result in loaded.results:
        name = result.job.job_id
        if name in wanted and name not in found:
            if result.data != stamp:
                raise CheckpointMismatchError(
                    f"{path}: job {name} was run on other data (fingerprint {result.data}, "
                    f"these data {stamp}); use the same data or another results file")
            found[name] = result._replace(job=wanted[name])  # this sweep's overrides
    return found


# --------------------------------------------------------------------------- running a sweep

Progress = Callable[[int, int, JobResult | None], None]


def run_sweep(sweep: Sweep, data: SweepData, executor: Executor | Backend | None = None, *,
              results: str | os.PathLike[str] | None = None,
              progress: Progress | None = None) -> tuple[JobResult, ...]:
    """Run every job of ``sweep`` not yet in the file ``results``; return all, in job order.

    ``executor``: None runs the jobs here, one after another; a ``Backend`` (``local_pool``,
    ``dask_executor``) gives each job the data reference it holds; any other
    ``concurrent.futures.Executor`` is sent the data with every job. Each finished job is
    appended to ``results`` at once (see ``append_line``); jobs found there are not run
    again, so a rerun of an interrupted sweep finishes it. ``progress(done, total, result)``
    is called with result None before the first job (done = the jobs found), then after
    each job is saved. A job's own failure is its result; losing a job to the executor
    raises ``SweepExecutorError`` once the jobs still running have been saved.

    >>> sweep = make_sweep(sweep_config(sizes=[2, 2], epochs=1), grid={"eta": [0.5, 1.0]})
    >>> [r.status for r in run_sweep(sweep, SweepData(*_toy_data()))]
    ['ok', 'ok']
    """
    jobs, data = expand(sweep), _checked_data(data)
    _check_fits(jobs, data)
    stamp = data_fingerprint(data)
    path = None if results is None else Path(results)
    done = {} if path is None else _finished(path, jobs, stamp)
    pending = [j for j in jobs if j.job_id not in done]
    if progress is not None:
        progress(len(done), len(jobs), None)
    with contextlib.closing(_outcomes(pending, data, executor)) as outcomes:
        for outcome in outcomes:
            result = outcome._replace(data=stamp)
            if path is not None:
                append_line(path, result_line(result))
            done[result.job.job_id] = result
            if progress is not None:
                progress(len(done), len(jobs), result)
    return tuple(done[j.job_id] for j in jobs)


def _outcomes(jobs: Sequence[Job], data: SweepData,
              executor: Executor | Backend | None) -> Generator[JobResult, None, None]:
    if executor is None:
        with _pinned_here():
            yield from (_timed(job, data) for job in jobs)
        return
    backend = executor if isinstance(executor, Backend) else Backend(executor, data)
    if not isinstance(backend.executor, Executor):
        raise FnnTypeError(f"executor must be a concurrent.futures Executor or a Backend, got "
                           f"{type(backend.executor).__name__}")
    futures = {backend.executor.submit(_execute, job, backend.data_ref): job for job in jobs}
    yield from _completed(futures, backend.stop)


def _completed(futures: dict[Future[JobResult], Job],
               stop: Callable[[], None] | None) -> Iterator[JobResult]:
    lost: tuple[Job, BaseException] | None = None
    try:
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as e:  # noqa: BLE001  (jobs catch their own; this is the executor)
                lost = lost or (futures[future], e)
    except BaseException:  # Ctrl-C, a failed write, the caller gave up: drop the rest now
        if stop is not None:
            stop()  # first: Python 3.11's pool chokes on cancelled futures of dead workers
        for future in futures:
            future.cancel()
        raise
    if lost is not None:
        job, error = lost
        raise SweepExecutorError(f"the executor lost job {job.job_id} ({_error_text(error)}); "
                                 "finished jobs are saved, run the sweep again to resume") \
            from error


# --------------------------------------------------------------------------- summaries


class Stats(NamedTuple):
    """Mean, sample standard deviation (None for one value), min and max over seeds."""

    mean: float
    std: float | None
    min: float
    max: float


def _stats(values: Sequence[float]) -> Stats | None:
    """Order-independent figures: ``fmean`` and ``stdev`` round the exact sums once."""
    if not values:
        return None
    std = statistics.stdev(values) if len(values) > 1 else None
    return Stats(statistics.fmean(values), std, float(min(values)), float(max(values)))


class ConfigSummary(NamedTuple):
    """One config's runs: counts by status and, over its ``ok`` runs, the figures of
    ``METRICS``. Accuracies are fractions of the evaluation set; ``best_epoch`` counts from
    1 (the epoch after which the best accuracy was first reached); costs are network2's
    total evaluation cost; best cost is the lowest over the epochs."""

    config_id: str
    label: str
    config: SweepConfig
    overrides: Override
    runs: int
    ok: int
    diverged: int
    failed: int
    final_accuracy: Stats | None
    best_accuracy: Stats | None
    best_epoch: Stats | None
    final_cost: Stats | None
    best_cost: Stats | None


def config_label(overrides: Override) -> str:
    """A short name of a config: its overrides, or ``(base)``.

    >>> config_label((("eta", 0.5), ("sizes", (784, 30, 10))))
    'eta=0.5 sizes=784-30-10'
    """
    def show(value: Any) -> str:
        return "-".join(map(str, value)) if isinstance(value, tuple) else repr(value)
    return " ".join(f"{k}={show(v)}" for k, v in overrides) or "(base)"


def _run_metrics(history: History) -> dict[str, float] | None:
    accuracies = [r.evaluation_accuracy for r in history if r.evaluation_accuracy is not None]
    costs = [r.evaluation_cost for r in history if r.evaluation_cost is not None]
    if not history or len(accuracies) != len(history) or len(costs) != len(history):
        return None
    best = max(accuracies)
    return {"final_accuracy": accuracies[-1], "best_accuracy": best,
            "best_epoch": float(accuracies.index(best) + 1), "final_cost": costs[-1],
            "best_cost": min(costs)}


def _order_key(overrides: Override) -> tuple[Any, ...]:
    def typed(v: Any) -> tuple[int, Any]:
        return (0, v) if isinstance(v, int | float) else (1, v) if isinstance(v, str) else (2, v)
    return tuple((k, typed(v)) for k, v in sorted(overrides))


def group_by_config(results: Iterable[JobResult]) -> tuple[tuple[JobResult, ...], ...]:
    """``results`` grouped by config, ordered by their overrides (numbers numerically), each
    group ordered by seed; the same whatever order the results came in."""
    groups: dict[str, list[JobResult]] = {}
    for r in results:
        groups.setdefault(_config_id(r.job.config), []).append(r)

    def seed_key(r: JobResult) -> tuple[int, int]:
        return r.job.seed.root, -1 if r.job.seed.spawn_index is None else r.job.seed.spawn_index
    ordered = sorted(groups.items(), key=lambda kv: (_order_key(kv[1][0].job.overrides), kv[0]))
    return tuple(tuple(sorted(rs, key=seed_key)) for _, rs in ordered)


def summarize(results: Iterable[JobResult]) -> tuple[ConfigSummary, ...]:
    """One ``ConfigSummary`` per config in ``results`` (see ``group_by_config``)."""
    return tuple(_summary(group) for group in group_by_config(results))


def _summary(group: tuple[JobResult, ...]) -> ConfigSummary:
    job = group[0].job
    ok, diverged, failed = (sum(r.status == s for r in group) for s in STATUSES)
    metrics = [m for r in group if r.status == "ok" and (m := _run_metrics(r.history))]
    figures = {name: _stats([m[name] for m in metrics]) for name in METRICS}
    return ConfigSummary(_config_id(job.config), config_label(job.overrides), job.config,
                         job.overrides, len(group), ok, diverged, failed, **figures)


def _show_figure(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    if metric.endswith("accuracy"):
        return f"{100 * value:.2f}%"
    return f"{value:.4g}" if metric == "best_epoch" else f"{value:.4f}"


def summary_text(summaries: Sequence[ConfigSummary]) -> str:
    """A plain-text table: per config, one line per metric with mean, std, min and max."""
    width = max([len(s.label) for s in summaries] + [6])
    head = (f"{'config':<{width}}  runs  ok  diverged  failed  {'metric':<14}"
            f"{'mean':>10}{'std':>10}{'min':>10}{'max':>10}")
    lines = [head, "-" * len(head)]
    for s in summaries:
        for i, metric in enumerate(METRICS):
            left = (f"{s.label:<{width}}  {s.runs:>4}  {s.ok:>2}  {s.diverged:>8}  {s.failed:>6}"
                    if i == 0 else " " * (width + 28))
            st: Stats | None = getattr(s, metric)
            cells = (None,) * 4 if st is None else st
            lines.append(f"{left}  {metric.replace('_', ' '):<14}"
                         + "".join(f"{_show_figure(metric, v):>10}" for v in cells))
    return "\n".join(lines) + "\n"


_CSV_HEAD = ("config", "config_id", "runs", "ok", "diverged", "failed",
             *(f"{m}_{f}" for m in METRICS for f in Stats._fields))


def summary_csv(summaries: Sequence[ConfigSummary]) -> str:
    """CSV with a header row; figures in full precision, empty where there are none."""
    import csv  # noqa: PLC0415
    import io  # noqa: PLC0415
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_HEAD)
    for s in summaries:
        figures = [getattr(s, m) or (None,) * 4 for m in METRICS]
        writer.writerow([s.label, s.config_id, s.runs, s.ok, s.diverged, s.failed,
                         *("" if v is None else repr(v) for st in figures for v in st)])
    return out.getvalue()


def summary_json(summaries: Sequence[ConfigSummary]) -> str:
    """JSON: a list with each config's label, id, settings, overrides, counts and figures."""
    rows = [{"config": s.label, "config_id": s.config_id, "settings": _config_json(s.config),
             "overrides": {k: _json_value(v) for k, v in s.overrides},
             **{k: getattr(s, k) for k in ("runs", "ok", "diverged", "failed")},
             **{m: None if getattr(s, m) is None else getattr(s, m)._asdict() for m in METRICS}}
            for s in summaries]
    return json.dumps(rows, indent=1, allow_nan=False) + "\n"
