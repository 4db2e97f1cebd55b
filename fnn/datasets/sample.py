"""The real MNIST digits shipped inside fnn (``fnn/sample/mnist_sample.npz``)."""

from __future__ import annotations

import io
import zipfile
import zlib
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from fnn.datasets.splits import MnistSplits, float_dtype, uint8_split
from fnn.errors import DatasetFormatError

__all__ = ["load_sample"]

_SPLITS = ("training", "validation", "test")


def load_sample(*, dtype: DTypeLike = np.float32) -> MnistSplits:
    """The real MNIST digits shipped inside fnn: 10,000 training, 2,000 validation and
    2,000 test images.

    Each split is drawn from the matching part of network2's split by a fixed seed: training
    from the first 50,000 IDX training images, validation from the last 10,000, test from
    the t10k test set, so no image is in two splits. ``tools/make_mnist_sample.py`` builds
    the file; ``fnn/sample/PROVENANCE.txt`` lists its source rows and checksums and
    ``fnn/sample/LICENSE-MNIST.txt`` its licence (CC BY-SA 3.0).

    >>> sample = load_sample(dtype=np.float64)
    >>> [len(split.labels) for split in sample]
    [10000, 2000, 2000]
    >>> sample.test.x.shape, sample.test.x.dtype, sorted(set(sample.test.labels.tolist()))
    ((2000, 784), dtype('float64'), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    dt = float_dtype(dtype)
    resource = resources.files("fnn") / "sample" / "mnist_sample.npz"
    return _sample_splits(resource.read_bytes(), str(resource), dt)


def _sample_splits(data: bytes, where: str, dt: np.dtype[Any]) -> MnistSplits:
    keys = tuple(f"{split}_{part}" for split in _SPLITS for part in ("images", "labels"))
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in keys}
    except (zipfile.BadZipFile, ValueError, KeyError, OSError, EOFError, zlib.error) as exc:
        raise DatasetFormatError(
            f"{where} is not a readable sample archive with arrays {list(keys)}: "
            f"{type(exc).__name__}: {exc}") from None
    training, validation, test = (
        uint8_split(f"{where} {name}_images", arrays[f"{name}_images"],
                     f"{where} {name}_labels", arrays[f"{name}_labels"], dt)
        for name in _SPLITS)
    return MnistSplits(training, validation, test)
