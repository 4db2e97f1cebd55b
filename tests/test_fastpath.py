"""fast_epoch gives run_epoch's bytes, never writes its inputs and returns fresh arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fnn import strategies as fst
from fnn.costs import Cost, cross_entropy, quadratic
from fnn.data import Batch, one_hot
from fnn.errors import ConfigError
from fnn.fastpath import fast_epoch
from fnn.params import Params, init_params, tree_equal
from fnn.training import TrainConfig, make_config, masks_rng_for, run_epoch

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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(epochs())
def test_fast_epoch_is_bit_identical_to_run_epoch(case):
    params, data, config, seed = case
    fast_rng, ref_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    fast = fast_epoch(params, data, config, fast_rng)
    ref = run_epoch(params, data, config, ref_rng)
    assert tree_equal(fast, ref), (fast, ref)
    # the shuffle consumed the generator exactly as run_epoch does
    assert fast_rng.bit_generator.state == ref_rng.bit_generator.state


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("n", "batch"), [(57, 10), (60, 10), (40, 40), (9, 1), (30, 100)])
def test_several_epochs_of_a_wider_net_stay_identical(dtype, n, batch):
    rng = np.random.default_rng(1)
    data = Batch(rng.random((n, 30), dtype=dtype),
                 one_hot(rng.integers(0, 10, n), 10, dtype))
    config = make_config(epochs=3, mini_batch_size=min(batch, n), eta=0.5, lmbda=5.0,
                         cost="cross_entropy", seed=0)
    fast = ref = init_params([30, 20, 15, 10], seed=2, dtype=dtype)
    for epoch in range(3):
        fast = fast_epoch(fast, data, config, np.random.default_rng(epoch))
        ref = run_epoch(ref, data, config, np.random.default_rng(epoch))
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
    fast = fast_epoch(frozen, frozen_data, config, np.random.default_rng(seed))
    assert tree_equal(frozen, params)
    assert frozen_data.x.tobytes() == data.x.tobytes()
    assert frozen_data.y.tobytes() == data.y.tobytes()
    assert tree_equal(fast, run_epoch(params, data, config, np.random.default_rng(seed)))


@settings(max_examples=40, deadline=None)
@given(epochs())
def test_outputs_share_no_memory_with_inputs_or_each_other(case):
    params, data, config, seed = case
    fast = fast_epoch(params, data, config, np.random.default_rng(seed))
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
                                    "Fortran-ordered weights", "numpy scalar eta"])
def test_cases_off_the_fast_path_give_run_epochs_result(change):
    params, data = _reference_case()
    config = make_config(epochs=1, mini_batch_size=5, eta=0.5, lmbda=5.0, cost=cross_entropy,
                         seed=0)
    if change == "unknown cost":
        config = config._replace(cost=Cost("doubled", cross_entropy.fn, _custom_delta))
    elif change == "float32 params, float64 data":
        params = init_params([4, 5, 3], seed=1, dtype=np.float32)
    elif change == "Fortran-ordered weights":
        params = params._replace(weights=tuple(map(np.asfortranarray, params.weights)))
    else:
        config = config._replace(eta=np.float64(0.5))
    fast = fast_epoch(params, data, config, np.random.default_rng(0))
    ref = run_epoch(params, data, config, np.random.default_rng(0))
    assert tree_equal(fast, ref)


def test_batch_size_above_n_is_one_full_batch():
    params, data = _reference_case(np.float32)
    config = make_config(epochs=1, mini_batch_size=1000, eta=0.5, lmbda=0.0,
                         cost=quadratic, seed=0)
    fast = fast_epoch(params, data, config, np.random.default_rng(0))
    assert tree_equal(fast, run_epoch(params, data, config, np.random.default_rng(0)))


@pytest.mark.parametrize("settings", [
    {"schedule": "halve:3", "early_stop": 2},  # act between epochs: fast path, same bytes
    {"activation": "tanh"}, {"l1": 0.5}, {"dropout": 0.25},  # off the fast path
    {"cost": "log_likelihood"},
], ids=str)
def test_other_training_settings_give_run_epochs_result(settings):
    params, data = _reference_case()
    config = make_config(**{"epochs": 1, "mini_batch_size": 4, "eta": 0.5, "lmbda": 1.0,
                            "cost": "cross_entropy", "seed": 0, **settings})
    fast = fast_epoch(params, data, config, np.random.default_rng(0),
                      masks_rng=masks_rng_for(config, 0))
    ref = run_epoch(params, data, config, np.random.default_rng(0),
                    masks_rng=masks_rng_for(config, 0))
    assert tree_equal(fast, ref)


def test_another_optimizer_is_refused_as_run_epoch_refuses_it():
    params, data = _reference_case()
    config = make_config(epochs=1, mini_batch_size=4, eta=0.5, cost="quadratic", seed=0,
                         optimizer="momentum")
    with pytest.raises(ConfigError, match="run_epoch runs plain SGD"):
        fast_epoch(params, data, config, np.random.default_rng(0))


@pytest.mark.parametrize(("n", "batch"), [(23, 4), (23, 1), (500, 2), (7, 7)])
def test_progress_is_reported_as_run_epoch_reports_it(n, batch):
    params, _ = _reference_case()
    rng = np.random.default_rng(4)
    data = Batch(rng.random((n, 4)), one_hot(rng.integers(0, 3, n), 3))
    config = make_config(epochs=1, mini_batch_size=batch, eta=0.5, cost="quadratic", seed=0)
    fast_calls, ref_calls = [], []
    fast_epoch(params, data, config, np.random.default_rng(0),
               progress=lambda *a: fast_calls.append(a))
    run_epoch(params, data, config, np.random.default_rng(0),
              progress=lambda *a: ref_calls.append(a))
    assert fast_calls == ref_calls


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("settings", [{"cost": "cross_entropy"}, {"cost": "quadratic"},
                                      {"cost": "cross_entropy", "schedule": "halve:2"}], ids=str)
def test_the_reference_settings_take_the_fast_path(monkeypatch, dtype, settings):
    def refuse(*args, **kwargs):
        raise AssertionError("fell back to run_epoch")

    monkeypatch.setattr("fnn.training.run_epoch", refuse)
    params, data = _reference_case(dtype)
    config = make_config(epochs=1, mini_batch_size=10, eta=0.5, lmbda=5.0, seed=0, **settings)
    assert fast_epoch(params, data, config, np.random.default_rng(0)).weights[0].dtype == dtype
