from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn import strategies as fst
from fnn.activations import RELU, SIGMOID, TANH
from fnn.costs import (
    cross_entropy,
    l1_gradient,
    l1_penalty,
    l2_gradient,
    l2_penalty,
    log_likelihood,
)
from fnn.data import Batch, one_hot
from fnn.errors import ConfigError, DataError, FnnTypeError
from fnn.gradcheck import check_directional, check_gradient
from fnn.network import CHUNK_ROWS, backprop, cost, forward, output_z, summed_gradient, trace
from fnn.params import Params, init_params, shapes, tree_equal, tree_map
from fnn.registry import ACTIVATIONS, COSTS
from fnn.training import dropout_masks

from .conftest import read_only

# Widths 1-8 and 2-4 layers as the issue asks; batches of exactly 1 and of 7 examples.
NETS = {m: fst.nets(max_width=8, min_batch=m, max_batch=m) for m in (1, 7)}


@pytest.mark.parametrize("m", [1, 7])
@pytest.mark.parametrize("lmbda", [0.0, 0.1, 5.0])
@pytest.mark.parametrize("cost_fn", COSTS.values(), ids=COSTS.keys())
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_backprop_matches_central_differences(cost_fn, lmbda, m, data):
    params, batch = data.draw(NETS[m])
    n = 11  # the training-set size that scales the L2 term

    def objective(p: Params) -> float:
        return cost(p, batch.x, batch.y, cost=cost_fn) + l2_penalty(p, lmbda, n)

    grads = tree_map(np.add, backprop(params, batch.x, batch.y, cost_fn),
                     l2_gradient(params, lmbda, n))
    check_gradient(objective, grads, params, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("cost_fn", COSTS.values(), ids=COSTS.keys())
@settings(max_examples=20, deadline=None)
@given(net=fst.nets(min_layers=3, max_layers=4, min_width=20, max_width=40, max_batch=7))
def test_backprop_along_a_random_direction_on_wider_nets(cost_fn, net):
    params, batch = net
    grads = backprop(params, batch.x, batch.y, cost_fn)
    check_directional(lambda p: cost(p, batch.x, batch.y, cost=cost_fn), grads, params,
                      rng=np.random.default_rng(0), rtol=1e-5, atol=1e-7)


@settings(max_examples=30, deadline=None)
@given(net=fst.nets(max_width=8, max_batch=7))
def test_forward_shape_and_trace_agree(net):
    params, batch = net
    out = forward(params, batch.x)
    assert out.shape == (batch.x.shape[0], params.weights[-1].shape[0])
    # evaluation multiplies as (w·aᵀ)ᵀ, training's trace as a·wᵀ: the same sums
    np.testing.assert_allclose(out, trace(params, batch.x).activations[-1], rtol=1e-12,
                               atol=1e-15)
    assert np.all((out >= 0) & (out <= 1))


def test_backprop_is_the_mean_of_per_example_gradients():
    params = init_params([4, 5, 3], seed=1)
    rng = np.random.default_rng(2)
    batch = Batch(rng.random((6, 4)), np.eye(3)[rng.integers(0, 3, 6)])
    for c in COSTS.values():
        whole = backprop(params, batch.x, batch.y, c)
        singles = [backprop(params, batch.x[i:i + 1], batch.y[i:i + 1], c) for i in range(6)]
        mean = tree_map(lambda *gs: sum(gs) / 6, *singles)
        for a, b in zip((*whole.weights, *whole.biases), (*mean.weights, *mean.biases)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
        summed = summed_gradient(params, batch.x, batch.y, c)
        np.testing.assert_allclose(summed.weights[0], 6 * whole.weights[0], rtol=1e-13)


def test_pure_functions_accept_read_only_inputs_and_return_fresh_arrays():
    params = read_only(init_params([3, 4, 2], seed=0))
    x, y = np.ones((5, 3)), np.eye(2)[[0, 1, 0, 1, 1]]
    x.setflags(write=False)
    y.setflags(write=False)
    for c in COSTS.values():
        grads = backprop(params, x, y, c)
        assert shapes(grads) == shapes(params)
        leaves = (*grads.weights, *grads.biases)
        assert not any(np.shares_memory(g, a) for g in leaves
                       for a in (*params.weights, *params.biases, x, y))
    assert cost(params, x, y, cost=COSTS["quadratic"]) > 0


def test_integer_labels_are_the_one_hot_rows_they_name():
    # batch 10 with 10 classes: the shape at which labels used to broadcast silently
    params = init_params([6, 5, 10], seed=3)
    rng = np.random.default_rng(4)
    x, labels = rng.random((10, 6)), rng.integers(0, 10, 10)
    for c in COSTS.values():
        y = one_hot(labels, 10)
        assert cost(params, x, labels, cost=c) == cost(params, x, y, cost=c)
        assert tree_equal(backprop(params, x, labels, c), backprop(params, x, y, c))


@pytest.mark.parametrize(("y", "message"), [
    (np.arange(10.0), ("y must be integer labels (10,) or target rows (10, 10), got float64 "
                       "array of shape (10,)")),
    (np.arange(10).reshape(10, 1), "got int64 array of shape (10, 1)"),
    (np.full(10, 10), "y labels must be in 0..9, got 10 at row 0"),
    (np.arange(9), "got int64 array of shape (9,)"),
])
def test_targets_that_would_broadcast_are_refused(y, message):
    params, x = init_params([6, 10], seed=0), np.ones((10, 6))
    for call in (lambda: cost(params, x, y, cost=COSTS["quadratic"]),
                 lambda: backprop(params, x, y, COSTS["cross_entropy"])):
        with pytest.raises(DataError) as caught:
            call()
        assert message in str(caught.value)


def test_bad_inputs_and_costs_name_the_argument():
    params = init_params([3, 2], seed=0)
    with pytest.raises(DataError, match=r"x must be 2-D \(m, 3\), one example per row, got "
                                        r"shape \(4, 2\)"):
        forward(params, np.ones((4, 2)))
    with pytest.raises(FnnTypeError, match="x must be a numpy array"):
        forward(params, [[0.0, 0.0, 0.0]])
    with pytest.raises(FnnTypeError, match="cost must be an fnn Cost"):
        cost(params, np.ones((1, 3)), np.array([0]), cost="quadratic")


def test_large_sets_run_in_chunks_with_the_same_rows():
    params = init_params([5, 4, 3], seed=1)
    x = np.random.default_rng(0).random((CHUNK_ROWS * 2 + 7, 5))
    whole = trace(params, x).zs[-1]
    np.testing.assert_allclose(output_z(params, x), whole, rtol=1e-13, atol=1e-15)
    assert forward(params, x).shape == (x.shape[0], 3)


SMOOTH = {"sigmoid": SIGMOID, "tanh": TANH}


@pytest.mark.parametrize("activation", SMOOTH.values(), ids=SMOOTH.keys())
@pytest.mark.parametrize("cost_fn", COSTS.values(), ids=COSTS.keys())
@settings(max_examples=20, deadline=None)
@given(net=fst.nets(min_layers=3, max_width=6, max_batch=7))
def test_every_smooth_activation_and_output_cost_pair_matches_finite_differences(
        activation, cost_fn, net):
    params, batch = net
    grads = backprop(params, batch.x, batch.y, cost_fn, activation=activation)
    check_gradient(lambda p: cost(p, batch.x, batch.y, cost=cost_fn, activation=activation),
                   grads, params, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("cost_fn", COSTS.values(), ids=COSTS.keys())
@pytest.mark.parametrize("seed", range(8))
def test_relu_matches_finite_differences_away_from_its_kink(cost_fn, seed):
    rng = np.random.default_rng(seed)
    he = init_params([5, 6, 4, 3], seed=seed, init=fnn.he_init)
    params = he._replace(biases=tuple(rng.normal(size=b.shape) for b in he.biases))
    batch = Batch(rng.normal(size=(7, 5)), np.eye(3)[rng.integers(0, 3, 7)])
    zs = trace(params, batch.x, activation=RELU).zs[:-1]
    assert min(np.abs(z).min() for z in zs) > 1e-5  # no unit within eps of the kink
    grads = backprop(params, batch.x, batch.y, cost_fn, activation=RELU)
    check_gradient(lambda p: cost(p, batch.x, batch.y, cost=cost_fn, activation=RELU),
                   grads, params, rtol=1e-5, atol=1e-7)


def test_mixed_activations_per_hidden_layer():
    params = init_params([4, 5, 5, 2], seed=3)
    batch = Batch(np.random.default_rng(1).normal(size=(6, 4)), np.eye(2)[[0, 1, 1, 0, 1, 0]])
    acts = (TANH, SIGMOID)
    grads = backprop(params, batch.x, batch.y, cross_entropy, activation=acts)
    check_gradient(lambda p: cost(p, batch.x, batch.y, cost=cross_entropy, activation=acts),
                   grads, params)
    with pytest.raises(ConfigError, match="one entry per hidden layer"):
        forward(params, batch.x, activation=(TANH,))


@settings(max_examples=20, deadline=None)
@given(net=fst.nets(min_layers=3, max_width=6, max_batch=7), l1=st.sampled_from([0.1, 5.0]))
def test_l1_penalty_gradient_matches_finite_differences_off_zero(net, l1):
    params, batch = net
    params = tree_map(lambda a: np.where(np.abs(a) < 1e-3, 0.5, a), params)  # off the kink
    n = 13
    grads = tree_map(np.add, backprop(params, batch.x, batch.y, cross_entropy),
                     l1_gradient(params, l1, n))
    check_gradient(lambda p: cost(p, batch.x, batch.y, cost=cross_entropy)
                   + l1_penalty(p, l1, n), grads, params)


@pytest.mark.parametrize("activation", ACTIVATIONS.values(), ids=ACTIVATIONS.keys())
def test_dropout_with_a_fixed_mask_matches_finite_differences(activation):
    rng = np.random.default_rng(4)
    params = init_params([5, 7, 6, 3], seed=2)
    batch = Batch(rng.normal(size=(6, 5)), np.eye(3)[rng.integers(0, 3, 6)])
    masks = dropout_masks(batch, [7, 6], 0.5, np.random.default_rng(9))
    assert {0.0, 2.0} == set(np.unique(np.concatenate([m.ravel() for m in masks])).tolist())
    grads = backprop(params, batch.x, batch.y, log_likelihood, activation=activation,
                     masks=masks)
    check_gradient(lambda p: cost(p, batch.x, batch.y, cost=log_likelihood,
                                  activation=activation, masks=masks), grads, params)
