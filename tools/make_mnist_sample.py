"""Build ``fnn/sample/mnist_sample.npz``, the real MNIST digits fnn ships, from the IDX files.

    python tools/make_mnist_sample.py [--source FOLDER] [--out FILE]

``--source`` is a folder with the four MNIST IDX files (default: ``$FNN_MNIST_DIR``, else
``../shared/data/mnist`` next to the repository); ``--out`` defaults to the shipped file.

Source files (MNIST by Yann LeCun, Corinna Cortes and Christopher J. C. Burges; the verified
copies of ``../shared/data/mnist``, whose ``PROVENANCE.txt`` says where they came from), with
the SHA-256 of each ``.gz`` (equal to the published ones; ``SOURCE_SHA256`` below, and the
script refuses other files)::

    train-images-idx3-ubyte.gz  440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609
    train-labels-idx1-ubyte.gz  3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c
    t10k-images-idx3-ubyte.gz   8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6
    t10k-labels-idx1-ubyte.gz   f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6

Which rows: three splits, drawn from the three parts of network2's split of MNIST, so no
image is in two of them:

- ``training``: 10,000 of rows 0..49,999 of ``train-images-idx3-ubyte`` (network2's training
  split);
- ``validation``: 2,000 of rows 50,000..59,999 of ``train-images-idx3-ubyte`` (network2's
  validation split);
- ``test``: 2,000 of rows 0..9,999 of ``t10k-images-idx3-ubyte`` (the test set).

In each split, every candidate row ``r`` (its row number in the IDX file) is ranked by the
SHA-256 of ``"fnn-mnist-sample:<split>:<r>"`` and the ``k`` lowest ranked are kept, in file
order: a uniform choice without replacement fixed by that seed string alone, so it does not
change with NumPy's random generators. The training and test rows are the ones fnn 0.2's
sample shipped (10,000 / 2,000, no validation split); the validation split was added for
issue 13, so the default ``fnn train`` monitors validation data and measures the test set once.

What is stored (a ``.npz`` that ``np.load`` reads, ``allow_pickle=False``), for each split
``training``, ``validation`` and ``test``: ``<split>_images`` uint8 (k, 784),
``<split>_labels`` uint8 (k,) and ``<split>_rows`` uint16 (k,), the row numbers in the IDX
file (``validation_rows`` are 50,000..59,999, rows of ``train-images-idx3-ubyte``).

Byte-identical reruns: ``np.savez_compressed`` stamps each zip member with the current
time, so this script writes the zip itself with a fixed date (1980-01-01), fixed
attributes and deflate level 9. Two runs give the same bytes (with the same zlib).
After rebuilding, put the printed size and SHA-256 into ``fnn/sample/LICENSE-MNIST.txt`` and
``fnn/sample/PROVENANCE.txt`` (``--provenance`` prints the latter's figures).
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
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

SOURCE_SHA256 = {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

SPLITS = (  # (split, IDX prefix, candidate rows, rows kept)
    ("training", "train", range(N_TRAINING), 10_000),
    ("validation", "train", range(N_TRAINING, 60_000), 2_000),
    ("test", "t10k", range(10_000), 2_000),
)


def chosen_rows(candidates: range, k: int, split: str) -> NDArray[np.uint16]:
    """The ``k`` of ``candidates`` with the lowest seeded SHA-256 rank, ascending.

    >>> chosen_rows(range(50_000, 50_010), 3, "validation").tolist()
    [50003, 50005, 50006]
    """
    def rank(row: int) -> bytes:
        return hashlib.sha256(f"{SEED}:{split}:{row}".encode()).digest()
    return np.array(sorted(sorted(candidates, key=rank)[:k]), dtype=np.uint16)


def check_sources(source: Path) -> None:
    """Refuse IDX files other than the verified originals (SHA-256 of each ``.gz``)."""
    for name, expected in SOURCE_SHA256.items():
        got = hashlib.sha256((source / name).read_bytes()).hexdigest()
        if got != expected:
            raise SystemExit(f"{source / name}: SHA-256 {got}, expected {expected}")


def sample_arrays(source: Path) -> dict[str, NDArray[np.uint8 | np.uint16]]:
    """The arrays of the sample, read from the IDX files in ``source``."""
    arrays: dict[str, NDArray[np.uint8 | np.uint16]] = {}
    for split, prefix, candidates, k in SPLITS:
        images = read_idx(source / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(source / f"{prefix}-labels-idx1-ubyte.gz")
        rows = chosen_rows(candidates, k, split)
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


def provenance(arrays: dict[str, NDArray[np.uint8 | np.uint16]]) -> str:
    """Per split: the row range, the label histogram and the SHA-256 of each array's bytes."""
    lines = []
    for split, prefix, candidates, k in SPLITS:
        rows = arrays[f"{split}_rows"]
        counts = np.bincount(arrays[f"{split}_labels"], minlength=10).tolist()
        lines.append(f"{split}: {k} rows of {prefix} rows {candidates.start}..{candidates.stop - 1}"
                     f" (first {rows[0]}, last {rows[-1]}); labels 0-9: {counts}")
        for part in ("images", "labels", "rows"):
            data = np.ascontiguousarray(arrays[f"{split}_{part}"]).tobytes()
            lines.append(f"  {split}_{part}: sha256 {hashlib.sha256(data).hexdigest()}")
    return "\n".join(lines) + "\n"


def default_source() -> Path:
    env = os.environ.get("FNN_MNIST_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data" / "mnist"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=default_source(),
                        help="folder with the four MNIST IDX .gz files")
    parser.add_argument("--out", type=Path, default=REPO / "fnn" / "sample" / "mnist_sample.npz",
                        help="the .npz to write (default: the shipped sample)")
    parser.add_argument("--provenance", action="store_true",
                        help="also print each split's rows, labels and array checksums")
    args = parser.parse_args(argv)
    check_sources(args.source)
    arrays = sample_arrays(args.source)
    data = npz_bytes(arrays)
    args.out.write_bytes(data)
    sys.stdout.write(f"{args.out}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}\n")
    if args.provenance:
        sys.stdout.write(provenance(arrays))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
