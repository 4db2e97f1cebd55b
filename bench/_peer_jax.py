"""JAX (CPU) peer: the reference workload's epoch as one jitted ``lax.scan`` over mini-batches.

Run with an interpreter that has JAX (``bench/speed.py`` uses /work/venvs/jax/bin/python or
$FNN_JAX_PYTHON); it does not import fnn. The workload is the shared peers' (see
/work/shared/bench/common.py): a 784-30-10 net, sigmoid layers, cross-entropy, and network2's
update with L2 on the weights only,

    w <- (1 - eta*lmbda/n) w - (eta/m) sum_batch grad_w,   b <- b - (eta/m) sum_batch grad_b,

written as a JAX user would: the loss summed over the batch from the logits (the cross-entropy
of a sigmoid, ``softplus(z) - y*z``, whose gradient is sigmoid(z) - y, network2's delta),
``jax.grad`` for the gradient, and the whole epoch jitted: the shuffle
(``jax.random.permutation``), the index array reshaped to (steps, m), and a ``lax.scan``
whose step gathers ``x[rows]`` and updates the params (donated, so updated in place).

Timing excludes compilation (the warm-up epoch compiles; later calls reuse it) and waits for
the result (``block_until_ready``). ``--threads N`` keeps XLA to N CPUs: the ``XLA_FLAGS``
below (``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=N``) and, because
this jaxlib sizes its CPU thread pools from the process's CPU affinity rather than from
those flags, the affinity narrowed to N CPUs while the client starts, then restored (the
pools keep their size; the OS may still move the process between CPUs). The peer's
``cpu_per_wall`` shows whether it ran on more than one CPU. Prints one ``RESULT {json}`` line,
the shared peers' protocol.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from itertools import pairwise

ETA, LMBDA, N_TRAIN, SIZES = 0.5, 5.0, 50_000, (784, 30, 10)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dtype", choices=("f64", "f32"), default="f64")
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--n", type=int, default=N_TRAIN, help="training examples per epoch")
    p.add_argument("--hidden", type=int, default=SIZES[1])
    p.add_argument("--warmup", type=int, default=1, help="untimed epochs first (compiles)")
    p.add_argument("--epochs", type=int, default=5, help="timed epochs")
    p.add_argument("--threads", type=int, default=0, help="CPUs for XLA (0: its default)")
    p.add_argument("--seed", type=int, default=0)
    return p


def _limit_threads(threads: int):
    """Set XLA's thread flags and narrow the CPU affinity before JAX starts; return the
    affinity to restore once the CPU client exists."""
    if not threads:
        return None
    flags = f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}"
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, cpus[:threads])
    return set(cpus)


def _data(n: int, dtype, seed: int):
    """Inputs in [0, 1) and one-hot targets, as the shared peers make them (rows = examples)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.random((n, SIZES[0]), dtype=dtype)
    labels = rng.integers(0, SIZES[-1], n)
    y = np.zeros((n, SIZES[-1]), dtype=dtype)
    y[np.arange(n), labels] = 1.0
    return x, y


def _init(sizes, dtype, seed: int):
    """Nielsen's initialiser, W ~ N(0, 1)/sqrt(n_in) of shape (n_in, n_out), b ~ N(0, 1)."""
    import numpy as np
    rng = np.random.default_rng(seed + 1)
    ws = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype)
          for a, b in pairwise(sizes)]
    return {"w": ws, "b": [rng.standard_normal(b).astype(dtype) for b in sizes[1:]]}


def _make_epoch(jax, n: int, m: int):
    """The jitted epoch: (params, x, y, key) -> params, every step inside one lax.scan."""
    jnp = jax.numpy

    def loss(params, x, y):
        a = x
        for w, b in zip(params["w"][:-1], params["b"][:-1]):
            a = jax.nn.sigmoid(a @ w + b)
        z = a @ params["w"][-1] + params["b"][-1]
        return jnp.sum(jax.nn.softplus(z) - y * z)  # cross-entropy of sigmoid(z), summed

    shrink = 1 - ETA * LMBDA / n

    def update(params, x, y):
        g = jax.grad(loss)(params, x, y)
        scale = ETA / x.shape[0]
        return {"w": [shrink * w - scale * gw for w, gw in zip(params["w"], g["w"])],
                "b": [b - scale * gb for b, gb in zip(params["b"], g["b"])]}

    def epoch(params, x, y, key):
        order = jax.random.permutation(key, n)
        full = n // m * m
        steps = order[:full].reshape(-1, m)
        params, _ = jax.lax.scan(lambda p, rows: (update(p, x[rows], y[rows]), None),
                                 params, steps)
        if full < n:  # the last, partial batch
            rest = order[full:]
            params = update(params, x[rest], y[rest])
        return params

    return jax.jit(epoch, donate_argnums=0)


def _cpu_seconds_of(run, warmup: int, epochs: int) -> tuple[list[float], float]:
    """Wall seconds of each timed epoch, and the CPU seconds per wall second over them."""
    for _ in range(warmup):
        run()
    times, cpu = [], time.process_time()
    for _ in range(epochs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times, (time.process_time() - cpu) / sum(times)


def main() -> int:
    args = _parser().parse_args()
    restore = _limit_threads(args.threads)
    import jax
    import numpy as np
    if args.dtype == "f64":
        jax.config.update("jax_enable_x64", True)
    device = jax.devices("cpu")[0]  # starts the CPU client, sizing its thread pools
    if restore:
        os.sched_setaffinity(0, restore)
    dtype = {"f64": np.float64, "f32": np.float32}[args.dtype]
    sizes = (SIZES[0], args.hidden, SIZES[-1])
    x_np, y_np = _data(args.n, dtype, args.seed)
    x, y = jax.device_put(x_np, device), jax.device_put(y_np, device)
    state = {"params": jax.device_put(_init(sizes, dtype, args.seed), device), "epoch": 0}
    epoch = _make_epoch(jax, args.n, args.batch)
    key = jax.random.key(args.seed + 2)

    def run():
        key_e = jax.random.fold_in(key, state["epoch"])
        state["params"] = jax.block_until_ready(epoch(state["params"], x, y, key_e))
        state["epoch"] += 1

    times, cpu_per_wall = _cpu_seconds_of(run, args.warmup, args.epochs)
    w0 = np.asarray(state["params"]["w"][0])
    assert w0.dtype == dtype
    assert np.isfinite(w0).all()
    _emit(args, times, cpu_per_wall, jax)
    return 0


def _emit(args: argparse.Namespace, times: list[float], cpu_per_wall: float, jax) -> None:
    import numpy as np
    result = {
        "peer": "jax", "variant": "jit-scan", "dtype": args.dtype, "batch": args.batch,
        "hidden": args.hidden, "threads": args.threads, "n": args.n, "scale": 1.0,
        "epoch_times_raw": [round(t, 6) for t in times],
        "s_per_epoch": statistics.median(times), "s_per_epoch_min": min(times),
        "s_per_epoch_max": max(times), "cpu_per_wall": cpu_per_wall,
        "loadavg_1m_end": os.getloadavg()[0], "python": platform.python_version(),
        "numpy": np.__version__, "jax": jax.__version__,
        "jaxlib": getattr(jax.lib, "__version__", None) or _jaxlib_version(),
        "cpus_allowed": len(os.sched_getaffinity(0)),
        "env": {k: os.environ[k] for k in sorted(os.environ)
                if k.startswith(("OPENBLAS", "OMP_", "MKL_", "XLA_"))},
    }
    print("RESULT " + json.dumps(result), flush=True)


def _jaxlib_version() -> str | None:
    try:
        from importlib.metadata import version
        return version("jaxlib")
    except Exception:  # noqa: BLE001 (only a label)
        return None


if __name__ == "__main__":
    sys.exit(main())
