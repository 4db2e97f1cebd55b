"""What the ``fnn`` sub-commands share: the parser, the run options, the data, output checks.

The options that describe a run (``--sizes``, ``--optimizer``, ``--dropout``, ...) are made
from ``fnn.training.run.RUN_SETTINGS``, the same table a sweep's ``--grid`` reads, so every
training setting has exactly one spelling, help line and check.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from fnn import _checks, datasets, registry
from fnn.activations import Activation
from fnn.data import Labelled
from fnn.errors import ConfigError, FnnTypeError
from fnn.expand import Expansion
from fnn.history import Monitor
from fnn.optimizers import GradientTransformation
from fnn.registry import Spec
from fnn.training.config import make_config
from fnn.training.run import RUN_SETTINGS, Run

__all__ = ["MONITORS", "TRAIN_DEFAULTS", "UsageError", "add_data_arguments", "add_run_options",
           "check_writable", "converter", "evaluation_split", "limit_threads", "load_data",
           "make_parser", "run_from_args"]

MONITORS = Monitor._fields


class UsageError(Exception):
    """A bad command line: exit 2 with one ``error:`` line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def make_parser(**kwargs: Any) -> argparse.ArgumentParser:
    """An ArgumentParser whose errors raise ``UsageError`` instead of exiting."""
    return _Parser(**kwargs)


def converter(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type`` from a parser raising ValueError/TypeError with the constraint."""
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except (ValueError, TypeError) as e:
            raise argparse.ArgumentTypeError(str(e).removeprefix("value ")) from None
    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


def _int(check: Callable[[str, Any], int]) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"must be an integer, got {text!r}") from None
        return check("value", value)
    return parse


POS_INT = converter(_int(_checks.positive_int))
NONNEG_INT = converter(_int(_checks.non_negative_int))

TRAIN_DEFAULTS: Mapping[str, Any] = {
    "sizes": (784, 30, 10), "init": None, "dtype": "float64", "expansion": Expansion(),
    "eta": None, "epochs": 30, "mini_batch_size": 10, "cost": None,
    "optimizer": {"name": "gradient_descent"}, "lmbda": 5.0, "l1": 0.0, "activation": None,
    "dropout": 0.0, "schedule": registry.schedule("constant"), "early_stop": None,
    "jit": None, "augment": None}
"""``fnn train``'s defaults: the book's run (784-30-10, cross-entropy, 30 epochs, batch 10,
η 0.5, λ 5.0); None where the default depends on other options."""

DEFAULT_ETA = 0.5


def _shown(name: str, value: Any) -> str:
    if value is None:
        return {"init": "he for ReLU nets, else default", "eta": str(DEFAULT_ETA),
                "cost": "cross_entropy; log_likelihood with --output softmax",
                "activation": "sigmoid", "early_stop": "off", "jit": "auto",
                "augment": "none"}[name]
    if name == "sizes":
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return registry.spec_text(value)
    if isinstance(value, Expansion):
        return value.text
    data = RUN_SETTINGS[name].to_json(value) if name != "dtype" else value
    return registry.spec_text(data) if isinstance(data, dict) else str(data)


def add_run_options(parser: argparse.ArgumentParser, defaults: Mapping[str, Any]) -> None:
    """One option per setting of ``RUN_SETTINGS`` (with ``defaults``), and the shorthands
    ``--output``, ``--mu``, ``--expand`` and ``--expand-rotations``."""
    group = parser.add_argument_group("the run (each option is also a sweep --grid setting)")
    for name, setting in RUN_SETTINGS.items():
        kind = registry.parse_spec if name == "optimizer" else setting.from_text
        group.add_argument(f"--{name.replace('_', '-')}", type=converter(kind),
                           default=defaults[name], metavar=setting.metavar,
                           help=f"{setting.help} (default {_shown(name, defaults[name])})")
    group.add_argument("--output", choices=("sigmoid", "softmax"), default="sigmoid",
                       help="the output layer: sigmoid (default) or softmax (with the "
                            "log_likelihood cost)")
    group.add_argument("--mu", type=converter(lambda t: _checks.fraction("value", float(t))),
                       default=None, metavar="MU",
                       help="momentum coefficient, with --optimizer momentum or nesterov "
                            "(default 0.9)")
    group.add_argument("--expand", action="store_true",
                       help="shorthand for --expansion shifts: add the four one-pixel shifts of "
                            "every training image (x5 data)")
    group.add_argument("--expand-rotations", type=NONNEG_INT, default=0, metavar="K",
                       help="also add K copies rotated by up to ±10 degrees (seeded)")
    group.add_argument("--seed", type=NONNEG_INT, default=0,
                       help="the one source of randomness (default 0)")


def _optimizer(args: argparse.Namespace) -> GradientTransformation:
    spec: Spec = dict(args.optimizer)
    if args.eta is not None:
        if "eta" in spec and spec["eta"] != args.eta:
            raise UsageError(f"argument --eta: the optimizer already sets eta={spec['eta']}")
        spec["eta"] = args.eta
    elif "eta" not in spec and spec["name"] in ("gradient_descent", "momentum", "nesterov"):
        spec["eta"] = DEFAULT_ETA
    if args.mu is not None:
        if spec["name"] not in ("momentum", "nesterov"):
            raise UsageError(f"argument --mu: only for --optimizer momentum or nesterov, "
                             f"got --optimizer {spec['name']}")
        spec["mu"] = args.mu
    try:
        return registry.optimizer(spec)
    except (ConfigError, FnnTypeError) as e:
        raise UsageError(f"argument --optimizer: {e}") from None


def _cost_and_activation(args: argparse.Namespace, n_hidden: int) -> tuple[Any, Any]:
    wanted = "log_likelihood" if args.output == "softmax" else "cross_entropy"
    cost = args.cost or registry.cost(wanted)
    if (cost.name == "log_likelihood") != (args.output == "softmax"):
        raise UsageError(f"argument --cost: {cost.name} does not go with --output "
                         f"{args.output} (softmax outputs use log_likelihood)")
    activation = args.activation or registry.activation("sigmoid")
    if not isinstance(activation, Activation) and len(activation) != n_hidden:
        raise UsageError(f"argument --activation: {len(activation)} names given for "
                         f"{n_hidden} hidden layer{'s' * (n_hidden != 1)} (give one name for "
                         f"all, or one per hidden layer)")
    return cost, activation


def run_from_args(args: argparse.Namespace, monitor: Monitor) -> Run:
    """The ``Run`` the run options describe (UsageError for contradictions)."""
    cost, activation = _cost_and_activation(args, len(args.sizes) - 2)
    acts = (activation,) if isinstance(activation, Activation) else activation
    init = args.init or registry.initializer(
        "he" if any(a.name == "relu" for a in acts) else "default")
    expansion = args.expansion
    if args.expand or args.expand_rotations:
        if expansion != Expansion():
            raise UsageError("argument --expand: give --expansion or --expand, not both")
        expansion = Expansion(shifts=args.expand, rotations=args.expand_rotations)
    try:
        config = make_config(epochs=args.epochs, mini_batch_size=args.mini_batch_size,
                             cost=cost, seed=args.seed, optimizer=_optimizer(args),
                             lmbda=args.lmbda, l1=args.l1, activation=activation,
                             dropout=args.dropout, schedule=args.schedule,
                             early_stop=args.early_stop, monitor=monitor, jit=args.jit,
                             augment=args.augment)
    except (ConfigError, FnnTypeError) as e:
        raise UsageError(str(e)) from None
    return Run(args.sizes, config, init, args.dtype, expansion)


# --------------------------------------------------------------------------- data


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """``--data`` and ``--split``."""
    p.add_argument("--data", default="sample", metavar="SOURCE",
                   help="'sample' (the embedded 10,000/2,000 MNIST digits, default), 'mnist' "
                        "(look in $FNN_MNIST, ./mnist.pkl.gz, ./mnist.pkl, ./data/mnist.pkl.gz, "
                        "./mnist/, ./data/mnist/), or a path to mnist.pkl.gz or an IDX folder "
                        "(MNIST or Fashion-MNIST)")
    p.add_argument("--split", choices=("validation", "test"), default=None,
                   help="the evaluation set (default: validation when the data have one, "
                        "else test)")


def load_data(source: str, dtype: str) -> tuple[str, datasets.MnistSplits]:
    """A description of ``source`` and its splits."""
    if source == "sample":
        return "embedded sample", datasets.load_sample(dtype=dtype)
    path = None if source == "mnist" else Path(source)
    found = datasets.find_mnist(path)
    return str(found), datasets.load_mnist(found, dtype=dtype)


def evaluation_split(splits: datasets.MnistSplits, split: str | None) -> tuple[str, Labelled]:
    """The split's name and data (validation by default when there is one)."""
    name = split or ("validation" if splits.validation is not None else "test")
    chosen = getattr(splits, name)
    if chosen is None:
        raise UsageError(f"argument --split: these data have no {name} set")
    return name, chosen


# --------------------------------------------------------------------------- the machine


def check_writable(path: Path | None, option: str) -> None:
    """Fail before training if ``path`` cannot be written (exit 1 names the path)."""
    if path is None:
        return
    folder = path.parent if str(path.parent) else Path()
    if path.is_dir():
        raise OSError(f"{option} {path} is a directory")
    if not folder.is_dir():
        raise OSError(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OSError(f"{option} {path}: folder {folder} is not writable")


def limit_threads(n: int | None) -> Any:
    """A context limiting BLAS to ``n`` threads (None: 1 if threadpoolctl is there)."""
    if n == 0:
        return None
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415  (an optional extra)
    except ImportError:
        if n is None:
            return None
        raise UsageError("argument --threads: needs threadpoolctl "
                         "(pip install 'fnn[threads]')") from None
    return threadpool_limits(limits=n or 1, user_api="blas")
