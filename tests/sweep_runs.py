"""Small sweeps on the embedded sample: the helpers of test_sweep_* and test_cli_sweep.

``BASE`` × ``GRID`` × 3 seeds is network2's update (12 jobs); ``CHAPTER3`` varies what
chapter 3 added (optimizers and their settings, activations, dropout, L1, schedules, early
stopping, expansions, dtypes, initializers, costs), each as a value. Both train 2 epochs on
1,000 rows and are measured on 500, so a whole sweep takes about a second.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

import fnn
from fnn.data import Labelled
from fnn.datasets import load_sample
from fnn.expand import Expansion
from fnn.optimizers import adam, chain, clip_by_global_norm, momentum, nesterov
from fnn.schedules import halve_on_plateau, step_decay
from fnn.sweep import SweepData, base_run, parse_result, result_line

BASE = base_run(sizes=(784, 10, 10), epochs=2)
GRID = {"eta": [0.1, 0.5], "lmbda": [1.0, 5.0]}
SMALL = ["--sizes", "784,10,10", "--epochs", "2", "--training-rows", "1000",
         "--split", "test", "--evaluation-rows", "500"]
"""``fnn sweep`` options for ``BASE`` on the rows of ``sweep_data()``."""

CHAPTER3 = (
    {"optimizer": momentum(eta=0.1, mu=0.9), "activation": fnn.RELU, "init": fnn.he_init},
    {"optimizer": adam(eta=0.01), "activation": fnn.TANH, "dropout": 0.5},
    {"optimizer": chain(clip_by_global_norm(1.0), nesterov(eta=0.1)), "l1": 0.1, "lmbda": 0.0},
    {"schedule": halve_on_plateau(patience=1), "early_stop": 1, "epochs": 3},
    {"schedule": step_decay(every=1), "optimizer": momentum(eta=0.2)},
    {"expansion": Expansion(shifts=True), "sizes": (784, 20, 10)},
    {"expansion": Expansion(rotations=1)},
    {"dtype": "float32", "activation": (fnn.RELU, fnn.TANH), "sizes": (784, 10, 10, 10)},
    {"cost": fnn.log_likelihood, "eta": 0.1},
)
"""Overrides of ``BASE``: every chapter-3 setting a sweep may vary, as Python values."""


@functools.cache
def sweep_data() -> SweepData:
    """The first 1,000 training and 500 test rows of the embedded sample, in float64."""
    sample = load_sample(dtype=np.float64)
    return SweepData(Labelled(sample.training.x[:1000], sample.training.labels[:1000]),
                     Labelled(sample.test.x[:500], sample.test.labels[:500]))


def canonical(path: Path) -> bytes:
    """The file's records without their timing, ordered by job id: what must not vary."""
    lines = path.read_bytes().splitlines(keepends=True)
    results = [parse_result(line) for line in lines]
    assert [result_line(r) for r in results] == lines  # every line reads back to its bytes
    return b"".join(sorted(result_line(r, timing=False) for r in results))
