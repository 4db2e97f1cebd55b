"""Checkpoints at epoch boundaries, and resuming from them bit for bit.

A checkpoint is a JSON file (written atomically) holding the params after the last
completed epoch, the optimizer's state, the best params so far (early stopping), the
settings that decide the trajectory, the history so far (its length is the number of
epochs done) and a fingerprint of the training and evaluation data. Because each epoch's
random streams depend only on (seed, epoch), resuming in a new process continues exactly
where the uninterrupted run would be: same params, same history, bit for bit.

Resuming with other data or other settings raises ``CheckpointMismatchError`` naming what
differs. ``epochs`` is the one setting that may change: a run can be extended.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from functools import reduce
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from fnn.activations import get_activation
from fnn.costs import get_cost
from fnn.data import Batch, Labelled
from fnn.errors import CheckpointMismatchError, ModelFormatError
from fnn.monitor import History
from fnn.network import hidden_activations
from fnn.optimizers import State
from fnn.params import Params, shapes, sizes_of
from fnn.serialization import atomic_write_bytes, from_dict, read_json, to_dict
from fnn.training import Prepared, TrainConfig, TrainState, prepare_sgd, train_states

__all__ = ["FORMAT", "Checkpoint", "fingerprint", "iterate_checkpointed", "read_checkpoint",
           "resume_state", "settings_of", "sgd_checkpointed", "write_checkpoint"]

FORMAT, FORMAT_VERSION = "fnn.checkpoint", 1


class Checkpoint(NamedTuple):
    """What a checkpoint file holds."""

    state: TrainState
    settings: dict[str, Any]
    data: dict[str, Any]

    @property
    def epochs_done(self) -> int:
        """How many epochs the saved state has completed."""
        return len(self.state.history)


def fingerprint(data: Batch | Labelled | None) -> str | None:
    """SHA-256 over the shapes, dtypes and bytes of a data set's arrays (None for None).

    >>> fingerprint(Batch(np.zeros((2, 3)), np.eye(2)))[:12]
    '81ef72976405'
    """
    if data is None:
        return None
    h = hashlib.sha256()
    for a in data:
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def _seed_json(seed: Any) -> Any:
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": seed.entropy, "spawn_key": list(seed.spawn_key)}
    return int(seed)


def settings_of(params: Params, config: TrainConfig) -> dict[str, Any]:
    """The settings that decide a run's params and history, as plain JSON data."""
    schedule = config.schedule if isinstance(config.schedule, str) else getattr(
        config.schedule, "__qualname__", repr(config.schedule))
    return {"sizes": list(sizes_of(params)), "dtype": str(params.weights[0].dtype),
            "cost": config.cost.name, "mini_batch_size": config.mini_batch_size,
            "eta": config.eta, "lmbda": config.lmbda, "seed": _seed_json(config.seed),
            "monitor": config.monitor._asdict(),
            "activation": [a.name for a in hidden_activations(config.activation,
                                                              len(params.weights) - 1)],
            "optimizer": config.optimizer, "optimizer_settings": dict(config.optimizer_settings),
            "l1": config.l1, "dropout": config.dropout, "schedule": schedule,
            "early_stop": config.early_stop}


def _tree_json(tree: Params) -> dict[str, Any]:
    return {"weights": [w.astype(np.float64).tolist() for w in tree.weights],
            "biases": [b.astype(np.float64).tolist() for b in tree.biases]}


def _state_json(state: State) -> list[Any]:
    return [{"count": item} if isinstance(item, int) else _tree_json(item) for item in state]


def _tree_from(data: Any, like: Params, where: str) -> Params:
    dtype = like.weights[0].dtype
    try:
        tree = Params(tuple(np.array(w, dtype=dtype) for w in data["weights"]),
                      tuple(np.array(b, dtype=dtype) for b in data["biases"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFormatError(f"{where}: malformed parameter tree ({e})") from None
    if shapes(tree) != shapes(like) or not all(
            np.isfinite(a).all() for a in (*tree.weights, *tree.biases)):
        raise ModelFormatError(f"{where}: expected finite arrays of shapes {shapes(like)}")
    return tree


def _state_from(data: Any, like: Params, where: str) -> State:
    if not isinstance(data, list):
        raise ModelFormatError(f"{where}: expected a list")
    return tuple(item["count"] if isinstance(item, dict) and set(item) == {"count"}
                 and type(item["count"]) is int
                 else _tree_from(item, like, f"{where}[{i}]") for i, item in enumerate(data))


def write_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` to ``path`` atomically (the previous file survives any failure)."""
    state, settings = checkpoint.state, checkpoint.settings
    model = to_dict(state.params, cost=get_cost(settings["cost"]),
                    activation=tuple(map(get_activation, settings["activation"])))
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION,
           "epochs_done": len(state.history), "settings": settings, "data": checkpoint.data,
           "history": state.history.to_dict(), "model": model,
           "optimizer_state": _state_json(state.opt_state),
           "best": None if state.best is None else _tree_json(state.best)}
    return atomic_write_bytes(path, (json.dumps(doc, separators=(",", ":"),
                                                allow_nan=False) + "\n").encode())


def read_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """The Checkpoint in ``path``; ModelFormatError (naming the file) if it is malformed."""
    doc = read_json(path, what="checkpoint")
    where = Path(path).name
    try:
        if doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
            raise ModelFormatError(f"{where}: not an fnn checkpoint of format version "
                                   f"{FORMAT_VERSION}")
        params = from_dict(doc["model"], source=f"{where}: model").params
        history, done = History.from_dict(doc["history"]), doc["epochs_done"]
        if type(done) is not int or done != len(history):
            raise ModelFormatError(f"{where}: epochs_done must equal the {len(history)} "
                                   f"history records, got {done!r}")
        settings, data = doc["settings"], doc["data"]
        if not isinstance(settings, dict) or not isinstance(data, dict):
            raise ModelFormatError(f"{where}: settings and data must be objects")
        opt_state = _state_from(doc["optimizer_state"], params, f"{where}: optimizer_state")
        best = None if doc["best"] is None else _tree_from(doc["best"], params, f"{where}: best")
        return Checkpoint(TrainState(params, opt_state, history, best), settings, data)
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        if isinstance(e, ModelFormatError):
            raise
        raise ModelFormatError(f"{where}: malformed checkpoint ({type(e).__name__}: {e})") from None


def _differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    return [f"{k}: checkpoint has {saved.get(k)!r}, this run has {now.get(k)!r}"
            for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]


def _data_fingerprints(prepared: Prepared) -> dict[str, str | None]:
    return {"training": fingerprint(prepared.data), "evaluation": fingerprint(prepared.evaluation)}


def resume_state(path: str | os.PathLike[str], prepared: Prepared) -> TrainState:
    """The TrainState saved at ``path``, after checking that ``prepared`` has the same data
    and settings (``epochs`` may be larger than the checkpoint's epochs done)."""
    saved = read_checkpoint(path)
    data_now = _data_fingerprints(prepared)
    diffs = (_differences(saved.settings, settings_of(prepared.params, prepared.config))
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
    settings = settings_of(prepared.params, prepared.config)
    data = _data_fingerprints(prepared)
    for state in train_states(prepared, start=start, progress=progress):
        write_checkpoint(path, Checkpoint(state, settings, data))
        yield state


def sgd_checkpointed(params: Params, training_data: Any, *, checkpoint: str | os.PathLike[str],
                     resume: bool = False, **kwargs: Any) -> tuple[Params, History]:
    """``fnn.sgd`` that writes ``checkpoint`` after every epoch and can ``resume`` from it.

    ``kwargs`` are ``sgd``'s keywords. With ``resume`` and an existing checkpoint, training
    continues from it; the result equals the uninterrupted ``sgd`` run's, bit for bit.
    """
    prepared = prepare_sgd(params, training_data, **kwargs)
    start = resume_state(checkpoint, prepared) if resume and Path(checkpoint).exists() else None
    first = start or TrainState(prepared.params, (), History())
    steps = iterate_checkpointed(prepared, checkpoint, start=start)
    return reduce(lambda _, s: (s.params, s.history), steps, (first.params, first.history))
