"""Data as plain arrays: the converters at the entrance, one-hot targets and fingerprints."""

from __future__ import annotations

import numpy as np
import pytest

from fnn.data import (
    Batch,
    as_batch,
    as_evaluation_data,
    as_inputs,
    as_targets,
    as_training_data,
    fingerprint,
    one_hot,
    take,
)
from fnn.errors import DataError, FnnTypeError


def test_targets_are_labels_made_one_hot_or_rows_used_as_they_are():
    rows = np.array([[0.2, 0.8], [1.0, 0.0]])
    assert as_targets(rows, 2, 2, np.float64) is rows  # soft targets pass, uncopied
    np.testing.assert_array_equal(as_targets(np.array([1, 0], np.uint8), 2, 2, np.float32),
                                  np.eye(2, dtype=np.float32)[[1, 0]])
    assert as_targets(np.array([[True, False]]), 1, 2, np.float32).dtype == np.float32


@pytest.mark.parametrize(("y", "error", "message"), [
    ([1, 0], FnnTypeError, "y must be a numpy array of labels (2,) or target rows (2, 3), got list"),
    (np.array([1.0, 0.0]), DataError, "got float64 array of shape (2,)"),
    (np.array([3, 0]), DataError, "y labels must be in 0..2, got 3 at row 0"),
    (np.array([-1, 0]), DataError, "got -1 at row 0"),
    (np.ones((2, 2)), DataError, "got float64 array of shape (2, 2)"),
    (np.array(["a", "b"]), DataError, "got <U1 array of shape (2,)"),
])
def test_targets_that_do_not_fit_are_refused(y, error, message):
    with pytest.raises(error) as caught:
        as_targets(y, 2, 3, np.float64)
    assert message in str(caught.value)


def test_inputs_and_batches_from_any_pair():
    x = np.zeros((2, 3), np.float32)
    assert as_inputs(x, 3) is x
    batch = as_batch([x, np.array([2, 0])], n_in=3, n_out=3, dtype=np.float32)
    assert isinstance(batch, Batch) and batch.x is x and batch.y.tolist()[0] == [0, 0, 1]
    with pytest.raises(FnnTypeError, match="batch must be a pair \\(x, y\\) of arrays"):
        as_batch(x, n_in=3, n_out=3, dtype=np.float32)
    with pytest.raises(FnnTypeError, match="x must hold real numbers, got dtype complex128"):
        as_inputs(np.zeros((1, 3), complex), 3)


def test_training_data_are_strictly_one_hot_and_evaluation_data_labels():
    x = np.zeros((2, 3))
    data = as_training_data((x, np.array([[0, 1], [1, 0]])), n_in=3, n_out=2, dtype=np.float64)
    assert data.y.dtype == np.float64
    assert as_evaluation_data((x, np.eye(2)), n_in=3, n_out=2,
                              dtype=np.float64).labels.tolist() == [0, 1]
    with pytest.raises(DataError, match="one-hot rows must be 0/1 summing to 1, row 0"):
        as_training_data((x, np.array([[0.5, 0.5], [1, 0]])), n_in=3, n_out=2, dtype=np.float64)


def test_helpers():
    assert one_hot(np.array([2]), 3).tolist() == [[0.0, 0.0, 1.0]]
    assert take(Batch(np.arange(3.0)[:, None], np.eye(3)), [2]).x.tolist() == [[2.0]]
    a, b = Batch(np.zeros((2, 2)), np.eye(2)), Batch(np.zeros((2, 2)), np.eye(2)[::-1])
    assert fingerprint(a) == fingerprint(Batch(np.zeros((2, 2)), np.eye(2)))
    assert fingerprint(a) != fingerprint(b) and fingerprint(None) is None
    assert fingerprint(a) != fingerprint(Batch(np.zeros((2, 2), np.float32), np.eye(2)))
