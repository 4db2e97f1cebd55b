from __future__ import annotations

import numpy as np
import pytest

from fnn.params import (
    INITIALIZERS,
    Params,
    init_params,
    shapes,
    sizes_of,
    tree_equal,
    tree_map,
    zeros_like,
)


@pytest.mark.parametrize("sizes", [(1, 1), (784, 30, 10), (3, 5, 4, 2, 1)])
def test_init_shapes_follow_sizes(sizes):
    p = init_params(sizes, seed=0)
    assert sizes_of(p) == sizes
    assert shapes(p) == (tuple((o, i) for i, o in zip(sizes[:-1], sizes[1:])),
                         tuple((o,) for o in sizes[1:]))
    assert isinstance(p.weights, tuple) and isinstance(p.biases, tuple)


def test_default_scheme_scales_weights_by_root_fan_in():
    p = init_params([400, 300], seed=1)
    # 120,000 draws of N(0, 1/400): the sample std is 0.05 to well within 1%
    assert p.weights[0].std() == pytest.approx(0.05, rel=0.01)
    assert p.biases[0].std() == pytest.approx(1.0, rel=0.15)
    large = init_params([400, 300], seed=1, scheme="large")
    assert large.weights[0].std() == pytest.approx(1.0, rel=0.01)


def test_schemes_share_the_stream_but_not_the_scale():
    d, g = init_params([4, 3], seed=5), init_params([4, 3], seed=5, scheme="large")
    np.testing.assert_array_equal(d.weights[0] * 2.0, g.weights[0])  # sqrt(4) = 2 exactly
    np.testing.assert_array_equal(d.biases[0], g.biases[0])
    assert set(INITIALIZERS) == {"default", "large", "he"}
    he = init_params([800, 300], seed=5, scheme="he")
    assert he.weights[0].std() == pytest.approx(np.sqrt(2 / 800), rel=0.01)
    assert not he.biases[0].any()


def test_same_seed_same_bytes_other_seed_differs():
    assert tree_equal(init_params([5, 4, 3], seed=7), init_params([5, 4, 3], seed=7))
    assert not tree_equal(init_params([5, 4, 3], seed=7), init_params([5, 4, 3], seed=8))
    ss = np.random.SeedSequence(7)
    assert tree_equal(init_params([5, 4, 3], seed=ss), init_params([5, 4, 3], seed=7))


def test_float32_is_the_rounded_float64_draw():
    p64 = init_params([6, 5, 2], seed=3)
    p32 = init_params([6, 5, 2], seed=3, dtype=np.float32)
    assert all(w.dtype == np.float32 for w in (*p32.weights, *p32.biases))
    assert tree_equal(p32, tree_map(lambda a: a.astype(np.float32), p64))


def test_init_leaves_global_random_state_alone():
    before = np.random.get_state()[1].copy()
    init_params([3, 2], seed=0)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_tree_helpers():
    p = init_params([3, 2, 2], seed=0)
    z = zeros_like(p)
    assert shapes(z) == shapes(p) and all(not a.any() for a in (*z.weights, *z.biases))
    doubled = tree_map(np.add, p, p)
    np.testing.assert_array_equal(doubled.biases[1], 2 * p.biases[1])
    neg_zero = Params((np.array([[-0.0]]),), (np.array([0.0]),))
    pos_zero = Params((np.array([[0.0]]),), (np.array([0.0]),))
    assert not tree_equal(neg_zero, pos_zero)  # equality is bitwise
    assert not tree_equal(p, init_params([3, 2], seed=0))
    assert not tree_equal(pos_zero, tree_map(lambda a: a.astype(np.float32), pos_zero))
