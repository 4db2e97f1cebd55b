from __future__ import annotations

import math

import numpy as np
import pytest

import fnn
from fnn.costs import cross_entropy, l2_penalty, quadratic
from fnn.data import Batch, Labelled
from fnn.history import Monitor
from fnn.monitor import accuracy, measure, total_cost
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


def test_integer_labels_one_hot_rows_and_plain_pairs_give_the_same_figures():
    p, x = _net()._replace(weights=(np.ones((2, 3)) * 0.1,)), np.random.default_rng(0).random((4, 3))
    labels = np.array([0, 1, 1, 1])
    pair = (list(p.weights), list(p.biases))
    want = total_cost(p, x, np.eye(2)[labels], cost=cross_entropy, lmbda=5.0)
    assert total_cost(pair, x, labels, cost=cross_entropy, lmbda=5.0) == want
    assert accuracy(pair, x, np.eye(2)[labels]) == accuracy(p, x, labels) == 3


def test_a_monitored_cost_is_exactly_fnn_cost_plus_the_penalty():
    p = fnn.init_params([5, 4, 3], seed=2)
    rng = np.random.default_rng(1)
    x, labels = rng.random((2500, 5)), rng.integers(0, 3, 2500)
    record = measure(p, 0, Batch(x, np.eye(3)[labels]), Labelled(x, labels), cost=cross_entropy,
                     lmbda=2.0, monitor=Monitor(training_cost=True, evaluation_cost=True))
    want = cost(p, x, labels, cost=cross_entropy) + l2_penalty(p, 2.0, 2500)
    assert record.training_cost == record.evaluation_cost == want  # the same bits
