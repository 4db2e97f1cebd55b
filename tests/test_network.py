from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fnn import strategies as fst
from fnn.costs import COSTS, l2_gradient, l2_penalty
from fnn.data import Batch
from fnn.gradcheck import check_directional, check_gradient
from fnn.network import backprop, cost, forward, summed_gradient, trace
from fnn.params import Params, init_params, shapes, tree_map

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
    np.testing.assert_array_equal(out, trace(params, batch.x).activations[-1])
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
