"""``fnn train``: train a network, show each epoch, save the model, history and checkpoints.

Epochs are numbered from 1 on the screen and in the ``--history`` file (epoch k is the k-th
epoch trained, as in plots and sweep summaries); ``fnn.History`` numbers its records from 0,
so the history file is the History with every ``epoch`` plus 1 (see ``numbered_from_1``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from fnn._version import __version__
from fnn.checkpoint import iterate_checkpointed, resume_state
from fnn.cli._args import (
    DEFAULT_SEED,
    MODEL_SUFFIXES,
    MONITORS,
    NONNEG_INT,
    SEED,
    TRAIN_DEFAULTS,
    UsageError,
    add_data_arguments,
    add_row_limits,
    add_run_options,
    check_suffix,
    check_writable,
    evaluation_split,
    head,
    limit_threads,
    load_data,
    plural,
    run_from_args,
    seed_text,
)
from fnn.data import Labelled
from fnn.errors import NonFiniteError
from fnn.files import atomic_write_bytes
from fnn.history import EpochRecord, History, Monitor
from fnn.monitor import accuracy
from fnn.optimizers import learning_rate
from fnn.params import Params
from fnn.schedules import epochs_without_improvement
from fnn.serialization import save
from fnn.training.config import TrainConfig, seed_to_json
from fnn.training.loop import Prepared, TrainState, prepare, result_params, train_states
from fnn.training.run import Run, run_to_json, start

__all__ = ["add_parser", "format_record", "numbered_from_1", "run"]

HISTORY_SUFFIXES = (".json", ".csv")
CHECKPOINT_SUFFIXES = (".ckpt", ".json")


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
        description="Train a feedforward network: sigmoid, tanh or ReLU hidden layers, a "
                    "sigmoid or softmax output, by gradient descent or another optimizer. "
                    "Each epoch's line shows the evaluation set (validation when the data "
                    "have one); the test set is measured once, at the end. Epochs are "
                    "numbered from 1, on the screen and in --history files. With no options: "
                    "the book's run, 784-30-10 sigmoid, cross-entropy, 30 epochs, batch 10, "
                    "eta 0.5, lmbda 5.0, on the embedded MNIST sample.")
    add_run_options(p, TRAIN_DEFAULTS)
    p.add_argument("--seed", type=SEED, default=DEFAULT_SEED, metavar="SEED",
                   help="the one source of randomness: an int >= 0, or ROOT/K for child K of "
                        "seed ROOT, as fnn sweep --seeds numbers its runs (default 0)")
    add_data_arguments(p)
    add_row_limits(p)
    p.add_argument("--monitor", type=_monitors,
                   default=("evaluation_cost", "evaluation_accuracy"), metavar="LIST",
                   help=f"what to measure after each epoch, a comma list of "
                        f"{', '.join(MONITORS)} (evaluation: the --split set); 'all' or 'none' "
                        "(default evaluation_cost,evaluation_accuracy)")
    p.add_argument("--save", type=Path, metavar="MODEL.json",
                   help="write the trained model (with early stopping: the best epoch's)")
    p.add_argument("--history", type=Path, metavar="FILE",
                   help="write the history, one record per epoch numbered from 1 (.json or "
                        ".csv)")
    p.add_argument("--checkpoint", type=Path, metavar="FILE",
                   help="write a checkpoint (.ckpt or .json) after every epoch; an existing "
                        "one is refused unless --resume or --overwrite")
    p.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint if it exists (same data and settings)")
    p.add_argument("--overwrite", action="store_true",
                   help="start afresh even if --checkpoint exists, replacing it")
    p.add_argument("--threads", type=NONNEG_INT, default=None, metavar="N",
                   help="BLAS threads while training (needs threadpoolctl, fnn[threads]); "
                        "default 1 when threadpoolctl is installed (fastest for these small "
                        "matrices, and bits then do not depend on the core count); 0 = leave "
                        "the BLAS setting as it is")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar while epochs run (the bar needs tqdm, fnn[progress], "
                        "and a terminal)")


def format_record(record: EpochRecord, epochs: int, *, evaluation: str = "evaluation",
                  sizes: tuple[int, int] | None = None) -> str:
    """One line of an epoch's monitored figures, the epoch numbered from 1; ``evaluation``
    names the evaluation set and ``sizes`` are (training, evaluation) set sizes.

    >>> format_record(EpochRecord(0, evaluation_correct=9, evaluation_accuracy=0.9), 30,
    ...               evaluation="validation", sizes=(50, 10))
    'epoch 1/30: validation accuracy 9/10 (90.00%)'
    """
    parts = []
    for kind, name, n in (("training", "training", sizes and sizes[0]),
                          ("evaluation", evaluation, sizes and sizes[1])):
        c, k, a = (getattr(record, f"{kind}_{f}") for f in ("cost", "correct", "accuracy"))
        if c is not None:
            parts.append(f"{name} cost {c:.6f}")
        if k is not None:
            parts.append(f"{name} accuracy {k}{f'/{n}' if n else ''} ({100 * a:.2f}%)")
    return f"epoch {record.epoch + 1}/{epochs}: " + (", ".join(parts) or "done")


def numbered_from_1(history: History, stopped: str | None = None) -> History:
    """``history`` as the command writes it: each ``epoch`` plus 1, and the last record's
    ``stopped`` as the command words it (``stopped``).

    >>> numbered_from_1(History((EpochRecord(0), EpochRecord(1)))).to_csv().splitlines()[2]
    '2,,,,,,,,'
    """
    records = [r._replace(epoch=r.epoch + 1) for r in history]
    if records and records[-1].stopped is not None and stopped is not None:
        records[-1] = records[-1]._replace(stopped=stopped)
    return History(tuple(records))


class _Progress:
    """One tqdm bar over the whole run, on a terminal, which stays when training ends; the
    epoch lines print above it. Without tqdm, or not on a terminal, nothing: the epoch lines
    are the progress."""

    def __init__(self, out: TextIO, enabled: bool, epochs: int, first: int) -> None:
        self.out, self.epochs, self.first = out, epochs, first
        self.bar: Any = None
        self.tqdm: Any = None
        if enabled:
            try:
                from tqdm import tqdm  # noqa: PLC0415  (optional extra)
            except ImportError:
                tqdm = None
            self.tqdm = tqdm

    def __call__(self, epoch: int, done: int, total: int) -> None:
        if self.tqdm is None:
            return
        if self.bar is None:
            self.bar = self.tqdm(total=total * (self.epochs - self.first), unit="batch",
                                 file=self.out, leave=True, disable=None, dynamic_ncols=True)
        self.bar.set_description(f"epoch {epoch + 1}/{self.epochs}", refresh=False)
        self.bar.update((epoch - self.first) * total + done - self.bar.n)

    def write(self, line: str) -> None:
        """Print ``line`` on stdout, above the bar if there is one."""
        if self.bar is not None and not self.bar.disable:
            self.bar.write(line, file=sys.stdout)
            sys.stdout.flush()
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _check_arguments(args: argparse.Namespace) -> str | None:
    """Every check of the command line that needs no file read; the history format."""
    if args.resume and args.checkpoint is None:
        raise UsageError("argument --resume: needs --checkpoint FILE")
    if args.overwrite and args.checkpoint is None:
        raise UsageError("argument --overwrite: needs --checkpoint FILE")
    if args.resume and args.overwrite:
        raise UsageError("argument --overwrite: give --resume (continue the checkpoint) or "
                         "--overwrite (start afresh), not both")
    outputs = {"--save": (args.save, MODEL_SUFFIXES), "--history": (args.history,
               HISTORY_SUFFIXES), "--checkpoint": (args.checkpoint, CHECKPOINT_SUFFIXES)}
    seen: dict[Path, str] = {}
    for option, (path, suffixes) in outputs.items():
        check_suffix(path, option, suffixes)
        if path is not None:
            if path.resolve() in seen:
                raise UsageError(f"argument {option}: {path} is also {seen[path.resolve()]}")
            seen[path.resolve()] = option
    if args.checkpoint is not None and args.checkpoint.is_file() and not (
            args.resume or args.overwrite):
        raise UsageError(f"argument --checkpoint: {args.checkpoint} exists; give --resume to "
                         f"continue it, or --overwrite to start afresh and replace it")
    return None if args.history is None else args.history.suffix.lower()[1:]


def run(args: argparse.Namespace) -> int:
    """Run ``fnn train`` as parsed; the exit code."""
    the_run = run_from_args(args, Monitor(**{m: m in args.monitor for m in MONITORS}),
                            seed=args.seed)
    history_format = _check_arguments(args)
    for path, option in ((args.save, "--save"), (args.history, "--history"),
                         (args.checkpoint, "--checkpoint")):
        check_writable(path, option)
    source, splits = load_data(args.data, args.dtype)
    eval_name, evaluation = evaluation_split(splits, args.split)
    training, evaluation = (head(splits.training, args.training_rows),
                            head(evaluation, args.evaluation_rows))
    n_in, n_out = training.x.shape[1], 10
    if (the_run.sizes[0], the_run.sizes[-1]) != (n_in, n_out):
        raise UsageError(f"argument --sizes: the data have {n_in} inputs and {n_out} classes, "
                         f"got {','.join(map(str, the_run.sizes))}")
    params, training = start(the_run, training)
    prepared = prepare(params, training, the_run.config, evaluation_data=evaluation)
    begin = (resume_state(args.checkpoint, prepared)
             if args.resume and args.checkpoint.exists() else None)
    _header(args, the_run, source, prepared, (eval_name, evaluation), splits.test, begin)
    try:
        state = _epochs(args, prepared, begin, (eval_name, evaluation))
    except NonFiniteError as e:
        raise _diverged(e, prepared.config, args.checkpoint) from None
    stopped = _stop_note(state.history, the_run.config, eval_name)
    if stopped is not None:
        print(stopped)
    params = result_params(state, prepared.config)
    _report(params, evaluation if eval_name != "test" else None, eval_name, splits.test,
            the_run)
    _write(args, params, numbered_from_1(state.history, stopped), the_run, source,
           history_format)
    return 0


def _header(args: argparse.Namespace, the_run: Run, source: str, prepared: Prepared,
            watched_set: tuple[str, Labelled], test: Labelled, begin: TrainState | None) -> None:
    eval_name, evaluation = watched_set
    watched = f"{eval_name} set {evaluation.x.shape[0]} each epoch" + (
        f", test set {test.x.shape[0]} at the end" if eval_name != "test" else "")
    print(f"fnn {__version__}: training {'-'.join(map(str, the_run.sizes))} on {source} "
          f"({prepared.data.x.shape[0]} examples; {watched}), "
          f"{plural(the_run.config.epochs, 'epoch')}, seed {seed_text(args.seed)}, "
          f"{prepared.engine.name} engine"
          + (f", resuming after epoch {len(begin.history)}" if begin else ""), flush=True)


def _epochs(args: argparse.Namespace, prepared: Prepared, begin: TrainState | None,
            watched_set: tuple[str, Labelled]) -> TrainState:
    eval_name, evaluation = watched_set
    state = begin or TrainState(prepared.params, (), History())
    progress = _Progress(sys.stderr, not args.no_progress, args.epochs, len(state.history))
    steps: Iterator[TrainState]
    if args.checkpoint is not None:
        steps = iterate_checkpointed(prepared, args.checkpoint, start=begin, progress=progress)
    else:
        steps = train_states(prepared, start=begin, progress=progress)
    sizes = (prepared.data.x.shape[0], evaluation.x.shape[0])

    def line(record: EpochRecord) -> str:
        return format_record(record, args.epochs, evaluation=eval_name, sizes=sizes)

    for record in state.history:
        print(line(record) + "  (from the checkpoint)")
    t0 = time.perf_counter()
    try:
        with limit_threads(args.threads) or contextlib.nullcontext():
            for state in steps:
                progress.write(f"{line(state.history[-1])}  [{time.perf_counter() - t0:.1f} s]")
    finally:
        progress.close()
    return state


def _stop_note(history: History, config: TrainConfig, eval_name: str) -> str | None:
    """What the command says when a run stopped early or keeps an earlier epoch's params."""
    last = len(history)
    if config.early_stop is not None and last:
        waited = epochs_without_improvement(history)
        best = last - waited
        if history.stopped is not None and waited >= config.early_stop:
            return (f"early stopping after epoch {last}: no better {eval_name} accuracy for "
                    f"{plural(waited, 'epoch')}; keeping epoch {best}'s params, the best")
        if best != last:
            return (f"early stopping: the epoch limit came first; keeping epoch {best}'s "
                    f"params, the best {eval_name} accuracy")
    if history.stopped is not None:
        return f"stopped after epoch {last}: {history.stopped}"
    return None


def _diverged(error: NonFiniteError, config: TrainConfig,
              checkpoint: Path | None) -> NonFiniteError:
    """The library's error, its epoch and mini-batch numbered from 1 as on the screen."""
    where = (f"in epoch {error.epoch + 1}, mini-batch {error.batch + 1}: the params stopped "
             f"being finite" if error.batch is not None else
             f"in epoch {error.epoch + 1}: a monitored cost was not finite")
    rate = learning_rate(config.optimizer)
    kept = (f"; {checkpoint} holds epoch {len(error.history)}"
            if checkpoint is not None and len(error.history) else "")
    return NonFiniteError(
        f"training diverged {where} ({'' if rate is None else f'eta {rate}, '}lmbda "
        f"{config.lmbda}); try a smaller --eta{kept}", epoch=error.epoch, batch=error.batch,
        params=error.params, history=error.history)


def _report(params: Params, evaluation: Labelled | None, eval_name: str, test: Labelled,
            the_run: Run) -> None:
    for name, split in ((eval_name, evaluation), ("test", test)):
        if split is None:
            continue
        correct = accuracy(params, split.x, split.labels, activation=the_run.config.activation)
        print(f"final {name} accuracy: {correct}/{split.x.shape[0]} "
              f"({100 * correct / split.x.shape[0]:.2f}%)")


def _write(args: argparse.Namespace, params: Params, history: History, the_run: Run,
           source: str, history_format: str | None) -> None:
    if args.save is not None:
        metadata = {"seed": seed_to_json(args.seed.sequence()), "data": source,
                    "run": run_to_json(the_run, seed=False)}
        save(args.save, params, cost=the_run.config.cost, metadata=metadata,
             activation=the_run.config.activation)
        print(f"saved the model to {args.save}")
    if args.history is not None:
        text = history.to_csv() if history_format == "csv" else history.to_json()
        atomic_write_bytes(args.history, text.encode())
        print(f"saved the history to {args.history} (epochs numbered from 1)")
