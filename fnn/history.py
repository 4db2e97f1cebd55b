"""What training reports: one ``EpochRecord`` per epoch, gathered in an immutable ``History``.

``Monitor`` says which figures to measure; ``fnn.monitor`` measures them. Nothing here
depends on networks, so schedules (which read the history) sit below training.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, overload

from fnn.errors import DataError

__all__ = ["EpochRecord", "History", "Monitor"]


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
