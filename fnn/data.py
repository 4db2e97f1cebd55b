"""Datasets as plain arrays: ``Batch(x, y)`` with examples as rows, and their checks."""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import DTypeLike, NDArray

from fnn.errors import DataError, FnnTypeError
from fnn.params import Array

__all__ = ["Batch", "Labelled", "as_batch", "as_evaluation_data", "as_inputs", "as_targets",
           "as_training_data", "fingerprint", "one_hot", "take"]

Labels = NDArray[np.integer[Any]]


class Batch(NamedTuple):
    """Training examples: ``x`` is (m, n_in), ``y`` one-hot (m, n_out), rows aligned."""

    x: Array
    y: Array


class Labelled(NamedTuple):
    """Evaluation examples: ``x`` is (m, n_in), ``labels`` integer classes (m,)."""

    x: Array
    labels: Labels


def fingerprint(data: tuple[Any, ...] | None) -> str | None:
    """SHA-256 over the shapes, dtypes and bytes of a data set's arrays (None for None).

    >>> fingerprint(Batch(np.zeros((2, 3)), np.eye(2)))[:12]
    '81ef72976405'
    """
    if data is None:
        return None
    h = hashlib.sha256()
    for a in data:
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def take(data: Batch, rows: Any) -> Batch:
    """The examples at ``rows`` (a gather, so a new Batch).

    >>> take(Batch(np.eye(3), np.eye(3)), [2, 0]).x.tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    return Batch(data.x[rows], data.y[rows])


def one_hot(labels: Labels, n_out: int, dtype: DTypeLike = np.float64) -> Array:
    """An (m, n_out) matrix with a 1 in each row's label column.

    >>> one_hot(np.array([1, 0]), 3).tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    """
    out = np.zeros((labels.shape[0], n_out), dtype=dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


def as_inputs(x: Any, n_in: int, name: str = "x") -> Array:
    """``x`` checked as a batch of inputs: a 2-D array of real numbers with ``n_in`` columns.

    No copy and no cast: the layer arithmetic promotes dtypes as NumPy does.

    >>> as_inputs(np.ones(3), 3)
    Traceback (most recent call last):
    ...
    fnn.errors.DataError: x must be 2-D (m, 3), one example per row, got shape (3,)
    """
    if not isinstance(x, np.ndarray):
        raise FnnTypeError(f"{name} must be a numpy array (m, {n_in}), got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != n_in:
        raise DataError(f"{name} must be 2-D (m, {n_in}), one example per row, got shape "
                        f"{x.shape}")
    if x.dtype.kind not in "fiu":
        raise FnnTypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    return x


def as_targets(y: Any, m: int, n_out: int, dtype: DTypeLike, name: str = "y") -> Array:
    """``y`` as target rows (m, n_out): integer labels (m,) become one-hot rows of ``dtype``;
    rows of numbers (m, n_out) are used as they are (one-hot, or soft targets).

    Anything else is refused, in particular a vector of floats, which would otherwise
    broadcast against the (m, n_out) outputs and give a wrong cost with no error.

    >>> as_targets(np.array([2, 0]), 2, 3, np.float64).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    >>> as_targets(np.array([2.0, 0.0]), 2, 3, np.float64)
    Traceback (most recent call last):
    ...
    fnn.errors.DataError: y must be integer labels (2,) or target rows (2, 3), got float64 array of shape (2,)
    """
    if not isinstance(y, np.ndarray):
        raise FnnTypeError(f"{name} must be a numpy array of labels ({m},) or target rows "
                           f"({m}, {n_out}), got {type(y).__name__}")
    if y.ndim == 1 and y.dtype.kind in "iu" and y.shape[0] == m:
        return one_hot(_labels(y, m, n_out, name), n_out, dtype)
    if y.shape == (m, n_out) and y.dtype.kind in "fiub":
        return y.astype(dtype) if y.dtype.kind == "b" else y
    raise DataError(f"{name} must be integer labels ({m},) or target rows ({m}, {n_out}), "
                    f"got {y.dtype} array of shape {y.shape}")


def as_batch(data: Any, *, n_in: int, n_out: int, dtype: DTypeLike,
             name: str = "batch") -> Batch:
    """Any ``(x, y)`` pair as a ``Batch``: ``x`` as ``as_inputs``, ``y`` as ``as_targets``.

    >>> as_batch((np.zeros((2, 3)), np.array([1, 0])), n_in=3, n_out=2, dtype=np.float64).y
    array([[0., 1.],
           [1., 0.]])
    """
    x, y = _pair(data, name)
    x = as_inputs(x, n_in, f"{name} x")
    return Batch(x, as_targets(y, x.shape[0], n_out, dtype, f"{name} y"))


def as_training_data(data: Any, *, n_in: int, n_out: int, dtype: DTypeLike,
                     name: str = "training_data") -> Batch:
    """``data = (x, y)`` checked and made a ``Batch`` of ``dtype`` with one-hot ``y``.

    ``y`` may be one-hot ``(n, n_out)`` or integer labels ``(n,)``. ``x`` is used
    as it is when it already has ``dtype`` (no copy), else converted once.

    >>> as_training_data((np.ones((2, 3)), np.array([0, 1])), n_in=3, n_out=2,
    ...                  dtype=np.float64).y.tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    >>> as_training_data((np.ones((2, 4)), np.array([0, 1])), n_in=3, n_out=2, dtype=np.float64)
    Traceback (most recent call last):
    ...
    fnn.errors.DataError: training_data x must have 3 columns (the input layer), got shape (2, 4)
    """
    x, y = _pair(data, name)
    x = _inputs(x, n_in, name, dtype)
    if y.ndim == 1:
        return Batch(x, one_hot(_labels(y, x.shape[0], n_out, name), n_out, x.dtype))
    return Batch(x, _one_hot_rows(y, x.shape[0], n_out, name).astype(x.dtype, copy=False))


def as_evaluation_data(data: Any, *, n_in: int, n_out: int, dtype: DTypeLike,
                       name: str = "evaluation_data") -> Labelled:
    """``data = (x, labels)`` (or one-hot rows) checked and made a ``Labelled``."""
    x, y = _pair(data, name)
    x = _inputs(x, n_in, name, dtype)
    if y.ndim == 1:
        return Labelled(x, _labels(y, x.shape[0], n_out, name))
    return Labelled(x, np.argmax(_one_hot_rows(y, x.shape[0], n_out, name), axis=1))


def _pair(data: Any, name: str) -> tuple[NDArray[Any], NDArray[Any]]:
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise FnnTypeError(f"{name} must be a pair (x, y) of arrays, got {type(data).__name__}")
    return np.asarray(data[0]), np.asarray(data[1])


def _inputs(x: NDArray[Any], n_in: int, name: str, dtype: DTypeLike) -> Array:
    if x.ndim != 2:
        raise DataError(f"{name} x must be 2-D (examples as rows), got shape {x.shape}")
    if x.shape[0] == 0:
        raise DataError(f"{name} has 0 rows; it needs at least one example")
    if x.shape[1] != n_in:
        raise DataError(f"{name} x must have {n_in} columns (the input layer), got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.number) and not np.issubdtype(x.dtype, np.complexfloating)):
        raise FnnTypeError(f"{name} x must hold real numbers, got dtype {x.dtype}")
    if not _all_finite(x):
        raise DataError(f"{name} x contains NaN or inf")
    return x.astype(dtype, copy=False)


def _all_finite(x: NDArray[Any], chunk: int = 4096) -> bool:
    # row chunks keep the temporary boolean mask small for large sets
    return all(np.isfinite(x[i:i + chunk]).all() for i in range(0, x.shape[0], chunk))


def _labels(y: NDArray[Any], m: int, n_out: int, name: str) -> Labels:
    if y.shape[0] != m:
        raise DataError(f"{name} has {m} rows of x but {y.shape[0]} labels")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{name} labels must be integers, got dtype {y.dtype}")
    bad = (y < 0) | (y >= n_out)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{name} labels must be in 0..{n_out - 1}, got {y[i]} at row {i}")
    return y


def _one_hot_rows(y: NDArray[Any], m: int, n_out: int, name: str) -> NDArray[Any]:
    if y.ndim != 2 or y.shape[1] != n_out:
        raise DataError(f"{name} y must be labels (m,) or one-hot (m, {n_out}), got shape {y.shape}")
    if y.shape[0] != m:
        raise DataError(f"{name} has {m} rows of x but {y.shape[0]} rows of y")
    binary = ((y == 0) | (y == 1)).all(axis=1)
    bad = ~binary | (y.sum(axis=1) != 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{name} one-hot rows must be 0/1 summing to 1, row {i} is {y[i].tolist()}")
    return y
