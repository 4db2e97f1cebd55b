"""Labels as loaders return them, into cost, backprop and sgd_step (issue 12, fourth point).

fnn 0.1 broadcast a vector of labels (m,) against the (m, n_out) outputs when the batch size
equaled the number of classes: a wrong cost and no error. Now integer labels give exactly what
their one-hot rows give, and a float (or bool) vector is refused, whatever the sizes. The
``labels`` fuzz target checks the same for any bytes; these are the properties.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn.data import one_hot
from fnn.errors import DataError
from fnn.params import init_params, tree_equal


@st.composite
def cases(draw, *, same: bool):
    """(params, x, integer labels): m examples of n_out classes; ``same``: m == n_out."""
    n_out = draw(st.integers(1, 8))
    m = n_out if same else draw(st.integers(1, 8))
    sizes = [draw(st.integers(1, 5)), *draw(st.lists(st.integers(1, 5), max_size=2)), n_out]
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dtype = draw(st.sampled_from([np.int64, np.int32, np.uint8, np.int16]))
    labels = draw(st.lists(st.integers(0, n_out - 1), min_size=m, max_size=m))
    return (init_params(sizes, seed=seed), rng.random((m, sizes[0])),
            np.array(labels, dtype=dtype))


CALLS = {
    "cost": lambda p, x, y: fnn.cost(p, x, y, cost=fnn.cross_entropy),
    "backprop": lambda p, x, y: fnn.backprop(p, x, y, fnn.quadratic),
    "sgd_step": lambda p, x, y: fnn.sgd_step(p, (x, y), eta=0.5, lmbda=1.0, n=20,
                                             cost=fnn.cross_entropy),
}


def _equal(a, b) -> bool:
    return tree_equal(a, b) if isinstance(a, tuple) else a == b


@pytest.mark.parametrize("name", CALLS)
@settings(max_examples=60, deadline=None)
@given(case=st.one_of(cases(same=True), cases(same=False)))
def test_integer_labels_give_exactly_what_their_one_hot_rows_give(name, case):
    params, x, labels = case
    n_out = params.weights[-1].shape[0]
    call = CALLS[name]
    assert _equal(call(params, x, labels), call(params, x, one_hot(labels, n_out)))


@pytest.mark.parametrize("name", CALLS)
@settings(max_examples=60, deadline=None)
@given(case=cases(same=True), dtype=st.sampled_from([np.float64, np.float32, np.bool_]))
def test_a_vector_of_floats_or_bools_is_refused_when_m_equals_the_classes(name, case, dtype):
    params, x, labels = case
    with pytest.raises(DataError, match=r"must be integer labels \(\d+,\) or target rows"):
        CALLS[name](params, x, labels.astype(dtype))


@pytest.mark.parametrize("name", CALLS)
@settings(max_examples=30, deadline=None)
@given(case=cases(same=False), bad=st.sampled_from([-1, 10**6]))
def test_labels_outside_the_classes_are_refused_naming_the_row(name, case, bad):
    params, x, labels = case
    labels = labels.astype(np.int64)
    labels[-1] = bad
    with pytest.raises(DataError, match=rf"labels must be in 0\.\.\d+, got {bad} at row "
                                        rf"{len(labels) - 1}"):
        CALLS[name](params, x, labels)
