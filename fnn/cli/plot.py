"""``fnn plot``: learning curves from a history file, or mean ± spread from a sweep's results.

A history file is read as ``fnn train --history`` writes it, its epochs numbered from 1, and
the x axis shows the epoch numbers the file holds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from fnn.cli._args import check_readable, check_suffix, check_writable
from fnn.errors import ConfigError, DataError
from fnn.history import History
from fnn.sweep import read_results

__all__ = ["add_parser", "run"]

INPUT_SUFFIXES = (".json", ".csv", ".jsonl")
IMAGE_SUFFIXES = (".png", ".svg", ".pdf")


def add_parser(commands: Any) -> None:
    """Add ``fnn plot`` to ``commands``, the sub-parsers object of the ``fnn`` parser."""
    p = commands.add_parser("plot", help="learning curves from a --history file",
                            description="Draw learning curves: cost and accuracy per epoch from "
                                        "a history file, or mean ± std over seeds per run from "
                                        "a sweep's results file (needs matplotlib, fnn[plot]).")
    p.add_argument("history", type=Path,
                   help="a history file of fnn train --history (.json or .csv) or a sweep's "
                        "results (.jsonl)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="IMAGE",
                   help="the image to write (.png, .svg or .pdf)")


def run(args: argparse.Namespace) -> int:
    """Run ``fnn plot`` as parsed; the exit code."""
    check_suffix(args.history, "history", INPUT_SUFFIXES)
    check_suffix(args.output, "--output", IMAGE_SUFFIXES)
    check_readable(args.history, "history")
    check_writable(args.output, "--output")
    try:
        from fnn import plotting  # noqa: PLC0415  (needs matplotlib, an optional extra)
        plotting.require_matplotlib()
    except ImportError:
        raise ImportError("fnn plot needs matplotlib: pip install 'fnn[plot]'") from None
    if args.history.suffix.lower() == ".jsonl":
        loaded = read_results(args.history)
        if not loaded.results:
            raise ConfigError(f"{args.history} holds no finished jobs")
        plotting.sweep_curves(loaded.results, args.output)
    else:
        plotting.learning_curves(_history(args.history), args.output)
    print(f"wrote {args.output}")
    return 0


def _history(path: Path) -> History:
    """The History in the file at ``path`` (``fnn train``'s numbering from 1 turned back into
    the library's from 0); DataError naming the file for anything else."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        history = History.from_csv(text) if path.suffix.lower() == ".csv" \
            else History.from_json(text)
    except (DataError, ValueError, TypeError) as e:
        kind = "JSON" if isinstance(e, json.JSONDecodeError) else "history"
        raise DataError(f"{path}: not a history file of fnn train --history ({kind}: "
                        f"{str(e)[:200]})") from None
    if not len(history):
        raise DataError(f"{path}: the history holds no epochs")
    return History(tuple(r._replace(epoch=r.epoch - 1) for r in history))
