"""The NumPy engine: what it supports gives run_epoch's bytes; inputs unwritten, outputs fresh."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fnn
from fnn import strategies as fst
from fnn.costs import Cost, cross_entropy, log_likelihood, quadratic
from fnn.data import Batch, one_hot
from fnn.optimizers import momentum
from fnn.params import Params, init_params, tree_equal
from fnn.schedules import halve_on_plateau
from fnn.training import TrainConfig, epoch_streams, make_config, run_epoch
from fnn.training.fastpath import fast_epoch, supports

from .conftest import read_only

DTYPES = (np.float32, np.float64)


@st.composite
def epochs(draw: st.DrawFn) -> tuple[Params, Batch, TrainConfig, int]:
    """(params, data, config, shuffle seed): 2-4 layers of width 1-8, 1-40 examples,
    any batch size, both costs, lmbda 0, 0.1 or 5, float32 or float64. Weights up to
    ±8 and inputs up to ±4 saturate σ, so z ≥ 0 and z < 0, e underflowing and
    subnormals all occur. Shrinks towards the smallest net, one example, batch size 1."""
    dtype = draw(st.sampled_from(DTYPES))
    sizes = draw(fst.layer_sizes(min_layers=2, max_layers=4, max_width=8))
    params = draw(fst.params(sizes, bound=draw(st.sampled_from([0.5, 8.0])), dtype=dtype))
    data = draw(fst.batches(sizes, min_size=1, max_size=40, bound=4.0, dtype=dtype))
    config = make_config(epochs=1, mini_batch_size=draw(st.integers(1, data.x.shape[0])),
                         eta=draw(st.sampled_from([0.5, 3.0, 0.1])),
                         lmbda=draw(st.sampled_from([0.0, 0.1, 5.0])),
                         cost=draw(st.sampled_from([cross_entropy, quadratic])), seed=0)
    return params, data, config, draw(st.integers(0, 2**32 - 1))


ACTIVATIONS = (fnn.SIGMOID, fnn.TANH, fnn.RELU)
COSTS = (cross_entropy, quadratic, log_likelihood)


def jitter(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """A user's own augmentation of any input shape: small noise, drawn per batch."""
    return x + (0.01 * rng.standard_normal(x.shape)).astype(x.dtype)


@st.composite
def optimizers(draw: st.DrawFn) -> fnn.GradientTransformation:
    """One of fnn's four optimizers with drawn settings."""
    eta = draw(st.sampled_from([0.5, 0.1, 3.0, 1e-3]))
    mu = draw(st.sampled_from([0.0, 0.5, 0.9]))
    return draw(st.sampled_from([
        fnn.optimizers.gradient_descent(eta), fnn.optimizers.momentum(eta=eta, mu=mu),
        fnn.optimizers.nesterov(eta=eta, mu=mu),
        fnn.optimizers.adam(eta=eta, beta1=draw(st.sampled_from([0.0, 0.9])),
                            beta2=draw(st.sampled_from([0.5, 0.999])),
                            eps=draw(st.sampled_from([1e-8, 0.1])))]))


@st.composite
def any_epochs(draw: st.DrawFn) -> tuple[Params, object, Batch, TrainConfig, int]:
    """(params, optimizer state, data, config, seed) over every combination the fast path
    supports: an activation per hidden layer, each cost, each optimizer (its state taken a
    few steps in, so moments are not zero), L2, L1, dropout, augmentation, both dtypes."""
    params, data, config, seed = draw(epochs())
    n_hidden = len(params.weights) - 1
    activation = tuple(draw(st.sampled_from(ACTIVATIONS)) for _ in range(n_hidden))
    optimizer = draw(optimizers())
    config = make_config(
        epochs=1, mini_batch_size=config.mini_batch_size, optimizer=optimizer,
        lmbda=config.lmbda, l1=draw(st.sampled_from([0.0, 0.5])),
        activation=activation or fnn.SIGMOID, dropout=draw(st.sampled_from([0.0, 0.0, 0.3])),
        cost=draw(st.sampled_from(COSTS)), seed=draw(st.integers(0, 3)),
        augment=draw(st.sampled_from([None, None, jitter])))
    state = optimizer.init(params)
    rng = np.random.default_rng(seed)
    for _ in range(draw(st.integers(0, 2))):  # a state some steps in
        grads = fnn.tree_map(lambda a: rng.standard_normal(a.shape).astype(a.dtype), params)
        _, state = optimizer.update(grads, state, params)
    return params, state, data, config, seed


def _streams(seed: int, dropout: bool = False):
    return epoch_streams(seed, 0, dropout=dropout)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_epochs())
def test_every_supported_combination_is_bit_identical_to_run_epoch(case):
    params, state, data, config, seed = case
    assert supports(params, data, config)
    dropout = bool(config.dropout)
    augment = config.augment is not None
    fast_streams = epoch_streams(seed, 0, dropout=dropout, augment=augment)
    ref_streams = epoch_streams(seed, 0, dropout=dropout, augment=augment)
    with np.errstate(all="ignore"):  # big steps may overflow; NaN payloads are not compared
        fast = fast_epoch((params, state), data, config, fast_streams)
        ref = run_epoch((params, state), data, config, ref_streams)
    assert tree_equal(fast[0], ref[0]), (fast[0], ref[0])
    assert _states_equal(fast[1], ref[1])
    assert fast_streams.shuffle.bit_generator.state == ref_streams.shuffle.bit_generator.state
    if dropout:
        assert fast_streams.dropout.bit_generator.state == ref_streams.dropout.bit_generator.state
    if augment:
        assert fast_streams.augment.bit_generator.state == ref_streams.augment.bit_generator.state


def _states_equal(a, b) -> bool:
    if isinstance(a, Params):
        return tree_equal(a, b)
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(map(_states_equal, a, b))
    return a == b


def _fast(params, data, config, seed, **kwargs):
    assert supports(params, data, config)
    return fast_epoch((params, ()), data, config, _streams(seed), **kwargs)[0]


def _ref(params, data, config, seed, **kwargs):
    return run_epoch((params, ()), data, config, _streams(seed), **kwargs)[0]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(epochs())
def test_fast_epoch_is_bit_identical_to_run_epoch(case):
    params, data, config, seed = case
    fast_streams, ref_streams = _streams(seed), _streams(seed)
    assert supports(params, data, config)
    fast = fast_epoch((params, ()), data, config, fast_streams)[0]
    ref = run_epoch((params, ()), data, config, ref_streams)[0]
    assert tree_equal(fast, ref), (fast, ref)
    # the shuffle consumed the generator exactly as run_epoch does
    assert fast_streams.shuffle.bit_generator.state == ref_streams.shuffle.bit_generator.state


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("n", "batch"), [(57, 10), (60, 10), (40, 40), (9, 1), (30, 100)])
def test_several_epochs_of_a_wider_net_stay_identical(dtype, n, batch):
    rng = np.random.default_rng(1)
    data = Batch(rng.random((n, 30), dtype=dtype),
                 one_hot(rng.integers(0, 10, n), 10, dtype))
    config = make_config(epochs=3, mini_batch_size=min(batch, n), eta=0.5, lmbda=5.0,
                         cost=cross_entropy, seed=0)
    fast = ref = init_params([30, 20, 15, 10], seed=2, dtype=dtype)
    for epoch in range(3):
        fast = _fast(fast, data, config, epoch)
        ref = _ref(ref, data, config, epoch)
        assert tree_equal(fast, ref)


def _frozen_data(data: Batch) -> Batch:
    x, y = data.x.copy(), data.y.copy()
    x.setflags(write=False)
    y.setflags(write=False)
    return Batch(x, y)


@settings(max_examples=40, deadline=None)
@given(epochs())
def test_read_only_inputs_work_and_stay_unchanged(case):
    params, data, config, seed = case
    frozen, frozen_data = read_only(params), _frozen_data(data)
    fast = _fast(frozen, frozen_data, config, seed)
    assert tree_equal(frozen, params)
    assert frozen_data.x.tobytes() == data.x.tobytes()
    assert frozen_data.y.tobytes() == data.y.tobytes()
    assert tree_equal(fast, _ref(params, data, config, seed))


@settings(max_examples=40, deadline=None)
@given(epochs())
def test_outputs_share_no_memory_with_inputs_or_each_other(case):
    params, data, config, seed = case
    fast = _fast(params, data, config, seed)
    outputs = (*fast.weights, *fast.biases)
    inputs = (*params.weights, *params.biases, data.x, data.y)
    for i, out in enumerate(outputs):
        assert out.flags.writeable and out.flags.c_contiguous
        assert not any(np.shares_memory(out, a) for a in inputs)
        assert not any(np.shares_memory(out, other) for other in outputs[i + 1:])


def _custom_delta(z, a, y):
    return 2.0 * (a - y)


def _reference_case(dtype=np.float64):
    rng = np.random.default_rng(3)
    data = Batch(rng.random((23, 4)).astype(dtype), one_hot(rng.integers(0, 3, 23), 3, dtype))
    return init_params([4, 5, 3], seed=1, dtype=dtype), data


@pytest.mark.parametrize("change", ["unknown cost", "float32 params, float64 data",
                                    "Fortran-ordered weights", "a user's optimizer", "a chain",
                                    "a user's activation"])
def test_what_the_fast_path_does_not_cover_it_says_so(change):
    params, data = _reference_case()
    config = make_config(epochs=1, mini_batch_size=5, eta=0.5, lmbda=5.0, cost=cross_entropy,
                         seed=0)
    if change == "unknown cost":
        config = config._replace(cost=Cost("doubled", cross_entropy.fn, _custom_delta))
    elif change == "float32 params, float64 data":
        params = init_params([4, 5, 3], seed=1, dtype=np.float32)
    elif change == "Fortran-ordered weights":
        params = params._replace(weights=tuple(map(np.asfortranarray, params.weights)))
    elif change == "a user's optimizer":
        config = config._replace(optimizer=fnn.GradientTransformation(
            lambda p: (), lambda g, s, p: (fnn.tree_map(np.negative, g), s)))
    elif change == "a chain":
        config = config._replace(optimizer=fnn.chain(momentum(eta=0.5)))
    else:
        config = config._replace(activation=fnn.Activation("abs", np.abs, lambda z, a: np.sign(z)))
    assert not supports(params, data, config)


def test_batch_size_above_n_is_one_full_batch():
    params, data = _reference_case(np.float32)
    config = make_config(epochs=1, mini_batch_size=1000, eta=0.5, lmbda=0.0,
                         cost=quadratic, seed=0)
    assert tree_equal(_fast(params, data, config, 0), _ref(params, data, config, 0))


def test_settings_between_epochs_keep_the_fast_path():
    params, data = _reference_case()
    config = make_config(epochs=1, mini_batch_size=4, eta=0.5, lmbda=1.0, cost=cross_entropy,
                         seed=0, schedule=halve_on_plateau(patience=3), early_stop=2)
    assert tree_equal(_fast(params, data, config, 0), _ref(params, data, config, 0))


@pytest.mark.parametrize(("n", "batch"), [(23, 4), (23, 1), (500, 2), (7, 7)])
def test_progress_is_reported_as_run_epoch_reports_it(n, batch):
    params, _ = _reference_case()
    rng = np.random.default_rng(4)
    data = Batch(rng.random((n, 4)), one_hot(rng.integers(0, 3, n), 3))
    config = make_config(epochs=1, mini_batch_size=batch, eta=0.5, cost=quadratic, seed=0)
    fast_calls, ref_calls = [], []
    _fast(params, data, config, 0, progress=lambda *a: fast_calls.append(a))
    _ref(params, data, config, 0, progress=lambda *a: ref_calls.append(a))
    assert fast_calls == ref_calls


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cost", [cross_entropy, quadratic], ids=["cross_entropy", "quadratic"])
def test_the_reference_settings_take_the_fast_path(dtype, cost):
    params, data = _reference_case(dtype)
    config = make_config(epochs=1, mini_batch_size=10, eta=0.5, lmbda=5.0, seed=0, cost=cost)
    assert supports(params, data, config)
    assert _fast(params, data, config, 0).weights[0].dtype == dtype
