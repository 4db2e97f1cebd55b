"""Accuracy results on the full MNIST: the book's chapter-3 rows and fnn's extensions.

    python bench/results.py --rows book-30,book-100 [--seeds 0,1,2] [--jobs 2]
                            [--mnist PATH] [--json bench/results/results.json]

Each row is trained once per seed (a fresh process per run when --jobs > 1, each pinned to one
BLAS thread when threadpoolctl is installed) on network2's split of MNIST (50,000 training,
10,000 validation, 10,000 test), and reports the final validation and test accuracy (mean and
sample standard deviation over the seeds, min and max), the best validation accuracy, and the
wall time per run. Every row also gives the `fnn train` command that trains one of its runs.
Results accumulate in the JSON file (one entry per row and seed), so rows can be run apart.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MNIST = REPO.parent / "shared" / "data" / "mnist" / "mnist.pkl.gz"

# name: (description, book figure or None, sgd settings, extra CLI flags)
BASE = dict(sizes=[784, 30, 10], cost="cross_entropy", epochs=30, mini_batch_size=10, eta=0.5,
            lmbda=5.0, dtype="float64")
# The book's chapter-3 runs call net.large_weight_initializer() before SGD (the better
# initializer is introduced later in the chapter), so its rows use init "large".
ROWS: dict[str, dict[str, Any]] = {
    "book-30": dict(title="784-30-10 sigmoid, cross-entropy, eta 0.5, lmbda 5, batch 10, "
                          "30 epochs, large init (as the book)", book=96.49,
                    settings={**BASE, "init": "large"}),
    "book-100": dict(title="784-100-10 sigmoid, cross-entropy, eta 0.5, lmbda 5, batch 10, "
                           "30 epochs, large init (as the book)", book=97.92,
                     settings={**BASE, "sizes": [784, 100, 10], "init": "large"}),
    "default-30": dict(title="784-30-10 as book-30 with network2's default init "
                             "N(0,1)/sqrt(n_in)", book=None, settings=BASE),
    "default-100": dict(title="784-100-10 as book-100 with the default init", book=None,
                        settings={**BASE, "sizes": [784, 100, 10]}),
    "default-30-f32": dict(title="784-30-10 as default-30, trained in float32", book=None,
                           settings={**BASE, "dtype": "float32"}),
    "softmax-100": dict(title="784-100-10 sigmoid hidden, softmax + log-likelihood, eta 0.5, "
                              "lmbda 5, batch 10, 30 epochs", book=None,
                        settings={**BASE, "sizes": [784, 100, 10], "cost": "log_likelihood",
                                  "output": "softmax"}),
    "best-800": dict(title="784-800-10 ReLU, softmax, momentum 0.9, eta 0.01, lmbda 5, "
                           "batch 50, shifts x5 (250,000 images), halve:3, 30 epochs, float32",
                     book=None,
                     settings={**BASE, "sizes": [784, 800, 10], "cost": "log_likelihood",
                               "output": "softmax", "activation": "relu", "init": "he",
                               "optimizer": "momentum", "mu": 0.9, "eta": 0.01,
                               "mini_batch_size": 50, "schedule": "halve:3", "expand": True,
                               "dtype": "float32"}),
}


def command(settings: dict[str, Any], mnist: str, seed: int) -> str:
    """The `fnn train` command line of one run of a row."""
    flags = [f"--data {mnist}", f"--sizes {','.join(map(str, settings['sizes']))}",
             f"--epochs {settings['epochs']}", f"--mini-batch-size {settings['mini_batch_size']}",
             f"--eta {settings['eta']}", f"--lmbda {settings['lmbda']}", f"--seed {seed}"]
    for key, flag in (("init", "--init"), ("output", "--output"), ("activation", "--activation"),
                      ("optimizer", "--optimizer"), ("mu", "--mu"), ("schedule", "--schedule"),
                      ("dtype", "--dtype")):
        if key in settings and settings[key] != BASE.get(key):
            flags.append(f"{flag} {settings[key]}")
    if settings.get("expand"):
        flags.append("--expand")
    return "fnn train " + " ".join(flags) + " --monitor evaluation_accuracy"


def run_one(row: str, seed: int, mnist: str) -> dict[str, Any]:
    """Train one seed of ``row``; returns its figures (run in a worker process)."""
    try:
        from threadpoolctl import threadpool_limits
        limits: Any = threadpool_limits(limits=1, user_api="blas")
    except ImportError:
        limits = None
    import fnn
    from fnn.datasets import load_pickle
    from fnn.expand import expand

    s = ROWS[row]["settings"]
    data = load_pickle(mnist, dtype=s["dtype"])
    training = data.training
    if s.get("expand"):
        training = expand(training.x, training.labels, seed=seed)
    params = fnn.init_params(s["sizes"], seed=seed,
                             init=fnn.registry.initializer(s.get("init", "default")),
                             dtype=s["dtype"])
    t0 = time.perf_counter()
    name = {"sgd": "gradient_descent"}.get(s.get("optimizer", "sgd"), s.get("optimizer"))
    optimizer = fnn.registry.optimizer({"name": name, "eta": s["eta"],
                                        **({"mu": s["mu"]} if "mu" in s else {})})
    params, history = fnn.sgd(
        params, training, epochs=s["epochs"], mini_batch_size=s["mini_batch_size"],
        optimizer=optimizer, lmbda=s["lmbda"], cost=fnn.registry.cost(s["cost"]), seed=seed,
        evaluation_data=data.validation, monitor_evaluation_accuracy=True,
        activation=fnn.registry.activation(s.get("activation", "sigmoid")),
        schedule=fnn.registry.schedule(s.get("schedule", "constant")))
    wall = time.perf_counter() - t0
    activation = s.get("activation", "sigmoid")
    test = fnn.accuracy(params, data.test.x, data.test.labels,
                        activation=fnn.registry.activation(activation))
    if limits is not None:
        limits.restore_original_limits()
    accuracies = [r.evaluation_accuracy for r in history]
    return {"row": row, "seed": seed, "epochs_run": len(history),
            "final_validation": accuracies[-1], "best_validation": max(accuracies),
            "best_epoch": int(np.argmax(accuracies)), "test": test / data.test.x.shape[0],
            "wall_s": wall, "stopped": history.stopped,
            "validation_curve": accuracies, "etas": [r.eta for r in history],
            "command": command(s, mnist, seed)}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean, sample standard deviation, min and max of each figure over the seeds."""
    def stats(key: str) -> dict[str, float]:
        values = [100 * r[key] for r in runs]
        return {"mean": statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                "min": min(values), "max": max(values)}
    return {"seeds": [r["seed"] for r in runs], "final_validation": stats("final_validation"),
            "best_validation": stats("best_validation"), "test": stats("test"),
            "wall_s": statistics.fmean(r["wall_s"] for r in runs)}


def markdown(results: dict[str, list[dict[str, Any]]]) -> str:
    """The README table."""
    header = ("| configuration | book | final validation % | test % | best validation % | "
              "wall time / run | command (seed 0) |")
    lines = [header, "|---|---|---|---|---|---|---|"]
    for row, runs in results.items():
        s = summary(runs)
        book = ROWS[row]["book"]
        fv, te, bv = s["final_validation"], s["test"], s["best_validation"]
        lines.append(
            f"| {ROWS[row]['title']} | {'' if book is None else f'{book:.2f}'} | "
            f"{fv['mean']:.2f} ± {fv['std']:.2f} ({fv['min']:.2f}–{fv['max']:.2f}) | "
            f"{te['mean']:.2f} ± {te['std']:.2f} ({te['min']:.2f}–{te['max']:.2f}) | "
            f"{bv['mean']:.2f} ± {bv['std']:.2f} | {s['wall_s']:.0f} s | "
            f"`{runs[0]['command']}` |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", default="book-30,book-100",
                   help=f"comma list of {', '.join(ROWS)}")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--mnist", default=os.environ.get("FNN_MNIST", str(DEFAULT_MNIST)))
    p.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "results.json")
    p.add_argument("--table-only", action="store_true",
                   help="print the table of the runs stored in --json; train nothing")
    args = p.parse_args()
    rows, seeds = args.rows.split(","), [int(s) for s in args.seeds.split(",")]
    if args.table_only:
        rows = []
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        p.error(f"unknown row {unknown[0]!r}; expected one of {list(ROWS)}")
    jobs = [(r, s) for r in rows for s in seeds]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        done = list(pool.map(run_one, [r for r, _ in jobs], [s for _, s in jobs],
                             [args.mnist] * len(jobs)))
    stored = json.loads(args.json.read_text()) if args.json.exists() else {"runs": []}
    keep = [r for r in stored["runs"] if (r["row"], r["seed"]) not in set(jobs)]
    stored = {"machine": {"python": platform.python_version(), "numpy": np.__version__,
                          "cpu_count": os.cpu_count(), "platform": platform.platform()},
              "runs": keep + done}
    args.json.write_text(json.dumps(stored, indent=1) + "\n")
    by_row: dict[str, list[dict[str, Any]]] = {}
    order = {name: i for i, name in enumerate(ROWS)}
    for r in sorted(stored["runs"], key=lambda r: (order.get(r["row"], len(order)), r["seed"])):
        by_row.setdefault(r["row"], []).append(r)
    print(markdown(by_row))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
