"""What training reports: one ``EpochRecord`` per epoch, gathered in an immutable ``History``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, overload

import numpy as np
from numpy.typing import NDArray

from fnn.activations import SIGMOID
from fnn.costs import Cost, l1_penalty, l2_penalty
from fnn.data import Batch, Labelled, one_hot
from fnn.errors import DataError
from fnn.network import Hidden, hidden_activations
from fnn.params import Array, Params

__all__ = ["EpochRecord", "History", "Monitor", "accuracy", "measure", "total_cost"]

_CHUNK = 1_000  # rows per forward pass while measuring: bounds memory, stays in cache


class Monitor(NamedTuple):
    """Which figures to measure after each epoch (all off by default)."""

    training_cost: bool = False
    training_accuracy: bool = False
    evaluation_cost: bool = False
    evaluation_accuracy: bool = False


class EpochRecord(NamedTuple):
    """Figures after epoch ``epoch`` (0-based). Unmonitored figures are None, never 0.

    Costs are network2's total cost: the mean cost plus the L2 (and L1) term with n = the
    size of the set measured. ``*_correct`` counts correct argmax predictions;
    ``*_accuracy`` is that count over the set size (the predicted class is the argmax of the
    output layer's weighted input, see ``accuracy``). ``eta`` is the learning rate used in
    the epoch; ``stopped`` is set on the last record of a run that stopped before
    ``epochs`` (the reason), else None.
    """

    epoch: int
    training_cost: float | None = None
    training_correct: int | None = None
    training_accuracy: float | None = None
    evaluation_cost: float | None = None
    evaluation_correct: int | None = None
    evaluation_accuracy: float | None = None
    eta: float | None = None
    stopped: str | None = None


_FIELDS = EpochRecord._fields
_INT_FIELDS = frozenset({"epoch", "training_correct", "evaluation_correct"})
_STR_FIELDS = frozenset({"stopped"})


@dataclass(frozen=True)
class History:
    """The records of the epochs run so far, oldest first; an immutable value.

    >>> h = History((EpochRecord(0, evaluation_correct=9, evaluation_accuracy=0.9),))
    >>> h.network2()
    ([], [9], [], [])
    >>> History.from_json(h.to_json()) == h
    True
    >>> print(h.to_csv().splitlines()[1])
    0,,,,,9,0.9,,
    """

    records: tuple[EpochRecord, ...] = ()

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[EpochRecord]:
        return iter(self.records)

    @overload
    def __getitem__(self, i: int) -> EpochRecord: ...
    @overload
    def __getitem__(self, i: slice) -> History: ...
    def __getitem__(self, i: int | slice) -> EpochRecord | History:
        return History(self.records[i]) if isinstance(i, slice) else self.records[i]

    def append(self, record: EpochRecord) -> History:
        """A new History with ``record`` added at the end."""
        return History((*self.records, record))

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``{"format": "fnn.history", "records": [{field: value}, ...]}``."""
        return {"format": "fnn.history", "records": [r._asdict() for r in self.records]}

    @classmethod
    def from_dict(cls, data: Any) -> History:
        """The History that ``to_dict`` described; a DataError for anything else."""
        if not isinstance(data, dict) or data.get("format") != "fnn.history":
            raise DataError("history must be a dict with format 'fnn.history'")
        records = data.get("records")
        if not isinstance(records, list):
            raise DataError("history 'records' must be a list")
        return cls(tuple(_record(r, i) for i, r in enumerate(records)))

    def to_json(self) -> str:
        """JSON text; floats are written in full (repr) so they read back bit for bit."""
        return json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> History:
        """The History in ``to_json`` text."""
        return cls.from_dict(json.loads(text))

    def to_csv(self) -> str:
        """CSV text with a header row of field names; unmonitored figures are empty cells."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_FIELDS)
        writer.writerows([_cell_text(v) for v in r] for r in self.records)
        return out.getvalue()

    @classmethod
    def from_csv(cls, text: str) -> History:
        """The History in ``to_csv`` text."""
        rows = list(csv.DictReader(io.StringIO(text)))
        return cls(tuple(_record({k: _cell(k, v) for k, v in row.items()}, i)
                         for i, row in enumerate(rows)))

    @property
    def stopped(self) -> tuple[int, str] | None:
        """``(epoch, reason)`` if the run stopped early, else None."""
        last = self.records[-1] if self.records else None
        return None if last is None or last.stopped is None else (last.epoch, last.stopped)

    def network2(self) -> tuple[list[float], list[int], list[float], list[int]]:
        """network2's return value: (evaluation_cost, evaluation_accuracy, training_cost,
        training_accuracy) lists, accuracies as counts; unmonitored lists are empty."""
        def column(name: str) -> list[Any]:
            return [getattr(r, name) for r in self.records if getattr(r, name) is not None]
        return (column("evaluation_cost"), column("evaluation_correct"),
                column("training_cost"), column("training_correct"))


def _record(data: Any, i: int) -> EpochRecord:
    if not isinstance(data, dict) or "epoch" not in data or set(data) - set(_FIELDS):
        raise DataError(f"history record {i} must be a dict of {list(_FIELDS)}, got {data!r}")
    for key, value in data.items():
        want: tuple[type, ...] = ((int,) if key in _INT_FIELDS else (str,) if key in _STR_FIELDS
                                  else (int, float))
        if not (value is None and key != "epoch") and (
                isinstance(value, bool) or not isinstance(value, want)):
            raise DataError(f"history record {i} field {key} has bad value {value!r}")
    values: dict[str, Any] = {k: (float(v) if k not in _INT_FIELDS | _STR_FIELDS
                                  and v is not None else v) for k, v in data.items()}
    return EpochRecord(**values)


def _cell_text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else repr(value)


def _cell(key: str, text: str | None) -> int | float | str | None:
    if text is None or text == "":
        return None
    if key in _STR_FIELDS:
        return text
    try:
        return int(text) if key in _INT_FIELDS else float(text)
    except ValueError:
        raise DataError(f"history CSV field {key} has bad value {text!r}") from None


def _outputs(params: Params, x: Array, activation: Hidden) -> Array:
    """The output layer's weighted input z, computed in row chunks."""
    acts = hidden_activations(activation, len(params.weights) - 1)
    zs = []
    for start in range(0, x.shape[0], _CHUNK):
        a = x[start:start + _CHUNK]
        for act, w, b in zip(acts, params.weights[:-1], params.biases[:-1]):
            a = act.fn((w @ a.T).T + b)  # this orientation runs these shapes faster
        zs.append((params.weights[-1] @ a.T).T + params.biases[-1])
    return zs[0] if len(zs) == 1 else np.concatenate(zs)


def total_cost(params: Params, x: Array, y: Array, *, cost: Cost, lmbda: float, l1: float = 0.0,
               activation: Hidden = SIGMOID) -> float:
    """network2's total cost of a set: mean ``cost`` plus ``l2_penalty`` (and
    ``l1_penalty``) with n = len(x). ``y`` is one-hot (n, n_out).
    """
    return cost.fn(_outputs(params, x, activation), y) + _penalty(params, lmbda, l1, x.shape[0])


def _penalty(params: Params, lmbda: float, l1: float, n: int) -> float:
    return l2_penalty(params, lmbda, n) + (l1_penalty(params, l1, n) if l1 else 0.0)


def accuracy(params: Params, x: Array, labels: Array, *, activation: Hidden = SIGMOID) -> int:
    """How many rows of ``x`` the net classifies as their label.

    The predicted class is the argmax of the output layer's weighted input z: the same class
    as the argmax of σ(z) or softmax(z), without the ties those make where they round to 1
    (σ(z) is 1.0 for every z > 17 in float32).

    >>> p = Params(weights=(np.zeros((2, 1), np.float32),),
    ...            biases=(np.array([20.0, 30.0], np.float32),))
    >>> from fnn.activations import sigmoid
    >>> sigmoid(p.biases[0]).tolist(), accuracy(p, np.zeros((1, 1), np.float32), np.array([1]))
    ([1.0, 1.0], 1)
    """
    return _correct(_outputs(params, x, activation), labels)


def _correct(z: Array, labels: NDArray[Any]) -> int:
    return int(np.count_nonzero(np.argmax(z, axis=1) == labels))


def _figures(params: Params, x: Array, labels: NDArray[Any] | None, y: Array | None, *, cost: Cost,
             lmbda: float, l1: float, activation: Hidden, want_cost: bool,
             want_accuracy: bool) -> tuple[Any, Any, Any]:
    if not (want_cost or want_accuracy):
        return None, None, None
    z = _outputs(params, x, activation)  # one forward pass serves both figures
    c = None
    if want_cost:
        if y is None:
            assert labels is not None, "evaluation sets carry labels"
            y = one_hot(labels, z.shape[1], z.dtype)
        c = cost.fn(z, y) + _penalty(params, lmbda, l1, x.shape[0])
    if not want_accuracy or labels is None:
        return c, None, None
    correct = _correct(z, labels)
    return c, correct, correct / x.shape[0]


def measure(params: Params, epoch: int, training: Batch, evaluation: Labelled | None, *,
            cost: Cost, lmbda: float, monitor: Monitor, l1: float = 0.0,
            activation: Hidden = SIGMOID) -> EpochRecord:
    """The EpochRecord of ``params`` after ``epoch``, with the figures ``monitor`` asks for."""
    labels = np.argmax(training.y, axis=1) if monitor.training_accuracy else None
    tc, tk, ta = _figures(params, training.x, labels, training.y,
                          cost=cost, lmbda=lmbda, l1=l1, activation=activation,
                          want_cost=monitor.training_cost,
                          want_accuracy=monitor.training_accuracy)
    ec = ek = ea = None
    if evaluation is not None:
        ec, ek, ea = _figures(params, evaluation.x, evaluation.labels, None, cost=cost,
                              lmbda=lmbda, l1=l1, activation=activation,
                              want_cost=monitor.evaluation_cost,
                              want_accuracy=monitor.evaluation_accuracy)
    return EpochRecord(epoch, tc, tk, ta, ec, ek, ea)

