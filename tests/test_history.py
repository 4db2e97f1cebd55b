"""History: an immutable record of epochs that round-trips through JSON and CSV exactly."""

from __future__ import annotations

import json

import pytest

from fnn.errors import DataError
from fnn.history import EpochRecord, History, Monitor


def _history():
    return History((EpochRecord(0, 0.5, 8, 0.8, 0.1 + 0.2, 9, 0.9),
                    EpochRecord(1, None, None, None, -0.0, 10, 1.0)))


def test_history_is_immutable_and_appends_by_copy():
    h = _history()
    longer = h.append(EpochRecord(2))
    assert len(h) == 2 and len(longer) == 3 and longer[:2] == h
    with pytest.raises(AttributeError):
        h.records = ()  # type: ignore[misc]


def test_json_and_csv_round_trip_exactly():
    h = _history()
    assert History.from_json(h.to_json()) == h
    assert History.from_csv(h.to_csv()) == h
    assert json.loads(h.to_json())["records"][0]["evaluation_cost"] == 0.30000000000000004
    assert h.to_csv().splitlines()[2] == "1,,,,-0.0,10,1.0,,"
    assert History.from_dict(h.to_dict()) == h


def test_network2_order_of_lists():
    assert _history().network2() == ([0.30000000000000004, -0.0], [9, 10], [0.5], [8])


@pytest.mark.parametrize(("data", "message"), [
    ({"format": "other"}, "format 'fnn.history'"),
    ({"format": "fnn.history", "records": {}}, "'records' must be a list"),
    ({"format": "fnn.history", "records": [{"epoch": 0, "bogus": 1}]}, "record 0 must be a dict"),
    ({"format": "fnn.history", "records": [{"epoch": True}]}, "field epoch has bad value True"),
    ({"format": "fnn.history", "records": [{"epoch": 0, "training_cost": "x"}]},
     "field training_cost has bad value 'x'"),
])
def test_bad_history_data_is_refused(data, message):
    with pytest.raises(DataError, match=message):
        History.from_dict(data)


def test_monitor_is_all_off_by_default():
    assert Monitor() == (False, False, False, False)
