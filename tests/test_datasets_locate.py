"""fnn.datasets.locate: finding MNIST where a user would put it, and loading whatever form it is."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest

import fnn.datasets
from fnn.data import Labelled
from fnn.datasets import find_mnist, load_mnist
from fnn.datasets.locate import MNIST_ENV

from .conftest import MNIST_DIR
from .mnist_files import pixel_splits, write, write_idx_folder

PLACES = ["mnist.pkl.gz", "mnist.pkl", "data/mnist.pkl.gz", "mnist/", "data/mnist/"]


def make_place(cwd: Path, place: str) -> Path:
    if place.endswith("/"):
        write_idx_folder(cwd / place)
        return cwd / place.rstrip("/")
    (cwd / place).parent.mkdir(parents=True, exist_ok=True)
    data = pickle.dumps(pixel_splits())
    return write(cwd / place, gzip.compress(data) if place.endswith(".gz") else data)


@pytest.mark.mnist
def test_fnn_mnist_pointing_at_the_shared_folder_finds_its_idx_files(tmp_path):
    assert find_mnist(cwd=tmp_path, environ={"FNN_MNIST": str(MNIST_DIR)}) == MNIST_DIR
    pickled = MNIST_DIR / "mnist.pkl.gz"
    assert find_mnist(cwd=tmp_path, environ={"FNN_MNIST": str(pickled)}) == pickled


def test_the_environment_variable_is_fnn_mnist():
    assert MNIST_ENV == fnn.datasets.MNIST_ENV == "FNN_MNIST"


def test_discovery_takes_the_first_place_in_the_documented_order(tmp_path):
    for place in reversed(PLACES):  # each new, earlier place wins
        made = make_place(tmp_path, place)
        assert find_mnist(cwd=tmp_path, environ={}) == made
        assert isinstance(load_mnist(cwd=tmp_path, environ={}).training, Labelled)


def test_fnn_mnist_comes_first_and_is_relative_to_cwd(tmp_path):
    for place in PLACES:
        make_place(tmp_path, place)
    other = make_place(tmp_path, "elsewhere/")
    assert find_mnist(cwd=tmp_path, environ={"FNN_MNIST": "elsewhere"}) == other
    assert find_mnist(cwd=tmp_path, environ={"FNN_MNIST": ""}) == tmp_path / "mnist.pkl.gz"
    with pytest.raises(FileNotFoundError, match=r"\$FNN_MNIST .*typo does not exist"):
        find_mnist(cwd=tmp_path, environ={"FNN_MNIST": "typo"})
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="neither the IDX files .* nor mnist.pkl.gz"):
        find_mnist(cwd=tmp_path, environ={"FNN_MNIST": str(tmp_path / "empty")})


def test_the_process_environment_and_directory_are_the_defaults(tmp_path, monkeypatch):
    folder = make_place(tmp_path, "somewhere/")
    monkeypatch.setenv(MNIST_ENV, str(folder))
    assert find_mnist() == folder
    monkeypatch.delenv(MNIST_ENV)
    monkeypatch.chdir(tmp_path)
    pickled = make_place(tmp_path, "mnist.pkl")
    assert find_mnist() == pickled


def test_a_folder_holding_only_the_pickle_resolves_to_the_pickle(tmp_path):
    pickled = make_place(tmp_path, "mnist/mnist.pkl.gz")
    assert find_mnist(cwd=tmp_path, environ={}) == pickled
    assert find_mnist("mnist", cwd=tmp_path, environ={}) == pickled


def test_explicit_path_picks_the_loader_and_beats_the_environment(tmp_path):
    pickled, folder = make_place(tmp_path, "a/mnist.pkl"), make_place(tmp_path, "b/")
    env = {"FNN_MNIST": "nowhere"}
    from_pickle = load_mnist(pickled, cwd=tmp_path, environ=env)
    from_folder = load_mnist("b", cwd=tmp_path, environ=env, dtype=np.float64)
    assert from_pickle.validation is not None and from_folder.validation is None
    assert from_folder.training.x.dtype == np.float64
    assert find_mnist(folder, environ=env) == folder
    with pytest.raises(FileNotFoundError, match="MNIST path .*missing.pkl.gz does not exist"):
        load_mnist("missing.pkl.gz", cwd=tmp_path, environ={})


def test_nothing_found_lists_every_place_tried_and_how_to_get_the_data(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        find_mnist(cwd=tmp_path, environ={"HOME": "/x"})
    message = str(info.value)
    assert "$FNN_MNIST (not set)" in message
    for place in PLACES:
        assert str(tmp_path / place.rstrip("/")) in message
    lines = message.splitlines()
    assert [i for i, line in enumerate(lines) if str(tmp_path) in line] == [2, 3, 4, 5, 6]
    for hint in ("mnielsen/neural-networks-and-deep-learning", "t10k-images-idx3-ubyte.gz",
                 "load_sample()", "fnn train"):
        assert hint in message
