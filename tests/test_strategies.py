from __future__ import annotations

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from fnn import strategies as fst
from fnn.activations import RELU, TANH, Activation
from fnn.errors import ConfigError, FnnTypeError
from fnn.network import trace
from fnn.params import shapes, tree_equal

from .conftest import read_only


@settings(max_examples=50, deadline=None)
@given(sizes=fst.layer_sizes(min_layers=3, max_layers=5, min_width=2, max_width=7))
def test_layer_sizes_respect_bounds(sizes):
    assert 3 <= len(sizes) <= 5 and all(2 <= s <= 7 for s in sizes)


@settings(max_examples=50, deadline=None)
@given(net=fst.nets(max_width=6, min_batch=2, max_batch=5))
def test_nets_are_consistent_finite_and_bounded(net):
    params, batch = net
    sizes = (params.weights[0].shape[1], *(w.shape[0] for w in params.weights))
    assert shapes(params) == (tuple((o, i) for i, o in zip(sizes[:-1], sizes[1:])),
                              tuple((o,) for o in sizes[1:]))
    assert 2 <= batch.x.shape[0] <= 5 and batch.x.shape[1] == sizes[0]
    leaves = (*params.weights, *params.biases)
    assert all(np.isfinite(a).all() and np.abs(a).max(initial=0) <= 2.0 for a in leaves)
    assert np.abs(batch.x).max() <= 1.0
    np.testing.assert_array_equal(batch.y.sum(axis=1), 1.0)


@settings(max_examples=20, deadline=None)
@given(params=fst.params((3, 2), dtype=np.float32, bound=0.5))
def test_float32_params(params):
    assert params.weights[0].dtype == np.float32 and np.abs(params.weights[0]).max() <= 0.5


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: fst.layer_sizes(min_layers=1), ConfigError, "min_layers must be >= 2"),
    (lambda: fst.layer_sizes(min_layers=4, max_layers=3), ConfigError,
     "min_layers must be <= max_layers, got 4 > 3"),
    (lambda: fst.layer_sizes(max_width=0), ConfigError, "max_width must be an int >= 1, got 0"),
    (lambda: fst.layer_sizes(max_width=2.5), FnnTypeError, "max_width must be an int >= 1"),
    (lambda: fst.batches((2, 2), max_size=0), ConfigError, "max_size must be an int >= 1"),
    (lambda: fst.params((2, 2), bound=float("inf")), ConfigError, "bound must be a finite number"),
])
def test_bad_bounds_raise_at_once(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --------------------------------------------------------------------------- away from kinks

HARD_TANH = Activation("hard_tanh", lambda z: np.clip(z, -1.0, 1.0),
                       lambda z, a: ((z > -1.0) & (z < 1.0)).astype(z.dtype))


@pytest.mark.parametrize(("activation", "kinks", "expected"), [
    (RELU, None, (0.0,)), (HARD_TANH, (1.0, -1.0), (-1.0, 1.0)), ((RELU, TANH), None, (0.0,)),
])
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_nets_keep_every_hidden_pre_activation_off_the_kinks(activation, kinks, expected, data):
    params, batch = data.draw(fst.nets(max_width=8, max_batch=7, activation=activation,
                                       kinks=kinks, margin=0.01))
    zs = trace(params, batch.x, activation=activation).zs[:-1]
    assert all(np.abs(z - k).min() >= 0.01 for z in zs for k in expected)
    if not isinstance(activation, Activation):  # one per hidden layer: always 2 of them
        assert len(params.weights) == 3


@settings(max_examples=50, deadline=None)
@given(net=fst.nets(max_width=6, max_batch=7), margin=st.sampled_from([1e-3, 0.1]))
def test_off_kinks_moves_only_hidden_biases_and_only_as_far_as_needed(net, margin):
    params, batch = net
    frozen = read_only(params)
    moved = fst.off_kinks(frozen, batch.x, margin=margin)
    assert tree_equal(frozen, params)  # pure
    assert all(a is b for a, b in zip(moved.weights, frozen.weights))
    assert moved.biases[-1] is frozen.biases[-1]
    most = 2 * batch.x.shape[0] * margin * (1 + 1e-6)
    assert all(np.abs(b1 - b0).max() <= most for b0, b1 in zip(params.biases, moved.biases))
    zs = trace(moved, batch.x, activation=RELU).zs[:-1]
    assert all(np.abs(z).min() >= margin for z in zs)


SMALLEST = settings(database=None, phases=[Phase.generate, Phase.shrink])


def test_the_smallest_net_off_the_kink_has_biases_of_margin_on_the_positive_side():
    params, batch = find(fst.nets(activation=RELU), lambda net: True, settings=SMALLEST)
    assert [b.tolist() for b in params.biases] == [[0.0]]  # 2 layers: no hidden unit
    params, batch = find(fst.nets(activation=RELU, min_layers=3), lambda net: True,
                         settings=SMALLEST)
    assert params.biases[0].tolist() == pytest.approx([1e-3], rel=1e-5)
    assert not any(a.any() for a in (*params.weights, params.biases[1], batch.x))


def test_nets_without_kinks_draw_as_before():
    params, batch = find(fst.nets(activation=TANH), lambda net: True, settings=SMALLEST)
    assert not any(a.any() for a in (*params.weights, *params.biases, batch.x))


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: fst.nets(margin=0.0), ConfigError, "margin must be a finite number > 0, got 0.0"),
    (lambda: fst.nets(activation="relu"), FnnTypeError, "activation must be an fnn Activation"),
    (lambda: fst.nets(activation=RELU, kinks=0.0), FnnTypeError, "kinks must be a sequence"),
    (lambda: fst.nets(activation=RELU, kinks=(float("nan"),)), ConfigError,
     "kinks must be a finite number"),
    (lambda: fst.nets(activation=(RELU, TANH), max_layers=5), ConfigError,
     r"activation has one entry per hidden layer, so nets have 4 layers, got \{'max_layers': 5\}"),
    (lambda: fst.nets(min_batch=3, max_batch=2), ConfigError, "min_batch must be <= max_batch"),
    (lambda: fst.off_kinks(([np.ones((1, 1))], [np.ones(1)]), np.ones((1, 1)), margin=-1),
     ConfigError, "margin must be a finite number > 0"),
])
def test_bad_kink_settings_raise_at_once(call, error, message):
    with pytest.raises(error, match=message):
        call()
