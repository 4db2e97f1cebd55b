"""A sweep's results file: one JSON line per finished job, appended, read back bit for bit.

Each finished job is one line, written with a single ``os.write`` to a file opened
``O_APPEND`` and then ``fsync``'d (``fnn.files.append_line``), so a crash leaves complete
lines and at most one torn last line (bytes after the last newline), which ``read_results``
ignores and ``run_sweep`` cuts off before appending: that job simply runs again. A line holds
the job id, the run (``run_to_json``, without the seed), overrides, seed (root, spawn index),
status (``ok``, ``diverged`` for ``NonFiniteError``, ``failed`` for any other exception), the
error text, the final params (``tree_to_dict``; for a diverged job the last finite ones), the
``History``, the fnn/NumPy/Python versions, ``blas_threads``, a fingerprint of the data and
``"timing": {"wall_seconds": ...}``. Timing is the only part that differs between runs:
``result_line(result, timing=False)`` is byte-identical serially, on a process pool and on a
Dask cluster. Lines are in completion order; the summaries do not depend on it.
"""

from __future__ import annotations

import itertools
import json
import os
import reprlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, cast

from fnn import files
from fnn.errors import (
    CheckpointMismatchError,
    ConfigError,
    DataError,
    FnnError,
    ResultsFormatError,
)
from fnn.files import load_errors, parse_json
from fnn.history import History
from fnn.params import Params
from fnn.serialization import tree_from_dict, tree_to_dict
from fnn.sweep.plan import Job, JobSeed, Override, job_id
from fnn.training.engines import FAMILIES as ENGINE_FAMILIES
from fnn.training.run import RUN_SETTINGS, Run, run_from_json, run_to_json

__all__ = ["FORMAT", "FORMAT_VERSION", "STATUSES", "JobResult", "ResultsFile", "Versions",
           "finished", "overrides_to_json", "parse_result", "read_results", "result_line"]

FORMAT = "fnn.sweep-result"
"""The ``format`` key of every line of a results file."""
FORMAT_VERSION = 2
"""The results-line format version this fnn writes and reads."""
STATUSES = ("ok", "diverged", "failed")
"""How a job can end: trained, diverged (``NonFiniteError``) or failed (any other error)."""


class Versions(NamedTuple):
    """The versions a result was computed with."""

    fnn: str
    numpy: str
    python: str


class JobResult(NamedTuple):
    """What one job gave. ``params`` are None for a failed job, the last finite params for a
    diverged one; ``blas_threads`` is how many threads BLAS had (None without threadpoolctl,
    or when ``run_job`` was called directly); ``data`` (the fingerprint of the data)
    is stamped by ``run_sweep``; ``wall_seconds`` is the only field that varies between runs;
    ``engine`` is the family of the engine that trained it (``numpy`` or ``numba``, see
    ``fnn.training.engines``; None if the job failed before training).
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
    engine: str | None = None


def result_line(result: JobResult, *, timing: bool = True) -> bytes:
    """The JSON line of ``result`` (with its newline); floats as ``repr``, so they read back
    bit for bit. Without ``timing`` the line is the same whoever ran the job, wherever."""
    job = result.job
    record: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "job_id": job.job_id,
        "status": result.status, "overrides": overrides_to_json(job.overrides),
        "seed": job.seed._asdict(), "error": result.error,
        "run": run_to_json(job.run, seed=False), "versions": result.versions._asdict(),
        "blas_threads": result.blas_threads, "data": result.data, "engine": result.engine,
    }
    if timing:
        record["timing"] = {"wall_seconds": result.wall_seconds}
    record["history"] = result.history.to_dict()
    record["params"] = None if result.params is None else tree_to_dict(result.params)
    return (json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n").encode()


def overrides_to_json(overrides: Override) -> dict[str, Any]:
    """A job's overrides as JSON data, each value in its setting's file form."""
    return {k: RUN_SETTINGS[k].to_json(v) for k, v in overrides}


_KEYS = ("format", "format_version", "job_id", "status", "overrides", "seed", "error", "run",
         "versions", "blas_threads", "data", "engine", "timing", "history", "params")
_OPTIONAL = {"timing", "engine"}  # engine: not in lines written before the compiled epoch


class _Bad(Exception):
    """A problem in a record, as ``"field: problem"``."""


def parse_result(line: bytes | str, *, source: str = "<line>") -> JobResult:
    """The ``JobResult`` in one results line, checked; ``ResultsFormatError`` (a
    ``ModelFormatError``) names ``source`` and the place. The line is strict JSON
    (``fnn.files.parse_json``); any failure while reading it is a ``ResultsFormatError``.

    >>> parse_result(b'{"format": "fnn.model"}', source="r.jsonl: line 3")
    Traceback (most recent call last):
    ...
    fnn.errors.ResultsFormatError: r.jsonl: line 3: not a sweep result (format 'fnn.model')
    """
    with load_errors(source, ResultsFormatError):
        data = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
        if not data.strip():
            raise ResultsFormatError(f"{source}: an empty line")
        record = parse_json(data.rstrip(b"\n"), source=f"{source}: not a JSON line",
                            what="results", error=ResultsFormatError)
        try:
            return _result(record, source)
        except _Bad as problem:
            raise ResultsFormatError(f"{source}: {problem}") from None


def _result(record: Any, source: str) -> JobResult:
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        kind = record.get("format") if isinstance(record, dict) else type(record).__name__
        raise _Bad(f"not a sweep result (format {_cut(kind)})")
    if record.get("format_version") != FORMAT_VERSION:
        version = record.get("format_version")
        raise _Bad(f"format_version must be {FORMAT_VERSION}, got {_cut(version)}"
                   + (" (written by fnn 0.1: run the sweep again)" if version == 1 else ""))
    if not set(_KEYS) - _OPTIONAL <= set(record) <= set(_KEYS):
        raise _Bad(f"keys must be {sorted(_KEYS)} ({' and '.join(sorted(_OPTIONAL))} "
                   f"optional), got {_cut(sorted(record))}")
    job = _job(record)
    status, error, params = record["status"], record["error"], record["params"]
    if not ((status == "ok" and error is None and params is not None)
            or (status in STATUSES[1:] and isinstance(error, str))):
        raise _Bad(f"status must be 'ok' (no error, params) or one of {list(STATUSES[1:])} with "
                   f"the error text, got {_cut(status)}, error {_cut(error)}")
    timing = record.get("timing", {"wall_seconds": None})
    return JobResult(job, status, error, _params(params, job.run, source),
                     _history(record["history"]),
                     _record_versions(record["versions"]), _optional(record, "blas_threads", int),
                     _optional(record, "data", str), _wall_seconds(timing),
                     _engine(record.get("engine", "numpy")))


def _job(record: dict[str, Any]) -> Job:
    overrides, seed = record["overrides"], record["seed"]
    if not isinstance(overrides, dict):
        raise _Bad(f"overrides must be an object, got {_cut(overrides)}")
    try:
        run = run_from_json(record["run"], seed=0)
        override = tuple((k, _setting(k).from_json(v)) for k, v in overrides.items())
    except FnnError as e:  # a bad setting's ConfigError or FnnTypeError
        raise _Bad(f"run: {_cut_text(str(e))}") from None
    job_seed = _seed(seed)
    name = job_id(run, job_seed)
    if record["job_id"] != name:
        raise _Bad(f"job_id {_cut(record['job_id'])} is not the hash of its run and seed "
                   f"({name!r})")
    return Job(name, run, override, job_seed)


def _setting(name: str) -> Any:
    if name not in RUN_SETTINGS:
        raise ConfigError(f"unknown setting {_cut(name)} in overrides")
    return RUN_SETTINGS[name]


def _cut(value: Any) -> str:
    """``repr(value)`` cut to 80 characters, at no more cost than the first few items."""
    return _REPR.repr(value)


_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlevel = 80, 80, 3
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 12


def _cut_text(text: str) -> str:
    return text if len(text) <= 300 else text[:297] + "..."


def _seed(seed: Any) -> JobSeed:
    ok = isinstance(seed, dict) and set(seed) == set(JobSeed._fields) and all(
        v is None or (type(v) is int and v >= 0) for v in seed.values()) and seed["root"] is not None
    if not ok:
        raise _Bad(f"seed must be {{\"root\": int >= 0, \"spawn_index\": int >= 0 or null}}, "
                   f"got {_cut(seed)}")
    return JobSeed(seed["root"], seed["spawn_index"])


def _params(value: Any, run: Run, source: str) -> Params | None:
    return None if value is None else tree_from_dict(value, sizes=run.sizes, dtype=run.dtype,
                                                     source=f"{source}: params",
                                                     error=ResultsFormatError)


def _history(value: Any) -> History:
    try:
        return History.from_dict(value)
    except DataError as e:
        raise _Bad(_cut_text(str(e))) from None


def _engine(value: Any) -> str | None:
    if value is not None and value not in ENGINE_FAMILIES:
        raise _Bad(f"engine must be one of {list(ENGINE_FAMILIES)} or null, got {_cut(value)}")
    return cast("str | None", value)


def _record_versions(value: Any) -> Versions:
    if not (isinstance(value, dict) and set(value) == set(Versions._fields)
            and all(isinstance(v, str) for v in value.values())):
        raise _Bad(f"versions must map {list(Versions._fields)} to strings, got {_cut(value)}")
    return Versions(**value)


def _optional(record: dict[str, Any], key: str, kind: type) -> Any:
    value = record[key]
    if value is not None and (type(value) is not kind):
        raise _Bad(f"{key} must be {kind.__name__} or null, got {_cut(value)}")
    return value


def _wall_seconds(value: Any) -> float | None:
    seconds = value.get("wall_seconds") if isinstance(value, dict) else None
    if not (isinstance(value, dict) and set(value) == {"wall_seconds"}) or not (
            seconds is None or type(seconds) in (int, float)):
        raise _Bad(f"timing must be {{\"wall_seconds\": number or null}}, got {_cut(value)}")
    return None if seconds is None else float(seconds)


class ResultsFile(NamedTuple):
    """The complete records of a results file, in file order, and the size in bytes of a
    torn last line that was ignored (0 when the file ends with a newline)."""

    results: tuple[JobResult, ...]
    torn: int


def read_results(path: str | os.PathLike[str]) -> ResultsFile:
    """The records in the results file at ``path``; a torn last line is left out.

    Any other bad line raises ``ResultsFormatError`` (a ``ModelFormatError``) naming the file
    and line; so does a line longer than ``fnn.files.MAX_JSON_BYTES``. The file is read a
    line at a time, whatever its size. ``OSError`` (a missing file) passes through.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "r.jsonl").write_bytes(b'{"format": "fnn.swe')
    ...     read_results(Path(d, "r.jsonl"))
    ResultsFile(results=(), torn=19)
    """
    results, torn = [], 0
    with Path(path).open("rb") as file, load_errors(str(path), ResultsFormatError):
        for number, line, length in _lines(file, str(path)):
            if line is None:
                torn = length
            else:
                results.append(parse_result(line, source=f"{path}: line {number}"))
    return ResultsFile(tuple(results), torn)


def _lines(file: Any, path: str) -> Iterator[tuple[int, bytes | None, int]]:
    """(number, line, length) of each complete line; then (number, None, length) of a torn
    last line (no newline), which is measured without being held."""
    cap = files.MAX_JSON_BYTES
    for number in itertools.count(1):
        line = file.readline(cap + 2)
        complete = line.endswith(b"\n")
        if len(line) - complete <= cap:
            if complete:
                yield number, line, len(line)
                continue
            if line:
                yield number, None, len(line)
            return
        length = len(line)
        del line  # longer than the cap: measure the rest, in case it is the torn last line
        while not complete and (chunk := file.readline(2**20)):
            length, complete = length + len(chunk), chunk.endswith(b"\n")
        if not complete:
            yield number, None, length
            return
        raise ResultsFormatError(f"{path}: line {number}: more than {cap:,} bytes "
                                 f"(MAX_JSON_BYTES)")
    raise AssertionError("unreachable")


def finished(path: Path, jobs: Sequence[Job], stamp: str) -> dict[str, JobResult]:
    """This sweep's jobs already in ``path`` (ran on data of fingerprint ``stamp``), after
    cutting off a torn last line."""
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
