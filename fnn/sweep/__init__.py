"""Reproducible sweeps: seeds × any training settings, on any executor, bit for bit.

- ``plan``: a ``Sweep`` is a base ``Run``, overrides (a grid or a list) and seeds; ``jobs``
  expands it, each ``Job`` named by a hash of its run and seed;
- ``run``: ``run_job`` trains one job (a pure function of the job and the data);
  ``run_sweep`` runs the missing ones serially, on ``local_pool`` or on ``dask_executor``;
- ``results``: the JSON-lines results file, appended one finished job at a time;
- ``summary``: per run, mean ± std, min and max over seeds, as text, CSV or JSON.

>>> sweep = make_sweep(base_run(sizes=(2, 2), epochs=1), grid={"eta": [0.5, 1.0]}, seeds=2)
>>> [job.seed.spawn_index for job in jobs(sweep)]
[0, 1, 0, 1]
"""

import warnings
from typing import Any

from fnn.sweep.plan import Job, JobSeed, Sweep, base_run, config_id, grid, job_id, jobs, make_sweep
from fnn.sweep.results import (
    FORMAT,
    STATUSES,
    JobResult,
    ResultsFile,
    Versions,
    parse_result,
    read_results,
    result_line,
)
from fnn.sweep.run import (
    Backend,
    SweepData,
    SweepExecutorError,
    check_data,
    dask_executor,
    data_fingerprint,
    job_run,
    local_pool,
    run_job,
    run_sweep,
)
from fnn.sweep.summary import (
    METRICS,
    ConfigSummary,
    Stats,
    config_label,
    group_by_config,
    summarize,
    summary_csv,
    summary_json,
    summary_text,
)
from fnn.training.run import RUN_SETTINGS

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
    "SweepData",
    "SweepExecutorError",
    "Versions",
    "base_run",
    "check_data",
    "config_id",
    "config_label",
    "dask_executor",
    "data_fingerprint",
    "grid",
    "group_by_config",
    "job_id",
    "job_run",
    "jobs",
    "local_pool",
    "make_sweep",
    "parse_result",
    "read_results",
    "result_line",
    "run_job",
    "run_sweep",
    "summarize",
    "summary_csv",
    "summary_json",
    "summary_text",
]


def _sweep_config(**settings: Any) -> Any:
    return base_run(**{k: RUN_SETTINGS[k].from_json(v) if k in RUN_SETTINGS else v
                       for k, v in settings.items()})


_DEPRECATED = {
    "expand": ("fnn.sweep.jobs", jobs),
    "seed_sequence": ("JobSeed.sequence()", JobSeed.sequence),
    "sweep_config": ("fnn.sweep.base_run (settings as values)", _sweep_config),
}


def __getattr__(name: str) -> Any:
    """Names of fnn 0.1 that were renamed, still reachable for one release with a warning."""
    if name in _DEPRECATED:
        new, value = _DEPRECATED[name]
        warnings.warn(f"fnn.sweep.{name} is deprecated; use {new}", DeprecationWarning,
                      stacklevel=2)
        return value
    raise AttributeError(f"module 'fnn.sweep' has no attribute {name!r}")
