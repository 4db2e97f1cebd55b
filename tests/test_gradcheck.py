from __future__ import annotations

import numpy as np
import pytest

from fnn.gradcheck import (
    GradientMismatch,
    check_directional,
    check_gradient,
    directional_error,
    numerical_gradient,
    random_direction,
    tree_vdot,
)
from fnn.params import Params, tree_map


def _quartic(p: Params) -> float:
    return float(np.sum(p.weights[0] ** 4) + np.sum(np.sin(p.biases[0])))


def _exact(p: Params) -> Params:
    return Params((4 * p.weights[0] ** 3,), (np.cos(p.biases[0]),))


P = Params((np.array([[0.5, -1.5], [2.0, 0.25]]),), (np.array([0.3, -0.7]),))


def test_numerical_gradient_matches_calculus():
    num = numerical_gradient(_quartic, P)
    np.testing.assert_allclose(num.weights[0], _exact(P).weights[0], rtol=1e-8)
    np.testing.assert_allclose(num.biases[0], _exact(P).biases[0], rtol=1e-8)


def test_checks_pass_on_the_exact_gradient_and_name_the_worst_entry_otherwise():
    check_gradient(_quartic, _exact(P), P)
    check_directional(_quartic, _exact(P), P, rng=np.random.default_rng(1))
    wrong = _exact(P)._replace(weights=(_exact(P).weights[0] * np.array([[1, 1], [1, 1.01]]),))
    with pytest.raises(GradientMismatch, match=r"weights\[0\]\[1\]\[1\]: analytic 0.063125, "
                                               r"numerical 0.06249"):
        check_gradient(_quartic, wrong, P)
    with pytest.raises(GradientMismatch, match="along a random direction: analytic"):
        check_directional(_quartic, tree_map(lambda a: a * 1.1, _exact(P)), P,
                          rng=np.random.default_rng(1))


def test_directional_error_is_small_for_exact_and_large_for_wrong_gradients():
    rng = np.random.default_rng(0)
    assert directional_error(_quartic, _exact(P), P, rng=rng) < 1e-8
    assert directional_error(_quartic, tree_map(np.negative, _exact(P)), P, rng=rng) > 1.0


def test_random_direction_has_unit_norm_and_inputs_stay_untouched():
    frozen = tree_map(np.copy, P)
    for a in (*frozen.weights, *frozen.biases):
        a.setflags(write=False)
    v = random_direction(frozen, np.random.default_rng(3))
    assert tree_vdot(v, v) == pytest.approx(1.0, rel=1e-14)
    numerical_gradient(_quartic, frozen)
    np.testing.assert_array_equal(frozen.weights[0], P.weights[0])
