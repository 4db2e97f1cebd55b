"""fnn's IDX loader on the real Fashion-MNIST files, as Debian's ``dataset-fashion-mnist``
ships them (the results table's Fashion rows read them the same way).

Skips, saying how to install them, where the package is absent; ``.ci/run`` installs it and
sets ``FNN_REQUIRE_FASHION``, so there a missing package fails instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from fnn.datasets import load_idx
from fnn.datasets.idx import TRAIN_IMAGES

FOLDER = Path(os.environ.get("FNN_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
MISSING = (f"Fashion-MNIST is not in {FOLDER} "
           "(apt-get install dataset-fashion-mnist, or set FNN_FASHION_MNIST)")


@pytest.fixture(scope="module")
def fashion():
    if not any((FOLDER / name).exists() for name in TRAIN_IMAGES):
        if os.environ.get("FNN_REQUIRE_FASHION"):
            pytest.fail(f"FNN_REQUIRE_FASHION is set but {MISSING}")
        pytest.skip(MISSING)
    return load_idx(FOLDER)


def test_the_split_is_network2s_50000_10000_10000(fashion):
    assert fashion.training.x.shape == (50_000, 784)
    assert fashion.validation is not None and fashion.validation.x.shape == (10_000, 784)
    assert fashion.test.x.shape == (10_000, 784)
    assert fashion.training.x.dtype == np.float32


def test_the_classes_are_balanced_as_the_dataset_publishes(fashion):
    training = np.concatenate([fashion.training.labels, fashion.validation.labels])
    assert np.bincount(training).tolist() == [6_000] * 10  # 60,000 training images
    assert np.bincount(fashion.test.labels).tolist() == [1_000] * 10
    assert training[:5].tolist() == [9, 0, 0, 3, 0]  # ankle boot, T-shirt, T-shirt, dress, ...


def test_pixels_are_bytes_over_256(fashion):
    x = fashion.training.x
    assert float(x.min()) == 0.0 and float(x.max()) == 255 / 256
    assert np.array_equal(np.round(x * 256), x * 256)  # every value an exact k / 256
