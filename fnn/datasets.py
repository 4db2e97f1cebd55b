"""MNIST from network2's ``mnist.pkl.gz``, from the four IDX files, or from the embedded sample.

Every loader returns ``MnistSplits(training, validation, test)``, each split a
``Labelled(x, labels)``: ``x`` is (n, 784) floats in [0, 1] (pixel / 256, exactly as in
network2's pickle) and ``labels`` int64 digits (n,). Files are checked as they are read;
anything wrong with one raises ``DatasetFormatError`` naming the file and the problem:

- a pickle goes through an unpickler that reaches only the NumPy names an array needs;
  any other global raises ``UnsafeFileError`` (a ``DatasetFormatError``) before it is called,
  and only the opcodes such a file uses run, at most ``MAX_OPCODES`` of them;
- gzip is recognised by its magic bytes, and no file may decompress to more than
  ``MAX_DECOMPRESSED_BYTES`` (256 MiB; network2's pickle decompresses to 210 MiB);
- shapes, dtypes, digits 0..9 and pixels in [0, 1] are checked in every split.

>>> sample = load_sample()
>>> sample.training.x.shape, sample.test.labels.dtype, sample.validation
((10000, 784), dtype('int64'), None)
"""

from __future__ import annotations

import gzip
import io
import math
import os
import pickle
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import DTypeLike, NDArray

from fnn.data import Labelled
from fnn.errors import ConfigError, DatasetFormatError, UnsafeFileError
from fnn.params import Array

__all__ = [
    "MAX_DECOMPRESSED_BYTES",
    "MAX_OPCODES",
    "MNIST_ENV",
    "N_TRAINING",
    "MnistSplits",
    "find_mnist",
    "load_idx",
    "load_mnist",
    "load_pickle",
    "load_sample",
    "read_idx",
]

StrPath = str | os.PathLike[str]

MAX_DECOMPRESSED_BYTES = 256 * 2**20
"""No dataset file may decompress to more bytes (network2's pickle has 220,080,342)."""

N_TRAINING = 50_000
"""IDX training rows kept as ``training``; the rest is ``validation``, as in network2's pickle."""

MNIST_ENV = "FNN_MNIST"
"""The environment variable ``find_mnist`` reads first: a pickle file or a folder."""

N_PIXELS = 28 * 28
N_CLASSES = 10
_SPLITS = ("training", "validation", "test")
_GZIP_MAGIC = b"\x1f\x8b"


class MnistSplits(NamedTuple):
    """MNIST's three splits; ``validation`` is None when a source has none (the sample)."""

    training: Labelled
    validation: Labelled | None
    test: Labelled


# --- network2's pickle ----------------------------------------------------------------------


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
    file, dt = _existing(path, "MNIST pickle", folder=False), _float_dtype(dtype)
    training, validation, test = (
        _float_split(f"{file} {name}", x, labels, dt)
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

    def __init__(self, file: _CappedReader, path: Path) -> None:
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
    with _open_data(path) as stream:
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


# --- IDX files ------------------------------------------------------------------------------


def load_idx(folder: StrPath, *, dtype: DTypeLike = np.float32) -> MnistSplits:
    """The four IDX files in ``folder`` as ``MnistSplits``, split as network2's pickle.

    ``folder`` holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each raw or gzip'd (``.gz``),
    also spelled ``train-images.idx3-ubyte``. ``training`` is the first ``N_TRAINING``
    (50,000) training images, ``validation`` the rest (None if there are no more) and
    ``test`` the t10k files; ``x`` is pixel / 256 as ``dtype``, so real MNIST gives
    exactly the arrays of ``mnist.pkl.gz``.

    Fashion-MNIST ships the same file names and format, so ``load_idx`` reads it too;
    on Debian, ``apt-get install dataset-fashion-mnist`` installs its IDX files
    (``dpkg -L dataset-fashion-mnist`` shows the folder).

    >>> load_idx("no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: IDX folder no/such/folder does not exist
    """
    root, dt = _existing(folder, "IDX folder", folder=True), _float_dtype(dtype)
    train, test = _idx_split(root, "train", dt), _idx_split(root, "t10k", dt)
    validation = Labelled(train.x[N_TRAINING:], train.labels[N_TRAINING:])
    return MnistSplits(Labelled(train.x[:N_TRAINING], train.labels[:N_TRAINING]),
                       validation if validation.labels.size else None, test)


def read_idx(path: StrPath) -> NDArray[np.uint8]:
    """The unsigned-byte array in one IDX file (raw or gzip'd), shaped as its header says.

    The header is two zero bytes, type code 0x08 (unsigned byte), the number of
    dimensions and each dimension as a big-endian uint32: magic 2049 for MNIST's
    labels (n,), 2051 for its images (n, 28, 28). The result is read-only.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     labels = Path(tmp, "labels-idx1-ubyte")
    ...     _ = labels.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9]))
    ...     read_idx(labels).tolist()
    [7, 0, 9]
    """
    file = _existing(path, "IDX file", folder=False)
    with _open_data(file) as stream:
        data = stream.read()
    return _parse_idx(data, file)


def _parse_idx(data: bytes, path: Path) -> NDArray[np.uint8]:
    if len(data) < 4:
        raise DatasetFormatError(f"{path} has {len(data)} bytes, too few for an IDX header")
    zero, type_code, ndim = struct.unpack_from(">HBB", data)
    if zero != 0 or type_code != 0x08 or ndim == 0:
        magic = int.from_bytes(data[:4], "big")
        raise DatasetFormatError(
            f"{path} has bad magic number {magic}; an IDX file of unsigned bytes has "
            f"0x0800 + its number of dimensions (2049 for labels, 2051 for images)")
    start = 4 + 4 * ndim
    if len(data) < start:
        raise DatasetFormatError(f"{path} is truncated inside its {ndim}-dimension IDX header")
    dims = struct.unpack_from(f">{ndim}I", data, 4)
    if len(data) - start != math.prod(dims):
        raise DatasetFormatError(
            f"{path} header says {'x'.join(map(str, dims))} = {math.prod(dims)} bytes of data, "
            f"but {len(data) - start} bytes follow it")
    return np.frombuffer(data, np.uint8, offset=start).reshape(dims)


def _idx_split(folder: Path, prefix: str, dt: np.dtype[Any]) -> Labelled:
    image_file = _idx_file(folder, f"{prefix}-images-idx3-ubyte")
    label_file = _idx_file(folder, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.shape[1:] != (28, 28):
        raise DatasetFormatError(
            f"{image_file} must hold 28x28 images (magic 2051), got magic "
            f"{2048 + images.ndim} with shape {images.shape}")
    if labels.ndim != 1:
        raise DatasetFormatError(
            f"{label_file} must hold labels (magic 2049), got magic {2048 + labels.ndim} "
            f"with shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise DatasetFormatError(
            f"{image_file} has {images.shape[0]} images but {label_file} has "
            f"{labels.shape[0]} labels")
    return _uint8_split(str(image_file), images, str(label_file), labels, dt)


def _idx_file(folder: Path, stem: str) -> Path:
    dotted = stem.replace("-idx", ".idx")  # the spelling in the original gzip headers
    names = (stem, f"{stem}.gz", dotted, f"{dotted}.gz")
    found = [folder / name for name in names if (folder / name).is_file()]
    if not found:
        raise FileNotFoundError(f"IDX folder {folder} has no {stem}[.gz] (nor {dotted}[.gz])")
    return found[0]


# --- the embedded sample --------------------------------------------------------------------


def load_sample(*, dtype: DTypeLike = np.float32) -> MnistSplits:
    """The real MNIST digits shipped inside fnn: 10,000 training and 2,000 test images.

    The training rows are drawn from network2's training split (the first 50,000 IDX
    training images), the test rows from the t10k test set, both by a fixed seed;
    ``validation`` is None. ``tools/make_mnist_sample.py`` builds the file and
    ``fnn/sample/LICENSE-MNIST.txt`` gives its licence (CC BY-SA 3.0) and SHA-256.

    >>> sample = load_sample(dtype=np.float64)
    >>> sample.test.x.shape, sample.test.x.dtype, sorted(set(sample.test.labels.tolist()))
    ((2000, 784), dtype('float64'), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    dt = _float_dtype(dtype)
    resource = resources.files("fnn") / "sample" / "mnist_sample.npz"
    return _sample_splits(resource.read_bytes(), str(resource), dt)


def _sample_splits(data: bytes, where: str, dt: np.dtype[Any]) -> MnistSplits:
    keys = ("training_images", "training_labels", "test_images", "test_labels")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in keys}
    except (zipfile.BadZipFile, ValueError, KeyError, OSError, EOFError, zlib.error) as exc:
        raise DatasetFormatError(
            f"{where} is not a readable sample archive with arrays {list(keys)}: "
            f"{type(exc).__name__}: {exc}") from None
    training, test = (
        _uint8_split(f"{where} {name}_images", arrays[f"{name}_images"],
                     f"{where} {name}_labels", arrays[f"{name}_labels"], dt)
        for name in ("training", "test"))
    return MnistSplits(training, None, test)


# --- checks shared by the loaders -----------------------------------------------------------


def _float_split(where: str, x: NDArray[Any], labels: NDArray[Any],
                 dt: np.dtype[Any]) -> Labelled:
    if x.dtype.kind != "f" or x.ndim != 2 or x.shape[1] != N_PIXELS or x.shape[0] == 0:
        raise DatasetFormatError(
            f"{where} x must be float rows of {N_PIXELS} pixels, got {x.dtype} array{x.shape}")
    low, high = x.min(), x.max()
    if not (low >= 0 and high <= 1):  # NaN fails both comparisons
        row, col = divmod(int(np.argmax(~((x >= 0) & (x <= 1)))), N_PIXELS)
        raise DatasetFormatError(
            f"{where} pixels must be in [0, 1], got {x[row, col]} at row {row}, column {col}")
    return Labelled(x.astype(dt, copy=False), _labels(where, labels, x.shape[0]))


def _uint8_split(image_where: str, images: NDArray[Any], label_where: str,
                 labels: NDArray[Any], dt: np.dtype[Any]) -> Labelled:
    if images.dtype != np.uint8 or images.shape[1:] not in ((N_PIXELS,), (28, 28)) \
            or images.shape[0] == 0:
        raise DatasetFormatError(
            f"{image_where} must be uint8 images of {N_PIXELS} pixels, "
            f"got {images.dtype} array{images.shape}")
    x: Array = images.reshape(images.shape[0], N_PIXELS).astype(dt)
    x /= 256  # a new array; the exact values of network2's pickle
    return Labelled(x, _labels(label_where, labels, images.shape[0]))


def _labels(where: str, labels: NDArray[Any], n: int) -> NDArray[np.int64]:
    if labels.dtype.kind not in "iu" or labels.shape != (n,):
        raise DatasetFormatError(
            f"{where} labels must be {n} integers (one per image), "
            f"got {labels.dtype} array{labels.shape}")
    bad = (labels < 0) | (labels >= N_CLASSES)
    if bad.any():
        i = int(np.argmax(bad))
        raise DatasetFormatError(f"{where} labels must be digits 0..9, got {labels[i]} at row {i}")
    return labels.astype(np.int64, copy=False)


def _float_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ConfigError(f"dtype must be a floating type such as np.float32, got {dt}")
    return dt


def _existing(path: StrPath, what: str, *, folder: bool) -> Path:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{what} {p} does not exist")
    if folder and not p.is_dir():
        raise NotADirectoryError(f"{what} {p} is not a folder")
    if not folder and p.is_dir():
        raise IsADirectoryError(f"{what} {p} is a folder, not a file")
    return p


# --- reading files: gzip detection and the size cap ------------------------------------------


class _CappedReader:
    """A binary stream that refuses to yield more than ``cap`` bytes; errors name ``path``."""

    def __init__(self, raw: io.BufferedIOBase, path: Path, cap: int) -> None:
        self._raw, self._path, self._cap, self._count = raw, path, cap, 0

    def read(self, size: int | None = -1) -> bytes:
        return self._counted(self._raw.read, size)

    def readline(self, size: int | None = -1) -> bytes:
        line = self._counted(self._raw.readline, size)
        if not line.endswith(b"\n"):  # only pickles read lines: their GLOBAL names
            raise DatasetFormatError(f"{self._path} ends inside a line of text (truncated)")
        return line

    def _counted(self, read: Callable[[int], bytes], size: int | None) -> bytes:
        room = self._cap - self._count
        try:  # never ask for more than one byte past the cap, even when a header says so
            data = read(room + 1 if size is None or size < 0 or size > room else size)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise DatasetFormatError(
                f"{self._path} has corrupt or truncated gzip data: {exc}") from None
        self._count += len(data)
        if self._count > self._cap:
            raise DatasetFormatError(
                f"{self._path} holds more than {self._cap:,} bytes (decompressed); fnn refuses "
                f"larger files (MAX_DECOMPRESSED_BYTES)")
        return data


@contextmanager
def _open_data(path: Path) -> Iterator[_CappedReader]:
    with path.open("rb") as file:
        gzipped = file.read(2) == _GZIP_MAGIC
        file.seek(0)
        if path.suffix == ".gz" and not gzipped:
            raise DatasetFormatError(
                f"{path} is not gzip data: it does not start with the gzip magic bytes 1f 8b")
        opened = gzip.GzipFile(fileobj=file, mode="rb") if gzipped else nullcontext(file)
        with opened as raw:
            yield _CappedReader(raw, path, MAX_DECOMPRESSED_BYTES)


# --- finding the data -----------------------------------------------------------------------


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
    if any((place / name).is_file() for name in _TRAIN_IMAGES):
        return place
    pickles = [place / name for name in ("mnist.pkl.gz", "mnist.pkl") if (place / name).is_file()]
    return pickles[0] if pickles else None


_TRAIN_IMAGES = ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
                 "train-images.idx3-ubyte", "train-images.idx3-ubyte.gz")


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
        "fnn.datasets.load_sample() gives the embedded sample of 10,000 training and 2,000 "
        "test digits (the default of `fnn train`).")
