"""Learning curves in the style of the book's chapter 3 (needs matplotlib: ``fnn[plot]``)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fnn.files import atomic_write_bytes
from fnn.history import History
from fnn.sweep import JobResult, config_label, group_by_config

__all__ = ["learning_curves", "require_matplotlib", "sweep_curves"]


def require_matplotlib() -> None:
    """Raise ImportError now if matplotlib (the ``fnn[plot]`` extra) is missing."""
    import matplotlib as mpl  # noqa: F401, PLC0415  (optional extra, imported where used)


def learning_curves(history: History, path: str | os.PathLike[str]) -> Path:
    """Draw cost and accuracy per epoch, training vs evaluation, into the image ``path``.

    Unmonitored figures are left out, and so is a panel with nothing to show (a run that
    monitored only accuracy gets one panel, 5 inches wide rather than 10); the image is
    written atomically.
    """
    import matplotlib as mpl  # noqa: PLC0415  (optional extra, imported where used)
    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    panels = [(field, label, _monitored(history, field, scale)) for field, label, scale in
              (("cost", "cost", 1.0), ("accuracy", "accuracy (%)", 100.0))]
    shown = [panel for panel in panels if panel[2]] or panels  # nothing at all: both, empty
    fig, axes = plt.subplots(1, len(shown), figsize=(5 * len(shown), 4), layout="constrained",
                             squeeze=False)
    for ax, (field, label, curves) in zip(axes[0], shown):
        for kind, style, points in curves:
            ax.plot(*zip(*points), style, marker=".", label=f"{kind} {field}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    return _save(fig, path)


def _monitored(history: History, field: str, scale: float) -> list[tuple[str, str, Any]]:
    """(kind, line style, [(epoch, value), ...]) of each monitored ``kind_field`` series."""
    series = []
    for kind, style in (("training", "-"), ("evaluation", "--")):
        points = [(r.epoch + 1, v * scale) for r in history
                  if (v := getattr(r, f"{kind}_{field}")) is not None]
        if points:
            series.append((kind, style, points))
    return series


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` atomically in the format ``path``'s suffix names (png without one)."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    buffer = io.BytesIO()
    fig.savefig(buffer, format=Path(path).suffix.lstrip(".") or "png", dpi=100)
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def sweep_curves(results: Iterable[JobResult], path: str | os.PathLike[str]) -> Path:
    """Draw each config's evaluation accuracy and cost per epoch over its seeds into the image
    ``path``: the mean as a line, mean ± sample standard deviation as a band, min and max
    dotted. Only ``ok`` runs count; a config without one is left out. Written atomically.
    """
    import matplotlib as mpl  # noqa: PLC0415  (optional extra, imported where used)
    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, (acc_ax, cost_ax) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
    for group in group_by_config(results):
        runs = [r.history for r in group if r.status == "ok" and len(r.history)]
        if not runs:
            continue
        label = f"{config_label(group[0].job.overrides)} (n={len(runs)})"
        color = None
        for ax, field, scale in ((acc_ax, "evaluation_accuracy", 100.0),
                                 (cost_ax, "evaluation_cost", 1.0)):
            color = _band(ax, _curves(runs, field, scale), label, color)
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415
    for ax, name in ((acc_ax, "evaluation accuracy (%)"), (cost_ax, "evaluation cost")):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    if acc_ax.lines:
        acc_ax.legend(fontsize="small")
    acc_ax.set_title("mean ± std over seeds (dotted: min, max)", fontsize="medium")
    return _save(fig, path)


def _curves(runs: list[History], field: str, scale: float) -> Any:
    """An (n_runs, n_epochs) array of ``field``, cut to the shortest run; NaN if unmonitored."""
    import numpy as np  # noqa: PLC0415
    epochs = min(len(h) for h in runs)
    return np.array([[np.nan if (v := getattr(r, field)) is None else v * scale
                      for r in h.records[:epochs]] for h in runs])


def _band(ax: Any, values: Any, label: str, color: Any) -> Any:
    """Plot the mean, the ± std band and the min/max of ``values``; return the colour used."""
    import numpy as np  # noqa: PLC0415
    x = np.arange(1, values.shape[1] + 1)
    mean = values.mean(axis=0)
    std = values.std(axis=0, ddof=1) if values.shape[0] > 1 else np.zeros_like(mean)
    (line,) = ax.plot(x, mean, marker=".", label=label, color=color)
    ax.fill_between(x, mean - std, mean + std, alpha=0.2, color=line.get_color())
    for edge in (values.min(axis=0), values.max(axis=0)):
        ax.plot(x, edge, ":", linewidth=0.8, color=line.get_color())
    return line.get_color()
