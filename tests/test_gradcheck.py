from __future__ import annotations

import pickle

import numpy as np
import pytest

from fnn.activations import RELU, SIGMOID, TANH
from fnn.errors import ConfigError, DataError, FnnError, FnnTypeError
from fnn.gradcheck import (
    GradientMismatch,
    Kink,
    NonDifferentiable,
    check_backprop,
    check_directional,
    check_gradient,
    directional_error,
    numerical_gradient,
    random_direction,
    straddled_kinks,
    tree_vdot,
)
from fnn.params import Params, init_params, tree_map
from fnn.registry import COSTS


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


# --------------------------------------------------------------------------- kinks


def _bent(p: Params) -> float:
    """|b0| + the quartic: a kink along biases[0][0] at 0, smooth everywhere else."""
    return _quartic(p) + float(np.abs(p.biases[0][0]))


AT_KINK = P._replace(biases=(np.array([0.0, -0.7]),))


def test_a_kink_is_no_verdict_but_never_hides_a_wrong_gradient_elsewhere():
    grads = _exact(AT_KINK)
    exact = grads._replace(biases=(grads.biases[0] + [1.0, 0.0],))  # |b|' = 1, from the right
    with pytest.raises(NonDifferentiable, match=r"along biases\[0\]\[0\] \(one-sided "
                                                r"differences -?[0-9.e-]+ below, 2.00.* above"):
        check_gradient(_bent, exact, AT_KINK)
    wrong = exact._replace(weights=(exact.weights[0] * 1.01,))
    with pytest.raises(GradientMismatch, match=r"^weights\[0\]"):
        check_gradient(_bent, wrong, AT_KINK)
    with pytest.raises(NonDifferentiable, match="within ±1e-06 along a random direction"):
        check_directional(_bent, exact, AT_KINK, rng=np.random.default_rng(2))


def test_non_differentiable_keeps_its_kinks_through_pickle():
    kink = Kink(0, 1, 2, 0.0, -1e-6, 1e-6, (0.0, 1.0), "relu")
    error = pickle.loads(pickle.dumps(NonDifferentiable("kink at layer 0", (kink,))))
    assert (str(error), error.kinks) == ("kink at layer 0", (kink,))
    assert isinstance(error, AssertionError) and isinstance(error, FnnError)
    assert issubclass(GradientMismatch, AssertionError) and issubclass(GradientMismatch, FnnError)


@pytest.mark.parametrize("activation", [SIGMOID, TANH], ids=["sigmoid", "tanh"])
def test_smooth_activations_never_bend_within_a_step(activation):
    rng = np.random.default_rng(5)
    params = tree_map(lambda a: 3 * a, init_params([4, 6, 5, 2], seed=1))
    x = rng.normal(size=(9, 4)) * 10
    for _ in range(20):
        step = tree_map(lambda a: 1e-4 * a, random_direction(params, rng))
        assert straddled_kinks(params, x, step, activation=activation) == ()


def test_straddled_kinks_names_every_relu_unit_the_step_crosses_largest_first():
    params = Params((np.array([[1.0], [1.0], [1.0]]), np.ones((1, 3))),
                    (np.array([0.0, 5e-7, 1.0]), np.zeros(1)))
    step = Params((np.zeros((3, 1)), np.zeros((1, 3))), (np.full(3, 1e-6), np.zeros(1)))
    kinks = straddled_kinks(params, np.zeros((2, 1)), step, activation=RELU)
    assert [(k.row, k.unit) for k in kinks] == [(0, 0), (1, 0), (0, 1), (1, 1)]
    assert kinks[2].slopes == pytest.approx((0.5, 1.0)) and kinks[2].z == 5e-7


def test_check_backprop_runs_in_float64_on_float32_params_and_labels():
    params = init_params([3, 4, 2], seed=0, dtype=np.float32)
    x = np.random.default_rng(0).random((5, 3)).astype(np.float32)
    check_backprop(params, (x, np.array([0, 1, 1, 0, 1])), COSTS["log_likelihood"],
                   activation=TANH, lmbda=5.0, n=10)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"cost": "quadratic"}, FnnTypeError, "cost must be an fnn Cost"),
    ({"lmbda": -1.0}, ConfigError, "lmbda must be a finite number >= 0"),
    ({"n": 0}, ConfigError, "n must be an int >= 1"),
    ({"eps": 0.0}, ConfigError, "eps must be a finite number > 0"),
    ({"activation": "relu"}, FnnTypeError, "activation must be an fnn Activation"),
    ({"batch": (np.ones((2, 4)), np.array([0, 1]))}, DataError,
     r"batch x must be 2-D \(m, 3\)"),
])
def test_check_backprop_refuses_bad_arguments_by_name(kwargs, error, message):
    call = {"params": init_params([3, 2], seed=0), "batch": (np.ones((2, 3)), np.array([0, 1])),
            "cost": COSTS["quadratic"], **kwargs}
    with pytest.raises(error, match=message):
        check_backprop(call.pop("params"), call.pop("batch"), call.pop("cost"), **call)
