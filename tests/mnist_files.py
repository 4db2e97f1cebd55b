"""MNIST's file formats in miniature, built in ``tmp_path``: the helpers of test_datasets_*.

network2's pickle (as Python 2 and NumPy 1 wrote it, or as ``pickle.dumps`` writes it today)
and the four IDX files, with a handful of random digits, so each loader can be fed good files
and files broken in one named place.
"""

from __future__ import annotations

import gzip
import pickle
import pickletools
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fnn.datasets import load_idx, load_pickle
from fnn.errors import DatasetFormatError


def digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random uint8 28x28 images and digit labels."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, np.uint8)


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """``array`` as an IDX file of unsigned bytes (``magic`` overrides the header's)."""
    magic = 0x0800 + array.ndim if magic is None else magic
    dims = struct.pack(f">{array.ndim}I", *array.shape)
    return struct.pack(">I", magic) + dims + array.astype(np.uint8).tobytes()


def write_idx_folder(folder: Path, *, n_train: int = 5, n_test: int = 3, gz: bool = True,
                     dotted: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four IDX files in ``folder``; returns the (images, labels) written per prefix."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {"train": digits(n_train, 1), "t10k": digits(n_test, 2)}
    for prefix, (images, labels) in made.items():
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte".replace("-idx", ".idx" if dotted else "-idx")
            data = idx_bytes(array)
            (folder / (name + ".gz" if gz else name)).write_bytes(
                gzip.compress(data, mtime=0) if gz else data)
    return made


def pixel_splits(n: int = 5) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """network2's layout in miniature: float32 pixels u8/256 and int64 labels."""
    parts = []
    for seed in range(3):
        images, labels = digits(n, seed)
        parts.append(((images.reshape(n, 784) / 256).astype(np.float32), labels.astype(np.int64)))
    return tuple(parts)


def py2_array(a: np.ndarray, *, code: bytes | None = None, shape: tuple[int, ...] | None = None,
              flags: int = 0) -> bytes:
    """``a`` pickled as NumPy 1 under Python 2 did in network2's file (same opcodes)."""
    code = code or {np.float32: b"f4", np.int64: b"i8"}[a.dtype.type]
    shape = a.shape if shape is None else shape
    dims = b"".join(b"M" + struct.pack("<H", n) for n in shape) + bytes([0x84 + len(shape)])
    data = a.tobytes()
    return (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R(K\x01"
            + dims + b"cnumpy\ndtype\nU" + bytes([len(code)]) + code + b"K\x00K\x01\x87R"
            + b"(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK" + bytes([flags]) + b"tb"
            + b"\x89T" + struct.pack("<i", len(data)) + data + b"tb")


def py2_pickle(parts: Any, **changes: Any) -> bytes:
    """network2's file in miniature: protocol 2, ((x, y), (x, y), (x, y)), the first x changed."""
    arrays = [py2_array(a, **(changes if i == 0 else {}))
              for i, a in enumerate(a for pair in parts for a in pair)]
    pairs = [arrays[i] + arrays[i + 1] + b"\x86" for i in (0, 2, 4)]
    return b"\x80\x02" + b"".join(pairs) + b"\x87."


def pickled(parts: Any, protocol: int, *, numpy1: bool = False) -> bytes:
    """``parts`` pickled in ``protocol``, with NumPy 1's module names if ``numpy1``."""
    data = pickle.dumps(parts, protocol=protocol)
    return numpy1_names(data) if numpy1 else data


def numpy1_names(data: bytes) -> bytes:
    """A pickle made by NumPy 2 as NumPy 1 spells it (``numpy.core`` for ``numpy._core``).

    Protocols 0-3 name globals in text lines; 4 and 5 in length-prefixed strings, rewritten
    here, without the FRAME opcodes whose lengths would no longer hold (frames are optional).
    """
    ops = list(pickletools.genops(data))
    ends = [pos for _, _, pos in ops[1:]] + [len(data)]
    out = bytearray()
    for (op, arg, start), end in zip(ops, ends):
        chunk = data[start:end]
        if op.name == "FRAME":
            continue
        if isinstance(arg, str) and arg.startswith("numpy._core"):
            new = arg.replace("numpy._core", "numpy.core", 1).encode()
            chunk = (b"\x8c" + bytes([len(new)]) + new if op.name == "SHORT_BINUNICODE"
                     else chunk.replace(b"numpy._core", b"numpy.core", 1))
        out += chunk
    return bytes(out)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def assert_format_error(call: Callable[[], Any], path: Path, fragment: str,
                        error: type[Exception] = DatasetFormatError) -> str:
    """``call()`` raises ``error`` whose message names ``path`` and holds ``fragment``."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert str(path) in message, message
    assert fragment in message, message
    return message


def written_loader(folder: Path, name: str, data: bytes) -> tuple[Callable[[], Any], Path]:
    """Write ``data`` as ``name`` in ``folder`` and return the load that reads it, and its path.

    A name starting with ``mnist`` is a pickle for ``load_pickle``; any other is one of the
    four IDX files, written over a good folder of them for ``load_idx``.
    """
    if name.startswith("mnist"):
        path = write(folder / name, data)
        return (lambda: load_pickle(path)), path
    write_idx_folder(folder)
    return (lambda: load_idx(folder)), write(folder / name, data)
