"""The ``fnn`` command: train, evaluate and plot. The only fnn code that prints.

``main(argv)`` returns an exit code: 0 done, 1 a runtime problem (missing or corrupt data,
an unwritable output), 2 a usage error (one ``error:`` line, nothing written), 130
interrupted (the last completed epoch's checkpoint stays intact).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO, cast

import fnn
from fnn import datasets
from fnn.activations import ACTIVATIONS
from fnn.checkpoint import iterate_checkpointed, resume_state
from fnn.costs import COSTS, get_cost
from fnn.data import Labelled
from fnn.errors import (
    CheckpointMismatchError,
    ConfigError,
    DatasetFormatError,
    FnnError,
    ModelFormatError,
)
from fnn.expand import expand
from fnn.monitor import EpochRecord, History
from fnn.optimizers import OPTIMIZERS
from fnn.params import INITIALIZERS, init_params
from fnn.schedules import parse_schedule
from fnn.serialization import atomic_write_bytes, load, save
from fnn.sweep_cli import add_sweep_parser, plot_results, run_sweep_command
from fnn.training import Prepared, TrainState, prepare_sgd, train_states

__all__ = ["format_record", "main", "main_exit"]

MONITORS = ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy")


class UsageError(Exception):
    """A bad command line: exit 2 with one ``error:`` line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


# --- argument types: each raises ArgumentTypeError with the constraint and the value --------


def _checked(check: Callable[[str, Any], Any], parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return check("value", parse(text))
        except (ValueError, TypeError) as e:
            message = str(e).removeprefix("value ")
            raise argparse.ArgumentTypeError(message) from None
    return convert


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"value must be an integer, got {text!r}") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"value must be a number, got {text!r}") from None


def _sizes(text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.replace("-", ",").split(",")]
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be layer sizes such as 784,30,10, got {text!r}") from None
    try:
        return fnn.params.check_sizes(sizes)
    except (ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _monitors(text: str) -> tuple[str, ...]:
    names = [n.strip().replace("-", "_") for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return MONITORS
    if names == ["none"]:
        return ()
    unknown = [n for n in names if n not in MONITORS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown monitor {unknown[0]!r}; expected a comma list of {list(MONITORS)}, "
            "'all' or 'none'")
    return tuple(names)


def _activations(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(","))
    unknown = [n for n in names if n not in ACTIVATIONS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown activation {unknown[0]!r}; expected one of {sorted(ACTIVATIONS)}")
    return names


def _schedule(text: str) -> str:
    try:
        parse_schedule(text, 1.0)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


_POS_INT = _checked(fnn._checks.positive_int, _int)
_NONNEG_INT = _checked(fnn._checks.non_negative_int, _int)
_POS_FLOAT = _checked(fnn._checks.positive_float, _float)
_NONNEG_FLOAT = _checked(fnn._checks.non_negative_float, _float)


def _parser() -> _Parser:
    parser = _Parser(prog="fnn", description="Train and evaluate fnn networks.")
    parser.add_argument("--version", action="version", version=f"fnn {fnn.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _train_parser(commands.add_parser(
        "train", help="train a network (default: the book's 784-30-10 run on the embedded sample)",
        description="Train a sigmoid network by mini-batch SGD. Defaults are the original "
                    "README's run: 784-30-10, cross-entropy, 30 epochs, batch 10, eta 0.5, "
                    "lmbda 5.0."))
    evaluate = commands.add_parser("evaluate", help="accuracy and cost of a saved model")
    evaluate.add_argument("model", type=Path, help="a model file written by --save (or network2)")
    _data_arguments(evaluate)
    evaluate.add_argument("--lmbda", type=_NONNEG_FLOAT, default=0.0,
                          help="L2 strength included in the reported cost (default 0)")
    plot = commands.add_parser("plot", help="learning curves from a --history file")
    plot.add_argument("history", type=Path,
                      help="a history file (.json or .csv) or a sweep's results (.jsonl)")
    plot.add_argument("-o", "--output", type=Path, required=True, help="the image to write (.png)")
    add_sweep_parser(commands)
    return parser


def _data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="sample", metavar="SOURCE",
                   help="'sample' (the embedded 10,000/2,000 MNIST digits, default), 'mnist' "
                        "(look in $FNN_MNIST, ./mnist.pkl.gz, ./mnist.pkl, ./data/mnist.pkl.gz, "
                        "./mnist/, ./data/mnist/), or a path to mnist.pkl.gz or an IDX folder "
                        "(MNIST or Fashion-MNIST)")
    p.add_argument("--split", choices=("validation", "test"), default=None,
                   help="the evaluation set (default: validation when the data have one, "
                        "else test)")


def _train_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", type=_sizes, default=(784, 30, 10), metavar="N,N,...",
                   help="layer sizes, input first (default 784,30,10)")
    p.add_argument("--cost", choices=sorted(COSTS), default=None,
                   help="cross_entropy (default with --output sigmoid), quadratic, or "
                        "log_likelihood (the cost of --output softmax)")
    p.add_argument("--output", choices=("sigmoid", "softmax"), default="sigmoid",
                   help="output layer: sigmoid (default) or softmax with log-likelihood")
    p.add_argument("--activation", type=_activations, default=("sigmoid",), metavar="NAME[,..]",
                   help=f"hidden activation, one of {sorted(ACTIVATIONS)}, or one per hidden "
                        "layer (default sigmoid)")
    p.add_argument("--epochs", type=_NONNEG_INT, default=30)
    p.add_argument("--mini-batch-size", type=_POS_INT, default=10, metavar="M")
    p.add_argument("--eta", type=_POS_FLOAT, default=0.5, help="learning rate (default 0.5)")
    p.add_argument("--lmbda", type=_NONNEG_FLOAT, default=5.0,
                   help="L2 regularization strength (default 5.0)")
    p.add_argument("--init", choices=sorted(INITIALIZERS), default=None,
                   help="weight initialization (default: 'he' for ReLU nets, else 'default', "
                        "network2's N(0,1)/sqrt(n_in))")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd",
                   help="sgd (default: network2's update), momentum, nesterov or adam")
    p.add_argument("--mu", type=_checked(fnn._checks.fraction, _float), default=None,
                   help="momentum coefficient for momentum/nesterov (default 0.9)")
    p.add_argument("--schedule", type=_schedule, default="constant", metavar="RULE",
                   help="eta schedule: constant (default) or halve:N (halve eta after N epochs "
                        "without better evaluation accuracy; stop at eta/128)")
    p.add_argument("--early-stop", type=_POS_INT, default=None, metavar="N",
                   help="stop after N epochs without better evaluation accuracy; keep the best")
    p.add_argument("--dropout", type=_checked(fnn._checks.fraction, _float), default=0.0,
                   metavar="P", help="drop hidden units with probability P while training")
    p.add_argument("--l1", type=_NONNEG_FLOAT, default=0.0, help="L1 regularization strength")
    p.add_argument("--expand", action="store_true",
                   help="add the four one-pixel shifts of every training image (x5 data)")
    p.add_argument("--expand-rotations", type=_NONNEG_INT, default=0, metavar="K",
                   help="also add K copies rotated by up to ±10 degrees (seeded)")
    p.add_argument("--seed", type=_NONNEG_INT, default=0,
                   help="the one source of randomness (default 0)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    _data_arguments(p)
    p.add_argument("--monitor", type=_monitors, default=("evaluation_cost", "evaluation_accuracy"),
                   metavar="LIST", help=f"comma list of {', '.join(MONITORS)}; 'all' or 'none' "
                                        "(default evaluation_cost,evaluation_accuracy)")
    p.add_argument("--save", type=Path, metavar="MODEL.json", help="write the trained model")
    p.add_argument("--history", type=Path, metavar="FILE", help="write the history (.json or .csv)")
    p.add_argument("--checkpoint", type=Path, metavar="FILE",
                   help="write a checkpoint after every epoch")
    p.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint if it exists (same data and settings)")
    p.add_argument("--threads", type=_NONNEG_INT, default=None,
                   help="BLAS threads while training (needs threadpoolctl, fnn[threads]); "
                        "default 1 when threadpoolctl is installed (fastest for these small "
                        "matrices, and bits then do not depend on the core count); 0 = leave "
                        "the BLAS setting as it is")
    p.add_argument("--no-progress", action="store_true", help="no progress bar while epochs run")


# --- helpers ---------------------------------------------------------------------------------


def format_record(record: EpochRecord, epochs: int) -> str:
    """One line of an epoch's monitored figures.

    >>> format_record(EpochRecord(0, evaluation_correct=9, evaluation_accuracy=0.9), 30)
    'epoch 1/30: evaluation accuracy 9 (90.00%)'
    """
    parts = []
    for kind in ("training", "evaluation"):
        c, k, a = (getattr(record, f"{kind}_{f}") for f in ("cost", "correct", "accuracy"))
        if c is not None:
            parts.append(f"{kind} cost {c:.6f}")
        if k is not None:
            parts.append(f"{kind} accuracy {k} ({100 * a:.2f}%)")
    return f"epoch {record.epoch + 1}/{epochs}: " + (", ".join(parts) or "done")


def _load_data(source: str, dtype: str) -> tuple[str, datasets.MnistSplits]:
    if source == "sample":
        return "embedded sample", datasets.load_sample(dtype=dtype)
    path = None if source == "mnist" else Path(source)
    found = datasets.find_mnist(path)
    loaded = datasets.load_idx(found, dtype=dtype) if found.is_dir() else datasets.load_pickle(
        found, dtype=dtype)
    return str(found), loaded


def _evaluation_split(splits: datasets.MnistSplits, split: str | None) -> tuple[str, Any]:
    name = split or ("validation" if splits.validation is not None else "test")
    chosen = getattr(splits, name)
    if chosen is None:
        raise UsageError(f"argument --split: these data have no {name} set")
    return name, chosen


def _check_writable(path: Path | None, option: str) -> None:
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


def _limit_threads(n: int | None) -> Any:
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


class _Progress:
    """Progress while an epoch runs: tqdm when installed, else a plain line every 25%."""

    def __init__(self, out: TextIO, enabled: bool) -> None:
        self.out, self.enabled = out, enabled
        self.epoch, self.quarter, self.bar = -1, 0, cast(Any, None)
        try:
            from tqdm import tqdm  # noqa: PLC0415  (optional extra)
        except ImportError:
            tqdm = None
        self.tqdm: Any = tqdm

    def __call__(self, epoch: int, done: int, total: int) -> None:
        if not self.enabled:
            return
        if epoch != self.epoch:
            self.close()
            self.epoch, self.quarter = epoch, 0
            if self.tqdm is not None:
                self.bar = self.tqdm(total=total, desc=f"epoch {epoch + 1}", unit="batch",
                                     file=self.out, leave=False)
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
        elif 4 * done // total > self.quarter:
            self.quarter = 4 * done // total
            print(f"  epoch {epoch + 1}: {done}/{total} mini-batches", file=self.out, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


# --- commands --------------------------------------------------------------------------------


def _train(args: argparse.Namespace) -> int:
    _resolve(args)
    history_format = _history_format(args.history)
    if args.resume and args.checkpoint is None:
        raise UsageError("argument --resume: needs --checkpoint FILE")
    for path, option in ((args.save, "--save"), (args.history, "--history"),
                         (args.checkpoint, "--checkpoint")):
        _check_writable(path, option)
    source, splits = _load_data(args.data, args.dtype)
    eval_name, evaluation = _evaluation_split(splits, args.split)
    n_in, n_out = splits.training.x.shape[1], 10
    if (args.sizes[0], args.sizes[-1]) != (n_in, n_out):
        raise UsageError(f"argument --sizes: the data have {n_in} inputs and {n_out} classes, "
                         f"got {','.join(map(str, args.sizes))}")
    training = splits.training
    if args.expand or args.expand_rotations:
        training = Labelled(*expand(training.x, training.labels, seed=args.seed,
                                    shifts=args.expand, rotations=args.expand_rotations))
    prepared = prepare_sgd(
        init_params(args.sizes, seed=args.seed, scheme=args.init, dtype=args.dtype),
        training, epochs=args.epochs, mini_batch_size=args.mini_batch_size,
        eta=args.eta, lmbda=args.lmbda, cost=args.cost, seed=args.seed,
        evaluation_data=evaluation, activation=args.activation, optimizer=args.optimizer,
        optimizer_settings={} if args.mu is None else {"mu": args.mu}, l1=args.l1,
        dropout=args.dropout, schedule=args.schedule, early_stop=args.early_stop,
        **{f"monitor_{m}": True for m in args.monitor})
    start = (resume_state(args.checkpoint, prepared)
             if args.resume and args.checkpoint.exists() else None)
    print(f"fnn {fnn.__version__}: training {'-'.join(map(str, args.sizes))} on {source} "
          f"({prepared.data.x.shape[0]} examples; evaluating on {eval_name}, "
          f"{evaluation.x.shape[0]}), seed {args.seed}"
          + (f", resuming after epoch {len(start.history)}" if start else ""), flush=True)
    params, history = _run(args, prepared, start)
    _report(params, splits, eval_name, prepared.config.activation)
    metadata = {"seed": args.seed, "training": _settings(args, source)}
    if args.save is not None:
        save(args.save, params, cost=get_cost(args.cost), metadata=metadata,
             activation=prepared.config.activation)
        print(f"saved the model to {args.save}")
    if args.history is not None:
        text = history.to_csv() if history_format == "csv" else history.to_json()
        atomic_write_bytes(args.history, text.encode())
        print(f"saved the history to {args.history}")
    return 0


def _history_format(path: Path | None) -> str | None:
    if path is None:
        return None
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise UsageError(f"argument --history: must end in .json or .csv, got {str(path)!r}")
    return suffix[1:]


def _run(args: argparse.Namespace, prepared: Prepared, start: Any) -> tuple[Any, History]:
    progress = _Progress(sys.stderr, not args.no_progress)
    params, history = (start.params, start.history) if start else (prepared.params, History())
    steps: Iterator[TrainState]
    if args.checkpoint is not None:
        steps = iterate_checkpointed(prepared, args.checkpoint, start=start, progress=progress)
    else:
        steps = train_states(prepared, progress=progress)
    for record in history:
        print(format_record(record, args.epochs) + "  (from the checkpoint)")
    t0 = time.perf_counter()
    with _limit_threads(args.threads) or contextlib.nullcontext():
        for state in steps:
            progress.close()
            params, history = state.params, state.history
            elapsed = time.perf_counter() - t0
            print(f"{format_record(history[-1], args.epochs)}  [{elapsed:.1f} s]", flush=True)
    return params, history


def _report(params: Any, splits: datasets.MnistSplits, eval_name: str, activation: Any) -> None:
    for name in dict.fromkeys((eval_name, "test")):
        split = getattr(splits, name)
        correct = fnn.accuracy(params, split.x, split.labels, activation=activation)
        print(f"final {name} accuracy: {correct}/{split.x.shape[0]} "
              f"({100 * correct / split.x.shape[0]:.2f}%)")


def _settings(args: argparse.Namespace, source: str) -> dict[str, Any]:
    return {"sizes": list(args.sizes), "cost": args.cost, "epochs": args.epochs,
            "mini_batch_size": args.mini_batch_size, "eta": args.eta, "lmbda": args.lmbda,
            "init": args.init, "dtype": args.dtype, "data": source,
            "activation": list(args.activation), "optimizer": args.optimizer, "mu": args.mu,
            "schedule": args.schedule, "early_stop": args.early_stop, "dropout": args.dropout,
            "l1": args.l1, "expand": args.expand, "expand_rotations": args.expand_rotations}


def _resolve(args: argparse.Namespace) -> None:
    """Fill the defaults that depend on other options; UsageError for contradictions."""
    wanted = "log_likelihood" if args.output == "softmax" else "cross_entropy"
    args.cost = args.cost or wanted
    if (args.cost == "log_likelihood") != (args.output == "softmax"):
        raise UsageError(f"argument --cost: {args.cost} does not go with --output "
                         f"{args.output} (softmax outputs use log_likelihood)")
    n_hidden = len(args.sizes) - 2
    if len(args.activation) == 1:
        args.activation = args.activation * n_hidden
    elif len(args.activation) != n_hidden:
        raise UsageError(f"argument --activation: needs 1 or {n_hidden} names (one per hidden "
                         f"layer), got {','.join(args.activation)}")
    if args.init is None:
        args.init = "he" if "relu" in args.activation else "default"
    if args.mu is not None and args.optimizer not in ("momentum", "nesterov"):
        raise UsageError(f"argument --mu: only for --optimizer momentum or nesterov, "
                         f"got --optimizer {args.optimizer}")


def _evaluate(args: argparse.Namespace) -> int:
    model = load(args.model)
    dtype = str(model.params.weights[0].dtype)
    source, splits = _load_data(args.data, dtype)
    name, split = _evaluation_split(splits, args.split)
    if model.sizes[0] != split.x.shape[1]:
        raise UsageError(f"argument --data: {source} has {split.x.shape[1]} inputs, the model "
                         f"expects {model.sizes[0]}")
    y = fnn.one_hot(split.labels, model.sizes[-1], split.x.dtype)
    correct = fnn.accuracy(model.params, split.x, split.labels, activation=model.activations)
    cost = fnn.total_cost(model.params, split.x, y, cost=model.cost, lmbda=args.lmbda,
                          activation=model.activations)
    print(f"{args.model} on {source} {name} ({split.x.shape[0]} examples): accuracy "
          f"{correct}/{split.x.shape[0]} ({100 * correct / split.x.shape[0]:.2f}%), "
          f"{model.cost.name} cost {cost:.6f}")
    return 0


def _plot(args: argparse.Namespace) -> int:
    _check_writable(args.output, "--output")
    try:
        import matplotlib as mpl  # noqa: F401, PLC0415  (an optional extra)
    except ImportError:
        raise ImportError("fnn plot needs matplotlib: pip install 'fnn[plot]'") from None
    if args.history.suffix.lower() == ".jsonl":
        return plot_results(args.history, args.output)
    from fnn import plotting  # noqa: PLC0415
    text = args.history.read_text(encoding="utf-8")
    history = (History.from_csv(text) if args.history.suffix.lower() == ".csv"
               else History.from_json(text))
    plotting.learning_curves(history, args.output)
    print(f"wrote {args.output}")
    return 0


COMMANDS = {"train": _train, "evaluate": _evaluate, "plot": _plot, "sweep": run_sweep_command}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    try:
        args = _parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as e:
        print(f"fnn: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fnn: interrupted; the last completed epoch's checkpoint (if any) is intact",
              file=sys.stderr)
        return 130
    except (OSError, DatasetFormatError, ModelFormatError, CheckpointMismatchError,
            ImportError) as e:
        print(f"fnn: error: {e}", file=sys.stderr)
        return 1
    except (ConfigError, FnnError) as e:
        print(f"fnn: error: {e}", file=sys.stderr)
        return 1


def main_exit() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())

