from __future__ import annotations

import numpy as np
import pytest

import fnn
from fnn.activations import (
    RELU,
    SIGMOID,
    TANH,
    get_activation,
    log_softmax,
    per_layer,
    sigmoid,
    sigmoid_prime,
    softmax,
)
from fnn.errors import ConfigError, FnnTypeError
from fnn.registry import ACTIVATIONS


def test_sigmoid_matches_expit_to_1e15_relative():
    expit = pytest.importorskip("scipy.special", reason="scipy is not installed (the comparison "
                                "with scipy.special.expit; pip install scipy)").expit
    z = np.concatenate([np.linspace(-745, 745, 200_001), [-1e300, 1e300, -1e-300, 0.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        got, want = sigmoid(z), expit(z)
    where = want >= 1e-300
    np.testing.assert_allclose(got[where], want[where], rtol=1e-15, atol=0)


def test_sigmoid_extremes_raise_no_floating_point_error():
    z = np.array([-np.inf, -1e308, -1000.0, -745.2, 0.0, 745.2, 1000.0, 1e308, np.inf])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        s, d = sigmoid(z), sigmoid_prime(z)
    assert s.tolist()[0] == 0.0 and s.tolist()[-1] == 1.0 and s[4] == 0.5
    assert np.all((s >= 0) & (s <= 1)) and np.all(np.isfinite(d)) and np.all(d >= 0)
    assert d[4] == 0.25 and d[0] == 0.0 and d[-1] == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_keeps_dtype_and_prime_is_s_of_z_times_s_of_minus_z(dtype):
    # σ' = σ(z)σ(-z): the same quantity as σ(1 - σ), without cancellation in 1 - σ
    z = np.linspace(-30, 30, 121).astype(dtype)
    assert sigmoid(z).dtype == dtype and sigmoid_prime(z).dtype == dtype
    np.testing.assert_allclose(sigmoid_prime(z), sigmoid(z) * sigmoid(-z),
                               rtol=1e-6 if dtype == np.float32 else 1e-14, atol=0)


def test_sigmoid_does_not_write_its_input():
    z = np.array([-2.0, 3.0])
    z.setflags(write=False)
    sigmoid(z)
    sigmoid_prime(z)
    assert z.tolist() == [-2.0, 3.0]


def test_softmax_and_log_softmax_are_stable_and_consistent():
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        s, ls = softmax(z), log_softmax(z)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(np.exp(ls[1]), s[1], rtol=1e-15)
    assert ls[0].tolist() == [0.0, -1000.0, -2000.0]


def test_one_activation_or_one_per_hidden_layer():
    assert per_layer(RELU, 3) == (RELU, RELU, RELU)
    assert per_layer([TANH, SIGMOID], 2) == (TANH, SIGMOID)
    with pytest.raises(ConfigError, match=r"one entry per hidden layer \(2\), got \['tanh'\]"):
        per_layer((TANH,), 2)
    with pytest.raises(FnnTypeError, match="activation must be an fnn Activation"):
        per_layer("relu", 1)


def test_the_registry_names_each_activation_and_the_old_lookup_warns():
    assert ACTIVATIONS == {"sigmoid": SIGMOID, "tanh": TANH, "relu": RELU}
    with pytest.warns(DeprecationWarning, match="fnn.registry.activation"):
        assert get_activation("tanh") is TANH
    with pytest.warns(DeprecationWarning, match="fnn.ACTIVATIONS is deprecated"):
        assert fnn.ACTIVATIONS["relu"] is RELU
