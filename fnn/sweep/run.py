"""Running a sweep's jobs: on this process, a local process pool or a Dask cluster, bit for bit.

``run_job(job, data)`` is a pure function of the job and the data, so a job gives the same
bytes wherever it runs. ``run_sweep`` runs the jobs not yet in a results file through any
``concurrent.futures.Executor`` (serially when none is given) and appends one JSON line per
finished job (``fnn.sweep.results``).

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
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import platform
import signal
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, Self, cast

import numpy as np

from fnn import _checks
from fnn._version import __version__
from fnn.data import Labelled, fingerprint
from fnn.errors import ConfigError, FnnError, FnnTypeError, NonFiniteError
from fnn.files import append_line
from fnn.history import History
from fnn.sweep.plan import Job, Sweep, config_id, jobs
from fnn.sweep.results import JobResult, Versions, finished, result_line
from fnn.training.loop import prepare, train_prepared
from fnn.training.run import Run, start

__all__ = ["Backend", "SweepData", "SweepExecutorError", "check_data", "dask_executor",
           "data_fingerprint", "job_run", "local_pool", "run_job", "run_sweep"]


class SweepExecutorError(FnnError, RuntimeError):
    """The executor lost a job (a worker died, the pool broke): not the job's own failure.

    Finished jobs are in the results file; running the sweep again resumes it.
    """


class SweepData(NamedTuple):
    """What every job trains on (``training``) and is measured on (``evaluation``)."""

    training: Labelled
    evaluation: Labelled


def _versions() -> Versions:
    return Versions(__version__, np.__version__, platform.python_version())


def job_run(job: Job) -> Run:
    """The run ``job`` trains: its run with its seed, monitoring evaluation cost and
    accuracy (what the summaries are made of)."""
    config = job.run.config
    monitor = config.monitor._replace(evaluation_cost=True, evaluation_accuracy=True)
    return job.run._replace(config=config._replace(seed=job.seed.sequence(), monitor=monitor))


def run_job(job: Job, data: SweepData) -> JobResult:
    """Train ``job`` on ``data``: a pure function of both, failures included.

    Training diverging (``NonFiniteError``) gives status ``diverged``; any other exception
    ``failed``; the error text is ``"Type: message"``. NumPy floating-point warnings are
    silenced inside so the outcome never depends on the caller's warning filters.
    """
    engine = None
    try:
        run = job_run(job)
        with np.errstate(all="ignore"):
            params, training = start(run, data.training)
            prepared = prepare(params, training, run.config, evaluation_data=data.evaluation)
            engine = prepared.engine.family
            params, history = train_prepared(prepared)
    except NonFiniteError as e:
        return JobResult(job, "diverged", _error_text(e), e.params, e.history, _versions(),
                         engine=engine)
    except Exception as e:  # noqa: BLE001  (a failed job is a result; the others go on)
        return JobResult(job, "failed", _error_text(e), None, History(), _versions(),
                         engine=engine)
    return JobResult(job, "ok", None, params, history, _versions(), engine=engine)


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
    """How many threads NumPy's BLAS uses now (the compiled epoch copies it for its own,
    see ``fnn.training.compiled``); None without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info  # noqa: PLC0415  (optional extra)
    except ImportError:
        return None
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    numpys = [i["num_threads"] for i in blas if "numpy" in i["filepath"]]
    return numpys[0] if numpys else max((i["num_threads"] for i in blas), default=None)


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
    """Raise ``ConfigError`` if a run of ``sweep`` cannot train on ``data`` (layer sizes,
    label range, mini-batch size); ``run_sweep`` checks this before running anything."""
    _check_fits(jobs(sweep), _checked_data(data))


def _check_fits(planned: Sequence[Job], data: SweepData) -> None:
    n, n_in = data.training.x.shape if data.training.x.ndim == 2 else (0, -1)
    top = max(int(data.training.labels.max(initial=0)), int(data.evaluation.labels.max(initial=0)))
    for run in {config_id(j.run): j.run for j in planned}.values():
        if run.sizes[0] != n_in:
            raise ConfigError(f"sizes {list(run.sizes)} must start with the data's {n_in} "
                              f"inputs")
        if run.sizes[-1] <= top:
            raise ConfigError(f"sizes {list(run.sizes)} must end with at least {top + 1} "
                              f"outputs (the data's labels go up to {top})")
        if run.config.mini_batch_size > n:
            raise ConfigError(f"mini_batch_size must be <= the {n} training examples, got "
                              f"{run.config.mini_batch_size}")


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

    >>> from fnn.sweep import base_run, make_sweep
    >>> sweep = make_sweep(base_run(sizes=(2, 2), epochs=1), grid={"eta": [0.5, 1.0]})
    >>> [r.status for r in run_sweep(sweep, SweepData(*_toy_data()))]
    ['ok', 'ok']
    """
    planned, data = jobs(sweep), _checked_data(data)
    _check_fits(planned, data)
    stamp = data_fingerprint(data)
    path = None if results is None else Path(results)
    done = {} if path is None else finished(path, planned, stamp)
    pending = [j for j in planned if j.job_id not in done]
    if progress is not None:
        progress(len(done), len(planned), None)
    with contextlib.closing(_outcomes(pending, data, executor)) as outcomes:
        for outcome in outcomes:
            result = outcome._replace(data=stamp)
            if path is not None:
                append_line(path, result_line(result))
            done[result.job.job_id] = result
            if progress is not None:
                progress(len(done), len(planned), result)
    return tuple(done[j.job_id] for j in planned)


def _outcomes(pending: Sequence[Job], data: SweepData,
              executor: Executor | Backend | None) -> Generator[JobResult, None, None]:
    if executor is None:
        with _pinned_here():
            yield from (_timed(job, data) for job in pending)
        return
    backend = executor if isinstance(executor, Backend) else Backend(executor, data)
    if not isinstance(backend.executor, Executor):
        raise FnnTypeError(f"executor must be a concurrent.futures Executor or a Backend, got "
                           f"{type(backend.executor).__name__}")
    futures = {backend.executor.submit(_execute, job, backend.data_ref): job for job in pending}
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
