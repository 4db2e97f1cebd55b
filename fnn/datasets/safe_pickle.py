"""network2's ``mnist.pkl.gz``, and re-pickles of its arrays, read without running any code.

The pickle goes through ``pickle_machine``, fnn's own interpreter, whose only globals are the
stand-ins below: plain functions that record what the file says and can run nothing. Before any
array is built, the structure is checked: three ``(x, labels)`` pairs of arrays whose shape,
dtype and bytes agree. Then each distinct array is built once, as a view of the bytes the file
held, so however often a file refers to an array, memory stays near the size of its data.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import DTypeLike, NDArray

from fnn.datasets import reading
from fnn.datasets.pickle_machine import Refused, Stateful, unpickle
from fnn.datasets.splits import MnistSplits, existing, float_dtype, float_split
from fnn.errors import DatasetFormatError
from fnn.files import load_errors

__all__ = ["MAX_OPCODES", "MAX_PICKLE_BYTES", "load_pickle"]

StrPath = str | Path
_SPLITS = ("training", "validation", "test")

MAX_OPCODES = 10_000
"""Most pickle instructions ``load_pickle`` runs (network2's file has 151)."""

MAX_PICKLE_BYTES = 2 * 2**30
"""Most bytes a pickle may decompress to. Protocol 0 spells bytes as text, a zero byte as the
six characters ``\\u0000``: the real MNIST arrays re-pickled so take 1,216,684,680 bytes. What
the file may hold in strings and arrays is still at most ``MAX_DECOMPRESSED_BYTES``."""


def load_pickle(path: StrPath, *, dtype: DTypeLike = np.float32) -> MnistSplits:
    """network2's ``mnist.pkl.gz`` (or an uncompressed ``mnist.pkl``) as ``MnistSplits``.

    The file is a (gzip'd) pickle of ``((train_x, train_y), (valid_x, valid_y), (test_x,
    test_y))``: network2's is Python 2's protocol 2 with 50,000 / 10,000 / 10,000 rows of
    float32 pixels and int64 digits. Python 3 re-pickles of such arrays load too, in protocols
    0 to 5, as NumPy 1 or 2 wrote them. The globals such files name (``_reconstruct``,
    ``ndarray``, ``dtype``, ``_frombuffer``, ``_codecs.encode``) are stand-ins that only
    record what the file says; any other raises ``UnsafeFileError`` naming it, before anything
    runs. fnn then builds each array from its shape, plain dtype name and bytes, so no NumPy
    code sees the pickled state. ``x`` comes back as ``dtype``.

    >>> import pickle, tempfile
    >>> part = (np.zeros((2, 784), np.float32), np.array([3, 5]))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "mnist.pkl").write_bytes(pickle.dumps((part, part, part)))
    ...     test = load_pickle(Path(tmp, "mnist.pkl"), dtype=np.float64).test
    >>> test.x.shape, test.x.dtype, test.labels.tolist()
    ((2, 784), dtype('float64'), [3, 5])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "evil.pkl").write_bytes(pickle.dumps(print))
    ...     load_pickle(Path(tmp, "evil.pkl"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fnn.errors.UnsafeFileError: .../evil.pkl reaches builtins.print, which ... Nothing was run.
    """
    file, dt = existing(path, "MNIST pickle", folder=False), float_dtype(dtype)
    with load_errors(str(file), DatasetFormatError):
        training, validation, test = (
            float_split(f"{file} {name}", x, labels, dt)
            for name, (x, labels) in zip(_SPLITS, _unpickle(file)))
    return MnistSplits(training, validation, test)


# --------------------------------------------------------------------------- the stand-ins


class _Array(Stateful):
    """An ndarray as the file describes it, unread: its state is NumPy's ``(version, shape,
    dtype, is_fortran, data)``, given by BUILD after ``_reconstruct``, or by ``_frombuffer``."""

    __slots__ = ()


class _Dtype(Stateful):
    """A dtype as the file describes it, unread: the name, then BUILD's state."""

    __slots__ = ("name",)

    def __init__(self, name: Any) -> None:
        super().__init__()
        self.name = name


_NDARRAY = object()  # numpy.ndarray: only ever _reconstruct's first argument, never called


def _reconstruct(cls: Any, _shape: Any, _typecode: Any) -> _Array:
    """``numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b"b")``: an array, stateless."""
    if cls is not _NDARRAY:
        raise Refused(f"_reconstruct of a {type(cls).__name__}, not of numpy.ndarray")
    return _Array()


def _dtype(name: Any, _align: Any = False, _copy: Any = False) -> _Dtype:
    """``numpy.dtype(name, align, copy)``: a dtype waiting for its state."""
    return _Dtype(name)


def _latin1(text: Any, encoding: Any = "utf-8") -> bytes | bytearray:
    """``_codecs.encode(text, "latin1")``: how Python 3 pickles bytes in protocols 0 to 2.

    A long text is already kept as its latin-1 bytes (``pickle_machine``): no copy is made.
    """
    if encoding not in ("latin1", "latin-1"):
        raise Refused(f"_codecs.encode to {_short(encoding)}, not latin1")
    if isinstance(text, bytearray):
        return text
    if not isinstance(text, str):
        raise Refused(f"_codecs.encode of a {type(text).__name__}, not a text")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise Refused("_codecs.encode of a text with characters beyond latin-1") from None


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> _Array:
    """``numpy._core.numeric._frombuffer(buffer, dtype, shape, order)``: protocol 5's array."""
    if order not in ("C", "F"):
        raise Refused(f"_frombuffer in order {_short(order)}, not 'C' or 'F'")
    array = _Array()
    array.set_state((1, shape, dtype, order == "F", buffer))
    return array


_STAND_INS: Mapping[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # network2's file; NumPy 1
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # NumPy 2
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _latin1,  # Python 3's bytes in protocols 0 to 2
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,  # protocol 5; NumPy 1
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,  # NumPy 2
}
"""What an MNIST pickle may name, and the stand-in each name gets."""


# --------------------------------------------------------------------------- reading


Pair = tuple[NDArray[Any], NDArray[Any]]


def _unpickle(path: Path) -> tuple[Pair, Pair, Pair]:
    with reading.open_data(path, MAX_PICKLE_BYTES) as stream:
        content = unpickle(stream, source=str(path), stand_ins=_STAND_INS,
                           max_opcodes=MAX_OPCODES, data_cap=reading.MAX_DECOMPRESSED_BYTES,
                           what="an MNIST pickle")
        if stream.read(1):  # also makes gzip check its CRC and length trailer
            raise DatasetFormatError(f"{path} has data after the end of the pickle")
    pairs = _three_pairs(content, path)  # the structure, before anything is built
    specs = {id(a): _spec(a, path) for pair in pairs for a in pair}  # each array once
    if len({id(spec.data) for spec in specs.values()}) < len(specs):
        raise DatasetFormatError(f"{path} holds two arrays with the same bytes")
    arrays = {key: _ndarray(spec) for key, spec in specs.items()}
    x0, y0, x1, y1, x2, y2 = (arrays[id(a)] for pair in pairs for a in pair)
    return (x0, y0), (x1, y1), (x2, y2)


def _three_pairs(content: Any, path: Path) -> tuple[tuple[_Array, _Array], ...]:
    def is_pair(part: Any) -> bool:
        return (isinstance(part, tuple) and len(part) == 2
                and all(isinstance(a, _Array) for a in part))

    if not (isinstance(content, tuple) and len(content) == 3 and all(map(is_pair, content))):
        raise DatasetFormatError(
            f"{path} must hold ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)) "
            f"arrays, got {_describe(content, path)}")
    return content


class _Spec(NamedTuple):
    """What an array is, checked; ``data`` holds exactly its bytes."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fortran: bool
    data: bytes | bytearray


def _spec(array: _Array, path: Path) -> _Spec:
    """The array NumPy's ``(version, shape, dtype, is_fortran, data)`` state describes."""
    state = array.state
    if not (isinstance(state, tuple) and len(state) in (4, 5)):
        raise DatasetFormatError(f"{path} holds an ndarray without its (shape, dtype, data)")
    shape, dtype, fortran, data = state[-4:]  # the version number is optional
    dt = _plain_dtype(dtype, path)
    if isinstance(data, str):  # a short Python 2 unicode string, as NumPy reads one
        try:
            data = data.encode("latin-1")
        except UnicodeEncodeError:
            raise DatasetFormatError(f"{path} holds an ndarray whose data is text, not "
                                     f"bytes") from None
    if not (isinstance(shape, tuple) and len(shape) <= 32
            and all(type(n) is int and n >= 0 for n in shape)
            and fortran in (True, False) and isinstance(data, bytes | bytearray)):
        raise DatasetFormatError(
            f"{path} holds an ndarray whose shape {_short(shape)}, order {_short(fortran)} or "
            f"data ({type(data).__name__}) is not NumPy's")
    if math.prod(shape) * dt.itemsize != len(data):
        raise DatasetFormatError(
            f"{path} holds a {dt} array of shape {shape} ({math.prod(shape) * dt.itemsize} "
            f"bytes) with {len(data)} bytes of data")
    return _Spec(shape, dt, bool(fortran), data)


_DTYPE_NAMES = frozenset(f"{kind}{size}" for kind in "fiu" for size in (1, 2, 4, 8)) - {"f1"}


def _plain_dtype(pickled: Any, path: Path) -> np.dtype[Any]:
    """The plain numeric dtype (``f4``, ``i8``, ...) a pickled ``numpy.dtype`` names."""
    if not isinstance(pickled, _Dtype):
        raise DatasetFormatError(f"{path} holds an ndarray whose dtype is not a numpy.dtype")
    name, state = _text(pickled.name), pickled.state
    order = _text(state[1]) if isinstance(state, tuple) and len(state) >= 5 else None
    if not (isinstance(name, str) and name in _DTYPE_NAMES and order in ("<", ">", "=", "|")
            and state[2:5] == (None, None, None)):
        raise DatasetFormatError(
            f"{path} holds an ndarray whose dtype is not a plain number "
            f"(name {_short(name)}, state {_short(state)})")
    plain: np.dtype[Any] = np.dtype(name).newbyteorder(order)
    return plain


def _text(value: Any) -> Any:
    """A name as Python 3 (``str``) or Python 2 (``bytes``) spelled it; anything else as is."""
    return value.decode("latin-1") if isinstance(value, bytes) and len(value) <= 8 else value


def _ndarray(spec: _Spec) -> NDArray[Any]:
    # a bytearray the file's reading made is this array's alone; short bytes are copied
    buffer = spec.data if isinstance(spec.data, bytearray) else bytearray(spec.data)
    flat = np.frombuffer(buffer, spec.dtype) if buffer else np.empty(0, spec.dtype)
    return flat.reshape(spec.shape, order="F" if spec.fortran else "C")


def _short(value: Any) -> str:
    """``repr(value)`` cut short, whatever its size."""
    return _REPR.repr(value)


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxtuple = _REPR.maxlist = 10


def _describe(obj: Any, path: Path, depth: int = 2) -> str:
    if isinstance(obj, _Array):
        try:
            spec = _spec(obj, path)
        except DatasetFormatError:
            return "ndarray"
        return f"{spec.dtype} array{spec.shape}"
    if isinstance(obj, tuple) and depth > 0:
        items = [_describe(o, path, depth - 1) for o in obj[:4]]
        return "(" + ", ".join(items + (["..."] if len(obj) > 4 else [])) + ")"
    return type(obj).__name__
