from __future__ import annotations

import numpy as np
import pytest

import fnn
from fnn.errors import ConfigError, FnnTypeError
from fnn.params import (
    Params,
    as_params,
    check_params,
    default_init,
    he_init,
    init_params,
    large_init,
    shapes,
    sizes_of,
    tree_equal,
    tree_map,
    zeros_like,
)
from fnn.registry import INITIALIZERS


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
    large = init_params([400, 300], seed=1, init=large_init)
    assert large.weights[0].std() == pytest.approx(1.0, rel=0.01)


def test_schemes_share_the_stream_but_not_the_scale():
    d, g = init_params([4, 3], seed=5), init_params([4, 3], seed=5, init=large_init)
    np.testing.assert_array_equal(d.weights[0] * 2.0, g.weights[0])  # sqrt(4) = 2 exactly
    np.testing.assert_array_equal(d.biases[0], g.biases[0])
    assert set(INITIALIZERS) == {"default", "large", "he"}
    assert INITIALIZERS["he"] is he_init
    he = init_params([800, 300], seed=5, init=he_init)
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


def test_the_deprecated_scheme_name_still_draws_the_same_params():
    with pytest.warns(DeprecationWarning, match="init=fnn.default_init"):
        named = init_params([4, 3], seed=2, scheme="he")
    assert tree_equal(named, init_params([4, 3], seed=2, init=he_init))
    assert tree_equal(init_params([4, 3], seed=2, init=default_init), init_params([4, 3], seed=2))


def test_a_user_initializer_is_a_value_too():
    ones = fnn.Initializer("ones", lambda rng, n_out, n_in: (np.ones((n_out, n_in)),
                                                              np.zeros(n_out)))
    p = init_params([2, 3], seed=0, init=ones)
    assert p.weights[0].tolist() == [[1.0, 1.0]] * 3
    with pytest.raises(FnnTypeError, match="init must be an fnn Initializer"):
        init_params([2, 3], seed=0, init="ones")


def test_any_weights_biases_pair_is_params_without_copying():
    w, b = np.ones((2, 3)), np.zeros(2)
    for pair in ((w,), (b,)), [[w], [b]], Params([w], [b]):
        tree = as_params(pair)
        assert type(tree) is Params and type(tree.weights) is tuple
        assert tree.weights[0] is w and tree.biases[0] is b
    canonical = Params((w,), (b,))
    assert as_params(canonical) is canonical


@pytest.mark.parametrize(("value", "error", "message"), [
    ("wb", FnnTypeError, ("params must be a (weights, biases) pair of sequences of numpy "
                          "arrays, got a str")),
    ((np.ones((2, 3)),), FnnTypeError, "got a tuple of 1"),
    ((np.ones((2, 3)), np.zeros(2)), FnnTypeError, "got a pair of ndarray and ndarray"),
    (([np.ones((2, 3))], [[0.0, 0.0]]), FnnTypeError, "got a leaf of type list"),
    (([], []), FnnTypeError, "got no layers"),
    (([np.ones((2, 3))], [np.zeros(3)]), ConfigError,
     "params have inconsistent layer shapes: weights ((2, 3),), biases ((3,),)"),
    (([np.ones((2, 3)), np.ones((1, 3))], [np.zeros(2), np.zeros(1)]), ConfigError,
     "inconsistent layer shapes"),
    (([np.ones((2, 3))], [np.zeros(2), np.zeros(1)]), ConfigError, "inconsistent layer shapes"),
    (([np.ones((2, 3), np.float32)], [np.zeros(2)]), ConfigError,
     "all float32 or all float64, got ['float32', 'float64']"),
    (([np.ones((2, 3), int)], [np.zeros(2, int)]), ConfigError, "got ['int64']"),
])
def test_malformed_params_name_the_argument_and_what_came(value, error, message):
    with pytest.raises(error) as caught:
        as_params(value)
    assert message in str(caught.value)


def test_check_params_also_refuses_non_finite_values():
    bad = ([np.array([[np.nan]])], [np.zeros(1)])
    as_params(bad)  # structure only
    with pytest.raises(ConfigError, match="weights contain NaN or inf"):
        check_params(bad, "weights")


def test_tree_helpers_take_plain_pairs():
    p = init_params([3, 2], seed=0)
    pair = (list(p.weights), list(p.biases))
    assert shapes(pair) == shapes(p) and sizes_of(pair) == (3, 2)
    assert tree_equal(pair, p) and tree_equal(zeros_like(pair), zeros_like(p))
    assert tree_equal(tree_map(np.negative, pair), tree_map(np.negative, p))
