"""Property-based gradient tests for activations with kinks (issue 13, item 6).

The tolerances, stated once: a gradient entry passes when |analytic - central| <= 1e-7 +
1e-5·|central|, the central difference taking steps of 1e-6 (``fnn.gradcheck``'s defaults);
``fnn.strategies.nets`` keeps every hidden pre-activation at least 1e-3 from a kink (its
default margin), 18× what a step of 1e-6 can move one in these nets (|∂z/∂θ| <= 18 entry by
entry, <= 54 along a unit direction, for widths <= 8 and 2-4 layers with |params| <= 2 and
|x| <= 1). Over 6,000 ReLU examples the largest error seen was 0.11 of that tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import fnn
from fnn import strategies as fst
from fnn.costs import Cost, cross_entropy
from fnn.gradcheck import GradientMismatch, NonDifferentiable, check_backprop, check_gradient
from fnn.network import trace
from fnn.params import Params
from fnn.registry import COSTS


def _leaky(z: np.ndarray) -> np.ndarray:
    return np.where(z > 0, z, 0.01 * z)


LEAKY = fnn.Activation("leaky_relu", _leaky, lambda z, a: np.where(z > 0, 1.0, 0.01))
HARD_TANH = fnn.Activation("hard_tanh", lambda z: np.clip(z, -1.0, 1.0),
                           lambda z, a: ((z > -1.0) & (z < 1.0)).astype(z.dtype))
USER = {"leaky_relu": (LEAKY, (0.0,)), "hard_tanh": (HARD_TANH, (-1.0, 1.0))}
LMBDAS = st.sampled_from([0.0, 5.0])
SHRINK_ONLY = settings(database=None, max_examples=300, phases=[Phase.generate, Phase.shrink])


def _failure(net: tuple[Params, fnn.Batch], cost: Cost,
             activation: fnn.Activation) -> AssertionError | None:
    try:
        check_backprop(*net, cost, activation=activation)
    except (GradientMismatch, NonDifferentiable) as e:
        return e
    return None


def _outcome(net: tuple[Params, fnn.Batch], cost: Cost, activation: fnn.Activation) -> str:
    failure = _failure(net, cost, activation)
    return {type(None): "pass", GradientMismatch: "mismatch",
            NonDifferentiable: "kink"}[type(failure)]


@pytest.mark.parametrize("cost", COSTS.values(), ids=COSTS.keys())
@settings(max_examples=200, deadline=None)
@given(net=fst.nets(max_width=8, max_batch=7, activation=fnn.RELU), lmbda=LMBDAS)
def test_relu_backprop_matches_finite_differences_off_the_kink(cost, net, lmbda):
    """2-4 layers of width 1-8, 1-7 rows, every cost, lmbda 0 or 5; tolerances as above."""
    params, batch = net
    zs = trace(params, batch.x, activation=fnn.RELU).zs[:-1]
    assert min((np.abs(z).min() for z in zs), default=1.0) >= 1e-3
    check_backprop(params, batch, cost, activation=fnn.RELU, lmbda=lmbda, n=11)


@settings(max_examples=30, deadline=None)
@given(net=fst.nets(min_layers=3, max_layers=4, min_width=20, max_width=40, max_batch=7,
                    activation=fnn.RELU),
       cost=st.sampled_from(list(COSTS.values())), lmbda=LMBDAS)
def test_wide_relu_nets_along_a_random_direction(net, cost, lmbda):
    check_backprop(*net, cost, activation=fnn.RELU, lmbda=lmbda, n=11,
                   rng=np.random.default_rng(0))


@pytest.mark.parametrize(("activation", "kinks"), USER.values(), ids=USER.keys())
@settings(max_examples=200, deadline=None)
@given(data=st.data(), cost=st.sampled_from(list(COSTS.values())), lmbda=LMBDAS)
def test_a_user_written_activation_with_kinks(activation, kinks, data, cost, lmbda):
    """Leaky ReLU and hard tanh, written here as fnn.Activation values; tolerances as above."""
    net = data.draw(fst.nets(max_width=8, max_batch=7, activation=activation, kinks=kinks))
    check_backprop(*net, cost, activation=activation, lmbda=lmbda, n=11)


@settings(max_examples=200, deadline=None)
@given(net=fst.nets(max_width=8, max_batch=7), cost=st.sampled_from(list(COSTS.values())))
def test_off_guard_relu_nets_give_kinks_never_a_wrong_gradient(net, cost):
    """The strategy as it was (examples on ReLU's kink): every failure is named a kink."""
    failure = _failure(net, cost, fnn.RELU)
    if failure is not None:
        assert isinstance(failure, NonDifferentiable), failure
        assert failure.kinks and str(failure).startswith("kink at layer ")
        assert all(k.activation == "relu" and k.low <= 0.0 <= k.high for k in failure.kinks)


def test_the_old_failure_is_reported_as_a_kink_at_its_unit():
    """The example `nets()` shrank to: all zeros, so the hidden z sits on ReLU's kink."""
    params = Params((np.zeros((1, 1)), np.ones((1, 1))), (np.zeros(1), np.zeros(1)))
    x, y = np.zeros((1, 1)), np.ones((1, 1))

    def loss(p: Params) -> float:
        return fnn.cost(p, x, y, cost=cross_entropy, activation=fnn.RELU)

    grads = fnn.backprop(params, x, y, cross_entropy, activation=fnn.RELU)
    with pytest.raises(NonDifferentiable, match=r"^the loss is not differentiable within "
                                                r"±1e-06 along biases\[0\]\[0\] "):
        check_gradient(loss, grads, params)  # knows only the loss
    with pytest.raises(NonDifferentiable) as caught:
        check_backprop(params, (x, y), cross_entropy, activation=fnn.RELU)
    assert str(caught.value).startswith(
        "kink at layer 0 unit 0 (row 0): zs[0][0, 0] = 0.0 moved over [-1e-06, 1e-06], where "
        "the activation 'relu' bends (secant slopes 0.0 below, 1.0 above), as the step ±1e-06 "
        "went along biases[0][0]; a finite difference across a kink means nothing")
    assert "fnn.strategies.nets(activation=..., kinks=" in str(caught.value)
    (kink,) = caught.value.kinks
    assert (kink.layer, kink.row, kink.unit, kink.z, kink.slopes) == (0, 0, 0, 0.0, (0.0, 1.0))


def test_hypothesis_finds_and_shrinks_the_old_failure_to_that_example():
    net = find(fst.nets(max_width=4, max_batch=3),
               lambda n: _outcome(n, cross_entropy, fnn.RELU) == "kink", settings=SHRINK_ONLY)
    params, batch = net
    assert [w.shape for w in params.weights] == [(1, 1), (1, 1)]
    assert not any(a.any() for a in (*params.weights[:1], *params.biases, batch.x))


def test_two_kinks_that_cancel_in_the_loss_are_still_found_in_the_net():
    """Both units of layer 0 and the unit of layer 1 sit within 1e-233 of ReLU's kink: moving
    weights[0][1][0] either way leaves the loss flat, as if the gradient were 0 (it is 0.5)."""
    tiny = 1e-233
    params = Params((np.full((2, 1), tiny), np.array([[2.0, -1.0]]), np.ones((1, 1))),
                    (np.zeros(2), np.zeros(1), np.zeros(1)))
    with pytest.raises(NonDifferentiable) as caught:
        check_backprop(params, (np.ones((1, 1)), np.ones((1, 1))), cross_entropy,
                       activation=fnn.RELU)
    assert {(k.layer, k.unit) for k in caught.value.kinks} >= {(0, 1), (1, 0)}


def test_a_wrong_derivative_is_a_mismatch_and_shrinks_to_a_tiny_net():
    wrong = LEAKY._replace(prime=lambda z, a: np.where(z > 0, 1.0, 0.1))  # 0.1, not 0.01
    net = find(fst.nets(max_width=4, max_batch=3, activation=wrong, kinks=(0.0,)),
               lambda n: _outcome(n, cross_entropy, wrong) == "mismatch", settings=SHRINK_ONLY)
    params, batch = net
    assert batch.x.shape[0] == 1 and all(w.shape[0] == 1 for w in params.weights)
    assert all(np.abs(a).max() <= 1.0 for a in (*params.weights, *params.biases, batch.x))
    with pytest.raises(GradientMismatch, match=r"^(weights|biases)\[\d\]"):
        check_backprop(*net, cross_entropy, activation=wrong)


@settings(max_examples=50, deadline=None)
@given(net=fst.nets(max_width=6, max_batch=5), cost=st.sampled_from(list(COSTS.values())))
def test_a_wrong_smooth_derivative_is_never_called_a_kink(net, cost):
    wrong = fnn.TANH._replace(name="tanh_wrong", prime=lambda z, a: 1.1 * (1.0 - a * a))
    assert _outcome(net, cost, wrong) != "kink"


def test_a_user_activation_without_kinks_given_gets_the_unit_and_the_remedy():
    params = Params((np.zeros((2, 3)), np.ones((1, 2))), (np.array([0.5, 0.0]), np.zeros(1)))
    with pytest.raises(NonDifferentiable, match=r"^kink at layer 0 unit 1 \(row 0\): .* the "
                                                r"activation 'leaky_relu' bends \(secant "
                                                r"slopes 0.01 below, 1.0 above\)"):
        check_backprop(params, (np.zeros((1, 3)), np.array([0])), cross_entropy,
                       activation=LEAKY)


def _hinge_fn(z: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum(np.maximum(0.0, 1.0 - (2 * y - 1) * z)) / z.shape[0])


def _hinge_delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    s = 2 * y - 1
    return -s * (1.0 - s * z > 0)


HINGE = Cost("hinge", _hinge_fn, _hinge_delta)


def test_a_user_cost_is_checked_and_its_own_kink_is_named():
    params = Params((np.array([[0.3, -0.2]]),), (np.array([0.1]),))
    x, y = np.array([[1.0, 0.5], [0.0, 2.0]]), np.array([[1.0], [0.0]])
    check_backprop(params, (x, y), HINGE)  # output z = 0.3 and -0.3: smooth there
    on_the_hinge = params._replace(biases=(np.array([0.8]),))  # row 0: z = 1, the hinge
    with pytest.raises(NonDifferentiable, match=r"^no hidden unit bends within ±1e-06 along "
                                                r".*: the kink is in the cost 'hinge' \(or its "
                                                r"output activation\), most at row 0"):
        check_backprop(on_the_hinge, (x, y), HINGE)
