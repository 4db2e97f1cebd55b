"""Time fnn's training epoch against its baselines, all in one run; print ratios, write JSON.

    python bench/speed.py [--quick] [--json out.json] [--peer-python PATH] [--threads 1]
                          [--rounds N] [--profile] [--mnist]

The reference workload (issue 4): a 784-30-10 sigmoid net, cross-entropy, eta 0.5,
lmbda 5.0, 50,000 random training examples of 784 features, one epoch, mini-batches of
10, 100 and 1000, float64 and float32. Each (dtype, batch) workload runs in a fresh
subprocess that times, round-robin so that drift hits all of them alike,

  fnn            fnn.training.fastpath.fast_epoch (what training runs for these settings)
  fnn reference  fnn.training.run_epoch (the pure fold it must match bit for bit)
  plain NumPy    a straightforward vectorised loop (bench/_baselines.py)
  network2       network2's per-example algorithm, timed on a prefix and scaled
  GEMM only      only the matrix products of the epoch; FLOP floor = FLOPs / peak GEMM rate
  monitor        measuring evaluation cost and accuracy on 10,000 examples

and reports the best (minimum) of the rounds: other work on a shared machine only ever
adds time, so the minimum is the steadiest estimate (medians are in the JSON). PyTorch and scikit-learn run the shared peer scripts in their own
interpreter (--peer-python, or $FNN_PEER_PYTHON, or /work/venvs/peers/bin/python); without
it they are reported as not installed. Peak memory of a 2-epoch run with evaluation
monitoring is measured in fresh subprocesses (VmHWM). --threads N limits BLAS threads in
every subprocess (0: the library default); OPENBLAS_CORETYPE and the like are left alone.
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
    print("RESULT " + json.dumps(result), flush=True)


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
    """One epoch of ``kind`` (fast or reference) from params, epoch 0's streams of seed 0."""
    from fnn.training import epoch_streams, run_epoch
    from fnn.training.fastpath import fast_epoch
    epoch = fast_epoch if kind == "fast" else run_epoch
    return epoch((params, ()), data, config, epoch_streams(0, 0, dropout=False))[0]


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
           "bit_identical_to_reference": identical, "flops_per_epoch": flops,
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


def _threadpool_info() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("internal_api", "version", "num_threads", "architecture", "threading_layer")
    return [{k: info.get(k) for k in keys} for info in threadpool_info()]


WORKERS = {"time": time_worker, "memory": memory_worker, "run": run_worker,
           "profile": profile_worker}


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


def _run_worker(kind: str, options: list[str], args: argparse.Namespace) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind,
               "--threads", str(args.threads), "--clock", args.clock,
               "--compare-threads", str(args.compare_threads), *options,
               *(["--quick"] if args.quick else [])]
    done = subprocess.run(command, capture_output=True, text=True, env=_child_env(args.threads),
                          check=False)
    result = _result_line(done.stdout)
    if done.returncode or result is None:
        raise RuntimeError(f"{shlex.join(command)} failed:\n{done.stderr[-3000:]}")
    return result


def _run_peer(script: str, dtype: str, batch: int, args: argparse.Namespace) -> dict:
    """One peer script's RESULT, its seconds scaled to a 50,000-example epoch, or why not."""
    python, folder = Path(args.peer_python), Path(args.peer_dir)
    if not python.exists():
        return {"status": f"not installed (no peer python at {python})"}
    if not (folder / script).exists():
        return {"status": f"not installed (no {folder / script})"}
    n, epochs = (5000, 1) if args.quick else (N_TRAIN, 2)
    command = [str(python), script, "--dtype", dtype, "--batch", str(batch), "--n", str(n),
               "--epochs", str(epochs), "--warmup", "1", "--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=folder,
                          env=_child_env(args.threads), check=False)
    result = _result_line(done.stdout)
    if result is None:
        missing = "No module named" in done.stderr
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no RESULT"
        return {"status": "not installed" if missing else "failed", "error": reason}
    result["status"] = "ok"
    # the peers time with wall clocks; their CPU/wall ratio converts that to CPU seconds
    cpu_share = result.get("cpu_per_wall") or 1.0 if args.clock == "cpu" else 1.0
    result["s_per_50k_epoch"] = result["s_per_epoch_min"] * cpu_share * N_TRAIN / result["n"]
    return result


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
    """(what, measured ratio, target) for every target of issue 4 that this run measured."""
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
    return out


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
    m = report["machine"]
    blas = ", ".join(f"{t['internal_api']} {t['version']} ({t['architecture']}, "
                     f"{t['num_threads']} threads)" for t in report["workloads"][0]["threadpool"])
    print(f"fnn speed: {m['cpu']} ({m['cpus']} CPUs), Python {m['python']}, NumPy {m['numpy']}, "
          f"{blas or 'BLAS unknown'}; --threads {report['threads']}")
    print(f"command: {report['command']}")
    print(f"{report['clock']} seconds per 50,000-example epoch, best of {report['rounds']} "
          "interleaved rounds; ratios are fnn / baseline\n")
    print(_table(report))
    peers = {name: w.get("peers", {}).get(name, {}).get("status")
             for w in report["workloads"] for name in ("torch", "sklearn")}
    if any(status != "ok" for status in peers.values() if status):
        print("peers:", "; ".join(f"{k}: {v}" for k, v in peers.items() if v and v != "ok"))
    epochs = report["memory"][0]["epochs"] if report["memory"] else 0
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
    print("\ntargets:")
    for what, ratio, target in _targets(report):
        mark = "n/a " if ratio is None else ("met " if ratio <= target else "MISS")
        shown = "   -  " if ratio is None else f"{ratio:6.3f}"
        print(f"  {mark} {what:<46} {shown} (target <= {target})")
    compared = [w for w in report["workloads"] if w.get("threads_compared")]
    if compared:
        print("\nBLAS threads (fast_epoch, wall seconds, best of the rounds):")
    for w in compared:
        c = w["threads_compared"]
        times = ", ".join(f"{k} thread(s) {v:.3f} s" for k, v in c["wall_best"].items())
        print(f"  {w['dtype']} b{w['batch']:<5} {times}; same bits: {c['same_bits']}")
    identical = all(w["bit_identical_to_reference"] for w in report["workloads"])
    print(f"\nfast_epoch bit-identical to run_epoch in every workload: {identical}")


def _print_profile(result: dict) -> None:
    from _profile import format_breakdown
    print(f"\nprofile ({result['dtype']}, batch {result['batch']}):")
    print(format_breakdown("run_epoch (cProfile, own time per function)", result["reference"]))
    print(format_breakdown("fast_epoch (timer around every NumPy call)", result["fast"]))


def _workloads(quick: bool) -> list[tuple[str, int]]:
    """Every (dtype, batch); --quick keeps float32 at batch 10 only (its one target)."""
    return [(d, b) for d in DTYPES for b in BATCHES if not quick or d == "f64" or b == 10]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.clock = args.clock or ("cpu" if args.threads == 1 else "wall")
    if args.worker:
        WORKERS[args.worker](args)
        return 0
    if args.profile:
        _print_profile(_run_worker("profile", ["--dtype", "f64", "--batch", "10"], args))
        return 0
    rounds = args.rounds or (2 if args.quick else 5)
    report = {"machine": _machine(), "threads": args.threads, "rounds": rounds,
              "clock": args.clock,
              "command": shlex.join([Path(sys.executable).name, *sys.argv]),
              "workloads": [], "memory": [], "run": None}
    for dtype, batch in _workloads(args.quick):
        workload = _run_worker("time", ["--dtype", dtype, "--batch", str(batch),
                                        "--rounds", str(rounds), "--n2-examples",
                                        "1000" if args.quick else "5000"], args)
        if not args.quick or batch == 10:
            workload["peers"] = {name: _run_peer(script, dtype, batch, args)
                                 for name, script in (("torch", "peer_torch.py"),
                                                      ("sklearn", "peer_sklearn.py"))}
        report["workloads"].append(workload)
    for dtype in DTYPES:
        for mode in (("fast",) if args.quick else ("fast", "sgd")):
            report["memory"].append(_run_worker(
                "memory", ["--dtype", dtype, "--mode", mode, "--epochs", "1" if args.quick else "2",
                           *(["--mnist"] if args.mnist else [])], args))
    if not args.quick:
        report["run"] = _run_worker("run", ["--dtype", "f64", "--epochs", "30"], args)
    _print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


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
    p.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    p.add_argument("--dtype", choices=DTYPES, default="f64", help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, default=10, help=argparse.SUPPRESS)
    p.add_argument("--mode", choices=("fast", "sgd"), default="fast", help=argparse.SUPPRESS)
    p.add_argument("--epochs", type=int, default=2, help=argparse.SUPPRESS)
    p.add_argument("--n2-examples", type=int, default=5000, help=argparse.SUPPRESS)
    return p


if __name__ == "__main__":
    sys.exit(main())
