"""bench/network2_run.py, the results table's network2 column: its batched sums are the book's
per-example loop's sums, and both follow network2's random streams."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import numpy as np

_PATH = Path(__file__).resolve().parents[1] / "bench" / "network2_run.py"
_spec = importlib.util.spec_from_file_location("network2_run", _PATH)
assert _spec is not None and _spec.loader is not None
network2_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(network2_run)


def _data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 12))
    labels = rng.integers(0, 10, n)
    training = [(row.reshape(-1, 1), np.eye(10)[y].reshape(-1, 1)) for row, y in zip(x, labels)]
    return training, (x, labels)


def test_batched_sums_are_the_per_example_loops_to_rounding():
    training, validation = _data(60)
    runs = [network2_run.train(training, validation, sizes=[12, 7, 10], epochs=3,
                               mini_batch_size=10, eta=0.5, lmbda=5.0, init="large", seed=3,
                               per_example=per_example) for per_example in (False, True)]
    (w_b, b_b, curve_b), (w_e, b_e, curve_e) = runs
    for ours, book in zip([*w_b, *b_b], [*w_e, *b_e]):
        np.testing.assert_allclose(ours, book, rtol=1e-12, atol=1e-13)
    assert curve_b == curve_e


def test_a_run_is_network2s_streams_seeded():
    training, validation = _data(40)
    a = network2_run.train(training, validation, sizes=[12, 5, 10], epochs=2, mini_batch_size=10,
                           eta=0.5, lmbda=0.0, init="default", seed=1)
    random.seed(99)
    np.random.seed(99)
    b = network2_run.train(training, validation, sizes=[12, 5, 10], epochs=2, mini_batch_size=10,
                           eta=0.5, lmbda=0.0, init="default", seed=1)
    assert all(np.array_equal(u, v) for u, v in zip([*a[0], *a[1]], [*b[0], *b[1]]))
    # network2's initial weights: randn biases first, then randn weights / sqrt(n_in)
    np.random.seed(1)
    biases = [np.random.randn(n, 1) for n in (5, 10)]
    first = np.random.randn(5, 12) / np.sqrt(12)
    np.random.seed(1)
    w, b = network2_run.initial([12, 5, 10], "default")
    assert np.array_equal(w[0], first) and np.array_equal(b[0], biases[0])

def test_correct_counts_argmaxes_in_chunks_as_one_at_a_time():
    rng = np.random.default_rng(2)
    weights = [rng.standard_normal((6, 12)), rng.standard_normal((10, 6))]
    biases = [rng.standard_normal((6, 1)), rng.standard_normal((10, 1))]
    x, labels = rng.random((2500, 12)), rng.integers(0, 10, 2500)
    one_at_a_time = sum(
        int(np.argmax(network2_run._sigmoid(weights[1] @ network2_run._sigmoid(
            weights[0] @ row.reshape(-1, 1) + biases[0]) + biases[1])) == y)
        for row, y in zip(x, labels))
    assert network2_run.correct(weights, biases, x, labels) == one_at_a_time
