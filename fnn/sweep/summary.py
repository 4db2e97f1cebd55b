"""Summaries of a sweep: per run, counts by status and mean ± std, min, max over seeds."""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from fnn.history import History
from fnn.registry import spec_text
from fnn.sweep.plan import Override, config_id
from fnn.sweep.results import STATUSES, JobResult, overrides_to_json
from fnn.training.run import RUN_SETTINGS, Run, run_to_json

__all__ = ["METRICS", "ConfigSummary", "Stats", "config_label", "group_by_config",
           "setting_text", "summarize", "summary_csv", "summary_json", "summary_text"]

METRICS = ("final_accuracy", "best_accuracy", "best_epoch", "final_cost", "best_cost")
"""The figures a summary gives per config (mean, std, min and max over its seeds)."""


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
    run: Run
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
    """A short name of a run: its overrides in their command-line text, or ``(base)``.

    >>> from fnn.optimizers import momentum
    >>> config_label((("eta", 0.5), ("sizes", (784, 30, 10)),
    ...               ("optimizer", momentum(eta=0.1, mu=0.9))))
    'eta=0.5 sizes=784-30-10 optimizer=momentum(eta=0.1, mu=0.9)'
    """
    return " ".join(f"{k}={setting_text(k, v)}" for k, v in overrides) or "(base)"


def setting_text(name: str, value: Any) -> str:
    """A setting's value as the command line writes it (sizes as 784-30-10).

    >>> setting_text("activation", (fnn.RELU, fnn.SIGMOID))
    '[relu,sigmoid]'
    """
    data = RUN_SETTINGS[name].to_json(value)
    if name == "sizes":
        return "-".join(map(str, data))
    if name == "expansion":
        return str(value.text)
    if isinstance(data, dict) and "name" in data:
        return spec_text(data)
    if isinstance(data, list):
        return "[" + ",".join(map(str, data)) + "]"
    return str(data) if isinstance(data, str) else repr(data)


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
    def typed(k: str, v: Any) -> tuple[int, Any]:
        if isinstance(v, int | float) and not isinstance(v, bool):
            return (0, v)
        return (1, setting_text(k, v))
    return tuple((k, typed(k, v)) for k, v in sorted(overrides, key=lambda kv: kv[0]))


def group_by_config(results: Iterable[JobResult]) -> tuple[tuple[JobResult, ...], ...]:
    """``results`` grouped by config, ordered by their overrides (numbers numerically), each
    group ordered by seed; the same whatever order the results came in."""
    groups: dict[str, list[JobResult]] = {}
    for r in results:
        groups.setdefault(config_id(r.job.run), []).append(r)

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
    return ConfigSummary(config_id(job.run), config_label(job.overrides), job.run,
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
    rows = [{"config": s.label, "config_id": s.config_id,
             "settings": run_to_json(s.run, seed=False),
             "overrides": overrides_to_json(s.overrides),
             **{k: getattr(s, k) for k in ("runs", "ok", "diverged", "failed")},
             **{m: None if getattr(s, m) is None else getattr(s, m)._asdict() for m in METRICS}}
            for s in summaries]
    return json.dumps(rows, indent=1, allow_nan=False) + "\n"
