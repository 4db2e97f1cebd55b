"""network2's ``mnist.pkl.gz`` through a restricted unpickler that can run no code.

The unpickler reaches only the NumPy names an array needs; any other global raises
``UnsafeFileError`` (a ``DatasetFormatError``) before it is called, and only the opcodes such a
file uses run, at most ``MAX_OPCODES`` of them.
"""

from __future__ import annotations

import math
import pickle
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from fnn.datasets.reading import CappedReader, open_data
from fnn.datasets.splits import MnistSplits, existing, float_dtype, float_split
from fnn.errors import DatasetFormatError, UnsafeFileError

__all__ = ["MAX_OPCODES", "load_pickle"]

StrPath = str | Path
_SPLITS = ("training", "validation", "test")


def load_pickle(path: StrPath, *, dtype: DTypeLike = np.float32) -> MnistSplits:
    """network2's ``mnist.pkl.gz`` (or an uncompressed ``mnist.pkl``) as ``MnistSplits``.

    The file is a (gzip'd) Python 2 pickle of ``((train_x, train_y), (valid_x, valid_y),
    (test_x, test_y))``: 50,000 / 10,000 / 10,000 rows of float32 pixels and int64 digits.
    The unpickler reaches only the four names such a file uses (``numpy.ndarray``,
    ``numpy.dtype`` and ``_reconstruct`` from ``numpy.core.multiarray`` or NumPy 2's
    ``numpy._core.multiarray``), and even those are stand-ins that just record what the
    file says: fnn then builds each array from its shape, dtype name and bytes, so no
    NumPy code sees the pickled state. ``x`` comes back as ``dtype``.

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
    training, validation, test = (
        float_split(f"{file} {name}", x, labels, dt)
        for name, (x, labels) in zip(_SPLITS, _unpickle(file)))
    return MnistSplits(training, validation, test)


class _PickledArray:
    """What ``_reconstruct(ndarray, ...)`` and BUILD leave: NumPy's array state, unread."""

    def __init__(self) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _PickledDtype:
    """What ``dtype(name, align, copy)`` and BUILD leave: the name and state, unread."""

    def __init__(self, args: tuple[Any, ...]) -> None:
        self.args = args
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


# functions, not the classes, so that NEWOBJ cannot make a record without its fields
def _pickled_array(*_args: Any) -> _PickledArray:
    return _PickledArray()


def _pickled_dtype(*args: Any) -> _PickledDtype:
    return _PickledDtype(args)


_NDARRAY = object()  # only ever an argument of _reconstruct; never called

# network2's file names the first, third and fourth; the second is how NumPy 2 spells
# the first when someone re-pickles the arrays (protocols 3 and 4)
_SAFE_GLOBALS: Mapping[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _pickled_array,
    ("numpy._core.multiarray", "_reconstruct"): _pickled_array,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _pickled_dtype,
}

# what the pickle machine raises on garbage; the stream raises DatasetFormatError itself
_PICKLE_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
                  IndexError, KeyError, OverflowError, MemoryError, RecursionError, struct.error)


# the opcodes of network2's file and of NumPy 2 re-pickles (protocols 2-4); no lists, dicts,
# sets, ints beyond 32 bits, persistent ids or out-of-band buffers
_OPCODES = (
    pickle.PROTO, pickle.FRAME, pickle.STOP, pickle.MARK, pickle.EMPTY_TUPLE, pickle.TUPLE,
    pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3, pickle.NONE, pickle.NEWTRUE, pickle.NEWFALSE,
    pickle.BININT, pickle.BININT1, pickle.BININT2, pickle.SHORT_BINSTRING, pickle.BINSTRING,
    pickle.SHORT_BINBYTES, pickle.BINBYTES, pickle.SHORT_BINUNICODE, pickle.BINUNICODE,
    pickle.GLOBAL, pickle.STACK_GLOBAL, pickle.REDUCE, pickle.BUILD, pickle.BINPUT,
    pickle.LONG_BINPUT, pickle.MEMOIZE, pickle.BINGET, pickle.LONG_BINGET,
)

MAX_OPCODES = 10_000
"""Most pickle instructions ``load_pickle`` runs (network2's file has 151)."""


class _Opcodes(dict[int, Callable[[Any], None]]):
    """The allowed opcodes' handlers, each counted; any other opcode stops the load."""

    def __missing__(self, code: int) -> Callable[[Any], None]:
        raise pickle.UnpicklingError(f"opcode {bytes([code])!r}, which an MNIST pickle never uses")


def _counted_opcode(handler: Callable[[Any], None]) -> Callable[[Any], None]:
    def run(unpickler: _SafeUnpickler) -> None:
        unpickler.opcodes_run += 1
        if unpickler.opcodes_run > MAX_OPCODES:
            raise pickle.UnpicklingError(f"more than MAX_OPCODES = {MAX_OPCODES} instructions")
        handler(unpickler)
    return run


class _SafeUnpickler(pickle._Unpickler):
    """An unpickler that refuses every global outside ``_SAFE_GLOBALS`` before calling it.

    It is the pure-Python unpickler, whose memo is a dict: the C one grows and zero-fills a
    memo array as long as any index the file names, so a 9-byte file could make it fill
    16 GiB. With few opcodes allowed and at most ``MAX_OPCODES`` run, memory stays near the
    decompressed size.
    """

    dispatch = _Opcodes({code[0]: _counted_opcode(pickle._Unpickler.dispatch[code[0]])
                         for code in _OPCODES})

    def __init__(self, file: CappedReader, path: Path) -> None:
        # network2's pixels are Python 2 str; latin1 keeps each byte as one character
        super().__init__(file, encoding="latin1")
        self._path = path
        self.opcodes_run = 0

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _SAFE_GLOBALS[module, name]
        except KeyError:
            allowed = ", ".join(f"{m}.{n}" for m, n in _SAFE_GLOBALS)
            raise UnsafeFileError(
                f"{self._path} reaches {module}.{name}, which an MNIST pickle never needs "
                f"(only {allowed} are allowed). Nothing was run.") from None


def _unpickle(path: Path) -> tuple[tuple[NDArray[Any], NDArray[Any]], ...]:
    with open_data(path) as stream:
        try:
            content = _SafeUnpickler(stream, path).load()
        except DatasetFormatError:
            raise
        except _PICKLE_ERRORS as exc:
            raise DatasetFormatError(
                f"{path} is not a readable pickle (truncated or corrupt): "
                f"{type(exc).__name__}: {exc}") from None
        if stream.read(1):  # also makes gzip check its CRC and length trailer
            raise DatasetFormatError(f"{path} has data after the end of the pickle")
    return _three_pairs(_rebuilt(content, path), path)


def _rebuilt(content: Any, path: Path, depth: int = 2) -> Any:
    """``content`` with each recorded array, at most ``depth`` tuples deep, made an ndarray."""
    if isinstance(content, _PickledArray):
        return _array(content.state, path)
    if isinstance(content, tuple | list) and depth > 0:
        return tuple(_rebuilt(part, path, depth - 1) for part in content)
    return content


def _array(state: Any, path: Path) -> NDArray[Any]:
    """The array NumPy's ``(version, shape, dtype, is_fortran, data)`` state describes."""
    if not (isinstance(state, tuple) and len(state) in (4, 5)):
        raise DatasetFormatError(f"{path} holds an ndarray without its (shape, dtype, data)")
    shape, dtype, fortran, data = state[-4:]  # the version number is optional
    dt = _dtype(dtype, path)
    if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)
            and isinstance(data, str | bytes | bytearray)):
        raise DatasetFormatError(
            f"{path} holds an ndarray whose shape {shape!r} or data "
            f"({type(data).__name__}) is not NumPy's")
    if math.prod(shape) * dt.itemsize != len(data):
        raise DatasetFormatError(
            f"{path} holds a {dt} array of shape {shape} ({math.prod(shape) * dt.itemsize} "
            f"bytes) with {len(data)} bytes of data")
    try:  # a writable copy of the bytes; Python 2 str has one character per byte
        buffer = bytearray(data, "latin1") if isinstance(data, str) else bytearray(data)
    except UnicodeEncodeError:
        raise DatasetFormatError(f"{path} holds an ndarray whose data is text, not bytes") \
            from None
    return np.frombuffer(buffer, dt).reshape(shape, order="F" if fortran else "C")


def _dtype(pickled: Any, path: Path) -> np.dtype[Any]:
    """The plain numeric dtype (``f4``, ``i8``, ...) a pickled ``numpy.dtype`` names."""
    if not isinstance(pickled, _PickledDtype):
        raise DatasetFormatError(f"{path} holds an ndarray whose dtype is not a numpy.dtype")
    name, state = pickled.args[0] if pickled.args else None, pickled.state
    order = state[1] if isinstance(state, tuple) and len(state) >= 5 else None
    if not (isinstance(name, str) and len(name) == 2 and name[0] in "fiu" and name[1] in "1248"
            and order in ("<", ">", "=", "|") and state[2:5] == (None, None, None)):
        raise DatasetFormatError(
            f"{path} holds an ndarray whose dtype is not a plain number "
            f"(name {name!r}, state {state!r})")
    return np.dtype(name).newbyteorder(order)


def _three_pairs(content: Any, path: Path) -> tuple[tuple[NDArray[Any], NDArray[Any]], ...]:
    def is_pair(part: Any) -> bool:
        return (isinstance(part, tuple | list) and len(part) == 2
                and all(isinstance(a, np.ndarray) for a in part))

    if not (isinstance(content, tuple | list) and len(content) == 3
            and all(map(is_pair, content))):
        raise DatasetFormatError(
            f"{path} must hold ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)) "
            f"arrays, got {_describe(content)}")
    return tuple((x, labels) for x, labels in content)


def _describe(obj: Any, depth: int = 2) -> str:
    if isinstance(obj, np.ndarray):
        return f"{obj.dtype} array{obj.shape}"
    if isinstance(obj, tuple | list) and depth > 0:
        items = [_describe(o, depth - 1) for o in obj[:4]]
        return "(" + ", ".join(items + (["..."] if len(obj) > 4 else [])) + ")"
    return type(obj).__name__


