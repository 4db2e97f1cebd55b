"""``fnn plot``: learning curves from a history file, or mean ± spread from a sweep's results."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fnn.cli._args import check_writable
from fnn.errors import ConfigError
from fnn.history import History
from fnn.sweep import read_results

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``fnn plot`` to ``commands``, the sub-parsers object of the ``fnn`` parser."""
    p = commands.add_parser("plot", help="learning curves from a --history file",
                            description="Draw learning curves: cost and accuracy per epoch from "
                                        "a history file, or mean ± std over seeds per run from "
                                        "a sweep's results file (needs matplotlib, fnn[plot]).")
    p.add_argument("history", type=Path,
                   help="a history file (.json or .csv) or a sweep's results (.jsonl)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the image to write (.png)")


def run(args: argparse.Namespace) -> int:
    """Run ``fnn plot`` as parsed; the exit code."""
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
        text = args.history.read_text(encoding="utf-8")
        history = (History.from_csv(text) if args.history.suffix.lower() == ".csv"
                   else History.from_json(text))
        plotting.learning_curves(history, args.output)
    print(f"wrote {args.output}")
    return 0
