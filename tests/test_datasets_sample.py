"""fnn.datasets.sample: the real MNIST digits shipped inside fnn."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fnn.datasets
from fnn.datasets import load_sample, read_idx
from fnn.datasets.sample import _sample_splits
from fnn.datasets.splits import N_TRAINING
from fnn.errors import ConfigError, DatasetFormatError

from .conftest import MNIST_DIR

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "fnn" / "sample" / "mnist_sample.npz"


def test_sample_is_real_looking_mnist_of_the_documented_size():
    sample = load_sample()
    for split, rows in ((sample.training, 10_000), (sample.validation, 2_000),
                        (sample.test, 2_000)):
        assert split.x.shape == (rows, 784) and split.x.dtype == np.float32
        assert split.labels.shape == (rows,) and split.labels.dtype == np.int64
        assert float(split.x.min()) == 0.0 and float(split.x.max()) <= 255 / 256
        np.testing.assert_array_equal(split.x * 256, np.round(split.x * 256))  # u8 / 256
        counts = np.bincount(split.labels, minlength=10)
        assert counts.size == 10 and counts.min() > rows // 20  # every digit, none rare
        assert 0.1 < float(split.x.mean()) < 0.2  # MNIST's mean ink is 0.13


def test_sample_in_float64_has_the_same_values():
    a, b = load_sample(), load_sample(dtype=np.float64)
    assert b.training.x.dtype == np.float64
    np.testing.assert_array_equal(a.training.x, b.training.x)


def test_sample_refuses_a_dtype_that_is_not_floating():
    with pytest.raises(ConfigError, match="dtype must be a floating type .* got int64"):
        load_sample(dtype=np.int64)


def test_the_package_re_exports_load_sample():
    assert fnn.datasets.load_sample is load_sample


def test_sample_is_small_and_matches_its_licence_file():
    data = SAMPLE.read_bytes()
    assert len(data) < 3 * 2**20
    licence = (SAMPLE.parent / "LICENSE-MNIST.txt").read_text()
    assert f"SHA-256: {hashlib.sha256(data).hexdigest()}" in licence
    assert f"Size:    {len(data)} bytes" in licence
    for needed in ("Yann LeCun", "Corinna Cortes", "Burges", "CC BY-SA 3.0",
                   "tools/make_mnist_sample.py", "validation_images"):
        assert needed in licence


def test_the_provenance_note_matches_the_archive_and_the_build_script():
    """PROVENANCE.txt beside the data names the archive's checksum, every array's and the
    source files'; the script checks the same source checksums."""
    import importlib.util

    data = SAMPLE.read_bytes()
    note = (SAMPLE.parent / "PROVENANCE.txt").read_text()
    assert f"SHA-256: {hashlib.sha256(data).hexdigest()}" in note
    assert f"Size:    {len(data)} bytes" in note
    with np.load(SAMPLE) as npz:
        for key in npz.files:
            digest = hashlib.sha256(np.ascontiguousarray(npz[key]).tobytes()).hexdigest()
            assert f"{key}: sha256 {digest}" in note, key
    spec = importlib.util.spec_from_file_location("make_mnist_sample",
                                                  REPO / "tools" / "make_mnist_sample.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    for name, digest in tool.SOURCE_SHA256.items():
        assert f"{digest}  {name}" in note and digest in tool.__doc__


def test_the_three_splits_share_no_image():
    with np.load(SAMPLE) as npz:
        training, validation = (set(npz[f"{s}_rows"].tolist()) for s in ("training",
                                                                           "validation"))
        images = [npz[f"{s}_images"] for s in ("training", "validation", "test")]
    assert max(training) < N_TRAINING <= min(validation)  # network2's two parts of train
    rows = {row.tobytes() for split in images for row in split}
    assert len(rows) == sum(len(split) for split in images)  # no digit twice


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda a: a.update(test_labels=np.full(2, 10, np.uint8)),
         "test_labels labels must be digits 0..9, got 10 at row 0"),
        (lambda a: a.update(training_images=a["training_images"][:, :700]),
         "training_images must be uint8 images of 784 pixels, got uint8 array(3, 700)"),
        (lambda a: a.update(training_images=a["training_images"].astype(np.float32)),
         "must be uint8 images"),
        (lambda a: a.update(test_labels=np.zeros(5, np.uint8)), "labels must be 2 integers"),
        (lambda a: a.pop("test_images"), "is not a readable sample archive"),
        (lambda a: a.pop("validation_labels"), "is not a readable sample archive"),
        (lambda a: a.update(validation_labels=np.zeros(3, np.uint8)),
         "validation_labels labels must be 2 integers"),
    ],
)
def test_a_bad_sample_archive_is_refused(change, fragment):
    arrays = {"training_images": np.zeros((3, 784), np.uint8),
              "training_labels": np.zeros(3, np.uint8),
              "validation_images": np.zeros((2, 784), np.uint8),
              "validation_labels": np.zeros(2, np.uint8),
              "test_images": np.zeros((2, 784), np.uint8), "test_labels": np.zeros(2, np.uint8)}
    change(arrays)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    with pytest.raises(DatasetFormatError, match=re.escape(fragment)):
        _sample_splits(buffer.getvalue(), "sample.npz", np.dtype(np.float32))
    with pytest.raises(DatasetFormatError, match="sample.npz is not a readable sample"):
        _sample_splits(b"PK\x03\x04 not really", "sample.npz", np.dtype(np.float32))


def test_a_pickled_array_in_the_archive_is_never_unpickled():
    arrays = {"training_images": np.zeros((3, 784), np.uint8),
              "training_labels": np.array([0, 1, None], dtype=object),
              "validation_images": np.zeros((2, 784), np.uint8),
              "validation_labels": np.zeros(2, np.uint8),
              "test_images": np.zeros((2, 784), np.uint8), "test_labels": np.zeros(2, np.uint8)}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with pytest.raises(DatasetFormatError, match="sample.npz is not a readable sample archive"):
        _sample_splits(buffer.getvalue(), "sample.npz", np.dtype(np.float32))


# --- against the full data (marked mnist) ------------------------------------------------------


@pytest.mark.mnist
def test_sample_rows_are_the_named_rows_of_the_idx_files():
    with np.load(SAMPLE) as npz:
        arrays = {key: npz[key] for key in npz.files}
    for split, prefix in (("training", "train"), ("validation", "train"), ("test", "t10k")):
        rows = arrays[f"{split}_rows"].astype(np.intp)
        assert np.all(np.diff(rows) > 0)  # distinct, in file order
        images = read_idx(MNIST_DIR / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(MNIST_DIR / f"{prefix}-labels-idx1-ubyte.gz")
        np.testing.assert_array_equal(arrays[f"{split}_images"], images[rows].reshape(-1, 784))
        np.testing.assert_array_equal(arrays[f"{split}_labels"], labels[rows])
    assert arrays["training_rows"].max() < N_TRAINING  # network2's training split only
    assert arrays["validation_rows"].min() >= N_TRAINING  # network2's validation split only


@pytest.mark.mnist
def test_the_build_script_reproduces_the_shipped_sample_byte_for_byte(tmp_path):
    out = tmp_path / "sample.npz"
    script = REPO / "tools" / "make_mnist_sample.py"
    result = subprocess.run(
        [sys.executable, str(script), "--source", str(MNIST_DIR), "--out", str(out)],
        check=True, capture_output=True, text=True)
    assert out.read_bytes() == SAMPLE.read_bytes()
    assert hashlib.sha256(SAMPLE.read_bytes()).hexdigest() in result.stdout
