"""fnn.datasets.idx: the four IDX files MNIST ships in, read with magic-number and size checks."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from fnn.datasets import MnistSplits, idx, load_idx, load_pickle, read_idx
from fnn.datasets.idx import TRAIN_IMAGES

from .conftest import MNIST_DIR
from .mnist_files import assert_format_error, digits, idx_bytes, write, write_idx_folder

# label histograms from ../shared/data/mnist/PROVENANCE.txt (IDX train = training + validation)
IDX_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
IDX_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def full() -> tuple[MnistSplits, MnistSplits]:
    return load_pickle(MNIST_DIR / "mnist.pkl.gz"), load_idx(MNIST_DIR)


@pytest.mark.mnist
def test_network2_pickle_equals_the_idx_files_exactly(full):
    from_pickle, from_idx = full
    for name, rows in (("training", 50_000), ("validation", 10_000), ("test", 10_000)):
        a, b = getattr(from_pickle, name), getattr(from_idx, name)
        assert a.x.shape == b.x.shape == (rows, 784)
        assert a.x.dtype == b.x.dtype == np.float32
        assert a.labels.dtype == b.labels.dtype == np.int64
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.labels, b.labels)
    assert float(from_pickle.training.x.max()) == 255 / 256
    train_counts = np.bincount(from_pickle.training.labels, minlength=10) + np.bincount(
        from_pickle.validation.labels, minlength=10)
    assert train_counts.tolist() == IDX_TRAIN_COUNTS
    assert np.bincount(from_pickle.test.labels, minlength=10).tolist() == IDX_TEST_COUNTS


# --- IDX files in miniature --------------------------------------------------------------------


@pytest.mark.parametrize(("gz", "dotted"), [(True, False), (False, False), (True, True),
                                            (False, True)])
def test_idx_folder_loads_exactly_pixels_over_256(tmp_path, gz, dotted):
    made = write_idx_folder(tmp_path, gz=gz, dotted=dotted)
    splits = load_idx(tmp_path)
    assert splits.validation is None  # no more than N_TRAINING training rows
    for split, (images, labels) in ((splits.training, made["train"]), (splits.test, made["t10k"])):
        np.testing.assert_array_equal(split.x, images.reshape(-1, 784).astype(np.float32) / 256)
        np.testing.assert_array_equal(split.labels, labels)
        assert split.x.dtype == np.float32 and split.labels.dtype == np.int64


def test_idx_training_rows_past_n_training_become_validation(tmp_path, monkeypatch):
    made = write_idx_folder(tmp_path, n_train=5)
    monkeypatch.setattr(idx, "N_TRAINING", 3)  # where load_idx reads it
    splits = load_idx(tmp_path, dtype=np.float64)
    assert splits.training.x.shape == (3, 784) and splits.validation.x.shape == (2, 784)
    assert splits.validation.x.dtype == np.float64
    np.testing.assert_array_equal(splits.validation.labels, made["train"][1][3:])


def test_train_images_lists_every_spelling_load_idx_reads(tmp_path):
    assert TRAIN_IMAGES == ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
                            "train-images.idx3-ubyte", "train-images.idx3-ubyte.gz")
    for gz in (False, True):
        for dotted in (False, True):
            folder = tmp_path / f"{gz}{dotted}"
            write_idx_folder(folder, gz=gz, dotted=dotted)
            names = {p.name for p in folder.iterdir()}
            assert len(names & set(TRAIN_IMAGES)) == 1


def test_read_idx_gives_the_read_only_array_the_header_describes(tmp_path):
    images, labels = digits(4, 3)
    image_file = write(tmp_path / "images", idx_bytes(images))
    label_file = write(tmp_path / "labels.gz", gzip.compress(idx_bytes(labels)))
    np.testing.assert_array_equal(read_idx(image_file), images)
    read = read_idx(str(label_file))
    assert read.dtype == np.uint8 and read.shape == (4,)
    np.testing.assert_array_equal(read, labels)
    assert not read.flags.writeable
    cube = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)  # any number of dimensions
    np.testing.assert_array_equal(read_idx(write(tmp_path / "cube", idx_bytes(cube))), cube)


def _idx_cases() -> list[tuple[str, str, bytes, str]]:
    images, labels = digits(5, 1)
    return [
        ("labels-as-images", "train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(labels)),
         "must hold 28x28 images (magic 2051), got magic 2049 with shape (5,)"),
        ("images-as-labels", "train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(images)),
         "must hold labels (magic 2049), got magic 2051"),
        ("bad-magic", "train-images-idx3-ubyte.gz",
         gzip.compress(idx_bytes(images, magic=0x12345678)), "bad magic number 305419896"),
        ("float-type-code", "train-images-idx3-ubyte.gz",
         gzip.compress(idx_bytes(images, magic=0x0D03)),
         "bad magic number 3331"),  # type code 0x0D (float) is not MNIST's
        ("short-payload", "train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(images)[:-784]),
         "header says 5x28x28 = 3920 bytes of data, but 3136 bytes follow it"),
        ("long-payload", "train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(images) + b"\0"),
         "but 3921 bytes follow it"),
        ("28x27", "train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(images[:, :27])),
         "must hold 28x28 images (magic 2051), got magic 2051 with shape (5, 27, 28)"),
        ("count-mismatch", "train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(labels[:4])),
         "has 5 images but"),
        ("short-header", "t10k-images-idx3-ubyte.gz", gzip.compress(b"\0\0\x08"),
         "3 bytes, too few"),
        ("truncated-header", "t10k-images-idx3-ubyte.gz",
         gzip.compress(b"\0\0\x08\x03\0\0\0\x03"), "truncated inside its 3-dimension IDX header"),
    ]


IDX_CASES = _idx_cases()


@pytest.mark.parametrize(("name", "data", "fragment"), [case[1:] for case in IDX_CASES],
                         ids=[case[0] for case in IDX_CASES])
def test_corrupt_idx_files_raise_dataset_format_error_naming_file_and_problem(
        tmp_path, name, data, fragment):
    write_idx_folder(tmp_path)
    path = write(tmp_path / name, data)
    assert_format_error(lambda: load_idx(tmp_path), path, fragment)


def test_missing_idx_file_names_what_was_looked_for(tmp_path):
    write_idx_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"t10k-labels-idx1-ubyte\[\.gz\] \(nor "
                                                r"t10k-labels\.idx1-ubyte\[\.gz\]\)"):
        load_idx(tmp_path)
