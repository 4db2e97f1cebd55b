"""The option rows (issue 11): one epoch of the reference shapes with one option changed, and
the results recipe, timed on every engine against plain SGD and GEMM-only in one process.

Option rows: 784-30-10, 50,000 random examples, batch 10, each option alone on top of plain
SGD with L2 (sigmoid, cross-entropy, eta 0.5, lmbda 5), and the recipe's combination at
these shapes. The results recipe itself: 784-800-10, ReLU, softmax + log-likelihood,
momentum 0.9, eta 0.01, lmbda 5, batch 50, float32.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from _baselines import flops_per_epoch, gemm_only_epoch, make_data, peak_gemm_rate, timed
from _engines import agreement, finite, jit_available, one_epoch

SIZES, N_TRAIN, BATCH, ETA, LMBDA = (784, 30, 10), 50_000, 10, 0.5, 5.0
RECIPE_SIZES, RECIPE_BATCH, RECIPE_ETA, RECIPE_MU = (784, 800, 10), 50, 0.01, 0.9
BASE = "sgd+L2"
WITH_REFERENCE = (BASE, "relu", "momentum", "adam", "dropout", "recipe")
"""Rows also timed on the reference fold: the cliff the fast paths removed."""


def _options() -> dict[str, Callable[[], dict[str, Any]]]:
    """Row name -> the make_config arguments it changes (built lazily: fnn is imported late)."""
    import fnn
    from fnn.optimizers import adam, momentum, nesterov, scale_learning_rate
    from fnn.registry import schedule
    return {
        BASE: dict,
        "relu": lambda: {"activation": fnn.RELU},
        "tanh": lambda: {"activation": fnn.TANH},
        "softmax+LL": lambda: {"cost": fnn.log_likelihood},
        "quadratic": lambda: {"cost": fnn.quadratic},
        "momentum": lambda: {"optimizer": momentum(eta=ETA, mu=0.9)},
        "nesterov": lambda: {"optimizer": nesterov(eta=ETA, mu=0.9)},
        "adam": lambda: {"optimizer": adam(eta=0.001)},
        "L1": lambda: {"l1": 0.5},
        "dropout": lambda: {"dropout": 0.5},
        # an epoch after the schedule halved eta: the schedule acts between epochs only
        "halve:3": lambda: {"schedule": schedule("halve:3"),
                            "optimizer": scale_learning_rate(fnn.optimizers.gradient_descent(
                                eta=ETA), 0.5)},
        "recipe": lambda: {"activation": fnn.RELU, "cost": fnn.log_likelihood,
                           "optimizer": momentum(eta=ETA, mu=0.9)},
    }


ROWS = (BASE, "relu", "tanh", "softmax+LL", "quadratic", "momentum", "nesterov", "adam", "L1",
        "dropout", "halve:3", "recipe")


def option_config(name: str, batch: int = BATCH):
    """The one-epoch TrainConfig of option row ``name`` at the reference settings."""
    import fnn
    from fnn.training import make_config
    settings = {"epochs": 1, "mini_batch_size": batch, "eta": ETA, "lmbda": LMBDA,
                "cost": fnn.cross_entropy, "seed": 0, **_options()[name]()}
    if "optimizer" in settings:
        del settings["eta"]
    return make_config(**settings)


def recipe_config():
    """The results recipe's one-epoch TrainConfig (784-800-10 is in the params)."""
    import fnn
    from fnn.optimizers import momentum
    from fnn.training import make_config
    return make_config(epochs=1, mini_batch_size=RECIPE_BATCH, lmbda=LMBDA,
                       cost=fnn.log_likelihood, seed=0, activation=fnn.RELU,
                       optimizer=momentum(eta=RECIPE_ETA, mu=RECIPE_MU))


def _setup(sizes, dtype):
    from fnn.data import Batch
    from fnn.params import init_params
    x, y, _ = make_data(N_TRAIN, sizes[0], sizes[-1], dtype)
    return init_params(sizes, seed=0, dtype=dtype), Batch(x, y)


def _engines(reference: bool) -> tuple[str, ...]:
    return (*(("numba",) if jit_available() else ()), "numpy",
            *(("reference",) if reference else ()))


def _epoch_timer(name: str, params, data, config) -> Callable[[], float]:
    return lambda: timed(lambda: one_epoch(name, params, data, config))


def _round_robin(timers: dict[Any, Callable[[], float]], rounds: int) -> dict[Any, list[float]]:
    """Every timer once per round, in the same order each round; their samples."""
    samples: dict[Any, list[float]] = {key: [] for key in timers}
    for _ in range(rounds):
        for key, timer in timers.items():
            samples[key].append(timer())
    return samples


def _checks(params, data, configs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per row: the engine training chooses, finiteness, compiled vs NumPy (warms up too)."""
    from fnn.training.engines import choose
    out = {}
    for row, config in configs.items():
        fast = one_epoch("numpy", params, data, config)
        out[row] = {"chosen": choose(params, data, config).name, "finite": finite(fast[0])}
        if jit_available():
            out[row]["jit_vs_numpy"] = agreement(one_epoch("numba", params, data, config)[0],
                                                 fast[0])
    return out


def _gemm_timers(sizes, batch: int, dtype) -> dict[Any, Callable[[], float]]:
    """GEMM-only at these shapes from NumPy, and from numba when the compiled engine runs."""
    timers: dict[Any, Callable[[], float]] = {
        ("gemm", "only"): lambda: gemm_only_epoch(sizes, N_TRAIN, batch=batch, dtype=dtype)}
    if jit_available():
        from _jit_gemm import gemm_only_jit_epoch
        timers["gemm", "jit"] = lambda: gemm_only_jit_epoch(sizes, N_TRAIN, batch=batch,
                                                            dtype=dtype)
    return timers


def _update_timers(rows: tuple[str, ...], dtype) -> dict[Any, Callable[[], float]]:
    """The compiled update pass alone, per optimizer row (when the compiled engine runs)."""
    if not jit_available():
        return {}
    from _jit_gemm import update_alone_epoch, update_codes
    return {(row, "update"): (lambda row=row: update_alone_epoch(
        SIZES, N_TRAIN, batch=BATCH, dtype=dtype, optimizer=row))
        for row in rows if row in update_codes()}


def _summary(samples: dict[Any, list[float]]) -> tuple[dict, dict]:
    best = {f"{row}|{engine}": min(v) for (row, engine), v in samples.items()}
    median = {f"{row}|{engine}": statistics.median(v) for (row, engine), v in samples.items()}
    return best, median


def time_options(dtype, rounds: int, rows: tuple[str, ...] = ROWS,
                 reference_rows: tuple[str, ...] = WITH_REFERENCE) -> dict[str, Any]:
    """Seconds (best of ``rounds``) of every (row, engine), GEMM-only and the FLOP floor."""
    params, data = _setup(SIZES, dtype)
    configs = {row: option_config(row) for row in rows}
    checks = _checks(params, data, configs)
    timers: dict[Any, Callable[[], float]] = {
        (row, name): _epoch_timer(name, params, data, config)
        for row, config in configs.items() for name in _engines(row in reference_rows)}
    timers.update(_gemm_timers(SIZES, BATCH, dtype))
    timers.update(_update_timers(rows, dtype))
    best, median = _summary(_round_robin(timers, rounds))
    peak = peak_gemm_rate(dtype)
    return {"rows": list(rows), "best": best, "median": median, "checks": checks,
            "engines": list(_engines(True)), "flops_per_epoch": flops_per_epoch(SIZES, N_TRAIN),
            "peak_gemm_flops": peak, "flop_floor": flops_per_epoch(SIZES, N_TRAIN) / peak}


def time_recipe(rounds: int) -> dict[str, Any]:
    """The results recipe in float32: numpy and numba engines, GEMM-only, the FLOP floor."""
    import numpy as np
    dtype = np.float32
    params, data = _setup(RECIPE_SIZES, dtype)
    config = recipe_config()
    checks = _checks(params, data, {"recipe": config})["recipe"]
    timers: dict[Any, Callable[[], float]] = {
        ("recipe", name): _epoch_timer(name, params, data, config) for name in _engines(False)}
    timers.update(_gemm_timers(RECIPE_SIZES, RECIPE_BATCH, dtype))
    best, median = _summary(_round_robin(timers, rounds))
    flops, peak = flops_per_epoch(RECIPE_SIZES, N_TRAIN), peak_gemm_rate(dtype)
    return {"best": best, "median": median, "checks": checks, "flops_per_epoch": flops,
            "peak_gemm_flops": peak, "flop_floor": flops / peak}
