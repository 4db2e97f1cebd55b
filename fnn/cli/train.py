"""``fnn train``: train a network, show each epoch, save the model, history and checkpoints."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO, cast

from fnn._version import __version__
from fnn.checkpoint import iterate_checkpointed, resume_state
from fnn.cli._args import (
    MONITORS,
    NONNEG_INT,
    TRAIN_DEFAULTS,
    UsageError,
    add_data_arguments,
    add_run_options,
    check_writable,
    evaluation_split,
    limit_threads,
    load_data,
    run_from_args,
)
from fnn.datasets import MnistSplits
from fnn.files import atomic_write_bytes
from fnn.history import EpochRecord, History, Monitor
from fnn.monitor import accuracy
from fnn.params import Params
from fnn.serialization import save
from fnn.training.loop import Prepared, TrainState, prepare, result_params, train_states
from fnn.training.run import Run, run_to_json, start

__all__ = ["add_parser", "format_record", "run"]


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


def add_parser(commands: Any) -> None:
    """Add ``fnn train`` to ``commands``, the sub-parsers object of the ``fnn`` parser."""
    p = commands.add_parser(
        "train", help="train a network (default: the book's 784-30-10 run on the embedded sample)",
        description="Train a feedforward network by mini-batch gradient descent. The defaults "
                    "are the book's run: 784-30-10, sigmoid, cross-entropy, 30 epochs, batch 10, "
                    "eta 0.5, lmbda 5.0.")
    add_run_options(p, TRAIN_DEFAULTS)
    add_data_arguments(p)
    p.add_argument("--monitor", type=_monitors,
                   default=("evaluation_cost", "evaluation_accuracy"), metavar="LIST",
                   help=f"comma list of {', '.join(MONITORS)}; 'all' or 'none' "
                        "(default evaluation_cost,evaluation_accuracy)")
    p.add_argument("--save", type=Path, metavar="MODEL.json", help="write the trained model")
    p.add_argument("--history", type=Path, metavar="FILE",
                   help="write the history (.json or .csv)")
    p.add_argument("--checkpoint", type=Path, metavar="FILE",
                   help="write a checkpoint after every epoch")
    p.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint if it exists (same data and settings)")
    p.add_argument("--threads", type=NONNEG_INT, default=None,
                   help="BLAS threads while training (needs threadpoolctl, fnn[threads]); "
                        "default 1 when threadpoolctl is installed (fastest for these small "
                        "matrices, and bits then do not depend on the core count); 0 = leave "
                        "the BLAS setting as it is")
    p.add_argument("--no-progress", action="store_true", help="no progress bar while epochs run")


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


def _history_format(path: Path | None) -> str | None:
    if path is None:
        return None
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise UsageError(f"argument --history: must end in .json or .csv, got {str(path)!r}")
    return suffix[1:]


def run(args: argparse.Namespace) -> int:
    """Run ``fnn train`` as parsed; the exit code."""
    the_run = run_from_args(args, Monitor(**{m: m in args.monitor for m in MONITORS}))
    history_format = _history_format(args.history)
    if args.resume and args.checkpoint is None:
        raise UsageError("argument --resume: needs --checkpoint FILE")
    for path, option in ((args.save, "--save"), (args.history, "--history"),
                         (args.checkpoint, "--checkpoint")):
        check_writable(path, option)
    source, splits = load_data(args.data, args.dtype)
    eval_name, evaluation = evaluation_split(splits, args.split)
    n_in, n_out = splits.training.x.shape[1], 10
    if (the_run.sizes[0], the_run.sizes[-1]) != (n_in, n_out):
        raise UsageError(f"argument --sizes: the data have {n_in} inputs and {n_out} classes, "
                         f"got {','.join(map(str, the_run.sizes))}")
    params, training = start(the_run, splits.training)
    prepared = prepare(params, training, the_run.config, evaluation_data=evaluation)
    begin = (resume_state(args.checkpoint, prepared)
             if args.resume and args.checkpoint.exists() else None)
    print(f"fnn {__version__}: training {'-'.join(map(str, the_run.sizes))} on {source} "
          f"({prepared.data.x.shape[0]} examples; evaluating on {eval_name}, "
          f"{evaluation.x.shape[0]}), seed {args.seed}, {prepared.engine.name} engine"
          + (f", resuming after epoch {len(begin.history)}" if begin else ""), flush=True)
    state = _epochs(args, prepared, begin)
    params = result_params(state, prepared.config)
    _report(params, splits, eval_name, the_run)
    _write(args, params, state.history, the_run, source, history_format)
    return 0


def _epochs(args: argparse.Namespace, prepared: Prepared, begin: TrainState | None) -> TrainState:
    progress = _Progress(sys.stderr, not args.no_progress)
    state = begin or TrainState(prepared.params, (), History())
    steps: Iterator[TrainState]
    if args.checkpoint is not None:
        steps = iterate_checkpointed(prepared, args.checkpoint, start=begin, progress=progress)
    else:
        steps = train_states(prepared, start=begin, progress=progress)
    for record in state.history:
        print(format_record(record, args.epochs) + "  (from the checkpoint)")
    t0 = time.perf_counter()
    with limit_threads(args.threads) or contextlib.nullcontext():
        for state in steps:
            progress.close()
            elapsed = time.perf_counter() - t0
            print(f"{format_record(state.history[-1], args.epochs)}  [{elapsed:.1f} s]",
                  flush=True)
    return state


def _report(params: Params, splits: MnistSplits, eval_name: str, the_run: Run) -> None:
    for name in dict.fromkeys((eval_name, "test")):
        split = getattr(splits, name)
        correct = accuracy(params, split.x, split.labels, activation=the_run.config.activation)
        print(f"final {name} accuracy: {correct}/{split.x.shape[0]} "
              f"({100 * correct / split.x.shape[0]:.2f}%)")


def _write(args: argparse.Namespace, params: Params, history: History, the_run: Run,
           source: str, history_format: str | None) -> None:
    if args.save is not None:
        metadata = {"seed": args.seed, "data": source, "run": run_to_json(the_run, seed=False)}
        save(args.save, params, cost=the_run.config.cost, metadata=metadata,
             activation=the_run.config.activation)
        print(f"saved the model to {args.save}")
    if args.history is not None:
        text = history.to_csv() if history_format == "csv" else history.to_json()
        atomic_write_bytes(args.history, text.encode())
        print(f"saved the history to {args.history}")
