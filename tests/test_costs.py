from __future__ import annotations

import math

import numpy as np
import pytest

from fnn.costs import (
    cross_entropy,
    get_cost,
    l1_gradient,
    l1_penalty,
    l2_gradient,
    l2_penalty,
    quadratic,
)
from fnn.params import Params
from fnn.registry import COSTS


def test_saturated_cross_entropy_is_exact_and_finite():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        assert cross_entropy.fn(np.array([[40.0]]), np.array([[0.0]])) == 40.0
        assert cross_entropy.fn(np.array([[-1000.0]]), np.array([[1.0]])) == 1000.0
        assert cross_entropy.fn(np.array([[1000.0]]), np.array([[1.0]])) == 0.0
        big = cross_entropy.fn(np.array([[1e300, -1e300]]), np.array([[0.0, 1.0]]))
    assert big == 2e300 and not math.isnan(big)


def test_cross_entropy_equals_the_textbook_formula_where_that_is_safe():
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(7, 3)), np.eye(3)[rng.integers(0, 3, 7)]
    a = 1 / (1 + np.exp(-z))
    textbook = np.sum(-y * np.log(a) - (1 - y) * np.log(1 - a)) / 7
    assert cross_entropy.fn(z, y) == pytest.approx(textbook, rel=1e-13)


def test_costs_are_means_over_the_batch():
    z, y = np.zeros((4, 2)), np.array([[1.0, 0.0]] * 4)
    assert quadratic.fn(z, y) == 0.25  # ½(0.25 + 0.25) per example
    assert cross_entropy.fn(z, y) == pytest.approx(2 * math.log(2), rel=1e-15)
    assert quadratic.fn(z[:1], y[:1]) == quadratic.fn(z, y)


def test_deltas():
    z = np.array([[0.0, 2.0]])
    a, y = 1 / (1 + np.exp(-z)), np.array([[1.0, 0.0]])
    np.testing.assert_array_equal(cross_entropy.delta(z, a, y), a - y)
    np.testing.assert_allclose(quadratic.delta(z, a, y), (a - y) * a / (1 + np.exp(z)),
                               rtol=1e-14)


def test_l2_penalty_and_its_gradient_touch_weights_only():
    p = Params((np.full((2, 3), 2.0), np.ones((1, 2))), (np.full(2, 100.0), np.ones(1)))
    # lmbda/(2n) Σ‖W‖² = 5/20 · (6·4 + 2) = 6.5
    assert l2_penalty(p, 5.0, 10) == 6.5
    g = l2_gradient(p, 5.0, 10)
    np.testing.assert_array_equal(g.weights[0], np.full((2, 3), 1.0))
    assert not any(b.any() for b in g.biases)


def test_the_registry_names_every_cost_and_the_old_lookup_warns():
    assert set(COSTS) == {"quadratic", "cross_entropy", "log_likelihood"}
    assert COSTS["quadratic"] is quadratic
    with pytest.warns(DeprecationWarning, match="fnn.registry.cost"):
        assert get_cost("cross_entropy") is cross_entropy
    with pytest.warns(DeprecationWarning, match="get_cost"), pytest.raises(ValueError,
                                                        match=r"unknown cost 'hinge'; expected one of"):
        get_cost("hinge")


def test_penalties_take_plain_pairs_and_give_what_params_give():
    p = Params((np.array([[1.0, -2.0]]),), (np.ones(1),))
    pair = ([p.weights[0]], [p.biases[0]])
    assert l2_penalty(pair, 5.0, 10) == l2_penalty(p, 5.0, 10) == 1.25
    assert l1_penalty(pair, 5.0, 10) == l1_penalty(p, 5.0, 10) == 1.5
    assert l1_gradient(pair, 5.0, 10).weights[0].tolist() == [[0.5, -0.5]]
    assert l2_gradient(pair, 5.0, 10).weights[0].tolist() == [[0.5, -1.0]]
