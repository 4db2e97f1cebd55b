from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from fnn import strategies as fst
from fnn.errors import ConfigError, FnnTypeError
from fnn.params import shapes


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
