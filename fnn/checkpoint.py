"""Checkpoints at epoch boundaries, and resuming from them bit for bit.

A checkpoint is a JSON file (written atomically) holding the params after the last completed
epoch, the optimizer's state, the best params so far (early stopping), the run's settings
(the net's sizes and dtype and ``config_to_json`` of its ``TrainConfig``), the history so
far (its length is the number of epochs done) and a fingerprint of the training and
evaluation data. Because each epoch's random streams depend only on (seed, epoch), resuming
in a new process continues exactly where the uninterrupted run would be: same params, same
history, bit for bit. Parameter trees use the model file's layout (``tree_to_dict``).

Resuming with other data or other settings raises ``CheckpointMismatchError`` naming what
differs. ``epochs`` is the one setting that may change: a run can be extended. The settings
record which family of engines ran the epochs (``engine``: ``numpy``, whose bits are the
reference fold's, or ``numba``, the compiled epoch's, see ``fnn.training.engines``), not the
``jit`` request: a run resumes on the family that wrote its checkpoint, whatever ``jit`` asked
for, or it is refused (a checkpoint without the key was written by NumPy). A run whose
optimizer, cost, activation or schedule is a user's own has no name to write, so it cannot
be checkpointed: ``ConfigError`` says so before any training.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from functools import reduce
from pathlib import Path
from typing import Any, NamedTuple

from fnn.data import fingerprint
from fnn.errors import (
    CheckpointFormatError,
    CheckpointMismatchError,
    ConfigError,
    DataError,
)
from fnn.files import atomic_write_bytes, load_errors, read_json
from fnn.history import History
from fnn.optimizers import State
from fnn.params import Params, as_params, sizes_of
from fnn.serialization import tree_from_dict, tree_to_dict
from fnn.training.config import config_to_json
from fnn.training.loop import (
    Prepared,
    TrainState,
    prepare,
    result_params,
    sgd_config,
    train_states,
)

__all__ = ["FORMAT", "FORMAT_VERSION", "Checkpoint", "iterate_checkpointed", "read_checkpoint",
           "resume_state", "settings_of", "sgd_checkpointed", "write_checkpoint"]

FORMAT = "fnn.checkpoint"
"""The ``format`` key of a checkpoint file."""
FORMAT_VERSION = 2
"""The checkpoint format version this fnn writes and reads."""


class Checkpoint(NamedTuple):
    """What a checkpoint file holds."""

    state: TrainState
    settings: dict[str, Any]
    data: dict[str, Any]

    @property
    def epochs_done(self) -> int:
        """How many epochs the saved state has completed."""
        return len(self.state.history)


def settings_of(params: Params, config: Any, engine: str = "numpy") -> dict[str, Any]:
    """The settings that decide a run's params and history, as plain JSON data: the net's
    ``sizes`` and ``dtype``, the ``config`` (``config_to_json``, without ``epochs``, which a
    resumed run may raise, and ``jit``, a request) and the family of the ``engine`` that
    runs its epochs."""
    data = config_to_json(config)
    del data["epochs"], data["jit"]
    tree = as_params(params)
    return {"sizes": list(sizes_of(tree)), "dtype": str(tree.weights[0].dtype), **data,
            "engine": engine}


def _prepared_settings(prepared: Prepared) -> dict[str, Any]:
    return settings_of(prepared.params, prepared.config, prepared.engine.family)


def _state_json(state: State) -> Any:
    """An optimizer state (nested tuples of trees and counters) as JSON data."""
    if isinstance(state, Params):
        return {"tree": tree_to_dict(state)}
    if isinstance(state, tuple):
        return {"tuple": [_state_json(item) for item in state]}
    if type(state) is int:
        return {"count": state}
    raise ConfigError(f"the optimizer's state holds a {type(state).__name__}; a checkpoint "
                      "stores only tuples of parameter trees and int counters")


_MAX_STATE_DEPTH = 32  # optimizer states nest one tuple per chained transformation


def _state_from(data: Any, like: Params, where: str, depth: int = 0) -> State:
    if isinstance(data, dict) and len(data) == 1 and depth < _MAX_STATE_DEPTH:
        kind, value = next(iter(data.items()))
        if kind == "tree":
            return _tree_from(value, like, where)
        if kind == "tuple" and isinstance(value, list):
            return tuple(_state_from(v, like, f"{where}[{i}]", depth + 1)
                         for i, v in enumerate(value))
        if kind == "count" and type(value) is int and value >= 0:
            return value
    nested = f", nested at most {_MAX_STATE_DEPTH} deep" if depth >= _MAX_STATE_DEPTH else ""
    raise CheckpointFormatError(f"{where}: expected {{\"tree\": ...}}, {{\"tuple\": [...]}} or "
                                f"{{\"count\": int}}{nested}, got {_shown(data)}")


def _shown(value: Any) -> str:
    """``value`` as JSON, cut to 60 characters (a recursive value as its type)."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _tree_from(data: Any, like: Params, where: str) -> Params:
    return tree_from_dict(data, sizes=sizes_of(like), dtype=like.weights[0].dtype, source=where,
                          error=CheckpointFormatError)


def write_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` to ``path`` atomically (the previous file survives any failure)."""
    state = checkpoint.state
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION,
           "epochs_done": len(state.history), "settings": checkpoint.settings,
           "data": checkpoint.data, "history": state.history.to_dict(),
           "params": tree_to_dict(state.params), "optimizer_state": _state_json(state.opt_state),
           "best": None if state.best is None else tree_to_dict(state.best)}
    return atomic_write_bytes(path, (json.dumps(doc, separators=(",", ":"),
                                                allow_nan=False) + "\n").encode())


_KEYS = ("format", "format_version", "epochs_done", "settings", "data", "history", "params",
         "optimizer_state", "best")


def read_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """The Checkpoint in ``path``; ``CheckpointFormatError`` (a ``ModelFormatError``) naming
    the file and the place if it is malformed (any failure while reading it is one, see
    ``fnn.files.load_errors``); ``OSError`` (a missing file) passes through."""
    where = str(path)
    with load_errors(where, CheckpointFormatError):
        doc = read_json(path, what="checkpoint", error=CheckpointFormatError)
        return _checkpoint(doc, where)


def _checkpoint(doc: Any, where: str) -> Checkpoint:
    if not (isinstance(doc, dict) and doc.get("format") == FORMAT
            and doc.get("format_version") == FORMAT_VERSION):
        raise CheckpointFormatError(f"{where}: not an fnn checkpoint of format version "
                                    f"{FORMAT_VERSION}")
    if set(doc) != set(_KEYS):
        raise CheckpointFormatError(f"{where}: expected the keys {list(_KEYS)}, got "
                                    f"{_shown(sorted(doc))}")
    settings, data = doc["settings"], doc["data"]
    if not isinstance(settings, dict) or not isinstance(data, dict):
        raise CheckpointFormatError(f"{where}: settings and data must be objects")
    params = tree_from_dict(doc["params"], sizes=_sizes(settings.get("sizes"), where),
                            dtype=_dtype(settings.get("dtype"), where),
                            source=f"{where}: params", error=CheckpointFormatError)
    history, done = _history(doc["history"], where), doc["epochs_done"]
    if type(done) is not int or done != len(history):
        raise CheckpointFormatError(f"{where}: epochs_done must equal the {len(history)} "
                                    f"history records, got {_shown(done)}")
    opt_state = _state_from(doc["optimizer_state"], params, f"{where}: optimizer_state")
    best = None if doc["best"] is None else _tree_from(doc["best"], params, f"{where}: best")
    return Checkpoint(TrainState(params, opt_state, history, best), settings, data)


def _sizes(value: Any, where: str) -> tuple[int, ...]:
    if not (isinstance(value, list) and len(value) >= 2
            and all(type(n) is int and n >= 1 for n in value)):
        raise CheckpointFormatError(f"{where}: settings.sizes must be a list of at least two "
                                    f"ints >= 1, got {_shown(value)}")
    return tuple(value)


def _history(value: Any, where: str) -> History:
    try:
        return History.from_dict(value)
    except DataError as e:
        text = str(e) if len(str(e)) <= 200 else str(e)[:197] + "..."
        raise CheckpointFormatError(f"{where}: history: {text}") from None


def _dtype(value: Any, where: str) -> str:
    if value not in ("float32", "float64"):
        raise CheckpointFormatError(f"{where}: settings.dtype must be float32 or float64, got "
                                    f"{_shown(value)}")
    return str(value)


_ENGINE_HINT = ("; the compiled epoch (numba) and NumPy differ in the last bits, so a run "
                "resumes on the family that wrote it: jit=True (fnn train --jit on, needs "
                "fnn[jit]) for numba, jit=False (--jit off) for numpy")


def _differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    saved = {"engine": "numpy", **saved}  # written before the compiled epoch existed
    return [f"{k}: checkpoint has {json.dumps(saved.get(k))[:200]}, this run has "
            f"{json.dumps(now.get(k))[:200]}{_ENGINE_HINT if k == 'engine' else ''}"
            for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]


def _data_fingerprints(prepared: Prepared) -> dict[str, str | None]:
    return {"training": fingerprint(prepared.data), "evaluation": fingerprint(prepared.evaluation)}


def resume_state(path: str | os.PathLike[str], prepared: Prepared) -> TrainState:
    """The TrainState saved at ``path``, after checking that ``prepared`` has the same data
    and settings (``epochs`` may be larger than the checkpoint's epochs done)."""
    saved = read_checkpoint(path)
    data_now = _data_fingerprints(prepared)
    diffs = (_differences(saved.settings, _prepared_settings(prepared))
             + [f"{k} data differ from the checkpoint's" for k in sorted(data_now)
                if saved.data.get(k) != data_now[k]])
    if diffs:
        raise CheckpointMismatchError(f"cannot resume from {path}: " + "; ".join(diffs))
    if saved.epochs_done > prepared.config.epochs:
        raise CheckpointMismatchError(f"cannot resume from {path}: it has {saved.epochs_done} "
                                      f"epochs done, more than epochs={prepared.config.epochs}")
    return saved.state


def iterate_checkpointed(prepared: Prepared, path: str | os.PathLike[str], *,
                         start: TrainState | None = None,
                         progress: Callable[[int, int, int], None] | None = None,
                         ) -> Iterator[TrainState]:
    """Train from ``prepared`` (see ``fnn.training.prepare``), writing ``path`` after each epoch.

    ``start`` is where to continue (``resume_state``'s result); None starts afresh. Yields
    each TrainState once its checkpoint is on disk, so an interruption loses at most the
    epoch in progress. ``progress`` as in ``fnn.training.train_states``.
    """
    settings = _prepared_settings(prepared)  # ConfigError before training
    data = _data_fingerprints(prepared)
    for state in train_states(prepared, start=start, progress=progress):
        write_checkpoint(path, Checkpoint(state, settings, data))
        yield state


def sgd_checkpointed(params: Any, training_data: Any, *, checkpoint: str | os.PathLike[str],
                     resume: bool = False, **kwargs: Any) -> tuple[Params, History]:
    """``fnn.sgd`` that writes ``checkpoint`` after every epoch and can ``resume`` from it.

    ``kwargs`` are ``sgd``'s keywords. With ``resume`` and an existing checkpoint, training
    continues from it; the result equals the uninterrupted ``sgd`` run's, bit for bit.
    """
    config, evaluation = sgd_config(kwargs)
    prepared = prepare(params, training_data, config, evaluation_data=evaluation)
    start = resume_state(checkpoint, prepared) if resume and Path(checkpoint).exists() else None
    first = start or TrainState(prepared.params, (), History())
    last = reduce(lambda _, s: s, iterate_checkpointed(prepared, checkpoint, start=start), first)
    return result_params(last, prepared.config), last.history
