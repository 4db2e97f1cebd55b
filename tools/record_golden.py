"""Record the params and history of fixed-seed training runs, to pin them across redesigns.

    python tools/record_golden.py [--out tests/data/golden_runs.json]

Each case trains a small net on a slice of the embedded MNIST sample and stores, per case,
the SHA-256 of every parameter array's bytes and the whole history (floats written with
``repr``, so they read back bit for bit). ``tests/test_golden.py`` trains the same cases with
the current API and compares. The file was first written from commit d4843e4 (the main
before the API redesign of issue 10), with the API of that commit; the cases are given here
as plain data so that the test can replay them through any later API.

Bits are those of one NumPy/BLAS build with one BLAS thread; the file records the versions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# (name, settings): sizes, dtype, init, rows of the sample, and the keywords of today's sgd.
CASES: list[tuple[str, dict]] = [
    ("network2-defaults", dict(sizes=[784, 16, 10], dtype="float64", init="default",
                               rows=1000, eval_rows=300, epochs=3, mini_batch_size=10,
                               eta=0.5, lmbda=5.0, cost="cross_entropy", seed=0)),
    ("network2-quadratic-f32", dict(sizes=[784, 12, 10], dtype="float32", init="large",
                                    rows=503, eval_rows=200, epochs=3, mini_batch_size=7,
                                    eta=3.0, lmbda=0.1, cost="quadratic", seed=1)),
    ("network2-eta-0.1-l1", dict(sizes=[784, 10, 10, 10], dtype="float64", init="default",
                                 rows=600, eval_rows=200, epochs=2, mini_batch_size=13,
                                 eta=0.1, lmbda=5.0, l1=2.0, cost="cross_entropy", seed=2)),
    ("relu-softmax-momentum-dropout", dict(
        sizes=[784, 20, 10], dtype="float64", init="he", rows=700, eval_rows=200, epochs=3,
        mini_batch_size=10, eta=0.05, lmbda=1.0, cost="log_likelihood", seed=3,
        activation="relu", optimizer="momentum", optimizer_settings={"mu": 0.9},
        dropout=0.2, schedule="halve:1")),
    ("tanh-adam-f32", dict(sizes=[784, 14, 10], dtype="float32", init="default", rows=500,
                           eval_rows=200, epochs=2, mini_batch_size=25, eta=0.002,
                           lmbda=0.5, cost="cross_entropy", seed=4, activation="tanh",
                           optimizer="adam")),
    ("nesterov-l1", dict(sizes=[784, 10, 10], dtype="float64", init="default", rows=400,
                         eval_rows=200, epochs=2, mini_batch_size=20, eta=0.2, lmbda=2.0,
                         l1=1.0, cost="cross_entropy", seed=5, optimizer="nesterov",
                         optimizer_settings={"mu": 0.5})),
    ("mixed-activations-early-stop", dict(
        sizes=[784, 12, 8, 10], dtype="float64", init="default", rows=500, eval_rows=200,
        epochs=4, mini_batch_size=10, eta=0.5, lmbda=5.0, cost="cross_entropy", seed=6,
        activation=["relu", "sigmoid"], early_stop=1)),
    ("book-784-30-10-one-epoch", dict(sizes=[784, 30, 10], dtype="float64", init="default",
                                      rows=10000, eval_rows=2000, epochs=1,
                                      mini_batch_size=10, eta=0.5, lmbda=5.0,
                                      cost="cross_entropy", seed=0)),
]

TRAINING_KEYS = ("epochs", "mini_batch_size", "eta", "lmbda", "cost", "seed", "activation",
                 "optimizer", "optimizer_settings", "l1", "dropout", "schedule", "early_stop")


def leaf_hashes(params) -> dict:
    return {f"{field}[{l}]": hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
            for field, leaves in zip(("weights", "biases"), params) for l, a in enumerate(leaves)}


def run_case(settings: dict):
    import fnn
    from fnn.datasets import load_sample
    sample = load_sample(dtype=settings["dtype"])
    training = (sample.training.x[:settings["rows"]], sample.training.labels[:settings["rows"]])
    evaluation = (sample.test.x[:settings["eval_rows"]], sample.test.labels[:settings["eval_rows"]])
    params = fnn.init_params(settings["sizes"], seed=settings["seed"], scheme=settings["init"],
                             dtype=settings["dtype"])
    kwargs = {k: v for k, v in settings.items() if k in TRAINING_KEYS}
    return fnn.sgd(params, training, evaluation_data=evaluation,
                   monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                   monitor_training_cost=True, monitor_training_accuracy=True, **kwargs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "golden_runs.json")
    args = parser.parse_args()
    from threadpoolctl import threadpool_info, threadpool_limits
    cases = []
    with threadpool_limits(1):
        for name, settings in CASES:
            params, history = run_case(settings)
            cases.append({"name": name, "settings": settings, "params": leaf_hashes(params),
                          "history": history.to_dict()})
            print(name, history[-1])
    blas = [f"{i['internal_api']} {i['version']} ({i.get('architecture')})"
            for i in threadpool_info() if i["user_api"] == "blas"]
    doc = {"recorded_with": {"numpy": np.__version__, "python": platform.python_version(),
                             "blas": blas, "blas_threads": 1},
           "cases": cases}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
