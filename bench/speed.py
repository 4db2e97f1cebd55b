"""Time fnn's training epoch against its baselines, all in one run; print ratios, write JSON.

    python bench/speed.py [--quick] [--json out.json] [--peer-python PATH] [--jax-python PATH]
                          [--threads 1] [--rounds N] [--parts table,options,...] [--no-jit]
                          [--old-tree PATH] [--profile] [--mnist]

The reference workload (issue 4): a 784-30-10 sigmoid net, cross-entropy, eta 0.5,
lmbda 5.0, 50,000 random training examples of 784 features, one epoch, mini-batches of
10, 100 and 1000, float64 and float32. Each (dtype, batch) workload runs in a fresh
subprocess that times, round-robin so that drift hits all of them alike,

  fnn            fnn.training.fastpath.fast_epoch, the NumPy engine
  jit            fnn.training.compiled.compiled_epoch, the compiled (numba) engine, checked
                 against fnn within fnn.training.compiled.TOLERANCE
  fnn reference  fnn.training.run_epoch (the pure fold fnn must match bit for bit)
  plain NumPy    a straightforward vectorised loop (bench/_baselines.py)
  network2       network2's per-example algorithm, timed on a prefix and scaled
  GEMM only      only the matrix products of the epoch; FLOP floor = FLOPs / peak GEMM rate
  monitor        measuring evaluation cost and accuracy on 10,000 examples

and reports the best (minimum) of the rounds: other work on a shared machine only ever
adds time, so the minimum is the steadiest estimate (medians are in the JSON). PyTorch and
scikit-learn run the shared peer scripts in their own interpreter (--peer-python, or
$FNN_PEER_PYTHON, or /work/venvs/peers/bin/python), JAX runs bench/_peer_jax.py in its own
(--jax-python, or $FNN_JAX_PYTHON, or /work/venvs/jax/bin/python); without them they are
reported as not installed. Peak memory of a 2-epoch run with evaluation monitoring is
measured in fresh subprocesses (VmHWM).

Issue 11 adds, each part in its own subprocesses (--parts picks some): the option rows
(bench/_options.py: each chapter-3 option alone on plain SGD, every engine), the results
recipe (784-800-10, float32) with PyTorch at 1 and 2 threads, the NumPy path with numba
hidden and at an old checkout (--old-tree, commit 8770eeb), and the compiled epoch with
shuffled, sequential and cache-resident rows (what streaming the rows costs). --profile
prints where the time goes instead (cProfile, per NumPy call, and perf for the compiled
epoch). --threads N limits BLAS threads in every subprocess (0: the library default);
OPENBLAS_CORETYPE and the like are left alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SIZES = (784, 30, 10)
N_TRAIN, N_EVAL = 50_000, 10_000
ETA, LMBDA = 0.5, 5.0
BATCHES = (10, 100, 1000)
DTYPES = ("f64", "f32")
MIB = 1 << 20
DEFAULT_PEER_PYTHON = "/work/venvs/peers/bin/python"
DEFAULT_PEER_DIR = "/work/shared/bench"
DEFAULT_JAX_PYTHON = "/work/venvs/jax/bin/python"
DEFAULT_OLD_TREE = "/tmp/fnn-8770eeb"
TIMED = ("fnn", "fnn_reference", "plain_numpy", "gemm_only", "network2", "monitor")


# --- in the subprocesses --------------------------------------------------------------------


def _numpy_dtype(name: str):
    import numpy as np
    return {"f64": np.float64, "f32": np.float32}[name]


def _limit_threads(threads: int, clock: str = "wall") -> None:
    """Also limit BLAS from inside, in case the environment variables came too late; and
    pick the clock of every timing in this process."""
    from _baselines import use_clock
    use_clock(clock)
    if threads:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return
        threadpool_limits(threads)


def _proc_status_mib(key: str) -> float:
    with Path("/proc/self/status").open() as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> bool:
    """Start VmHWM afresh from the current RSS (Linux: write 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _emit(result: dict) -> None:
    """Print the worker's RESULT line, with the machine's 1-minute load average at its end."""
    print("RESULT " + json.dumps({**result, "loadavg_1m_end": os.getloadavg()[0]}), flush=True)


def _reference_setup(dtype_name: str, batch: int):
    import numpy as np
    from _baselines import make_data

    from fnn.costs import cross_entropy
    from fnn.data import Batch, Labelled
    from fnn.params import init_params
    from fnn.training import make_config
    dtype = _numpy_dtype(dtype_name)
    x, y, _ = make_data(N_TRAIN, SIZES[0], SIZES[-1], dtype)
    xe, _, labels = make_data(N_EVAL, SIZES[0], SIZES[-1], dtype, seed=1)
    params = init_params(SIZES, seed=0, dtype=dtype)
    config = make_config(epochs=1, mini_batch_size=batch, eta=ETA, lmbda=LMBDA,
                         cost=cross_entropy, seed=0)
    return params, Batch(x, y), Labelled(xe, labels.astype(np.int64)), config


def _epoch(kind: str, params, data, config):
    """One epoch of ``kind`` (fast, reference or jit) from params, epoch 0's streams of seed 0.

    Only fast and reference import what fnn had before the compiled engine (commit 8770eeb):
    the ``numpy`` worker runs this on that tree too."""
    if kind == "jit":
        from _engines import one_epoch
        return one_epoch("numba", params, data, config)[0]
    from fnn.training import epoch_streams, run_epoch
    from fnn.training.fastpath import fast_epoch
    epoch = fast_epoch if kind == "fast" else run_epoch
    return epoch((params, ()), data, config, epoch_streams(0, 0, dropout=False))[0]


def _jit_check(params, data, config, fast) -> dict:
    """The compiled epoch's params against fast_epoch's (and the kernel warmed up)."""
    from _engines import agreement
    return agreement(_epoch("jit", params, data, config), fast)


def time_worker(args: argparse.Namespace) -> None:
    """Time every implementation of one workload, round-robin, and emit the samples."""
    from _baselines import (
        flops_per_epoch,
        gemm_only_epoch,
        network2_epoch,
        peak_gemm_rate,
        plain_epoch,
        timed,
    )
    from _engines import jit_available

    from fnn.costs import cross_entropy
    from fnn.history import Monitor
    from fnn.monitor import measure
    from fnn.params import tree_equal
    _limit_threads(args.threads, args.clock)
    params, data, evaluation, config = _reference_setup(args.dtype, args.batch)
    dtype = data.x.dtype.type
    fast = _epoch("fast", params, data, config)  # warm-up, and the bits to check
    results = []
    first_reference = timed(lambda: results.append(_epoch("reference", params, data, config)))
    identical = tree_equal(fast, results[0])
    jit = _jit_check(params, data, config, fast) if jit_available() else None
    both = Monitor(evaluation_cost=True, evaluation_accuracy=True)
    timers = {
        "fnn": lambda: timed(lambda: _epoch("fast", params, data, config)),
        "fnn_reference": lambda: timed(lambda: _epoch("reference", params, data, config)),
        "plain_numpy": lambda: plain_epoch(params, data.x, data.y, batch=args.batch, eta=ETA,
                                           lmbda=LMBDA),
        "gemm_only": lambda: gemm_only_epoch(SIZES, N_TRAIN, batch=args.batch, dtype=dtype),
        "network2": lambda: network2_epoch(SIZES, data.x, data.y, batch=args.batch, eta=ETA,
                                           lmbda=LMBDA, examples=args.n2_examples),
        "monitor": lambda: timed(lambda: measure(fast, 0, data, evaluation, cost=cross_entropy,
                                                 lmbda=LMBDA, monitor=both)),
    }
    if jit:
        from _jit_gemm import gemm_only_jit_epoch
        timers["fnn_jit"] = lambda: timed(lambda: _epoch("jit", params, data, config))
        timers["gemm_jit"] = lambda: gemm_only_jit_epoch(SIZES, N_TRAIN, batch=args.batch,
                                                         dtype=dtype)
    if args.quick:  # the bit check's run is the reference's one sample
        del timers["fnn_reference"]
    samples: dict[str, list[float]] = {name: [] for name in timers}
    samples["fnn_reference"] = [first_reference]
    for _ in range(args.rounds):
        for name, timer in timers.items():
            samples[name].append(timer())
    compared = _compare_threads(params, data, config, args) if args.compare_threads else None
    peak = peak_gemm_rate(dtype, 1024 if args.quick else 1536)
    flops = flops_per_epoch(SIZES, N_TRAIN)
    _emit({"dtype": args.dtype, "batch": args.batch, "samples": samples,
           "best": {k: min(v) for k, v in samples.items()},
           "median": {k: statistics.median(v) for k, v in samples.items()},
           "bit_identical_to_reference": identical, "jit_vs_fnn": jit,
           "chosen": _chosen(params, data, config), "flops_per_epoch": flops,
           "peak_gemm_flops": peak, "flop_floor": flops / peak,
           "hwm_mib": _proc_status_mib("VmHWM"), "threadpool": _threadpool_info(),
           "threads_compared": compared})


def _compare_threads(params, data, config, args: argparse.Namespace) -> dict:
    """fast_epoch's wall seconds (best of the rounds) with args.threads and with
    args.compare_threads BLAS threads, and whether the two give the same bits."""
    import time

    from threadpoolctl import threadpool_limits

    from fnn.params import tree_equal
    seconds: dict[int, list[float]] = {args.threads: [], args.compare_threads: []}
    results = {}
    for _ in range(args.rounds):
        for threads, samples in seconds.items():
            with threadpool_limits(threads or None):
                start = time.perf_counter()
                results[threads] = _epoch("fast", params, data, config)
                samples.append(time.perf_counter() - start)
    return {"wall_best": {str(k): min(v) for k, v in seconds.items()},
            "same_bits": tree_equal(*results.values())}


def memory_worker(args: argparse.Namespace) -> None:
    """Peak RSS while training with evaluation accuracy monitored (fresh process)."""
    import numpy as np

    import fnn
    dtype = _numpy_dtype(args.dtype)
    start_mib = _proc_status_mib("VmRSS")
    x, labels, xe, le = _memory_data(dtype, args.mnist)
    array_bytes = x.nbytes + x.shape[0] * SIZES[-1] * x.itemsize + xe.nbytes + le.nbytes
    reset = _reset_peak_rss()
    params = fnn.init_params(SIZES, seed=0, dtype=dtype)
    common = {"epochs": args.epochs, "mini_batch_size": 10, "eta": ETA, "lmbda": LMBDA,
              "cost": fnn.cross_entropy, "seed": 0}
    if args.mode == "sgd":
        fnn.sgd(params, (x, labels), evaluation_data=(xe, le), monitor_evaluation_accuracy=True,
                **common)
    else:
        _fast_run(params, (x, labels), (xe, le), common, args.epochs)
    hwm = _proc_status_mib("VmHWM")
    budget = array_bytes / MIB + 100
    _emit({"dtype": args.dtype, "mode": args.mode, "mnist": args.mnist, "epochs": args.epochs,
           "hwm_mib": hwm, "arrays_mib": array_bytes / MIB, "budget_mib": budget,
           "interpreter_mib": start_mib, "hwm_reset_before_training": reset,
           "within_budget": bool(hwm <= budget), "x_dtype": str(np.dtype(x.dtype))})


def _memory_data(dtype, mnist: bool):
    import numpy as np
    if mnist:
        from fnn.datasets import load_mnist
        splits = load_mnist(dtype=dtype)
        assert splits.validation is not None
        train, valid = splits.training, splits.validation
        del splits  # keep the training and evaluation arrays only
        return train.x, train.labels, valid.x, valid.labels
    rng = np.random.default_rng(0)
    return (rng.random((N_TRAIN, SIZES[0]), dtype=dtype), rng.integers(0, 10, N_TRAIN),
            rng.random((N_EVAL, SIZES[0]), dtype=dtype), rng.integers(0, 10, N_EVAL))


def _fast_run(params, training, evaluation, common: dict, epochs: int):
    """What sgd does with fast_epoch as its epoch: train, then measure after each epoch."""
    from fnn.data import as_evaluation_data, as_training_data
    from fnn.history import Monitor
    from fnn.monitor import measure
    from fnn.training import epoch_streams, make_config
    from fnn.training.fastpath import fast_epoch
    dtype = params.weights[0].dtype
    data = as_training_data(training, n_in=SIZES[0], n_out=SIZES[-1], dtype=dtype)
    held = as_evaluation_data(evaluation, n_in=SIZES[0], n_out=SIZES[-1], dtype=dtype)
    monitor = Monitor(evaluation_accuracy=True)
    config = make_config(**common, monitor=monitor)
    records = []
    for epoch in range(epochs):
        params = fast_epoch((params, ()), data, config,
                            epoch_streams(config.seed, epoch, dropout=False))[0]
        records.append(measure(params, epoch, data, held, cost=config.cost, lmbda=config.lmbda,
                               monitor=monitor))
    return params, records


def run_worker(args: argparse.Namespace) -> None:
    """The whole reference run: 30 epochs of batch 10 with evaluation accuracy monitored."""
    from _baselines import timed

    import fnn
    _limit_threads(args.threads, args.clock)
    params, data, evaluation, _ = _reference_setup(args.dtype, 10)
    common = {"epochs": args.epochs, "mini_batch_size": 10, "eta": ETA, "lmbda": LMBDA,
              "cost": fnn.cross_entropy, "seed": 0}
    training, held = (data.x, data.y), (evaluation.x, evaluation.labels)
    fast = timed(lambda: _fast_run(params, training, held, common, args.epochs))
    library = timed(lambda: fnn.sgd(params, training, evaluation_data=held,
                                    monitor_evaluation_accuracy=True, **common))
    _emit({"dtype": args.dtype, "epochs": args.epochs, "fnn_fast_s": fast, "fnn_sgd_s": library})


def profile_worker(args: argparse.Namespace) -> None:
    """Where one epoch's time goes, for run_epoch and for fast_epoch."""
    from _profile import fast_breakdown, reference_breakdown
    _limit_threads(args.threads, args.clock)
    params, data, _, config = _reference_setup(args.dtype, args.batch)
    _emit({"dtype": args.dtype, "batch": args.batch,
           "reference": reference_breakdown(params, data, config),
           "fast": fast_breakdown(params, data, config)})


def numpy_worker(args: argparse.Namespace) -> None:
    """fast_epoch and GEMM-only of one workload, round-robin: the NumPy path's figures on
    whichever fnn is imported (also commit 8770eeb's, through PYTHONPATH; nothing newer
    than that tree is imported)."""
    from _baselines import gemm_only_epoch, timed

    import fnn.training.fastpath
    _limit_threads(args.threads, args.clock)
    params, data, _, config = _reference_setup(args.dtype, args.batch)
    dtype = data.x.dtype.type
    _epoch("fast", params, data, config)  # warm-up
    timers = {"fnn": lambda: timed(lambda: _epoch("fast", params, data, config)),
              "gemm_only": lambda: gemm_only_epoch(SIZES, N_TRAIN, batch=args.batch,
                                                   dtype=dtype)}
    samples: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(args.rounds):
        for name, timer in timers.items():
            samples[name].append(timer())
    _emit({"dtype": args.dtype, "batch": args.batch, "samples": samples,
           "best": {k: min(v) for k, v in samples.items()},
           "median": {k: statistics.median(v) for k, v in samples.items()},
           "fastpath": str(Path(fnn.training.fastpath.__file__).resolve()),
           "numba_importable": _importable("numba"), "chosen": _chosen(params, data, config)})


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def _chosen(params, data, config) -> str | None:
    """The engine training would choose, on trees that have engines (None before them)."""
    try:
        from fnn.training.engines import choose
    except ImportError:
        return None
    return choose(params, data, config).name


def options_worker(args: argparse.Namespace) -> None:
    """One epoch per option row and engine, GEMM-only and the FLOP floor (see _options)."""
    from _options import WITH_REFERENCE, time_options
    _limit_threads(args.threads, args.clock)
    result = time_options(_numpy_dtype(args.dtype), args.rounds,
                          reference_rows=() if args.quick else WITH_REFERENCE)
    _emit({"dtype": args.dtype, **result, "threadpool": _threadpool_info()})


def recipe_worker(args: argparse.Namespace) -> None:
    """The results recipe on the numpy and numba engines, GEMM-only, the FLOP floor."""
    from _options import time_recipe
    _limit_threads(args.threads, args.clock)
    _emit({"threads": args.threads, "clock": args.clock, **time_recipe(args.rounds),
           "threadpool": _threadpool_info()})


def stream_worker(args: argparse.Namespace) -> None:
    """The epoch with the real shuffle, rows in memory order, and the same m rows every
    batch (cache-resident): what streaming the rows from memory costs (see _profile)."""
    from _profile import stream_breakdown
    _limit_threads(args.threads, args.clock)
    params, data, _, config = _reference_setup(args.dtype, args.batch)
    _emit({"dtype": args.dtype, "batch": args.batch,
           **stream_breakdown(params, data, config, args.rounds)})


def perf_worker(args: argparse.Namespace) -> None:
    """Compiled epochs for ``perf record``: recording is switched on (through perf's control
    fifos) only around the timed epochs, so start-up, data and compilation are left out."""
    from _engines import one_epoch, order_of
    _limit_threads(args.threads, args.clock)
    params, data, _, config = _reference_setup(args.dtype, args.batch)
    order = order_of(args.order, N_TRAIN, args.batch)
    one_epoch(args.engine, params, data, config, order)  # compiles or loads the kernel
    control, ack = args.perf_fifo.split(",")
    with Path(control).open("w") as ctl, Path(ack).open() as acks:
        for command, epochs in (("enable", args.epochs), ("disable", 0)):
            ctl.write(command + "\n")
            ctl.flush()
            acks.readline()
            for _ in range(epochs):
                one_epoch(args.engine, params, data, config, order)
    _emit({"dtype": args.dtype, "batch": args.batch, "engine": args.engine,
           "order": args.order, "epochs": args.epochs})


def _threadpool_info() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("internal_api", "version", "num_threads", "architecture", "threading_layer")
    return [{k: info.get(k) for k in keys} for info in threadpool_info()]


WORKERS = {"time": time_worker, "memory": memory_worker, "run": run_worker,
           "profile": profile_worker, "numpy": numpy_worker, "options": options_worker,
           "recipe": recipe_worker, "stream": stream_worker, "perf": perf_worker}


# --- the orchestrator ------------------------------------------------------------------------


def _child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    if threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(threads)
    return env


def _result_line(stdout: str) -> dict | None:
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(lines[-1][len("RESULT "):]) if lines else None


def _run_worker(kind: str, options: list[str], args: argparse.Namespace, *,
                threads: int | None = None, clock: str | None = None,
                pythonpath: str | None = None, no_jit: bool | None = None) -> dict:
    """Run a worker subprocess and return its RESULT; ``pythonpath`` imports fnn from another
    tree, ``no_jit`` hides numba from it; threads and clock default to the run's."""
    threads = args.threads if threads is None else threads
    hide = args.no_jit if no_jit is None else no_jit
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind,
               "--threads", str(threads), "--clock", clock or args.clock,
               "--compare-threads", str(args.compare_threads), *options,
               *(["--quick"] if args.quick else []), *(["--no-jit"] if hide else [])]
    env = _child_env(threads)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    result = _result_line(done.stdout)
    if done.returncode or result is None:
        raise RuntimeError(f"{shlex.join(command)} failed:\n{done.stderr[-3000:]}")
    return result


def _peer(python: str, script: Path, options: list[str], threads: int) -> dict:
    """A peer script's RESULT (status ok), or why not (not installed, failed)."""
    if not Path(python).exists():
        return {"status": f"not installed (no interpreter at {python})"}
    if not script.exists():
        return {"status": f"not installed (no {script})"}
    done = subprocess.run([python, script.name, *options, "--threads", str(threads)],
                          capture_output=True, text=True, cwd=script.parent,
                          env=_child_env(threads), check=False)
    result = _result_line(done.stdout)
    if result is None:
        missing = "No module named" in done.stderr
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no RESULT"
        return {"status": "not installed" if missing else "failed", "error": reason}
    return {**result, "status": "ok"}


def _per_50k(result: dict, clock: str) -> dict:
    """The peer's best epoch in seconds of ``clock`` per 50,000 examples (peers time with
    wall clocks; their CPU/wall ratio converts that to CPU seconds)."""
    if result["status"] == "ok":
        cpu_share = (result.get("cpu_per_wall") or 1.0) if clock == "cpu" else 1.0
        result["s_per_50k_epoch"] = result["s_per_epoch_min"] * cpu_share * N_TRAIN / result["n"]
    return result


def _run_peer(script: str, dtype: str, batch: int, args: argparse.Namespace) -> dict:
    """One shared peer script's RESULT, its seconds scaled to a 50,000-example epoch."""
    n, epochs = (5000, 1) if args.quick else (N_TRAIN, 2)
    options = ["--dtype", dtype, "--batch", str(batch), "--n", str(n), "--epochs", str(epochs),
               "--warmup", "1"]
    return _per_50k(_peer(args.peer_python, Path(args.peer_dir) / script, options,
                          args.threads), args.clock)


def _run_jax(dtype: str, batch: int, args: argparse.Namespace) -> dict:
    """bench/_peer_jax.py in the JAX interpreter: the epoch as one jitted lax.scan."""
    n, epochs = (5000, 1) if args.quick else (N_TRAIN, 3)
    options = ["--dtype", dtype, "--batch", str(batch), "--n", str(n), "--epochs", str(epochs),
               "--warmup", "1"]
    return _per_50k(_peer(args.jax_python, HERE / "_peer_jax.py", options, args.threads),
                    args.clock)


def _run_torch_recipe(threads: int, args: argparse.Namespace) -> dict:
    """bench/_peer_torch_recipe.py in the peer interpreter with ``threads`` threads (fewer
    examples with more than one thread, where a loaded machine makes it very slow)."""
    n = 5000 if args.quick else (N_TRAIN if threads == 1 else 10_000)
    options = ["--n", str(n), "--epochs", "1" if args.quick else "2", "--warmup", "1"]
    return _per_50k(_peer(args.peer_python, HERE / "_peer_torch_recipe.py", options, threads),
                    args.clock if threads == 1 else "wall")


def _machine() -> dict:
    import numpy as np
    model = "unknown"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next(line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                     if line.startswith("Model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": model, "cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "threadpool": _threadpool_info(),
            "env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_",
                                                                         "MKL_"))}}


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _targets(report: dict) -> list[tuple[str, float | None, float]]:
    """(what, measured ratio, target) for every target of issues 4 and 11 this run measured."""
    by = {(w["dtype"], w["batch"]): w for w in report["workloads"]}
    out = []
    if ("f64", 10) in by:
        w = by["f64", 10]
        best = w["best"]
        out += [("fnn / plain NumPy (f64, b10)", _ratio(best["fnn"], best["plain_numpy"]), 0.8),
                ("fnn / GEMM only (f64, b10)", _ratio(best["fnn"], best["gemm_only"]), 1.5),
                ("fnn / PyTorch (f64, b10)", _ratio(best["fnn"], _peer_s(w, "torch")), 0.2),
                ("fnn / network2 (f64, b10)", _ratio(best["fnn"], best["network2"]), 0.15),
                ("monitoring / epoch (f64, b10)", _ratio(best["monitor"], best["fnn"]), 0.10)]
        if ("f32", 10) in by:
            out.append(("fnn f32 / fnn f64 (b10)",
                        _ratio(by["f32", 10]["best"]["fnn"], best["fnn"]), 0.7))
    out += [(f"fnn / GEMM only (f64, b{b})", _ratio(by["f64", b]["best"]["fnn"],
                                                     by["f64", b]["best"]["gemm_only"]), 1.5)
            for b in (100, 1000) if ("f64", b) in by]
    for m in report["memory"]:
        out.append((f"peak RSS / budget ({m['dtype']}, {m['mode']})",
                    _ratio(m["hwm_mib"], m["budget_mib"]), 1.0))
    run = report.get("run")
    if run and ("f64", 10) in by and _peer_s(by["f64", 10], "torch"):
        torch_run = run["epochs"] * _peer_s(by["f64", 10], "torch")
        out.append(("30-epoch run / PyTorch 30 epochs (f64, b10)",
                    _ratio(run["fnn_fast_s"], torch_run), 0.2))
    from _report import issue11_targets
    return out + issue11_targets(report)


def _peer_s(workload: dict, name: str) -> float | None:
    peer = workload.get("peers", {}).get(name, {})
    return peer.get("s_per_50k_epoch") if peer.get("status") == "ok" else None


def _fmt(seconds: float | None) -> str:
    return "      -" if seconds is None else f"{seconds:7.3f}"


def _table(report: dict) -> str:
    head = (f"{'workload':<9}{'fnn':>8}{'ref':>8}{'plain':>8}{'GEMM':>8}{'floor':>8}"
            f"{'netw2':>8}{'torch':>8}{'sklearn':>8} | {'/plain':>7}{'/GEMM':>7}{'/floor':>7}"
            f"{'/netw2':>7}{'/torch':>7}{'/skl':>7}{'/ref':>7}{'mon%':>6}{'MiB':>6}")
    lines = [head, "-" * len(head)]
    for w in report["workloads"]:
        best = w["best"]
        torch, skl = _peer_s(w, "torch"), _peer_s(w, "sklearn")
        ratios = [_ratio(best["fnn"], b) for b in (best["plain_numpy"], best["gemm_only"],
                                                   w["flop_floor"], best["network2"], torch, skl,
                                                   best["fnn_reference"])]
        lines.append(
            f"{w['dtype'] + ' b' + str(w['batch']):<9}"
            + "".join(_fmt(v) + " " for v in (best["fnn"], best["fnn_reference"],
                                              best["plain_numpy"], best["gemm_only"],
                                              w["flop_floor"], best["network2"], torch, skl))
            + "|" + "".join("      -" if r is None else f"{r:7.2f}" for r in ratios)
            + f"{100 * best['monitor'] / best['fnn']:6.1f}{w['hwm_mib']:6.0f}")
    return "\n".join(lines)


def _print_report(report: dict) -> None:
    m, v = report["machine"], report["versions"]
    pools = report["workloads"][0]["threadpool"] if report["workloads"] else m["threadpool"]
    blas = ", ".join(f"{t['internal_api']} {t['version']} ({t['architecture']}, "
                     f"{t['num_threads']} threads)" for t in pools)
    print(f"fnn speed: {m['cpu']} ({m['cpus']} CPUs), Python {m['python']}, NumPy {m['numpy']}, "
          f"{blas or 'BLAS unknown'}; --threads {report['threads']}")
    print("versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val))
    print(f"command: {report['command']}")
    load = report["loadavg_1m"]
    print(f"load average (1 min, {m['cpus']} CPUs): {load['start']:.1f} at the start, "
          f"{load['end']:.1f} at the end, {load.get('max_seen') or 0:.1f} at most when a "
          "worker or peer finished")
    print(f"{report['clock']} seconds per 50,000-example epoch, best of {report['rounds']} "
          "interleaved rounds; ratios are fnn / baseline\n")
    if report["workloads"]:
        _print_workloads(report)
    _print_memory_and_run(report)
    _print_issue11(report)
    print("\ntargets (issue 4, then issue 11):")
    for t in report["targets"]:
        mark = {"met": "met ", "missed": "MISS", "n/a": "n/a ", "borderline": "~met"}[t["status"]]
        shown = "   -  " if t["value"] is None else f"{t['value']:6.3f}"
        print(f"  {mark} {t['what']:<58} {shown} (target <= {t['target']})")


def _print_workloads(report: dict) -> None:
    print(_table(report))
    peers = {name: w.get("peers", {}).get(name, {}).get("status")
             for w in report["workloads"] for name in ("torch", "sklearn", "jax")}
    if any(status != "ok" for status in peers.values() if status):
        print("peers:", "; ".join(f"{k}: {v}" for k, v in peers.items() if v and v != "ok"))
    compared = [w for w in report["workloads"] if w.get("threads_compared")]
    if compared:
        print("\nBLAS threads (fast_epoch, wall seconds, best of the rounds):")
    for w in compared:
        c = w["threads_compared"]
        times = ", ".join(f"{k} thread(s) {v:.3f} s" for k, v in c["wall_best"].items())
        print(f"  {w['dtype']} b{w['batch']:<5} {times}; same bits: {c['same_bits']}")
    identical = all(w["bit_identical_to_reference"] for w in report["workloads"])
    print(f"\nfast_epoch bit-identical to run_epoch in every workload: {identical}")
    checks = [w["jit_vs_fnn"] for w in report["workloads"] if w.get("jit_vs_fnn")]
    if checks:
        print("compiled epoch within TOLERANCE of fast_epoch in every workload: "
              f"{all(c['within'] for c in checks)} (largest relative gap "
              f"{max(c['relative_gap'] for c in checks):.1e})")
    from _report import engines_table
    print("\nengines (fnn = NumPy fast path, jit = compiled epoch; jax = one jitted lax.scan; "
          "'jit vs fnn' = max |Δparam| / max |param|, ! = outside TOLERANCE):")
    print(engines_table(report["workloads"]))


def _print_memory_and_run(report: dict) -> None:
    if report["memory"]:
        epochs = report["memory"][0]["epochs"]
        print(f"\nmemory ({epochs} epoch{'s' * (epochs != 1)} of batch 10, evaluation accuracy "
              "monitored, fresh process):")
    for mem in report["memory"]:
        print(f"  {mem['dtype']} {mem['mode']:<4} peak {mem['hwm_mib']:7.1f} MiB; budget "
              f"{mem['budget_mib']:7.1f} MiB (arrays {mem['arrays_mib']:.1f} + 100); "
              f"interpreter {mem['interpreter_mib']:.0f} MiB")
    if report.get("run"):
        run = report["run"]
        print(f"\n{run['epochs']}-epoch run with evaluation accuracy (f64, b10): fnn fast path "
              f"{run['fnn_fast_s']:.2f} s, fnn.sgd as wired {run['fnn_sgd_s']:.2f} s")


def _print_issue11(report: dict) -> None:
    from _report import options_table, recipe_table, stream_table, without_numba_table
    for section in report.get("options", []):
        print("\noption rows (each option alone on plain SGD + L2; ! = outside TOLERANCE):")
        print(options_table(section))
    if report.get("recipe"):
        print("\nthe results recipe:")
        print(recipe_table(report["recipe"]))
    if report.get("without_numba"):
        print("\nwithout numba:")
        print(without_numba_table(report["without_numba"]))
    if report.get("stream"):
        print("\ndata streaming (epoch with the real shuffle, rows in memory order, and the "
              "same m rows every batch; streaming = (shuffled - resident) / shuffled):")
        print(stream_table(report["stream"]))


def _print_profile(result: dict) -> None:
    from _profile import format_breakdown
    from _report import perf_table, stream_table
    print(f"\nprofile ({result['dtype']}, batch {result['batch']}):")
    print(format_breakdown("run_epoch (cProfile, own time per function)", result["reference"]))
    print(format_breakdown("fast_epoch (timer around every NumPy call)", result["fast"]))
    print("\ncompiled and NumPy epochs with shuffled, sequential and cache-resident rows "
          "(best of the rounds; streaming = (shuffled - resident) / shuffled):")
    print(stream_table(result["stream"]))
    if result["perf"]:
        print("\nperf record of 5 compiled epochs (samples by library):")
        print(perf_table(result["perf"]))


def _workloads(quick: bool, *, f32_all: bool = True) -> list[tuple[str, int]]:
    """Every (dtype, batch); --quick keeps float32 at batch 10 only (its one target) and
    float64 at batch 10 only where ``f32_all`` is False (the extra measurements)."""
    if quick and not f32_all:
        return [("f64", 10)]
    return [(d, b) for d in DTYPES for b in BATCHES if not quick or d == "f64" or b == 10]


PARTS = ("table", "memory", "run", "options", "recipe", "no-numba", "stream")
"""The sections of a run (``--parts``): the workload table with its peers, peak memory, the
30-epoch run, the option rows, the results recipe, the NumPy path without numba (and at
commit 8770eeb), and the data-streaming measurement of the compiled epoch."""


def _table_part(args: argparse.Namespace, rounds: int) -> list[dict]:
    workloads = []
    for dtype, batch in _workloads(args.quick):
        workload = _run_worker("time", ["--dtype", dtype, "--batch", str(batch),
                                        "--rounds", str(rounds), "--n2-examples",
                                        "1000" if args.quick else "5000"], args)
        if not args.quick or batch == 10:
            workload["peers"] = {name: _run_peer(script, dtype, batch, args)
                                 for name, script in (("torch", "peer_torch.py"),
                                                      ("sklearn", "peer_sklearn.py"))}
            workload["peers"]["jax"] = _run_jax(dtype, batch, args)
        workloads.append(workload)
    return workloads


def _memory_part(args: argparse.Namespace) -> list[dict]:
    return [_run_worker("memory", ["--dtype", dtype, "--mode", mode, "--epochs",
                                   "1" if args.quick else "2",
                                   *(["--mnist"] if args.mnist else [])], args)
            for dtype in DTYPES for mode in (("fast",) if args.quick else ("fast", "sgd"))]


def _options_part(args: argparse.Namespace, rounds: int) -> list[dict]:
    """The option rows, per dtype (float64 only with --quick, one round)."""
    dtypes = ("f64",) if args.quick else DTYPES
    return [_run_worker("options", ["--dtype", dtype, "--rounds",
                                    str(1 if args.quick else rounds)], args)
            for dtype in dtypes]


def _recipe_part(args: argparse.Namespace, rounds: int) -> list[dict]:
    """The results recipe with 1 thread (CPU clock) and 2 threads (wall clock), each with
    PyTorch doing the same; --quick: 1 thread, one round."""
    out = []
    for threads in ((1,) if args.quick else (1, 2)):
        clock = args.clock if threads == 1 else "wall"
        times = 1 if args.quick else (rounds if threads == 1 else 2)
        result = _run_worker("recipe", ["--rounds", str(times)], args, threads=threads,
                             clock=clock)
        result["peers"] = {"torch": _run_torch_recipe(threads, args)}
        out.append(result)
    return out


def _without_numba_part(args: argparse.Namespace, rounds: int) -> dict:
    """The NumPy fast path with numba hidden, and at the old tree (commit 8770eeb, before
    the compiled engine) when it is there: fast_epoch and GEMM-only, workload by workload,
    the two trees back to back; plus bench/results/speed-issue10-after.json for reference."""
    old = args.old_tree if args.old_tree and Path(args.old_tree, "fnn").is_dir() else None
    rows = []
    for dtype, batch in _workloads(args.quick, f32_all=False):
        options = ["--dtype", dtype, "--batch", str(batch), "--rounds", str(rounds)]
        row = {"dtype": dtype, "batch": batch,
               "now": _run_worker("numpy", options, args, no_jit=True)}
        if old:
            row["old"] = _run_worker("numpy", options, args, pythonpath=old, no_jit=False)
        rows.append(row)
    return {"old_tree": old, "old_commit": _commit_of(old) if old else None,
            "old_tree_status": "ok" if old else _old_tree_hint(args.old_tree),
            "workloads": rows, "issue10_after": _issue10_after()}


def _commit_of(tree: str) -> str | None:
    done = subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or None


def _old_tree_hint(path: str) -> str:
    return (f"skipped: no fnn tree at {path!r}; make one with "
            f"`git worktree add --detach {path or '/tmp/fnn-8770eeb'} 8770eeb`")


def _issue10_after() -> dict:
    """fnn / GEMM-only per workload in bench/results/speed-issue10-after.json (commit
    8770eeb's NumPy path, measured before the compiled engine existed)."""
    path = HERE / "results" / "speed-issue10-after.json"
    if not path.exists():
        return {}
    saved = json.loads(path.read_text())
    return {f"{w['dtype']} b{w['batch']}": w["best"]["fnn"] / w["best"]["gemm_only"]
            for w in saved["workloads"]}


def _stream_part(args: argparse.Namespace, rounds: int) -> list[dict]:
    """The epoch with shuffled, sequential and cache-resident rows (see _profile)."""
    return [_run_worker("stream", ["--dtype", dtype, "--batch", str(batch), "--rounds",
                                   str(rounds)], args)
            for dtype, batch in _workloads(args.quick, f32_all=False)]


def _profile_part(args: argparse.Namespace) -> dict:
    """--profile: the NumPy breakdowns, the streaming measurement and perf's shares."""
    from _perf import available
    rounds = args.rounds or 3
    result = _run_worker("profile", ["--dtype", "f64", "--batch", "10"], args)
    result["stream"] = _stream_part(args, rounds)
    result["perf"] = ([_perf_run(args, order) for order in ("shuffled", "resident")]
                      if available() and not args.no_jit else [])
    return result


def _perf_run(args: argparse.Namespace, order: str) -> dict:
    """perf's shares for 5 compiled epochs (f64, batch 10) in the row order ``order``."""
    from _perf import record
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "perf",
               "--threads", str(args.threads), "--clock", args.clock, "--dtype", "f64",
               "--batch", "10", "--engine", "numba", "--order", order, "--epochs", "5"]
    return {"order": order, "engine": "numba", "dtype": "f64", "batch": 10,
            **record(command, _child_env(args.threads))}


def _versions(report: dict) -> dict:
    """Versions of the libraries the run used (fnn side from metadata; peers from their
    RESULT lines)."""
    from importlib.metadata import PackageNotFoundError, version
    out = {}
    for name in ("fnn", "numpy", "scipy", "numba", "llvmlite", "threadpoolctl"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    peers = [p for w in report.get("workloads", []) for p in w.get("peers", {}).values()]
    peers += [p for r in report.get("recipe", []) for p in r.get("peers", {}).values()]
    for key in ("torch", "jax", "jaxlib", "sklearn"):
        out[key] = next((p[key] for p in peers if p.get("status") == "ok" and key in p), None)
    return out


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.clock = args.clock or ("cpu" if args.threads == 1 else "wall")
    if args.worker:
        if args.no_jit:
            from _engines import hide_numba
            hide_numba()
        WORKERS[args.worker](args)
        return 0
    if args.profile:
        profile = _profile_part(args)
        _print_profile(profile)
        if args.json:
            Path(args.json).write_text(json.dumps(profile, indent=1) + "\n")
        return 0
    report = _measure(args)
    _print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


def _measure(args: argparse.Namespace) -> dict:
    """Every part of the run asked for, in one report."""
    rounds = args.rounds or (2 if args.quick else 5)
    parts = set(args.parts.split(",")) if args.parts else set(PARTS)
    report: dict = {"machine": _machine(), "threads": args.threads, "rounds": rounds,
                    "clock": args.clock, "no_jit": args.no_jit,
                    "command": shlex.join([Path(sys.executable).name, *sys.argv]),
                    "workloads": [], "memory": [], "run": None,
                    "loadavg_1m": {"start": os.getloadavg()[0]}}
    if "table" in parts:
        report["workloads"] = _table_part(args, rounds)
    if "memory" in parts:
        report["memory"] = _memory_part(args)
    if "run" in parts and not args.quick:
        report["run"] = _run_worker("run", ["--dtype", "f64", "--epochs", "30"], args)
    if "options" in parts:
        report["options"] = _options_part(args, rounds)
    if "recipe" in parts:
        report["recipe"] = _recipe_part(args, rounds)
    if "no-numba" in parts:
        report["without_numba"] = _without_numba_part(args, rounds)
    if "stream" in parts and not args.no_jit:
        report["stream"] = _stream_part(args, rounds)
    report["loadavg_1m"]["end"] = os.getloadavg()[0]
    report["loadavg_1m"]["max_seen"] = max(_loads(report), default=None)
    report["versions"] = _versions(report)
    report["targets"] = [{"what": what, "value": value, "target": target,
                          "status": _status(value, target)}
                         for what, value, target in _targets(report)]
    return report


def _loads(report: dict) -> list[float]:
    """The 1-minute load averages every worker and peer saw at its end."""
    found: list[float] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            found.extend(v for k, v in value.items() if k == "loadavg_1m_end")
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk({k: v for k, v in report.items() if k != "loadavg_1m"})
    return found


def _status(value: float | None, target: float) -> str:
    """met, missed, or borderline: above the limit by less than the 5 % that ratios move
    between runs on a shared machine (see bench/README.md)."""
    if value is None:
        return "n/a"
    return "met" if value <= target else "borderline" if value <= 1.05 * target else "missed"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer rounds and peers: under a minute")
    p.add_argument("--json", help="also write the full report here")
    p.add_argument("--peer-python", default=os.environ.get("FNN_PEER_PYTHON",
                                                           DEFAULT_PEER_PYTHON),
                   help="interpreter with torch and/or scikit-learn for the peer scripts")
    p.add_argument("--peer-dir", default=os.environ.get("FNN_PEER_DIR", DEFAULT_PEER_DIR),
                   help="folder of peer_torch.py, peer_sklearn.py and common.py")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (0: library default)")
    p.add_argument("--rounds", type=int, default=0, help="timing rounds (default 5, quick 2)")
    p.add_argument("--clock", choices=("cpu", "wall"),
                   help="seconds to compare: process CPU time (default with --threads 1: "
                        "robust to other processes on a shared machine) or wall time")
    p.add_argument("--compare-threads", type=int, default=0, metavar="N",
                   help="also time fnn with N BLAS threads (wall clock) and compare the bits")
    p.add_argument("--profile", action="store_true", help="only print where an epoch's time goes")
    p.add_argument("--mnist", action="store_true",
                   help="measure memory on the real MNIST files (fnn.datasets.load_mnist)")
    p.add_argument("--jax-python", default=os.environ.get("FNN_JAX_PYTHON", DEFAULT_JAX_PYTHON),
                   help="interpreter with jax for bench/_peer_jax.py")
    p.add_argument("--old-tree", default=os.environ.get("FNN_OLD_TREE", DEFAULT_OLD_TREE),
                   help="a checkout of commit 8770eeb (the NumPy path before the compiled "
                        "engine), timed in the same run; '' skips it")
    p.add_argument("--no-jit", action="store_true",
                   help="hide numba from every fnn subprocess, as if it were not installed")
    p.add_argument("--parts", help=f"comma-separated subset of {','.join(PARTS)} (default all)")
    p.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    p.add_argument("--dtype", choices=DTYPES, default="f64", help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, default=10, help=argparse.SUPPRESS)
    p.add_argument("--mode", choices=("fast", "sgd"), default="fast", help=argparse.SUPPRESS)
    p.add_argument("--epochs", type=int, default=2, help=argparse.SUPPRESS)
    p.add_argument("--n2-examples", type=int, default=5000, help=argparse.SUPPRESS)
    p.add_argument("--engine", default="numba", help=argparse.SUPPRESS)
    p.add_argument("--order", default="shuffled", help=argparse.SUPPRESS)
    p.add_argument("--perf-fifo", help=argparse.SUPPRESS)
    return p


if __name__ == "__main__":
    sys.exit(main())
