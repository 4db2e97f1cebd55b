"""Shared fixtures: small data sets and the location of the full MNIST files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from fnn.data import Batch
from fnn.params import Params


def _mnist_dir() -> Path:
    env = os.environ.get("FNN_MNIST_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


MNIST_DIR = _mnist_dir()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``mnist`` with a visible reason when the full files are absent."""
    if (MNIST_DIR / "mnist.pkl.gz").is_file():
        return
    if os.environ.get("FNN_REQUIRE_MNIST"):
        raise pytest.UsageError(f"FNN_REQUIRE_MNIST is set but {MNIST_DIR} has no MNIST")
    skip = pytest.mark.skip(reason=f"full MNIST not found at {MNIST_DIR} (set FNN_MNIST_DIR)")
    for item in items:
        if "mnist" in item.keywords:
            item.add_marker(skip)


def read_only(tree: Params) -> Params:
    """A copy of ``tree`` whose arrays refuse writes."""
    def frozen(a: np.ndarray) -> np.ndarray:
        b = a.copy()
        b.setflags(write=False)
        return b
    return Params(tuple(map(frozen, tree.weights)), tuple(map(frozen, tree.biases)))


def separable(n: int, seed: int = 0) -> Batch:
    """Points in the unit square labelled by which side of the diagonal they fall (one-hot)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 2))
    labels = (x[:, 0] > x[:, 1]).astype(np.int64)
    return Batch(x, np.eye(2)[labels])


def _numba_installed() -> bool:
    from fnn.training import compiled
    return compiled.available()


@pytest.fixture(params=[False, pytest.param(True, marks=pytest.mark.skipif(
    not _numba_installed(), reason="numba is not installed (pip install 'fnn[jit]')"))],
    ids=["numpy", "numba"])
def jit(request: pytest.FixtureRequest) -> bool | None:
    """Each engine family in turn: the NumPy paths (jit=False), then the default (jit=None),
    which is the compiled epoch wherever it covers the run (numba installed)."""
    return False if request.param is False else None
