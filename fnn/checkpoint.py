"""Checkpoints at epoch boundaries, and resuming from them bit for bit.

A checkpoint is a JSON file (written atomically) holding the params after the last
completed epoch, the number of epochs done, the settings that decide the trajectory, the
history so far and a fingerprint of the training and evaluation data. Because each
epoch's shuffle depends only on (seed, epoch), resuming in a new process continues
exactly where the uninterrupted run would be: same params, same history, bit for bit.

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

from fnn.costs import get_cost
from fnn.data import Batch, Labelled
from fnn.errors import CheckpointMismatchError, ModelFormatError
from fnn.monitor import EpochRecord, History
from fnn.params import Params, sizes_of
from fnn.serialization import atomic_write_bytes, from_dict, read_json, to_dict
from fnn.training import Prepared, TrainConfig, epochs_from, prepare_sgd

__all__ = ["FORMAT", "Checkpoint", "fingerprint", "iterate_checkpointed", "read_checkpoint",
           "resume_state", "settings_of", "sgd_checkpointed", "write_checkpoint"]

FORMAT, FORMAT_VERSION = "fnn.checkpoint", 1


class Checkpoint(NamedTuple):
    """What a checkpoint file holds."""

    params: Params
    epochs_done: int
    settings: dict[str, Any]
    history: History
    data: dict[str, Any]


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
    return {"sizes": list(sizes_of(params)), "dtype": str(params.weights[0].dtype),
            "cost": config.cost.name, "mini_batch_size": config.mini_batch_size,
            "eta": config.eta, "lmbda": config.lmbda, "seed": _seed_json(config.seed),
            "monitor": config.monitor._asdict()}


def write_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` to ``path`` atomically (the previous file survives any failure)."""
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION,
           "epochs_done": checkpoint.epochs_done, "settings": checkpoint.settings,
           "data": checkpoint.data, "history": checkpoint.history.to_dict(),
           "model": to_dict(checkpoint.params, cost=get_cost(checkpoint.settings["cost"]))}
    return atomic_write_bytes(path, (json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n").encode())


def read_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """The Checkpoint in ``path``; ModelFormatError (naming the file) if it is malformed."""
    doc = read_json(path, what="checkpoint")
    where = Path(path).name
    try:
        if doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
            raise ModelFormatError(f"{where}: not an fnn checkpoint of format version "
                                   f"{FORMAT_VERSION}")
        model = from_dict(doc["model"], source=f"{where}: model")
        done, settings, data = doc["epochs_done"], doc["settings"], doc["data"]
        if isinstance(done, bool) or not isinstance(done, int) or done < 0:
            raise ModelFormatError(f"{where}: epochs_done must be an int >= 0, got {done!r}")
        if not isinstance(settings, dict) or not isinstance(data, dict):
            raise ModelFormatError(f"{where}: settings and data must be objects")
        return Checkpoint(model.params, done, settings, History.from_dict(doc["history"]), data)
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        if isinstance(e, ModelFormatError):
            raise
        raise ModelFormatError(f"{where}: malformed checkpoint ({type(e).__name__}: {e})") from None


def _differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    return [f"{k}: checkpoint has {saved.get(k)!r}, this run has {now.get(k)!r}"
            for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]


def resume_state(path: str | os.PathLike[str],
                 prepared: Prepared) -> tuple[Params, int, History]:
    """(params, epochs done, history) from the checkpoint at ``path``, after checking that
    ``prepared`` has the same data and settings (``epochs`` may be larger)."""
    saved = read_checkpoint(path)
    data_now = {"training": fingerprint(prepared.data),
                "evaluation": fingerprint(prepared.evaluation)}
    diffs = (_differences(saved.settings, settings_of(prepared.params, prepared.config))
             + [f"{k} data differ from the checkpoint's" for k in sorted(data_now)
                if saved.data.get(k) != data_now[k]])
    if diffs:
        raise CheckpointMismatchError(f"cannot resume from {path}: " + "; ".join(diffs))
    if saved.epochs_done > prepared.config.epochs:
        raise CheckpointMismatchError(f"cannot resume from {path}: it has {saved.epochs_done} "
                                      f"epochs done, more than epochs={prepared.config.epochs}")
    return saved.params, saved.epochs_done, saved.history


def iterate_checkpointed(prepared: Prepared, path: str | os.PathLike[str], *,
                         start: tuple[Params, int, History] | None = None,
                         progress: Callable[[int, int, int], None] | None = None,
                         ) -> Iterator[tuple[Params, EpochRecord, History]]:
    """Train from ``prepared`` (see ``fnn.training.prepare``), writing ``path`` after each epoch.

    ``start`` is where to continue (``resume_state``'s result); None starts afresh. Yields
    ``(params, record, history so far)`` once that epoch's checkpoint is on disk, so an
    interruption loses at most the epoch in progress. ``progress`` as in ``epochs_from``.
    """
    initial, first, history = start or (prepared.params, 0, History())
    settings = settings_of(prepared.params, prepared.config)
    data = {"training": fingerprint(prepared.data),
            "evaluation": fingerprint(prepared.evaluation)}
    for params, record in epochs_from(initial, prepared.data, prepared.evaluation,
                                      prepared.config, start=first, history=history,
                                      progress=progress):
        history = history.append(record)
        write_checkpoint(path, Checkpoint(params, record.epoch + 1, settings, history, data))
        yield params, record, history


def sgd_checkpointed(params: Params, training_data: Any, *, checkpoint: str | os.PathLike[str],
                     resume: bool = False, **kwargs: Any) -> tuple[Params, History]:
    """``fnn.sgd`` that writes ``checkpoint`` after every epoch and can ``resume`` from it.

    ``kwargs`` are ``sgd``'s keywords. With ``resume`` and an existing checkpoint, training
    continues from it; the result equals the uninterrupted ``sgd`` run's, bit for bit.
    """
    prepared = prepare_sgd(params, training_data, **kwargs)
    start = resume_state(checkpoint, prepared) if resume and Path(checkpoint).exists() else None
    params, _, history = start or (prepared.params, 0, History())
    steps = iterate_checkpointed(prepared, checkpoint, start=start)
    return reduce(lambda _, step: (step[0], step[2]), steps, (params, history))
