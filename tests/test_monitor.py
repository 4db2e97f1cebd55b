from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fnn.costs import cross_entropy, l2_penalty, quadratic
from fnn.data import Batch, Labelled
from fnn.errors import DataError
from fnn.monitor import EpochRecord, History, Monitor, accuracy, measure, total_cost
from fnn.network import cost
from fnn.params import Params


def _net():
    # one layer, w = 0, b = (0, 1): outputs σ(0) = ½ and σ(1) for every row, argmax = class 1
    return Params((np.zeros((2, 3)),), (np.array([0.0, 1.0]),))


def test_total_cost_adds_the_l2_term_with_the_measured_sets_size():
    p, x = _net()._replace(weights=(np.ones((2, 3)) * 0.1,)), np.zeros((4, 3))
    y = np.eye(2)[[0, 1, 1, 1]]
    want = cost(p, x, y, cost=cross_entropy) + 5.0 / (2 * 4) * 0.06
    assert total_cost(p, x, y, cost=cross_entropy, lmbda=5.0) == pytest.approx(want, rel=1e-15)
    assert l2_penalty(p, 5.0, 4) == pytest.approx(5.0 / 8 * 0.06, rel=1e-15)


def test_accuracy_counts_argmax_hits():
    assert accuracy(_net(), np.zeros((5, 3)), np.array([1, 1, 0, 1, 0])) == 3


def test_measure_fills_only_what_was_asked():
    p, x = _net(), np.zeros((4, 3))
    training = Batch(x, np.eye(2)[[1, 1, 1, 0]])
    evaluation = Labelled(x[:2], np.array([0, 1]))
    r = measure(p, 3, training, evaluation, cost=quadratic, lmbda=0.0,
                monitor=Monitor(training_accuracy=True, evaluation_cost=True))
    assert r.epoch == 3 and r.training_correct == 3 and r.training_accuracy == 0.75
    assert r.training_cost is None and r.evaluation_correct is None
    s1 = 1 / (1 + math.exp(-1))
    assert r.evaluation_cost == pytest.approx(0.5 * ((0.5 - 1) ** 2 + s1 ** 2 + 0.25 + (s1 - 1) ** 2) / 2,
                                              rel=1e-14)


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
