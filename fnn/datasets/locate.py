"""Finding MNIST where a user would put it, and loading whatever form it is in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from fnn.datasets.idx import TRAIN_IMAGES, load_idx
from fnn.datasets.safe_pickle import load_pickle
from fnn.datasets.splits import MnistSplits

__all__ = ["MNIST_ENV", "find_mnist", "load_mnist"]

StrPath = str | os.PathLike[str]

MNIST_ENV = "FNN_MNIST"
"""The environment variable ``find_mnist`` reads first: a pickle file or a folder."""


def load_mnist(path: StrPath | None = None, *, dtype: DTypeLike = np.float32,
               cwd: StrPath | None = None,
               environ: Mapping[str, str] | None = None) -> MnistSplits:
    """Full MNIST from ``path`` or from where ``find_mnist`` finds it.

    A folder is read with ``load_idx`` (or ``load_pickle`` on the ``mnist.pkl.gz`` in it),
    a file with ``load_pickle``.

    >>> load_mnist("no/such/mnist.pkl.gz", cwd="/")
    Traceback (most recent call last):
    ...
    FileNotFoundError: MNIST path /no/such/mnist.pkl.gz does not exist
    """
    source = find_mnist(path, cwd=cwd, environ=environ)
    return load_idx(source, dtype=dtype) if source.is_dir() else load_pickle(source, dtype=dtype)


def find_mnist(path: StrPath | None = None, *, cwd: StrPath | None = None,
               environ: Mapping[str, str] | None = None) -> Path:
    """The pickle file or IDX folder holding MNIST, or FileNotFoundError naming every place tried.

    ``path`` if given, else ``$FNN_MNIST`` if set (an error if it names nothing), else the
    first of ``./mnist.pkl.gz``, ``./mnist.pkl``, ``./data/mnist.pkl.gz`` (the layout of
    network2's repository), ``./mnist/``, ``./data/mnist/``. A folder counts when it holds
    the IDX files or ``mnist.pkl[.gz]``. Relative paths start at ``cwd`` (default: the
    current directory); ``environ`` defaults to ``os.environ``.

    >>> find_mnist(cwd="/no/such/place", environ={})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: no MNIST data found; tried:
      $FNN_MNIST (not set)
      /no/such/place/mnist.pkl.gz
    ...
    """
    here = Path.cwd() if cwd is None else Path(cwd)
    env = os.environ if environ is None else environ
    if path is not None:
        return _source_at(here / path, "MNIST path")
    if env.get(MNIST_ENV):
        return _source_at(here / env[MNIST_ENV], f"${MNIST_ENV}")
    places = _places(here)
    found = [source for source in map(_source_in, places) if source is not None]
    if not found:
        raise FileNotFoundError(_not_found_message(places))
    return found[0]


def _places(here: Path) -> tuple[Path, ...]:
    return (here / "mnist.pkl.gz", here / "mnist.pkl", here / "data" / "mnist.pkl.gz",
            here / "mnist", here / "data" / "mnist")


def _source_in(place: Path) -> Path | None:
    """``place`` if it is a file, the IDX folder or pickle inside it if a folder, else None."""
    if place.is_file():
        return place
    if not place.is_dir():
        return None
    if any((place / name).is_file() for name in TRAIN_IMAGES):
        return place
    pickles = [place / name for name in ("mnist.pkl.gz", "mnist.pkl") if (place / name).is_file()]
    return pickles[0] if pickles else None


def _source_at(place: Path, what: str) -> Path:
    if not place.exists():
        raise FileNotFoundError(f"{what} {place} does not exist")
    source = _source_in(place)
    if source is None:
        raise FileNotFoundError(
            f"{what} {place} is a folder with neither the IDX files "
            f"(train-images-idx3-ubyte.gz, ...) nor mnist.pkl.gz in it")
    return source


def _not_found_message(places: tuple[Path, ...]) -> str:
    tried = "\n".join(f"  {p}" + ("/ (IDX files or mnist.pkl.gz)" if p.suffix == "" else "")
                      for p in places)
    return (
        f"no MNIST data found; tried:\n  ${MNIST_ENV} (not set)\n{tried}\n"
        "To get it, put network2's data/mnist.pkl.gz (from the repository of 'Neural Networks "
        "and Deep Learning', github.com/mnielsen/neural-networks-and-deep-learning) in one of "
        "these places, or the four IDX files (train-images-idx3-ubyte.gz, "
        "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) "
        f"in ./mnist/, or set {MNIST_ENV} to the file or folder. Without them, "
        "fnn.datasets.load_sample() gives the embedded sample of 10,000 training, 2,000 "
        "validation and 2,000 test digits (the default of `fnn train`).")
