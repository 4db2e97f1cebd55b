"""The ``fnn`` command: train, evaluate, plot and sweep. The only fnn code that prints.

One module per command (``train``, ``evaluate``, ``plot``, ``sweep``), each with
``add_parser(commands)`` and ``run(args)``; ``_args`` holds what they share. ``main(argv)``
returns an exit code: 0 done, 1 a runtime problem (missing or corrupt data, an unwritable
output), 2 a usage error (one ``error:`` line, nothing written), 130 interrupted (the last
completed epoch's checkpoint stays intact). NumPy's floating-point warnings (overflow with a
huge learning rate, ...) are counted while a command runs and reported in one ``fnn: note:``
line, not printed one by one with paths inside fnn (``_args.numpy_notes``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from fnn._version import __version__
from fnn.cli import evaluate, plot, sweep, train
from fnn.cli._args import UsageError, make_parser, numpy_notes
from fnn.errors import FnnError

__all__ = ["COMMANDS", "main", "main_exit"]

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "train": train.run, "evaluate": evaluate.run, "plot": plot.run, "sweep": sweep.run}
"""Each sub-command's ``run(args)``, which returns the exit code, by its name."""


def _parser() -> argparse.ArgumentParser:
    parser = make_parser(prog="fnn", description="Train and evaluate fnn networks.")
    parser.add_argument("--version", action="version", version=f"fnn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True,
                                     help="what to do (fnn COMMAND --help shows its options)",
                                     parser_class=type(parser))
    for module in (train, evaluate, plot, sweep):
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    try:
        args = _parser().parse_args(argv)
        with numpy_notes():
            return COMMANDS[args.command](args)
    except UsageError as e:
        print(f"fnn: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fnn: interrupted; the last completed epoch's checkpoint (if any) is intact",
              file=sys.stderr)
        return 130
    except (OSError, ImportError, FnnError) as e:
        print(f"fnn: error: {e}", file=sys.stderr)
        return 1


def main_exit() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())
