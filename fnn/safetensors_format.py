"""The safetensors container, through the optional ``safetensors`` package (``fnn[safetensors]``).

A safetensors file is an 8-byte little-endian header length, a JSON header giving each
tensor's dtype, shape and byte range (and ``__metadata__``, a flat dict of strings), then the
tensors' raw little-endian bytes: nothing in it is ever run. This module turns named arrays and
string metadata into those bytes (``encode``) and opens a file memory-mapped (``open_file``) to
give its metadata and its tensors' dtypes and shapes before any tensor is read, then each
array on request (one copy from the mapped file into a writable array, no parsing). What an
fnn model must hold in such a file is ``fnn.serialization``'s business.

Without the package both raise ``ImportError`` saying ``pip install "fnn[safetensors]"``; a
file the package cannot read raises ``ModelFormatError`` naming the file and its reason.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from fnn.errors import ModelFormatError

__all__ = ["DTYPES", "INSTALL", "Opened", "TensorInfo", "encode", "library", "open_file"]

StrPath = str | os.PathLike[str]

INSTALL = 'pip install "fnn[safetensors]"'
"""How to install the safetensors package, as error messages say it."""

DTYPES = {"F64": np.dtype(np.float64), "F32": np.dtype(np.float32)}
"""The format's dtype codes for the dtypes fnn stores."""


def library(doing: str, path: StrPath) -> ModuleType:
    """The ``safetensors`` package, or ``ImportError`` saying how to install it.

    >>> import sys
    >>> saved, sys.modules["safetensors"] = sys.modules.get("safetensors"), None
    >>> try:
    ...     library("saving", "m.safetensors")
    ... finally:
    ...     sys.modules["safetensors"] = saved
    Traceback (most recent call last):
    ...
    ImportError: saving m.safetensors needs the safetensors package: pip install "fnn[safetensors]"
    """
    try:
        import safetensors.numpy  # noqa: PLC0415  (an optional extra)
    except ImportError:
        raise ImportError(f"{doing} {os.fspath(path)} needs the safetensors package: "
                          f"{INSTALL}") from None
    return safetensors


def encode(tensors: Mapping[str, Any], metadata: Mapping[str, str], *,
           path: StrPath = "<bytes>") -> bytes:
    """The bytes of a safetensors file holding ``tensors`` (arrays, stored little-endian and
    contiguous, bit for bit) and ``metadata`` (strings only, as the format requires); ``path``
    names the file in the error without the package.

    The same input gives the same bytes: the package writes ``__metadata__`` in an order that
    changes from call to call, so its header is written again with sorted keys (compact JSON,
    padded with spaces to a multiple of 8 bytes, as the package pads it).

    >>> data = encode({"w": np.array([[-0.0, 5e-324]])}, {"b": "2", "a": "1"})
    >>> data[8:data.index(b"}") + 1], data[-16:].hex()
    (b'{"__metadata__":{"a":"1","b":"2"}', '00000000000000800100000000000000')
    """
    library("saving", path)
    from safetensors.numpy import save as save_tensors  # noqa: PLC0415  (an optional extra)

    arrays = {name: np.ascontiguousarray(a) for name, a in tensors.items()}
    return _sorted_header(save_tensors(arrays, metadata=dict(metadata)))


def _sorted_header(data: bytes) -> bytes:
    """``data`` with its JSON header rewritten with sorted keys; the tensors' bytes as they
    are (their offsets count from the end of the header)."""
    n = int.from_bytes(data[:8], "little")
    header = json.dumps(json.loads(data[8:8 + n]), sort_keys=True, separators=(",", ":"))
    text = header.encode("ascii") + b" " * (-len(header) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + n:]


class TensorInfo(NamedTuple):
    """A tensor as the header describes it: the format's dtype code (``"F32"``) and shape."""

    dtype: str
    shape: tuple[int, ...]


class Opened(NamedTuple):
    """An open file: its ``__metadata__`` (None when it has none), each tensor's
    ``TensorInfo`` by name, and ``tensor(name)``, which reads one as a writable array."""

    metadata: dict[str, str] | None
    tensors: dict[str, TensorInfo]
    tensor: Callable[[str], np.ndarray[Any, Any]]


@contextlib.contextmanager
def open_file(path: StrPath) -> Iterator[Opened]:
    """The safetensors file at ``path``, memory-mapped while the context lasts.

    The header is checked by the package (its length, its JSON, byte ranges that tile the
    data exactly); a file it refuses raises ``ModelFormatError`` naming ``path`` and the
    reason. ``OSError`` from opening the file (missing, a directory) passes through, as
    Python's ``open`` raises it.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = pathlib.Path(d) / "t.safetensors"
    ...     _ = path.write_bytes(encode({"w": np.ones((2, 3), np.float32)}, {"a": "b"}))
    ...     with open_file(path) as f:
    ...         f.metadata, f.tensors, f.tensor("w").sum()
    ({'a': 'b'}, {'w': TensorInfo(dtype='F32', shape=(2, 3))}, np.float32(6.0))
    """
    st = library("loading", path)
    with Path(path).open("rb"):  # Python's own OSError, naming the file, for what cannot open
        pass
    with _refused(path, st):
        handle = st.safe_open(os.fspath(path), framework="numpy")
    with handle as f, _refused(path, st):
        infos = {name: _info(f.get_slice(name)) for name in f.keys()}  # noqa: SIM118 (no dict)

        def tensor(name: str) -> np.ndarray[Any, Any]:
            with _refused(path, st):
                array: np.ndarray[Any, Any] = f.get_tensor(name)
                return array
        yield Opened(f.metadata(), infos, tensor)


def _info(view: Any) -> TensorInfo:
    return TensorInfo(str(view.get_dtype()), tuple(int(n) for n in view.get_shape()))


@contextlib.contextmanager
def _refused(path: StrPath, st: ModuleType) -> Iterator[None]:
    try:
        yield
    except st.SafetensorError as e:
        reason = str(e).removeprefix("Error while deserializing header: ")
        reason = reason if len(reason) <= 200 else reason[:197] + "..."
        hint = "; it starts like JSON: name a JSON model *.json" if _starts_like_json(path) else ""
        raise ModelFormatError(f"{os.fspath(path)}: not a readable safetensors file "
                               f"({reason}){hint}") from None


def _starts_like_json(path: StrPath) -> bool:
    try:
        with Path(path).open("rb") as file:
            head = file.read(64)
    except OSError:
        return False
    return head.lstrip(b" \t\r\n")[:1] == b"{"
