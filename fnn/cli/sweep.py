"""``fnn sweep``: seeds × any training settings from the command line, resumable, on local
processes or a Dask cluster.

Progress (jobs done / total, ETA) goes to stderr, the summary to stdout; exit codes as
``fnn.cli.main`` (0 done, even when some jobs failed or diverged: they are in the results and
the table; 1 a runtime problem; 2 a usage error; 130 Ctrl-C, with every finished job saved:
the same command resumes). The base run takes every option of ``fnn train`` (one table,
``RUN_SETTINGS``), and ``--grid NAME=V1,V2`` varies any of them. Each finished job's line is
followed by the ``fnn train`` command that replays it (its settings, data options and seed,
``--seed ROOT/K`` for child K of the root seed), giving the same final accuracy exactly.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO, cast

from fnn import sweep as sw
from fnn.activations import Activation, per_layer
from fnn.cli import _args
from fnn.cli._args import UsageError
from fnn.errors import ConfigError, FnnTypeError
from fnn.history import Monitor
from fnn.training.config import split_top_level
from fnn.training.run import RUN_SETTINGS

__all__ = ["add_parser", "run"]

SWEEP_EPOCHS = 10
"""Default epochs of a sweep run: a third of ``fnn train``'s 30, as a sweep runs many."""

SWEEP_SEEDS = 3
"""Default number of seeds per config."""


def _grid_option(text: str) -> tuple[str, tuple[Any, ...]]:
    """``NAME=V1,V2,...`` as (name, checked values); values in the option's own text, commas
    inside parentheses or brackets belonging to one value (``optimizer=momentum(eta=0.1,
    mu=0.9),adam``); sizes are written 784-30-10."""
    name, sep, values = text.partition("=")
    name = name.strip().replace("-", "_")
    if not sep or name not in RUN_SETTINGS:
        raise argparse.ArgumentTypeError(
            f"must be NAME=V1,V2,... with NAME one of {sorted(RUN_SETTINGS)}, got {text!r}")
    parts = split_top_level(values)
    if not all(parts):
        raise argparse.ArgumentTypeError(f"{name} needs values separated by commas, got {text!r}")
    try:
        return name, tuple(_args.setting_from_text(name, v) for v in parts)
    except (ConfigError, FnnTypeError, ValueError) as e:
        raise argparse.ArgumentTypeError(f"{name}: {str(e).removeprefix('value ')}") from None


def _seed_list(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be seeds (ints >= 0) separated by commas, got {text!r}") from None
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(
            f"must be distinct ints >= 0 separated by commas, got {text!r}")
    return seeds


_DESCRIPTION = (
    "Train a grid of settings, each with several seeds, on local processes or a Dask cluster. "
    "Each finished run is appended to --out; running the same command again skips the runs "
    "already there. Progress goes to stderr, a summary per config (mean, std, min, max over "
    f"seeds) to stdout. Defaults are fnn train's, but {SWEEP_EPOCHS} epochs.")


def add_parser(commands: Any) -> None:
    """Add ``fnn sweep`` to ``commands``, the sub-parsers object of the ``fnn`` parser."""
    p = commands.add_parser("sweep", description=_DESCRIPTION,
                            help="train every combination of settings with several seeds")
    p.add_argument("--grid", type=_grid_option, action="append", default=[],
                   metavar="NAME=V1,V2", help="values of one setting to try (repeat for a "
                   "grid); NAME is any run option below, e.g. eta=0.1,0.5, sizes=784-30-10,"
                   "784-100-10, optimizer=momentum(eta=0.1,mu=0.9),adam(eta=0.001), "
                   "activation=relu,tanh, dropout=0,0.5, expansion=none,shifts")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=_args.POS_INT, default=None, metavar="N",
                       help=f"seeds per config: children 0..N-1 of --root-seed "
                            f"(default {SWEEP_SEEDS})")
    seeds.add_argument("--seed-list", type=_seed_list, metavar="S1,S2",
                       help="explicit seeds, each as fnn train --seed")
    p.add_argument("--root-seed", type=_args.NONNEG_INT, default=0, metavar="N",
                   help="the seed --seeds spawns from (default 0)")
    _args.add_run_options(p, {**_args.TRAIN_DEFAULTS, "epochs": SWEEP_EPOCHS})
    _args.add_data_arguments(p)
    _args.add_row_limits(p)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_args.POS_INT, metavar="N",
                       help="local worker processes (default: the usable cores; 1 runs the "
                            "jobs in this process)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="a Dask scheduler, e.g. tcp://10.0.0.5:8786 (needs fnn[sweep])")
    p.add_argument("--out", type=Path, required=True, metavar="RESULTS.jsonl",
                   help="the results file: one JSON line per finished run (appended)")
    p.add_argument("--format", choices=("text", "csv", "json"), default="text",
                   help="the summary on stdout (default text)")
    p.add_argument("--no-progress", action="store_true",
                   help="no line per finished run (nor its fnn train command)")


def _usable_cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _sweep_of(args: argparse.Namespace) -> sw.Sweep:
    names = [name for name, _ in args.grid]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UsageError(f"argument --grid: {repeated[0]} is given more than once")
    if args.seed_list is not None and args.root_seed != 0:
        raise UsageError("argument --root-seed: not used with --seed-list")
    base = _args.run_from_args(args, Monitor())
    seeds = args.seed_list if args.seed_list is not None else args.seeds or SWEEP_SEEDS
    try:
        sweep = sw.make_sweep(base, grid=dict(args.grid) if args.grid else None, seeds=seeds,
                              root_seed=args.root_seed)
    except (ConfigError, FnnTypeError) as e:
        raise UsageError(f"argument --grid: {e}") from None
    _check_activations(sweep)
    return sweep


def _check_activations(sweep: sw.Sweep) -> None:
    """A usage error, before any job runs, for a config with one activation per hidden layer
    whose count is not its net's."""
    for job in sw.jobs(sweep):
        activation, n_hidden = job.run.config.activation, len(job.run.sizes) - 2
        try:
            per_layer(activation, n_hidden)
        except ConfigError:
            given = 1 if isinstance(activation, Activation) else len(activation)
            raise UsageError(
                f"argument --grid: {sw.config_label(job.overrides)}: "
                f"{_args.plural(given, 'activation')} for the "
                f"{_args.plural(n_hidden, 'hidden layer')} of "
                f"{'-'.join(map(str, job.run.sizes))} (give one for all, or one per hidden "
                f"layer)") from None


def _data_of(args: argparse.Namespace) -> tuple[str, str, sw.SweepData]:
    source, splits = _args.load_data(args.data, args.dtype)
    name, evaluation = _args.evaluation_split(splits, args.split)
    training, evaluation = _args.head(splits.training, args.training_rows), _args.head(
        evaluation, args.evaluation_rows)
    described = (f"{source} ({training.x.shape[0]} training rows; evaluating on {name}, "
                 f"{evaluation.x.shape[0]} rows)")
    return described, name, sw.SweepData(training, evaluation)


def _data_options(args: argparse.Namespace) -> tuple[str, ...]:
    """The options that give ``fnn train`` this sweep's data, as given here."""
    words = [] if args.data == "sample" else ["--data", args.data]
    for option, value in (("--split", args.split), ("--training-rows", args.training_rows),
                          ("--evaluation-rows", args.evaluation_rows)):
        if value is not None:
            words += [option, str(value)]
    return tuple(words)


def _torn(path: Path) -> bool:
    """Whether the file at ``path`` ends inside a line (a write was interrupted)."""
    try:
        with path.open("rb") as f:
            if f.seek(0, os.SEEK_END) == 0:
                return False
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
    except FileNotFoundError:
        return False


class _Reporter:
    """Progress lines on ``out``: one per finished job, with jobs done / total and an ETA,
    then the ``fnn train`` command that replays the job."""

    def __init__(self, out: TextIO, results: Path, enabled: bool, *,
                 evaluation: str = "evaluation", data: tuple[str, ...] = ()) -> None:
        self.out, self.results, self.enabled = out, results, enabled
        self.evaluation, self.data = evaluation, data
        self.start, self.skipped, self.done, self.total = time.perf_counter(), 0, 0, 0

    def __call__(self, done: int, total: int, result: sw.JobResult | None) -> None:
        self.done, self.total = done, total
        if result is None:
            self.skipped, self.start = done, time.perf_counter()
            if done:
                self.out.write(f"{done} of {_args.plural(total, 'job')} "
                               f"{'is' if done == 1 else 'are'} already in {self.results}\n")
            return
        if self.enabled:
            replay = _args.train_command(result.job.run, result.job.seed, data=self.data)
            self.out.write(f"[{done:>{len(str(total))}}/{total}] "
                           f"{_describe(result, self.evaluation)}  "
                           f"({self._timing(done, total)})\n    {replay}\n")
            self.out.flush()

    def _timing(self, done: int, total: int) -> str:
        elapsed = time.perf_counter() - self.start
        ran = done - self.skipped
        eta = elapsed / ran * (total - done)
        return f"elapsed {_duration(elapsed)}, ETA {_duration(eta)}"


def _duration(seconds: float) -> str:
    """``seconds`` as ``12.3 s``, ``4 min 05 s`` or ``2 h 03 min``.

    >>> _duration(3.21), _duration(245), _duration(7380)
    ('3.2 s', '4 min 05 s', '2 h 03 min')
    """
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _describe(result: sw.JobResult, evaluation: str = "evaluation") -> str:
    head = (f"{sw.config_label(result.job.overrides)} seed {_args.seed_text(result.job.seed)}: "
            f"{result.status}")
    if result.status != "ok":
        return f"{head} ({result.error})"
    last = result.history[-1] if len(result.history) else None
    accuracy = last.evaluation_accuracy if last is not None else None
    return head if accuracy is None else f"{head}, {evaluation} accuracy {100 * accuracy:.2f}%"


_FORMATTERS = {"text": sw.summary_text, "csv": sw.summary_csv, "json": sw.summary_json}


def run(args: argparse.Namespace) -> int:
    """Run ``fnn sweep`` as parsed; the exit code."""
    sweep = _sweep_of(args)
    _args.check_suffix(args.out, "--out", (".jsonl",))
    _args.check_writable(args.out, "--out")
    described, evaluation, data = _data_of(args)
    try:
        sw.check_data(sweep, data)
    except ConfigError as e:
        raise UsageError(f"argument --sizes/--grid/--mini-batch-size: {e}") from None
    n_jobs = len(sweep.overrides) * len(sweep.seeds)
    if _torn(args.out):
        sys.stderr.write(f"fnn sweep: the last line of {args.out} is incomplete (an interrupted "
                         "write); it is dropped and its job runs again\n")
    reporter = _Reporter(sys.stderr, args.out, not args.no_progress, evaluation=evaluation,
                         data=_data_options(args))
    try:
        with _backend(args, data) as (backend, where):
            sys.stderr.write(f"fnn sweep: {_args.plural(n_jobs, 'job')} "
                             f"({_args.plural(len(sweep.overrides), 'config')} × "
                             f"{_args.plural(len(sweep.seeds), 'seed')}) on {described}, "
                             f"{where}\n")
            results = sw.run_sweep(sweep, data, backend, results=args.out, progress=reporter)
    except KeyboardInterrupt:
        sys.stderr.write(f"fnn: interrupted; {reporter.done} of {n_jobs} jobs are saved in "
                         f"{args.out}; run the same command to resume\n")
        return 130
    _finish(results, args, time.perf_counter() - reporter.start)
    return 0


def _finish(results: tuple[sw.JobResult, ...], args: argparse.Namespace, seconds: float) -> None:
    counts = ", ".join(f"{sum(r.status == s for r in results)} {s}" for s in sw.STATUSES)
    sys.stderr.write(f"fnn sweep: {_args.plural(len(results), 'job')}: {counts}; "
                     f"{_duration(seconds)}; results in {args.out}\n")
    versions = {r.versions for r in results}
    if len(versions) > 1:
        sys.stderr.write("fnn sweep: note: the results come from several versions: "
                         + "; ".join(" ".join(f"{k} {v}" for k, v in x._asdict().items())
                                     for x in sorted(versions)) + "\n")
    sys.stdout.write(_FORMATTERS[args.format](sw.summarize(results)))
    sys.stdout.flush()


@contextlib.contextmanager
def _backend(args: argparse.Namespace,
             data: sw.SweepData) -> Iterator[tuple[sw.Backend | None, str]]:
    """The executor the options ask for and a description of it; shut down on leaving."""
    if args.scheduler is not None:
        client = _dask_client(args.scheduler)
        try:
            with sw.dask_executor(client, data) as backend:
                yield backend, f"Dask scheduler {args.scheduler}"
        finally:
            client.close()
        return
    workers = args.workers or _usable_cores()
    if workers == 1:
        yield None, "1 worker (this process)"
        return
    with sw.local_pool(workers, data) as backend:
        yield backend, f"{workers} local worker processes"


def _dask_client(address: str) -> Any:
    try:
        from distributed import Client  # noqa: PLC0415  (optional extra)
    except ImportError:
        raise UsageError("argument --scheduler: needs dask.distributed "
                             "(pip install 'fnn[sweep]')") from None
    return cast(Any, Client)(address)
