"""``fnn evaluate``: the accuracy and cost of a saved model on a data set."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fnn._checks import non_negative_float
from fnn.cli._args import UsageError, add_data_arguments, converter, evaluation_split, load_data
from fnn.model import Model
from fnn.monitor import accuracy, total_cost
from fnn.serialization import load

__all__ = ["add_parser", "read_model", "run"]


def add_parser(commands: Any) -> None:
    """Add ``fnn evaluate`` to ``commands``, the sub-parsers object of the ``fnn`` parser."""
    p = commands.add_parser("evaluate", help="accuracy and cost of a saved model",
                            description="Report a saved model's accuracy and cost on a data set, "
                                        "running it with the activations and cost it was saved "
                                        "with.")
    p.add_argument("model", type=Path, metavar="MODEL",
                   help="a model file written by --save: JSON (fnn's or network2's) or, named "
                        "*.safetensors, safetensors (needs fnn[safetensors])")
    add_data_arguments(p)
    p.add_argument("--lmbda", type=converter(lambda t: non_negative_float("value", float(t))),
                   default=0.0, help="L2 strength included in the reported cost (default 0)")


def read_model(path: Path) -> Model:
    """The model at ``path``; a file that cannot be opened raises ``OSError`` saying so in
    words, naming the file (``ModelFormatError`` already does, and ``ImportError`` for a
    missing extra says what to install)."""
    try:
        return load(path)
    except FileNotFoundError:
        raise OSError(f"model file {path} does not exist") from None
    except IsADirectoryError:
        raise OSError(f"model file {path} is a directory, not a model file") from None
    except PermissionError:
        raise OSError(f"model file {path} cannot be read: permission denied") from None
    except OSError as e:
        raise OSError(f"model file {path} cannot be read: {e.strerror or e}") from None


def run(args: argparse.Namespace) -> int:
    """Run ``fnn evaluate`` as parsed; the exit code."""
    model = read_model(args.model)
    dtype = str(model.params.weights[0].dtype)
    source, splits = load_data(args.data, dtype)
    name, split = evaluation_split(splits, args.split)
    if model.sizes[0] != split.x.shape[1]:
        raise UsageError(f"argument --data: {source} has {split.x.shape[1]} inputs, the model "
                         f"expects {model.sizes[0]}")
    classes = int(split.labels.max()) + 1 if split.labels.size else 0
    if classes > model.sizes[-1]:
        raise UsageError(f"argument --data: {source} has {classes} classes, the model has "
                         f"{model.sizes[-1]} outputs")
    correct = accuracy(model, split.x, split.labels)
    cost = total_cost(model, split.x, split.labels, lmbda=args.lmbda)
    print(f"{args.model} on {source} {name} ({split.x.shape[0]} examples): accuracy "
          f"{correct}/{split.x.shape[0]} ({100 * correct / split.x.shape[0]:.2f}%), "
          f"{model.cost.name} cost {cost:.6f}")
    return 0
