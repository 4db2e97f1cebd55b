"""fnn.datasets.splits: MnistSplits, and the checks every loader applies to each split it read."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest

import fnn.datasets
from fnn.data import Labelled
from fnn.datasets import load_idx, load_pickle, read_idx
from fnn.datasets.splits import (
    N_CLASSES,
    N_PIXELS,
    N_TRAINING,
    MnistSplits,
    existing,
    float_dtype,
    float_split,
    uint8_split,
)
from fnn.errors import ConfigError, DatasetFormatError

from .mnist_files import (
    assert_format_error,
    idx_bytes,
    pixel_splits,
    write,
    written_loader,
)


def _split_cases() -> list[tuple[str, str, bytes, str]]:
    def splits_with(part: int, x=None, labels=None) -> bytes:
        parts = [list(p) for p in pixel_splits()]
        parts[part] = [parts[part][0] if x is None else x, parts[part][1] if labels is None
                       else labels]
        return pickle.dumps(tuple(map(tuple, parts)))

    x = pixel_splits()[0][0]
    high, nan = x.copy(), x.copy()
    high[3, 17], nan[1, 2] = 1.5, np.nan
    return [
        ("783-columns", "mnist.pkl", splits_with(0, x=x[:, :783]),
         "training x must be float rows of 784 pixels, got float32 array(5, 783)"),
        ("uint8-x", "mnist.pkl", splits_with(1, x=(x * 256).astype(np.uint8)),
         "validation x must be float rows of 784 pixels, got uint8 array(5, 784)"),
        ("no-rows", "mnist.pkl", splits_with(2, x=x[:0]), "test x must be float rows"),
        ("3d-x", "mnist.pkl", splits_with(0, x=x.reshape(5, 28, 28)),
         "got float32 array(5, 28, 28)"),
        ("pixel-1.5", "mnist.pkl", splits_with(2, x=high),
         "test pixels must be in [0, 1], got 1.5 at row 3, column 17"),
        ("pixel-nan", "mnist.pkl", splits_with(1, x=nan),
         "pixels must be in [0, 1], got nan at row 1"),
        ("pixel-negative", "mnist.pkl", splits_with(0, x=-x), "pixels must be in [0, 1]"),
        ("label-10", "mnist.pkl", splits_with(0, labels=np.array([1, 2, 10, 3, 4])),
         "training labels must be digits 0..9, got 10 at row 2"),
        ("label-minus-1", "mnist.pkl", splits_with(2, labels=np.array([1, -1, 0, 3, 4])),
         "test labels must be digits 0..9, got -1 at row 1"),
        ("label-count", "mnist.pkl", splits_with(0, labels=np.arange(4)),
         "training labels must be 5 integers (one per image), got int64 array(4,)"),
        ("float-labels", "mnist.pkl", splits_with(0, labels=np.zeros(5)),
         "got float64 array(5,)"),
        ("2d-labels", "mnist.pkl", splits_with(0, labels=np.zeros((5, 1), np.int64)),
         "got int64 array(5, 1)"),
        ("idx-label-10", "t10k-labels-idx1-ubyte.gz",
         gzip.compress(idx_bytes(np.array([1, 10, 2], np.uint8))),
         "labels must be digits 0..9, got 10 at row 1"),
    ]


SPLIT_CASES = _split_cases()


@pytest.mark.parametrize(("name", "data", "fragment"), [case[1:] for case in SPLIT_CASES],
                         ids=[case[0] for case in SPLIT_CASES])
def test_bad_splits_raise_dataset_format_error_naming_file_split_and_problem(
        tmp_path, name, data, fragment):
    load, path = written_loader(tmp_path, name, data)
    assert_format_error(load, path, fragment)


def test_missing_or_misplaced_paths_raise_the_os_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST pickle .*nope.pkl.gz does not exist"):
        load_pickle(tmp_path / "nope.pkl.gz")
    with pytest.raises(IsADirectoryError, match="is a folder, not a file"):
        load_pickle(tmp_path)
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        load_idx(write(tmp_path / "file", b""))
    with pytest.raises(FileNotFoundError, match="IDX file"):
        read_idx(tmp_path / "nope")


def test_existing_returns_the_path_of_the_right_kind(tmp_path):
    file = write(tmp_path / "f", b"")
    assert existing(str(file), "thing", folder=False) == file
    assert existing(tmp_path, "thing", folder=True) == tmp_path
    with pytest.raises(FileNotFoundError) as info:
        existing(tmp_path / "x", "thing", folder=True)
    assert str(info.value) == f"thing {tmp_path / 'x'} does not exist"


# --- the checks on their own -------------------------------------------------------------------


def test_float_split_keeps_the_values_and_casts_to_the_dtype():
    x, labels = pixel_splits()[0]
    split = float_split("here", x, labels.astype(np.uint8), np.dtype(np.float64))
    assert isinstance(split, Labelled)
    assert split.x.dtype == np.float64 and split.labels.dtype == np.int64
    np.testing.assert_array_equal(split.x, x)
    np.testing.assert_array_equal(split.labels, labels)
    edges = np.zeros((2, N_PIXELS), np.float64)
    edges[1] = 1.0  # both ends of [0, 1] are pixels
    assert float_split("here", edges, np.array([0, 9]), np.dtype(np.float32)).x.max() == 1.0


def test_uint8_split_gives_exactly_pixel_over_256_from_either_image_shape():
    images = np.arange(2 * N_PIXELS, dtype=np.uint64).reshape(2, 28, 28).astype(np.uint8)
    labels = np.array([3, 0], np.uint8)
    for shaped in (images, images.reshape(2, N_PIXELS)):
        split = uint8_split("img", shaped, "lab", labels, np.dtype(np.float32))
        assert split.x.shape == (2, N_PIXELS) and split.x.dtype == np.float32
        np.testing.assert_array_equal(split.x * 256, images.reshape(2, N_PIXELS))
        assert split.labels.tolist() == [3, 0] and split.labels.dtype == np.int64
    assert images.max() == 255  # the values above reach 255/256


@pytest.mark.parametrize(("call", "message"), [
    (lambda: float_split("f.pkl training", np.zeros((2, N_PIXELS)), np.zeros(3, np.int64),
                         np.dtype(np.float32)),
     "f.pkl training labels must be 2 integers (one per image), got int64 array(3,)"),
    (lambda: float_split("w", np.full((1, N_PIXELS), np.inf), np.zeros(1, np.int64),
                         np.dtype(np.float32)),
     "w pixels must be in [0, 1], got inf at row 0, column 0"),
    (lambda: uint8_split("imgs", np.zeros((2, 28, 27), np.uint8), "labs",
                         np.zeros(2, np.uint8), np.dtype(np.float32)),
     "imgs must be uint8 images of 784 pixels, got uint8 array(2, 28, 27)"),
    (lambda: uint8_split("imgs", np.zeros((0, N_PIXELS), np.uint8), "labs",
                         np.zeros(0, np.uint8), np.dtype(np.float32)),
     "imgs must be uint8 images of 784 pixels, got uint8 array(0, 784)"),
    (lambda: uint8_split("imgs", np.zeros((2, N_PIXELS), np.uint8), "labs",
                         np.array([0, 11], np.uint8), np.dtype(np.float32)),
     "labs labels must be digits 0..9, got 11 at row 1"),
], ids=["label-count", "pixel-inf", "28x27", "no-images", "label-11"])
def test_the_checks_name_where_the_split_came_from(call, message):
    with pytest.raises(DatasetFormatError) as info:
        call()
    assert str(info.value) == message


def test_float_dtype_takes_only_floating_types():
    assert float_dtype(np.float32) == np.dtype(np.float32)
    assert float_dtype("float64") == np.dtype(np.float64)
    with pytest.raises(ConfigError, match="dtype must be a floating type .* got int32"):
        float_dtype(np.int32)


def test_mnist_splits_and_the_sizes_of_mnist():
    assert MnistSplits._fields == ("training", "validation", "test")
    assert (N_PIXELS, N_CLASSES, N_TRAINING) == (784, 10, 50_000)
    assert fnn.datasets.N_TRAINING == N_TRAINING and fnn.datasets.MnistSplits is MnistSplits
