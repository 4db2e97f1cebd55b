"""Where an epoch's time goes: fnn.run_epoch (cProfile, by function) and fast_epoch (by op).

fast_epoch runs each step as a list of NumPy calls (``fnn.training.fastpath._run``); wrapping that
runner with a timer around every call gives each call's share, which is grouped here into
what the call is for. Timers add ~0.1 µs per call, so the per-op figures are a little
high and the unprofiled epoch is reported next to them.
"""

from __future__ import annotations

import cProfile
import inspect
import pstats
import time
from collections import defaultdict

from fnn.training import epoch_streams, fastpath, reference, run_epoch


def _category(fn, args) -> str:
    """What a step's NumPy call is for, from the call alone (see fnn.training.fastpath)."""
    name = getattr(fn, "__name__", str(fn))
    if name in ("matmul", "dot"):
        return "matrix products"
    if name in ("multiply", "subtract") and args[0].ndim == 1:
        return "update (w ← shrink·w − step·Σ∇w, b ← b − step·Σ∇b)"
    if name == "reduce":
        return "Σ∇b (row sums of δ)"
    if name == "add" and args[1].ndim == 1:
        return "bias add (z = a·wᵀ + b)"
    if name in ("fmin", "copysign", "exp", "add") or (name == "divide" and args[1] is not args[2]):
        return "σ(z)"
    return "δ and σ'(z)"


def fast_breakdown(params, data, config, epoch: int = 0) -> dict[str, float]:
    """Seconds per category of one fast_epoch, plus 'epoch (unprofiled)'."""
    totals: dict[str, float] = defaultdict(float)
    clock, plain_run, plain_gather = time.perf_counter, fastpath._run, fastpath._gather

    def run(program):
        for fn, args in program:
            start = clock()
            fn(*args)
            totals[_category(fn, args)] += clock() - start

    def gather(*args):
        start = clock()
        plain_gather(*args)
        totals["gather rows (take)"] += clock() - start

    fastpath._run, fastpath._gather = run, gather
    try:
        start = clock()
        fastpath.fast_epoch((params, ()), data, config,
                            epoch_streams(config.seed, epoch, dropout=False))
        profiled = clock() - start
    finally:
        fastpath._run, fastpath._gather = plain_run, plain_gather
    totals["Python between calls (+ timer overhead)"] = profiled - sum(totals.values())
    start = clock()
    fastpath.fast_epoch((params, ()), data, config, epoch_streams(config.seed, epoch, dropout=False))
    totals["epoch (unprofiled)"] = clock() - start
    return dict(totals)


_REFERENCE_GROUPS = {
    "_pass": "matrix products + bias add (forward, in network._pass)",
    "_summed_gradient": "matrix products + Σ∇b (backward, in network._summed_gradient)",
    "sigmoid": "σ(z)",
    "sigmoid_prime": "σ'(z)",
    "_sigmoid_prime": "σ'(z)",
    "sgd_step": "update (new arrays every step)",
    "take": "gather rows (fancy index)",
    "_cross_entropy_delta": "δ",
    "_quadratic_delta": "δ",
}


def reference_breakdown(params, data, config, epoch: int = 0) -> dict[str, float]:
    """Seconds per group of one run_epoch under cProfile (own time of each function)."""
    profile = cProfile.Profile()
    profile.enable()
    run_epoch((params, ()), data, config, epoch_streams(config.seed, epoch, dropout=False))
    profile.disable()
    totals: dict[str, float] = defaultdict(float)
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    update_lines = _lines(reference._network2_step)
    for (path, line, name), (_, _, own, _, _) in stats.items():
        in_update = name == "<genexpr>" and path.endswith("reference.py") and line in update_lines
        group = "sgd_step" if in_update else name  # the update's generator expressions
        totals[_REFERENCE_GROUPS.get(group, "Python: partition_all, reduce, tuples, calls")] += own
    start = time.perf_counter()
    run_epoch((params, ()), data, config, epoch_streams(config.seed, epoch, dropout=False))
    totals["epoch (unprofiled)"] = time.perf_counter() - start
    return dict(totals)


def _lines(fn) -> range:
    source, first = inspect.getsourcelines(fn)
    return range(first, first + len(source))


def format_breakdown(title: str, totals: dict[str, float]) -> str:
    """A small text table: category, seconds, share of the profiled epoch."""
    epoch = totals["epoch (unprofiled)"]
    profiled = sum(v for k, v in totals.items() if k != "epoch (unprofiled)")
    lines = [f"{title}: {epoch:.3f} s unprofiled, {profiled:.3f} s profiled"]
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        if name != "epoch (unprofiled)":
            lines.append(f"  {name:<55} {seconds:7.3f} s  {seconds / profiled:6.1%}")
    return "\n".join(lines)



def stream_breakdown(params, data, config, rounds: int) -> dict:
    """Best seconds of one epoch per engine and row order (``_engines.ORDERS``), and of
    GEMM-only, round-robin over ``rounds``.

    The shuffled order gathers rows scattered over the whole training set (313 MB in
    float64) from main memory; the sequential order reads them once in memory order, which
    hardware prefetchers stream; the resident order takes the same m rows every batch, so
    the gather hits cache and the epoch runs without data streaming. Shuffled minus
    resident is what streaming the rows costs.
    """
    from _baselines import gemm_only_epoch
    from _engines import ORDERS, jit_available, order_of
    n, m = data.x.shape[0], config.mini_batch_size
    sizes = (data.x.shape[1], *(w.shape[0] for w in params.weights))
    engines = ("numba", "numpy") if jit_available() else ("numpy",)
    timers = {f"{engine}|{kind}": _order_timer(engine, params, data, config, order_of(kind, n, m))
              for engine in engines for kind in ORDERS}
    timers["gemm_only"] = lambda: gemm_only_epoch(sizes, n, batch=m, dtype=data.x.dtype.type)
    if jit_available():
        from _jit_gemm import gemm_only_jit_epoch
        timers["gemm_jit"] = lambda: gemm_only_jit_epoch(sizes, n, batch=m,
                                                         dtype=data.x.dtype.type)
    for key, timer in timers.items():
        if key != "gemm_only":
            timer()  # warm-up (compiles or loads the kernels)
    samples: dict[str, list[float]] = {key: [] for key in timers}
    for _ in range(rounds):
        for key, timer in timers.items():
            samples[key].append(timer())
    return {"engines": list(engines), "orders": list(ORDERS),
            "best": {key: min(v) for key, v in samples.items()}}


def _order_timer(engine: str, params, data, config, order):
    from _baselines import timed
    from _engines import one_epoch
    return lambda: timed(lambda: one_epoch(engine, params, data, config, order))
