"""The IDX files MNIST (and Fashion-MNIST) ship in, read with magic-number and size checks."""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from fnn.data import Labelled
from fnn.datasets.reading import open_data
from fnn.datasets.splits import (
    N_TRAINING,
    MnistSplits,
    existing,
    float_dtype,
    uint8_split,
)
from fnn.errors import DatasetFormatError
from fnn.files import load_errors

__all__ = ["TRAIN_IMAGES", "load_idx", "read_idx"]

StrPath = str | Path

TRAIN_IMAGES = ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
                "train-images.idx3-ubyte", "train-images.idx3-ubyte.gz")
"""The names a folder's IDX training images may have (how ``find_mnist`` recognises one)."""


def load_idx(folder: StrPath, *, dtype: DTypeLike = np.float32) -> MnistSplits:
    """The four IDX files in ``folder`` as ``MnistSplits``, split as network2's pickle.

    ``folder`` holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each raw or gzip'd (``.gz``),
    also spelled ``train-images.idx3-ubyte``. ``training`` is the first ``N_TRAINING``
    (50,000) training images, ``validation`` the rest (None if there are no more) and
    ``test`` the t10k files; ``x`` is pixel / 256 as ``dtype``, so real MNIST gives
    exactly the arrays of ``mnist.pkl.gz``.

    Fashion-MNIST ships the same file names and format, so ``load_idx`` reads it too;
    on Debian, ``apt-get install dataset-fashion-mnist`` installs its IDX files
    (``dpkg -L dataset-fashion-mnist`` shows the folder).

    >>> load_idx("no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: IDX folder no/such/folder does not exist
    """
    root, dt = existing(folder, "IDX folder", folder=True), float_dtype(dtype)
    with load_errors(str(root), DatasetFormatError):
        train, test = _idx_split(root, "train", dt), _idx_split(root, "t10k", dt)
    validation = Labelled(train.x[N_TRAINING:], train.labels[N_TRAINING:])
    return MnistSplits(Labelled(train.x[:N_TRAINING], train.labels[:N_TRAINING]),
                       validation if validation.labels.size else None, test)


def read_idx(path: StrPath) -> NDArray[np.uint8]:
    """The unsigned-byte array in one IDX file (raw or gzip'd), shaped as its header says.

    The header is two zero bytes, type code 0x08 (unsigned byte), the number of
    dimensions and each dimension as a big-endian uint32: magic 2049 for MNIST's
    labels (n,), 2051 for its images (n, 28, 28). The result is read-only.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     labels = Path(tmp, "labels-idx1-ubyte")
    ...     _ = labels.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9]))
    ...     read_idx(labels).tolist()
    [7, 0, 9]
    """
    file = existing(path, "IDX file", folder=False)
    with load_errors(str(file), DatasetFormatError):
        with open_data(file) as stream:
            data = stream.read_all()
        return _parse_idx(data, file)


_MAX_DIMS = 32  # NumPy 1's limit (NumPy 2's is 64); MNIST's files have 1 and 3


def _parse_idx(data: bytes | bytearray, path: Path) -> NDArray[np.uint8]:
    if len(data) < 4:
        raise DatasetFormatError(f"{path} has {len(data)} bytes, too few for an IDX header")
    zero, type_code, ndim = struct.unpack_from(">HBB", data)
    if zero != 0 or type_code != 0x08 or ndim == 0:
        magic = int.from_bytes(data[:4], "big")
        raise DatasetFormatError(
            f"{path} has bad magic number {magic}; an IDX file of unsigned bytes has "
            f"0x0800 + its number of dimensions (2049 for labels, 2051 for images)")
    if ndim > _MAX_DIMS:
        raise DatasetFormatError(f"{path} has {ndim} dimensions; fnn reads IDX files of at "
                                 f"most {_MAX_DIMS}")
    start = 4 + 4 * ndim
    if len(data) < start:
        raise DatasetFormatError(f"{path} is truncated inside its {ndim}-dimension IDX header")
    dims = struct.unpack_from(f">{ndim}I", data, 4)
    if math.prod(max(n, 1) for n in dims) >= 2**62:  # even when a 0 leaves no data
        raise DatasetFormatError(f"{path} header says {'x'.join(map(str, dims))}: too large "
                                 f"for an array")
    if len(data) - start != math.prod(dims):
        raise DatasetFormatError(
            f"{path} header says {'x'.join(map(str, dims))} = {math.prod(dims)} bytes of data, "
            f"but {len(data) - start} bytes follow it")
    array = np.frombuffer(data, np.uint8, offset=start).reshape(dims)
    array.setflags(write=False)  # a view of the file's bytes, as read
    return array


def _idx_split(folder: Path, prefix: str, dt: np.dtype[Any]) -> Labelled:
    image_file = _idx_file(folder, f"{prefix}-images-idx3-ubyte")
    label_file = _idx_file(folder, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.shape[1:] != (28, 28):
        raise DatasetFormatError(
            f"{image_file} must hold 28x28 images (magic 2051), got magic "
            f"{2048 + images.ndim} with shape {images.shape}")
    if labels.ndim != 1:
        raise DatasetFormatError(
            f"{label_file} must hold labels (magic 2049), got magic {2048 + labels.ndim} "
            f"with shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise DatasetFormatError(
            f"{image_file} has {images.shape[0]} images but {label_file} has "
            f"{labels.shape[0]} labels")
    return uint8_split(str(image_file), images, str(label_file), labels, dt)


def _idx_file(folder: Path, stem: str) -> Path:
    dotted = stem.replace("-idx", ".idx")  # the spelling in the original gzip headers
    names = (stem, f"{stem}.gz", dotted, f"{dotted}.gz")
    found = [folder / name for name in names if (folder / name).is_file()]
    if not found:
        raise FileNotFoundError(f"IDX folder {folder} has no {stem}[.gz] (nor {dotted}[.gz])")
    return found[0]


