"""MNIST's splits and the checks every loader applies to what it read.

Every loader returns ``MnistSplits(training, validation, test)``, each split a
``Labelled(x, labels)``: ``x`` is (n, 784) floats in [0, 1] (pixel / 256, exactly as in
network2's pickle) and ``labels`` int64 digits (n,).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import DTypeLike, NDArray

from fnn.data import Labelled
from fnn.errors import ConfigError, DatasetFormatError
from fnn.params import Array

__all__ = ["N_CLASSES", "N_PIXELS", "N_TRAINING", "MnistSplits", "existing", "float_dtype",
           "float_split", "uint8_split"]

StrPath = str | os.PathLike[str]

N_PIXELS = 28 * 28
"""Pixels per MNIST image (28 × 28), the length of each row of ``x``."""
N_CLASSES = 10
"""MNIST's classes: the digits 0 to 9."""

N_TRAINING = 50_000
"""IDX training rows kept as ``training``; the rest is ``validation``, as in network2's pickle."""


class MnistSplits(NamedTuple):
    """MNIST's three splits; ``validation`` is None when a source has none."""

    training: Labelled
    validation: Labelled | None
    test: Labelled


def float_split(where: str, x: NDArray[Any], labels: NDArray[Any],
                 dt: np.dtype[Any]) -> Labelled:
    """A split read as floats (a pickle's): checked, with ``x`` converted to ``dt``."""
    if x.dtype.kind != "f" or x.ndim != 2 or x.shape[1] != N_PIXELS or x.shape[0] == 0:
        raise DatasetFormatError(
            f"{where} x must be float rows of {N_PIXELS} pixels, got {x.dtype} array{x.shape}")
    low, high = x.min(), x.max()
    if not (low >= 0 and high <= 1):  # NaN fails both comparisons
        row, col = divmod(int(np.argmax(~((x >= 0) & (x <= 1)))), N_PIXELS)
        raise DatasetFormatError(
            f"{where} pixels must be in [0, 1], got {x[row, col]} at row {row}, column {col}")
    return Labelled(x.astype(dt, copy=False), _labels(where, labels, x.shape[0]))


def uint8_split(image_where: str, images: NDArray[Any], label_where: str,
                 labels: NDArray[Any], dt: np.dtype[Any]) -> Labelled:
    """A split read as uint8 images (IDX files, the sample): checked, ``x`` = pixel / 256."""
    if images.dtype != np.uint8 or images.shape[1:] not in ((N_PIXELS,), (28, 28)) \
            or images.shape[0] == 0:
        raise DatasetFormatError(
            f"{image_where} must be uint8 images of {N_PIXELS} pixels, "
            f"got {images.dtype} array{images.shape}")
    x: Array = images.reshape(images.shape[0], N_PIXELS).astype(dt)
    x /= 256  # a new array; the exact values of network2's pickle
    return Labelled(x, _labels(label_where, labels, images.shape[0]))


def _labels(where: str, labels: NDArray[Any], n: int) -> NDArray[np.int64]:
    if labels.dtype.kind not in "iu" or labels.shape != (n,):
        raise DatasetFormatError(
            f"{where} labels must be {n} integers (one per image), "
            f"got {labels.dtype} array{labels.shape}")
    bad = (labels < 0) | (labels >= N_CLASSES)
    if bad.any():
        i = int(np.argmax(bad))
        raise DatasetFormatError(f"{where} labels must be digits 0..9, got {labels[i]} at row {i}")
    return labels.astype(np.int64, copy=False)


def float_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    """``dtype`` as a NumPy float dtype (ConfigError for anything else)."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ConfigError(f"dtype must be a floating type such as np.float32, got {dt}")
    return dt


def existing(path: StrPath, what: str, *, folder: bool) -> Path:
    """``path`` as a Path, if it is an existing folder (``folder``) or file, else the OSError
    that names ``what`` it should have been."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{what} {p} does not exist")
    if folder and not p.is_dir():
        raise NotADirectoryError(f"{what} {p} is not a folder")
    if not folder and p.is_dir():
        raise IsADirectoryError(f"{what} {p} is a folder, not a file")
    return p


