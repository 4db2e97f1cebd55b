"""``fnn evaluate``: the accuracy and cost of a saved model on a data set."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fnn._checks import non_negative_float
from fnn.cli._args import UsageError, add_data_arguments, converter, evaluation_split, load_data
from fnn.monitor import accuracy, total_cost
from fnn.serialization import load

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``fnn evaluate`` to ``commands``, the sub-parsers object of the ``fnn`` parser."""
    p = commands.add_parser("evaluate", help="accuracy and cost of a saved model",
                            description="Report a saved model's accuracy and cost on a data set.")
    p.add_argument("model", type=Path, help="a model file written by --save (or network2)")
    add_data_arguments(p)
    p.add_argument("--lmbda", type=converter(lambda t: non_negative_float("value", float(t))),
                   default=0.0, help="L2 strength included in the reported cost (default 0)")


def run(args: argparse.Namespace) -> int:
    """Run ``fnn evaluate`` as parsed; the exit code."""
    model = load(args.model)
    dtype = str(model.params.weights[0].dtype)
    source, splits = load_data(args.data, dtype)
    name, split = evaluation_split(splits, args.split)
    if model.sizes[0] != split.x.shape[1]:
        raise UsageError(f"argument --data: {source} has {split.x.shape[1]} inputs, the model "
                         f"expects {model.sizes[0]}")
    correct = accuracy(model.params, split.x, split.labels, activation=model.activations)
    cost = total_cost(model.params, split.x, split.labels, cost=model.cost, lmbda=args.lmbda,
                      activation=model.activations)
    print(f"{args.model} on {source} {name} ({split.x.shape[0]} examples): accuracy "
          f"{correct}/{split.x.shape[0]} ({100 * correct / split.x.shape[0]:.2f}%), "
          f"{model.cost.name} cost {cost:.6f}")
    return 0
