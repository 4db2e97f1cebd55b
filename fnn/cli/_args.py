"""What the ``fnn`` sub-commands share: the parser, the run options, the data, output checks.

The options that describe a run (``--sizes``, ``--optimizer``, ``--dropout``, ...) are made
from ``fnn.training.run.RUN_SETTINGS``, the same table a sweep's ``--grid`` reads, so every
training setting has exactly one spelling, help line and check; ``train_command`` writes a
run back as the ``fnn train`` options that give it.

Epochs are numbered from 1 wherever the command shows or writes them for people (the
screen, ``--history`` files, plots, sweep summaries): epoch k is the k-th epoch trained.
The library's ``EpochRecord.epoch`` is the 0-based index, and the files fnn writes to read
back itself (checkpoints, a sweep's results) keep the library's records as they are.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeVar

import numpy as np

from fnn import _checks, datasets, registry
from fnn.activations import Activation
from fnn.costs import log_likelihood
from fnn.data import Labelled
from fnn.errors import ConfigError, FnnTypeError
from fnn.expand import Expansion
from fnn.history import Monitor
from fnn.optimizers import GradientTransformation, gradient_descent, learning_rate
from fnn.registry import Spec
from fnn.sweep import JobSeed
from fnn.sweep.summary import setting_text
from fnn.training.config import make_config
from fnn.training.run import RUN_SETTINGS, Run, run_to_json

__all__ = [
    "DEFAULT_SEED",
    "MODEL_SUFFIXES",
    "MONITORS",
    "SEED",
    "TRAIN_DEFAULTS",
    "UsageError",
    "add_data_arguments",
    "add_row_limits",
    "add_run_options",
    "check_readable",
    "check_suffix",
    "check_writable",
    "converter",
    "evaluation_split",
    "head",
    "limit_threads",
    "load_data",
    "make_parser",
    "numpy_notes",
    "plural",
    "run_from_args",
    "seed_text",
    "setting_from_text",
    "train_command",
]

MONITORS = Monitor._fields


class UsageError(Exception):
    """A bad command line: exit 2 with one ``error:`` line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def make_parser(**kwargs: Any) -> argparse.ArgumentParser:
    """An ArgumentParser whose errors raise ``UsageError`` instead of exiting."""
    return _Parser(**kwargs)


_PYTHONS_OWN = ("could not convert string to float", "invalid literal for int()")


def converter(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type`` from a parser raising ValueError/TypeError with the constraint
    (Python's own "could not convert string to float" becomes "must be a number").

    >>> converter(float)("fast")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a number, got 'fast'
    """
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except (ValueError, TypeError) as e:
            message = str(e).removeprefix("value ")
            if message.startswith(_PYTHONS_OWN):
                message = f"must be a number, got {text!r}"
            raise argparse.ArgumentTypeError(message) from None
    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


N = TypeVar("N", int, float)


def _number(kind: Callable[[str], N], word: str,
            check: Callable[[str, Any], N]) -> Callable[[str], N]:
    """Parse text with ``kind`` (int or float), then ``check`` it; ValueError in words."""
    def parse(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"must be {word}, got {text!r}") from None
        return check("value", value)
    return parse


def _float(check: Callable[[str, Any], float]) -> Callable[[str], float]:
    return _number(float, "a number", check)


def _int(check: Callable[[str, Any], int]) -> Callable[[str], int]:
    return _number(int, "an integer", check)


POS_INT = converter(_int(_checks.positive_int))
NONNEG_INT = converter(_int(_checks.non_negative_int))
FRACTION = converter(_float(_checks.fraction))

_CLI_TEXT: Mapping[str, Callable[[str], Any]] = {"epochs": _int(_checks.positive_int)}
"""Where the command line is stricter than the library: ``epochs`` >= 1 (the library takes 0,
an untrained run; on the command line that is a mistake, not a request)."""


def setting_from_text(name: str, text: str) -> Any:
    """A run setting from its command-line text (also a sweep's ``--grid`` values)."""
    return _CLI_TEXT.get(name, RUN_SETTINGS[name].from_text)(text)


def plural(n: int, word: str) -> str:
    """``n`` and ``word``, in the plural unless ``n`` is 1.

    >>> plural(1, "seed"), plural(3, "seed"), plural(0, "hidden layer")
    ('1 seed', '3 seeds', '0 hidden layers')
    """
    return f"{n} {word}{'' if n == 1 else 's'}"


def _seed(text: str) -> JobSeed:
    root, sep, child = text.partition("/")
    try:
        seed = JobSeed(int(root), int(child) if sep else None)
    except ValueError:
        raise ValueError(f"must be an int >= 0, or ROOT/K (child K of seed ROOT, as fnn sweep "
                         f"--seeds numbers its runs), got {text!r}") from None
    for value in seed:
        if value is not None:
            _checks.non_negative_int("value", value)
    return seed


SEED = converter(_seed)
DEFAULT_SEED = JobSeed(0)


def seed_text(seed: JobSeed) -> str:
    """A seed as ``--seed`` reads it: ``3``, or ``0/2`` for child 2 of seed 0.

    >>> seed_text(JobSeed(0, 2)), seed_text(JobSeed(3))
    ('0/2', '3')
    """
    return str(seed.root) if seed.spawn_index is None else f"{seed.root}/{seed.spawn_index}"

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
        # the optimizer stays a spec here: --eta and --mu may still complete it
        parse = registry.parse_spec if name == "optimizer" else (
            lambda text, n=name: setting_from_text(n, text))
        group.add_argument(f"--{name.replace('_', '-')}", type=converter(parse),
                           default=defaults[name], metavar=setting.metavar,
                           help=f"{setting.help} (default {_shown(name, defaults[name])})")
    group.add_argument("--output", choices=("sigmoid", "softmax"), default="sigmoid",
                       help="the output layer: sigmoid (default) or softmax (with the "
                            "log_likelihood cost)")
    group.add_argument("--mu", type=FRACTION, default=None, metavar="MU",
                       help="momentum coefficient, with --optimizer momentum or nesterov "
                            "(default 0.9)")
    group.add_argument("--expand", action="store_true",
                       help="shorthand for --expansion shifts: add the four one-pixel shifts of "
                            "every training image (x5 data)")
    group.add_argument("--expand-rotations", type=NONNEG_INT, default=0, metavar="K",
                       help="also add K copies rotated by up to ±10 degrees (seeded)")


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
        raise UsageError(f"argument --activation: {plural(len(activation), 'name')} given "
                         f"for {plural(n_hidden, 'hidden layer')} (give one name for all, or "
                         f"one per hidden layer)")
    return cost, activation


def run_from_args(args: argparse.Namespace, monitor: Monitor,
                  seed: JobSeed = DEFAULT_SEED) -> Run:
    """The ``Run`` the run options describe, with ``seed`` (UsageError for contradictions)."""
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
                             cost=cost, seed=seed.sequence(), optimizer=_optimizer(args),
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
                   help="'sample' (the embedded MNIST digits: 10,000 training, 2,000 "
                        "validation, 2,000 test; the default), 'mnist' (look in $FNN_MNIST, "
                        "./mnist.pkl.gz, ./mnist.pkl, ./data/mnist.pkl.gz, ./mnist/, "
                        "./data/mnist/), or a path to mnist.pkl.gz or an IDX folder (MNIST or "
                        "Fashion-MNIST)")
    p.add_argument("--split", choices=("validation", "test"), default=None,
                   help="the evaluation set (default: validation when the data have one, "
                        "else test)")


def add_row_limits(p: argparse.ArgumentParser) -> None:
    """``--training-rows`` and ``--evaluation-rows`` (the first N rows of each)."""
    p.add_argument("--training-rows", type=POS_INT, metavar="N",
                   help="train on the first N training rows only (before any expansion)")
    p.add_argument("--evaluation-rows", type=POS_INT, metavar="N",
                   help="evaluate on the first N rows of the evaluation set only")


def head(part: Labelled, rows: int | None) -> Labelled:
    """The first ``rows`` rows of ``part`` (all of it for None)."""
    return Labelled(part.x[:rows], part.labels[:rows])


_PICKLE_SUFFIXES = (".gz", ".pkl", ".pickle")
_IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
              "t10k-labels-idx1-ubyte")


def load_data(source: str, dtype: str) -> tuple[str, datasets.MnistSplits]:
    """A description of ``source`` and its splits; errors name ``--data`` and the path."""
    if source == "sample":
        return "embedded sample", datasets.load_sample(dtype=dtype)
    path = None if source == "mnist" else Path(source)
    if path is not None and path.is_file():
        _check_data_file(path)
    try:
        found = datasets.find_mnist(path)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"--data {source}: {e}" if path is not None else str(e)) from None
    return str(found), datasets.load_mnist(found, dtype=dtype)


def _check_data_file(path: Path) -> None:
    name = path.name.removesuffix(".gz")
    if name in _IDX_FILES:
        raise UsageError(f"argument --data: {path} is one IDX file; give the folder holding "
                         f"the four ({path.parent})")
    if path.suffix.lower() not in _PICKLE_SUFFIXES:
        raise UsageError(f"argument --data: {path} is not MNIST data by its name: give "
                         f"mnist.pkl.gz or mnist.pkl (network2's pickle), a folder of IDX "
                         f"files, 'mnist' or 'sample'")


def evaluation_split(splits: datasets.MnistSplits, split: str | None) -> tuple[str, Labelled]:
    """The split's name and data (validation by default when there is one)."""
    name = split or ("validation" if splits.validation is not None else "test")
    chosen = getattr(splits, name)
    if chosen is None:
        raise UsageError(f"argument --split: these data have no {name} set")
    return name, chosen


# --------------------------------------------------------------------------- files

MODEL_SUFFIXES = (".json", ".safetensors")
"""What ``--save`` may end in: the model formats ``fnn.serialization.save`` writes."""


def check_suffix(path: Path | None, option: str, suffixes: Sequence[str]) -> None:
    """UsageError unless ``path`` ends in one of ``suffixes`` (any case).

    >>> check_suffix(Path("h.txt"), "--history", (".json", ".csv"))
    Traceback (most recent call last):
    ...
    fnn.cli._args.UsageError: argument --history: must end in .json or .csv, got 'h.txt'
    """
    if path is None or path.suffix.lower() in suffixes:
        return
    wanted = " or ".join((", ".join(suffixes[:-1]), suffixes[-1])) if len(suffixes) > 1 \
        else suffixes[0]
    raise UsageError(f"argument {option}: must end in {wanted}, got {str(path)!r}")


def check_writable(path: Path | None, option: str) -> None:
    """Fail before any work if ``path`` cannot be written (OSError naming the option, the path
    and what is wrong: exit 1)."""
    if path is None:
        return
    folder = path.parent if str(path.parent) else Path()
    if path.is_dir():
        raise IsADirectoryError(f"{option} {path}: is a folder, not a file")
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{option} {path}: {folder} is a file, not a folder")
    if not folder.is_dir():
        raise FileNotFoundError(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"{option} {path}: folder {folder} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise PermissionError(f"{option} {path}: the file exists and is read-only")


def check_readable(path: Path, option: str) -> None:
    """Fail if ``path`` is not a readable file (OSError naming the option and the path)."""
    if not path.exists():
        raise FileNotFoundError(f"{option} {path}: no such file")
    if path.is_dir():
        raise IsADirectoryError(f"{option} {path}: is a folder, not a file")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"{option} {path}: the file is not readable")


# --------------------------------------------------------------------------- the machine


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


@contextlib.contextmanager
def numpy_notes(out: TextIO | None = None) -> Iterator[Counter[str]]:
    """Count NumPy's floating-point errors (overflow, invalid value, divide by zero) instead
    of letting each print a warning with a path inside fnn; on leaving, one ``fnn: note:``
    line on ``out`` (default stderr) says what was counted. The values computed are the
    same: only how NumPy reports the errors changes. Underflow stays ignored, as by default.

    >>> import io
    >>> out = io.StringIO()
    >>> with numpy_notes(out) as counts:
    ...     _ = np.exp(np.array([1000.0]))
    >>> dict(counts), out.getvalue().split(";")[0]
    ({'overflow': 1}, 'fnn: note: NumPy met overflow 1 time')
    """
    counts: Counter[str] = Counter()

    def count(kind: str, flag: int) -> None:  # noqa: ARG001  (NumPy's callback signature)
        counts[kind] += 1

    try:
        with np.errstate(over="call", divide="call", invalid="call", under="ignore",
                         call=count):
            yield counts
    finally:
        if counts:
            met = ", ".join(f"{kind} {plural(n, 'time')}" for kind, n in sorted(counts.items()))
            print(f"fnn: note: NumPy met {met}; numbers beyond the float range, usually a "
                  f"learning rate too large (a run whose params stop being finite ends with an "
                  f"error)", file=out or sys.stderr)


# --------------------------------------------------------------------------- replaying a run


def _option_text(name: str, value: Any) -> str:
    if name == "jit":
        return {None: "auto", True: "on", False: "off"}[value]
    if name == "sizes":
        return ",".join(map(str, value))
    if value is None:
        return "none"
    return setting_text(name, value)


def train_command(run: Run, seed: JobSeed, *, data: Sequence[str] = ()) -> str:
    """The ``fnn train`` command line that trains ``run`` with ``seed``: the options whose
    value differs from ``fnn train``'s default, then ``data`` (data options as given) and
    ``--seed``.

    >>> from fnn.sweep import base_run
    >>> from fnn.optimizers import momentum
    >>> train_command(base_run(epochs=10, optimizer=momentum(eta=0.1, mu=0.9)), JobSeed(0, 2))
    "fnn train --epochs 10 --optimizer 'momentum(eta=0.1, mu=0.9)' --seed 0/2"
    """
    want, default = run_to_json(run, seed=False), run_to_json(_default_run(), seed=False)
    acts = (run.config.activation,) if isinstance(run.config.activation, Activation) \
        else run.config.activation
    default["init"] = "he" if any(a.name == "relu" for a in acts) else "default"  # as train
    words = ["fnn", "train"]
    for name in RUN_SETTINGS:
        if name not in want or want[name] == default[name]:
            continue
        value = getattr(run, name) if name in Run._fields else getattr(run.config, name)
        if name == "cost" and value == log_likelihood:
            words += ["--output", "softmax"]  # fnn train pairs the softmax output with it
        elif name == "optimizer" and value == gradient_descent(learning_rate(value) or 0.0):
            words += ["--eta", repr(learning_rate(value))]
        else:
            words += [f"--{name.replace('_', '-')}", _option_text(name, value)]
    return shlex.join([*words, *data, "--seed", seed_text(seed)])


def _default_run() -> Run:
    parser = make_parser()
    add_run_options(parser, TRAIN_DEFAULTS)
    return run_from_args(parser.parse_args([]), Monitor())
