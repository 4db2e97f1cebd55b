"""Build ``fnn/sample/mnist_sample.npz``, the real MNIST digits fnn ships, from the IDX files.

    python tools/make_mnist_sample.py [--source FOLDER] [--out FILE]

``--source`` is a folder with the four MNIST IDX files (default: ``$FNN_MNIST_DIR``, else
``../shared/data/mnist`` next to the repository); ``--out`` defaults to the shipped file.

Which rows: 10,000 of the 50,000 images of network2's training split (the first 50,000
rows of ``train-images-idx3-ubyte``) and 2,000 of the 10,000 ``t10k`` test images. Each
split's rows are ranked by SHA-256 of ``"fnn-mnist-sample:<split>:<row>"`` and the lowest
ranked are kept, in file order: a uniform choice without replacement fixed by that seed
string alone, so it does not change with NumPy's random generators. The test rows span
both halves of t10k (its two writer populations).

What is stored (a ``.npz`` that ``np.load`` reads, ``allow_pickle=False``):
``training_images`` uint8 (10000, 784), ``training_labels`` uint8 (10000,),
``training_rows`` uint16 (10000,) the row numbers in ``train-images-idx3-ubyte``, and
``test_images`` (2000, 784), ``test_labels``, ``test_rows`` likewise for ``t10k``.

Byte-identical reruns: ``np.savez_compressed`` stamps each zip member with the current
time, so this script writes the zip itself with a fixed date (1980-01-01), fixed
attributes and deflate level 9. Two runs give the same bytes (with the same zlib).
After rebuilding, put the printed SHA-256 into ``fnn/sample/LICENSE-MNIST.txt``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from fnn.datasets import N_TRAINING, read_idx

REPO = Path(__file__).resolve().parents[1]
SEED = "fnn-mnist-sample"
N_SAMPLE_TRAINING = 10_000
N_SAMPLE_TEST = 2_000
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def chosen_rows(n_rows: int, k: int, split: str) -> NDArray[np.uint16]:
    """The ``k`` of rows ``0..n_rows-1`` with the lowest seeded SHA-256 rank, ascending."""
    def rank(row: int) -> bytes:
        return hashlib.sha256(f"{SEED}:{split}:{row}".encode()).digest()
    return np.array(sorted(sorted(range(n_rows), key=rank)[:k]), dtype=np.uint16)


def sample_arrays(source: Path) -> dict[str, NDArray[np.uint8 | np.uint16]]:
    """The arrays of the sample, read from the IDX files in ``source``."""
    arrays: dict[str, NDArray[np.uint8 | np.uint16]] = {}
    for split, prefix, n_rows, k in (("training", "train", N_TRAINING, N_SAMPLE_TRAINING),
                                     ("test", "t10k", None, N_SAMPLE_TEST)):
        images = read_idx(source / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(source / f"{prefix}-labels-idx1-ubyte.gz")
        rows = chosen_rows(n_rows or images.shape[0], k, split)
        arrays[f"{split}_images"] = images[rows].reshape(k, -1)
        arrays[f"{split}_labels"] = labels[rows]
        arrays[f"{split}_rows"] = rows
    return arrays


def npz_bytes(arrays: dict[str, NDArray[np.uint8 | np.uint16]]) -> bytes:
    """A deflated ``.npz`` of ``arrays`` whose bytes depend only on the arrays."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whichever system builds it
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue(), compresslevel=9)
    return out.getvalue()


def default_source() -> Path:
    env = os.environ.get("FNN_MNIST_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data" / "mnist"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=default_source(),
                        help="folder with the four MNIST IDX .gz files")
    parser.add_argument("--out", type=Path, default=REPO / "fnn" / "sample" / "mnist_sample.npz")
    args = parser.parse_args(argv)
    data = npz_bytes(sample_arrays(args.source))
    args.out.write_bytes(data)
    sys.stdout.write(f"{args.out}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
