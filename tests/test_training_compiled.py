"""The compiled epoch (numba): NumPy's results within TOLERANCE, and its own bits every time."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

import fnn
from fnn.data import Batch
from fnn.errors import ConfigError, NonFiniteError
from fnn.params import Params, init_params, tree_equal
from fnn.training import compiled, engines, epoch_streams, make_config
from fnn.training.fastpath import fast_epoch

from .test_training_fastpath import any_epochs

pytestmark = pytest.mark.skipif(not compiled.available(),
                                reason="numba is not installed (pip install 'fnn[jit]')")


def _leaves(tree: Params) -> list[np.ndarray]:
    return [*tree.weights, *tree.biases]


def _relative_gap(a: Params, b: Params) -> float:
    scale = max(float(np.abs(x).max()) for x in _leaves(b)) or 1.0
    return max(float(np.abs(x - y).max()) for x, y in zip(_leaves(a), _leaves(b))) / scale


def _generic(tree: Params, seed: int) -> Params:
    """``tree`` nudged by noise of 1% of its scale: no weight exactly 0 and no exact symmetry.

    Rounding differences are amplified without bound where the objective has a kink — sgn w
    of L1 at w = 0, ReLU' at z = 0 — so a weight that rounding leaves at -1e-9 rather than 0
    gets a kick of η·λ₁/n the other way. Hypothesis finds such points (zero weights, mirrored
    units); training from an initialisation does not land on them (a zero of probability 0).
    """
    rng = np.random.default_rng(seed)
    return fnn.tree_map(lambda a: (a + 0.01 * (1.0 + np.abs(a).max()) * rng.standard_normal(
        a.shape)).astype(a.dtype), tree)


SATURATED = 1e-3
"""A unit whose derivative is below this fraction of its peak is saturated (|z| > 4.1 for
tanh, > 9 for sigmoid): there σ'(z) = 1 − t² or s(1 − s) is a difference of nearly equal
numbers, so one ulp of t (the two engines' tanh and exp differ by up to one or two) changes
σ' by ε/(1 − t²) relative — 5% per ulp in float32 at t = 0.9999994 — and Adam, which divides
each gradient by its own magnitude, turns that into a step-sized difference. Neither engine
is wrong there: the digits are not in float32. TOLERANCE is a claim about the other nets."""


def _well_conditioned(params: Params, data: Batch, config) -> bool:
    """No saturated unit (see SATURATED) on ``data`` at the start of the epoch."""
    hidden = len(params.weights) - 1
    acts = ((config.activation,) * hidden if isinstance(config.activation, fnn.Activation)
            else config.activation)
    layers = [(act.fn, act.prime if act.name in ("sigmoid", "tanh") else None) for act in acts]
    quadratic = config.cost.name == "quadratic"  # (a − y)·σ'(z): the output layer's σ' too
    layers.append((config.cost.output, (lambda z, a: a * (1 - a)) if quadratic else None))
    a = data.x.astype(np.float64)
    for w, b, (fn, prime) in zip(params.weights, params.biases, layers):
        z = a @ w.T.astype(np.float64) + b
        a = fn(z)
        if prime is not None:
            peak = float(prime(np.zeros(1), fn(np.zeros(1)))[0])
            if (prime(z, a) < SATURATED * peak).any():
                return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_epochs())
def test_every_combination_agrees_with_numpy_within_the_tolerance(case):
    params, state, data, config, seed = case
    params = _generic(params, seed)
    assert compiled.supports(params, data, config)
    assume(_well_conditioned(params, data, config))
    dropout = bool(config.dropout)
    with np.errstate(all="ignore"):
        augment = config.augment is not None
        ours = compiled.compiled_epoch((params, state), data, config, epoch_streams(
            seed, 0, dropout=dropout, augment=augment))
        numpy = fast_epoch((params, state), data, config, epoch_streams(
            seed, 0, dropout=dropout, augment=augment))
    finite = all(np.isfinite(a).all() for a in _leaves(numpy[0]))
    if finite and max(float(np.abs(a).max()) for a in _leaves(numpy[0])) < 1e6:
        assert _relative_gap(ours[0], numpy[0]) <= compiled.TOLERANCE[data.x.dtype.name]


def _workload(dtype=np.float64, n=300):
    rng = np.random.default_rng(0)
    x = rng.random((n, 20)).astype(dtype)
    return init_params([20, 8, 6, 5], seed=0, dtype=dtype), Batch(x, np.eye(5, dtype=dtype)[
        rng.integers(0, 5, n)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("extra", [{}, {"dropout": 0.3, "activation": fnn.RELU},
                                   {"optimizer": fnn.optimizers.adam(eta=0.01), "l1": 0.5}],
                         ids=["network2", "relu-dropout", "adam-l1"])
def test_the_compiled_epoch_gives_the_same_bytes_every_time_and_by_the_batch(dtype, extra):
    params, data = _workload(dtype)
    kwargs = {"eta": 0.5, **extra} if "optimizer" not in extra else extra
    config = make_config(epochs=1, mini_batch_size=7, lmbda=5.0, cost=fnn.cross_entropy,
                         seed=0, **kwargs)
    state = config.optimizer.init(params)
    dropout = bool(config.dropout)
    runs = [compiled.compiled_epoch((params, state), data, config,
                                    epoch_streams(3, 1, dropout=dropout)) for _ in range(2)]
    assert tree_equal(runs[0][0], runs[1][0])
    *_, last = compiled.compiled_steps((params, state), data, config,
                                       epoch_streams(3, 1, dropout=dropout))
    assert tree_equal(last[0], runs[0][0])  # one batch per call: the same arithmetic
    progress = []
    with_progress = compiled.compiled_epoch((params, state), data, config,
                                            epoch_streams(3, 1, dropout=dropout),
                                            progress=lambda *a: progress.append(a))
    assert tree_equal(with_progress[0], runs[0][0]) and progress[-1] == (43, 43)


def test_training_chooses_the_compiled_epoch_by_default_and_obeys_jit():
    params, data = _workload()
    config = make_config(epochs=1, mini_batch_size=7, eta=0.5, cost=fnn.cross_entropy, seed=0)
    assert engines.choose(params, data, config) is engines.NUMBA
    assert engines.choose(params, data, config._replace(jit=False)) is engines.NUMPY
    user = config._replace(optimizer=fnn.chain(fnn.optimizers.momentum(eta=0.1)), jit=None)
    assert engines.choose(params, data, user) is engines.REFERENCE
    with pytest.raises(ConfigError, match="jit=True, but the compiled epoch covers"):
        engines.choose(params, data, user._replace(jit=True))


def test_jit_true_without_numba_says_how_to_install_it(monkeypatch):
    params, data = _workload()
    monkeypatch.setattr(compiled, "available", lambda: False)
    config = make_config(epochs=1, mini_batch_size=7, eta=0.5, cost=fnn.cross_entropy, seed=0,
                         jit=True)
    with pytest.raises(ConfigError, match=r"numba is not installed \(pip install 'fnn\[jit\]'\)"):
        engines.choose(params, data, config)
    assert engines.choose(params, data, config._replace(jit=None)) is engines.NUMPY


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_divergence_is_located_on_the_compiled_path_too():
    params, data = _workload()
    with pytest.raises(NonFiniteError, match=r"epoch 0, mini-batch \d+") as info:
        fnn.sgd(params, (data.x, data.y), epochs=2, mini_batch_size=10, eta=1e308, lmbda=5.0,
                cost=fnn.cross_entropy, seed=0, jit=True)
    assert all(np.isfinite(a).all() for a in _leaves(info.value.params))


_COMPILE_AND_REPORT = """
import sys, numpy as np, fnn
from fnn.training import compiled, epoch_streams, make_config, _kernel
x = np.random.default_rng(0).random((40, 6)).astype(sys.argv[1])
data = fnn.data.Batch(x, np.eye(3, dtype=x.dtype)[np.arange(40) % 3])
config = make_config(epochs=1, mini_batch_size=7, eta=0.5, cost=fnn.cross_entropy, seed=0)
compiled.compiled_epoch((fnn.init_params([6, 4, 3], seed=0, dtype=x.dtype), ()), data, config,
                        epoch_streams(0, 0, dropout=False))
stats = _kernel.run_chunk.stats
print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_second_process_loads_the_kernel_from_the_disk_cache(tmp_path, dtype):
    def run() -> tuple[int, int]:
        env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
        out = subprocess.run([sys.executable, "-c", _COMPILE_AND_REPORT, dtype], env=env,
                             capture_output=True, text=True, check=True).stdout.split()
        return int(out[0]), int(out[1])

    hits, misses = run()
    if hits:  # the cache next to the module (a writable checkout) was already warm
        assert misses == 0
    else:
        assert misses == 1
    assert run() == (1, 0)  # loaded, not compiled


def test_importing_fnn_does_not_import_numba():
    code = "import sys, fnn; import fnn.training; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


# --- the kernel's pieces ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m", [1, 7, 100])
def test_the_kernels_products_and_sums_are_numpys_bytes(dtype, m):
    """Where the compiled epoch makes NumPy's BLAS calls (and sums in NumPy's order), it
    gets NumPy's bytes: the tolerance covers only the exponential and the fused update."""
    from fnn.training import _kernel
    rng = np.random.default_rng(m)
    a, w = rng.standard_normal((m, 50)).astype(dtype), rng.standard_normal((8, 50)).astype(dtype)
    b, delta = rng.standard_normal(8).astype(dtype), rng.standard_normal((m, 8)).astype(dtype)
    z = np.empty((m, 8), dtype)
    _kernel._affine(a, w, b, z)
    assert np.array_equal(z, a @ w.T + b)
    below, ones = np.empty((m, 50), dtype), np.ones((m, 50), dtype)
    _kernel._back(delta, w, below, ones, ones, 2)  # ReLU' of a positive z is 1
    assert np.array_equal(below, delta @ w)
    sums = np.empty(8, dtype)
    _kernel._column_sums(delta, sums)
    assert np.array_equal(sums, delta.sum(axis=0))


def _exp_errors(dtype):
    """The kernel's e**x against the exact value, in ulps of the result, over x <= 0."""
    import numba

    from fnn.training import _kernel
    exp = _kernel._exp32 if dtype == np.float32 else _kernel._exp64

    @numba.njit
    def run(x, out):
        for i in range(x.shape[0]):
            out[i] = exp(x[i])

    rng = np.random.default_rng(0)
    floor = 104 if dtype == np.float32 else 746
    x = np.concatenate([-np.abs(rng.standard_normal(200_000) * 5), -rng.uniform(0, floor, 200_000),
                        -np.logspace(-30, np.log10(floor), 20_000)]).astype(dtype)
    out = np.empty_like(x)
    run(x, out)
    exact = np.exp(x.astype(np.longdouble))
    normal = exact >= np.finfo(dtype).tiny
    ulps = np.abs(out[normal] - exact[normal]) / np.spacing(exact[normal].astype(dtype))
    below = np.abs(out[~normal] - exact[~normal]) / np.finfo(dtype).smallest_subnormal
    specials = np.array([0.0, -0.0, -np.inf, np.nan], dtype)
    special_out = np.empty_like(specials)
    run(specials, special_out)
    return float(ulps.max()), float(below.max(initial=0.0)), special_out


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 60, reason="needs an 80-bit long double")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_kernels_exponential_is_within_1_2_ulp(dtype):
    worst, subnormal, specials = _exp_errors(dtype)
    assert worst <= 1.2
    assert subnormal < 1.0  # below the smallest normal: off by less than one subnormal step
    assert specials[:3].tolist() == [1.0, 1.0, 0.0] and np.isnan(specials[3])
