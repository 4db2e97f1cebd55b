from __future__ import annotations

import gzip
import hashlib
import pickle
import pickletools
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fnn.datasets as ds
from fnn.data import Labelled
from fnn.datasets import (
    MnistSplits,
    find_mnist,
    load_idx,
    load_mnist,
    load_pickle,
    load_sample,
    read_idx,
)
from fnn.errors import ConfigError, DatasetFormatError, UnsafeFileError

from .conftest import MNIST_DIR

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "fnn" / "sample" / "mnist_sample.npz"
# label histograms from ../shared/data/mnist/PROVENANCE.txt (IDX train = training + validation)
IDX_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
IDX_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# --- tiny files built in tmp_path --------------------------------------------------------------


def digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random uint8 28x28 images and digit labels."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, np.uint8)


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    magic = 0x0800 + array.ndim if magic is None else magic
    dims = struct.pack(f">{array.ndim}I", *array.shape)
    return struct.pack(">I", magic) + dims + array.astype(np.uint8).tobytes()


def write_idx_folder(folder: Path, *, n_train: int = 5, n_test: int = 3, gz: bool = True,
                     dotted: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
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


def py2_pickle(parts, **changes) -> bytes:
    """network2's file in miniature: protocol 2, ((x, y), (x, y), (x, y)), the first x changed."""
    arrays = [py2_array(a, **(changes if i == 0 else {}))
              for i, a in enumerate(a for pair in parts for a in pair)]
    pairs = [arrays[i] + arrays[i + 1] + b"\x86" for i in (0, 2, 4)]
    return b"\x80\x02" + b"".join(pairs) + b"\x87."


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def assert_format_error(call, path: Path, fragment: str, error=DatasetFormatError) -> str:
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert str(path) in message, message
    assert fragment in message, message
    return message


# --- the full data (marked mnist; loaded once) -------------------------------------------------


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


@pytest.mark.mnist
def test_sample_rows_are_the_named_rows_of_the_idx_files():
    with np.load(SAMPLE) as npz:
        arrays = {key: npz[key] for key in npz.files}
    for split, prefix in (("training", "train"), ("test", "t10k")):
        rows = arrays[f"{split}_rows"].astype(np.intp)
        assert np.all(np.diff(rows) > 0)  # distinct, in file order
        images = read_idx(MNIST_DIR / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(MNIST_DIR / f"{prefix}-labels-idx1-ubyte.gz")
        np.testing.assert_array_equal(arrays[f"{split}_images"], images[rows].reshape(-1, 784))
        np.testing.assert_array_equal(arrays[f"{split}_labels"], labels[rows])
    assert arrays["training_rows"].max() < ds.N_TRAINING  # network2's training split only


@pytest.mark.mnist
def test_the_build_script_reproduces_the_shipped_sample_byte_for_byte(tmp_path):
    out = tmp_path / "sample.npz"
    script = REPO / "tools" / "make_mnist_sample.py"
    result = subprocess.run(
        [sys.executable, str(script), "--source", str(MNIST_DIR), "--out", str(out)],
        check=True, capture_output=True, text=True)
    assert out.read_bytes() == SAMPLE.read_bytes()
    assert hashlib.sha256(SAMPLE.read_bytes()).hexdigest() in result.stdout


@pytest.mark.mnist
def test_fnn_mnist_pointing_at_the_shared_folder_finds_its_idx_files(tmp_path):
    assert find_mnist(cwd=tmp_path, environ={"FNN_MNIST": str(MNIST_DIR)}) == MNIST_DIR
    pickled = MNIST_DIR / "mnist.pkl.gz"
    assert find_mnist(cwd=tmp_path, environ={"FNN_MNIST": str(pickled)}) == pickled


# --- the embedded sample -----------------------------------------------------------------------


def test_sample_is_real_looking_mnist_of_the_documented_size():
    sample = load_sample()
    assert sample.validation is None
    for split, rows in ((sample.training, 10_000), (sample.test, 2_000)):
        assert split.x.shape == (rows, 784) and split.x.dtype == np.float32
        assert split.labels.shape == (rows,) and split.labels.dtype == np.int64
        assert float(split.x.min()) == 0.0 and float(split.x.max()) <= 255 / 256
        np.testing.assert_array_equal(split.x * 256, np.round(split.x * 256))  # u8 / 256
        counts = np.bincount(split.labels, minlength=10)
        assert counts.size == 10 and counts.min() > rows // 20  # every digit, none rare
        assert 0.1 < float(split.x.mean()) < 0.2  # MNIST's mean ink is 0.13


def test_sample_in_float64_has_the_same_values():
    a, b = load_sample(), load_sample(dtype=np.float64)
    assert b.training.x.dtype == np.float64
    np.testing.assert_array_equal(a.training.x, b.training.x)


def test_sample_is_small_and_matches_its_licence_file():
    data = SAMPLE.read_bytes()
    assert len(data) < 3 * 2**20
    licence = (SAMPLE.parent / "LICENSE-MNIST.txt").read_text()
    assert f"SHA-256: {hashlib.sha256(data).hexdigest()}" in licence
    assert f"Size:    {len(data)} bytes" in licence
    for needed in ("Yann LeCun", "Corinna Cortes", "Burges", "CC BY-SA 3.0",
                   "tools/make_mnist_sample.py"):
        assert needed in licence


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda a: a.update(test_labels=np.full(2, 10, np.uint8)),
         "test_labels labels must be digits 0..9, got 10 at row 0"),
        (lambda a: a.update(training_images=a["training_images"][:, :700]),
         "training_images must be uint8 images of 784 pixels, got uint8 array(3, 700)"),
        (lambda a: a.update(training_images=a["training_images"].astype(np.float32)),
         "must be uint8 images"),
        (lambda a: a.update(test_labels=np.zeros(5, np.uint8)), "labels must be 2 integers"),
        (lambda a: a.pop("test_images"), "is not a readable sample archive"),
    ],
)
def test_a_bad_sample_archive_is_refused(change, fragment):
    arrays = {"training_images": np.zeros((3, 784), np.uint8),
              "training_labels": np.zeros(3, np.uint8),
              "test_images": np.zeros((2, 784), np.uint8), "test_labels": np.zeros(2, np.uint8)}
    change(arrays)
    buffer = __import__("io").BytesIO()
    np.savez_compressed(buffer, **arrays)
    with pytest.raises(DatasetFormatError, match=re.escape(fragment)):
        ds._sample_splits(buffer.getvalue(), "sample.npz", np.dtype(np.float32))
    with pytest.raises(DatasetFormatError, match="sample.npz is not a readable sample"):
        ds._sample_splits(b"PK\x03\x04 not really", "sample.npz", np.dtype(np.float32))


# --- network2's pickle in miniature ------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize(("protocol", "numpy1"), [(3, True), (3, False), (4, False)],
                         ids=["3-numpy.core", "3-numpy._core", "4"])
def test_pickles_of_plain_arrays_load_whatever_the_protocol_or_spelling(
        tmp_path, protocol, gz, numpy1):
    parts = pixel_splits()
    data = pickle.dumps(parts, protocol=protocol)
    if numpy1:  # the module name in network2's file (NumPy 1 pickles); protocol 3 spells
        # globals as text lines, so the longer name does not break a length field
        data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    path = write(tmp_path / ("mnist.pkl.gz" if gz else "mnist.pkl"),
                 gzip.compress(data) if gz else data)
    splits = load_pickle(path)
    for split, (x, labels) in zip(splits, parts):
        np.testing.assert_array_equal(split.x, x)
        np.testing.assert_array_equal(split.labels, labels)
        assert split.x.dtype == np.float32 and split.labels.dtype == np.int64


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_a_python2_numpy1_pickle_like_network2s_loads(tmp_path, gz):
    parts = pixel_splits()
    data = py2_pickle(parts)
    assert pickle.loads(data, encoding="latin1")[2][1].tolist() == parts[2][1].tolist()
    path = write(tmp_path / "mnist.pkl", gzip.compress(data) if gz else data)
    for split, (x, labels) in zip(load_pickle(path), parts):
        np.testing.assert_array_equal(split.x, x)
        np.testing.assert_array_equal(split.labels, labels)
        assert split.x.flags.writeable and split.labels.flags.writeable


def test_pickled_dtype_internals_never_reach_numpy(tmp_path):
    # NumPy's own dtype.__setstate__ trusts these flags (63 claims the floats hold objects);
    # fnn builds a plain dtype from the name and byte order alone
    parts = pixel_splits()
    path = write(tmp_path / "mnist.pkl", py2_pickle(parts, flags=63))
    np.testing.assert_array_equal(load_pickle(path).training.x, parts[0][0])


def test_pickle_loads_in_the_requested_dtype(tmp_path):
    path = write(tmp_path / "mnist.pkl", pickle.dumps(pixel_splits()))
    assert load_pickle(path, dtype=np.float64).training.x.dtype == np.float64
    with pytest.raises(ConfigError, match="dtype must be a floating type .* got int32"):
        load_pickle(path, dtype=np.int32)


def _eval_payload(marker: Path, protocol: int = 3) -> bytes:
    class Exploit:
        def __reduce__(self):
            return eval, (f"open({str(marker)!r}, 'w').close()",)
    return pickle.dumps(Exploit(), protocol=protocol)  # 2 spells it as Python 2: __builtin__


def test_the_eval_payload_is_live_under_the_plain_unpickler(tmp_path):
    # the control for the next test: plain pickle.loads does run it
    marker = tmp_path / "ran"
    pickle.loads(_eval_payload(marker))
    assert marker.exists()


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("kind", ["os.system", "builtins.eval", "__builtin__.eval", "nested"])
def test_malicious_pickles_are_refused_before_anything_runs(tmp_path, kind, gz):
    marker = tmp_path / "pwned"
    if kind == "os.system":
        payload = b"cos\nsystem\n(S'echo pwned > " + str(marker).encode() + b"'\ntR."
    elif kind.endswith(".eval"):
        payload = _eval_payload(marker, 2 if kind.startswith("__") else 3)
    else:  # a valid first part, then the exploit where the second part belongs
        parts = pickle.dumps(pixel_splits()[0], protocol=3)[:-1]  # drop STOP; a pair stays
        payload = parts + b"cbuiltins\nexec\n(Vopen(" + repr(str(marker)).encode() + b", 'w')\ntR."
    path = write(tmp_path / ("evil.pkl.gz" if gz else "evil.pkl"),
                 gzip.compress(payload) if gz else payload)
    name = "builtins.exec" if kind == "nested" else kind
    message = assert_format_error(lambda: load_pickle(path), path, name, UnsafeFileError)
    assert "Nothing was run" in message
    assert not marker.exists()


def _pickle_cases() -> list[tuple[str, bytes, str]]:
    good = pickle.dumps(pixel_splits(), protocol=4)
    zipped = gzip.compress(good)

    def splits_with(part: int, x=None, labels=None) -> bytes:
        parts = [list(p) for p in pixel_splits()]
        parts[part] = [parts[part][0] if x is None else x, parts[part][1] if labels is None
                       else labels]
        return pickle.dumps(tuple(map(tuple, parts)))

    x = pixel_splits()[0][0]
    high, nan = x.copy(), x.copy()
    high[3, 17], nan[1, 2] = 1.5, np.nan
    bad_crc = bytearray(zipped)
    bad_crc[-8] ^= 0xFF
    return [
        ("mnist.pkl.gz", zipped[: len(zipped) // 2], "corrupt or truncated gzip data"),
        ("mnist.pkl.gz", zipped[:-4], "corrupt or truncated gzip data"),
        ("mnist.pkl.gz", bytes(bad_crc), "corrupt or truncated gzip data: CRC check failed"),
        ("mnist.pkl.gz", zipped[:2] + b"\x00" * 40, "corrupt or truncated gzip data"),
        ("mnist.pkl.gz", good, "is not gzip data"),
        ("mnist.pkl.gz", b"", "is not gzip data"),
        ("mnist.pkl", good[: len(good) // 2], "is not a readable pickle (truncated or corrupt)"),
        ("mnist.pkl", good[:-1], "is not a readable pickle (truncated or corrupt)"),
        ("mnist.pkl", b"", "is not a readable pickle (truncated or corrupt): EOFError"),
        ("mnist.pkl", b"hello, world", "is not a readable pickle"),
        ("mnist.pkl", good + b"junk", "has data after the end of the pickle"),
        ("mnist.pkl", pickle.dumps(pixel_splits()[:2]),
         ("must hold ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)) arrays, got "
         "((float32 array(5, 784), int64 array(5,)), (float32 array(5, 784), int64 array(5,)))")),
        ("mnist.pkl", pickle.dumps({"x": 1}), "opcode b'}', which an MNIST pickle never uses"),
        ("mnist.pkl", pickle.dumps(((1, 2),) * 3), "got ((int, int), (int, int), (int, int))"),
        ("mnist.pkl", b"\x80\x02" + b"(" * 10_001 + b".", "more than MAX_OPCODES = 10000"),
        ("mnist.pkl", b"\x80\x02N\x8a\x01\x05.", "opcode b'\\x8a'"),  # LONG1
        ("mnist.pkl", b"\x80\x02Nr\x00\x00\x00\x40.", "got NoneType"),  # memo 2**30
        ("mnist.pkl", splits_with(0, x=x[:, :783]),
         "training x must be float rows of 784 pixels, got float32 array(5, 783)"),
        ("mnist.pkl", splits_with(1, x=(x * 256).astype(np.uint8)),
         "validation x must be float rows of 784 pixels, got uint8 array(5, 784)"),
        ("mnist.pkl", splits_with(2, x=x[:0]), "test x must be float rows"),
        ("mnist.pkl", splits_with(0, x=x.reshape(5, 28, 28)), "got float32 array(5, 28, 28)"),
        ("mnist.pkl", splits_with(2, x=high), ("test pixels must be in [0, 1], got 1.5 at row 3, "
         "column 17")),
        ("mnist.pkl", splits_with(1, x=nan), "pixels must be in [0, 1], got nan at row 1"),
        ("mnist.pkl", splits_with(0, x=-x), "pixels must be in [0, 1]"),
        ("mnist.pkl", splits_with(0, labels=np.array([1, 2, 10, 3, 4])),
         "training labels must be digits 0..9, got 10 at row 2"),
        ("mnist.pkl", splits_with(2, labels=np.array([1, -1, 0, 3, 4])),
         "test labels must be digits 0..9, got -1 at row 1"),
        ("mnist.pkl", splits_with(0, labels=np.arange(4)),
         "training labels must be 5 integers (one per image), got int64 array(4,)"),
        ("mnist.pkl", splits_with(0, labels=np.zeros(5)), "got float64 array(5,)"),
        ("mnist.pkl", splits_with(0, labels=np.zeros((5, 1), np.int64)), "got int64 array(5, 1)"),
        ("mnist.pkl", py2_pickle(pixel_splits(), code=b"O8"), ("dtype is not a plain number "
         "(name 'O8', state (3, '<', None, None, None, -1, -1, 0))")),
        ("mnist.pkl", py2_pickle(pixel_splits(), code=b"f16"), "name 'f16'"),
        ("mnist.pkl", py2_pickle(pixel_splits(), shape=(5, 785)),
         "holds a float32 array of shape (5, 785) (15700 bytes) with 15680 bytes of data"),
        ("mnist.pkl", py2_pickle(pixel_splits()).replace(b"U\x01<N", b"U\x01?N", 1),
         "dtype is not a plain number"),
        ("mnist.pkl", py2_pickle(pixel_splits()).replace(b"K\x03U\x01<NNN", b"K\x03U\x01<N)N", 1),
         "dtype is not a plain number"),
    ]


PICKLE_CASE_IDS = [
    "gzip-half", "gzip-no-trailer", "gzip-bad-crc", "gzip-garbage", "gz-name-raw-data",
    "gz-name-empty", "pickle-half", "pickle-no-stop", "empty", "not-a-pickle", "trailing-data",
    "two-parts", "dict", "ints", "too-many-opcodes", "long1-opcode", "huge-memo-index",
    "783-columns", "uint8-x", "no-rows", "3d-x", "pixel-1.5", "pixel-nan",
    "pixel-negative", "label-10", "label-minus-1", "label-count", "float-labels", "2d-labels",
    "object-dtype", "f16-dtype", "shape-vs-data", "bad-byte-order", "structured-dtype",
]


@pytest.mark.parametrize(("name", "data", "fragment"), _pickle_cases(), ids=PICKLE_CASE_IDS)
def test_corrupt_pickles_raise_dataset_format_error_naming_file_and_problem(
        tmp_path, name, data, fragment):
    path = write(tmp_path / name, data)
    assert_format_error(lambda: load_pickle(path), path, fragment)


def structural_offsets(data: bytes) -> list[int]:
    """Offsets of opcodes and their small arguments: everything but the array bytes."""
    ops = list(pickletools.genops(data))
    offsets = []
    for (_, arg, start), (_, _, end) in zip(ops, [*ops[1:], (None, None, len(data))]):
        big = isinstance(arg, bytes | str) and len(arg) > 64
        offsets.extend(range(start, end - len(arg) if big else end))
    return offsets


@pytest.mark.parametrize("kind", ["python2", "protocol-4"])
def test_no_other_exception_escapes_from_mangled_pickles(tmp_path, kind):
    parts = pixel_splits(1)
    good = py2_pickle(parts) if kind == "python2" else pickle.dumps(parts, protocol=4)
    offsets, rng = structural_offsets(good), np.random.default_rng(7)
    path, outcomes, messages = tmp_path / "mnist.pkl", set(), []
    for trial in range(300):
        data = bytearray(good)
        for i in rng.choice(offsets, 1 + trial % 3):
            data[i] = int(rng.integers(0, 256))
        path.write_bytes(bytes(data))
        try:
            load_pickle(path)
            outcomes.add("loaded")
        except DatasetFormatError as exc:
            outcomes.add(type(exc).__name__)
            messages.append(str(exc))
    assert outcomes == {"loaded", "DatasetFormatError", "UnsafeFileError"}
    assert all(str(path) in message for message in messages)
    for end in sorted({*offsets[::3], *range(0, len(good), 500)}):  # mostly between opcodes
        path.write_bytes(good[:end])
        with pytest.raises(DatasetFormatError, match="truncated"):
            load_pickle(path)


def test_the_decompression_cap_stops_a_gzip_bomb(tmp_path, monkeypatch):
    monkeypatch.setattr(ds, "MAX_DECOMPRESSED_BYTES", 2**20)
    zeros = b"\x80\x03B" + struct.pack("<I", 16 * 2**20) + b"\0" * 16 * 2**20 + b"."
    assert pickle.loads(zeros) == b"\0" * 16 * 2**20  # a valid pickle of 16 MiB of zeros
    bomb = write(tmp_path / "mnist.pkl.gz", gzip.compress(zeros, mtime=0))
    assert_format_error(lambda: load_pickle(bomb), bomb, "more than 1,048,576 bytes")
    # a pickle header asking for a huge string must not make the reader fetch it all
    header = b"\x80\x03B" + struct.pack("<I", 2**31) + b"\0" * (3 * 2**20)
    big = write(tmp_path / "big.pkl", header)
    assert_format_error(lambda: load_pickle(big), big, "MAX_DECOMPRESSED_BYTES")


def test_the_cap_applies_to_idx_files_too(tmp_path, monkeypatch):
    write_idx_folder(tmp_path)
    monkeypatch.setattr(ds, "MAX_DECOMPRESSED_BYTES", 1000)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    assert_format_error(lambda: load_idx(tmp_path), images, "more than 1,000 bytes")
    monkeypatch.setattr(ds, "MAX_DECOMPRESSED_BYTES", 5 * 784 + 16)  # exactly the file: fine
    assert read_idx(images).shape == (5, 28, 28)


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
    monkeypatch.setattr(ds, "N_TRAINING", 3)
    splits = load_idx(tmp_path, dtype=np.float64)
    assert splits.training.x.shape == (3, 784) and splits.validation.x.shape == (2, 784)
    assert splits.validation.x.dtype == np.float64
    np.testing.assert_array_equal(splits.validation.labels, made["train"][1][3:])


def _idx_cases() -> list[tuple[str, object, str]]:
    images, labels = digits(5, 1)
    return [
        ("train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(labels)),
         "must hold 28x28 images (magic 2051), got magic 2049 with shape (5,)"),
        ("train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(images)),
         "must hold labels (magic 2049), got magic 2051"),
        ("train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(images, magic=0x12345678)),
         "bad magic number 305419896"),
        ("train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(images, magic=0x0D03)),
         "bad magic number 3331"),  # type code 0x0D (float) is not MNIST's
        ("train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(images)[:-784]),
         "header says 5x28x28 = 3920 bytes of data, but 3136 bytes follow it"),
        ("train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(images) + b"\0"),
         "but 3921 bytes follow it"),
        ("train-images-idx3-ubyte.gz", gzip.compress(idx_bytes(images[:, :27])),
         "must hold 28x28 images (magic 2051), got magic 2051 with shape (5, 27, 28)"),
        ("train-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(labels[:4])),
         "has 5 images but"),
        ("t10k-labels-idx1-ubyte.gz", gzip.compress(idx_bytes(np.array([1, 10, 2], np.uint8))),
         "labels must be digits 0..9, got 10 at row 1"),
        ("t10k-images-idx3-ubyte.gz", gzip.compress(idx_bytes(images[:3]))[:-30],
         "corrupt or truncated gzip data"),
        ("t10k-images-idx3-ubyte.gz", idx_bytes(images[:3]), "is not gzip data"),
        ("t10k-images-idx3-ubyte.gz", gzip.compress(b"\0\0\x08"), "3 bytes, too few"),
        ("t10k-images-idx3-ubyte.gz", gzip.compress(b"\0\0\x08\x03\0\0\0\x03"),
         "truncated inside its 3-dimension IDX header"),
    ]


IDX_CASE_IDS = [
    "labels-as-images", "images-as-labels", "bad-magic", "float-type-code", "short-payload",
    "long-payload", "28x27", "count-mismatch", "label-10", "gzip-truncated", "gz-name-raw-data",
    "short-header", "truncated-header",
]


@pytest.mark.parametrize(("name", "data", "fragment"), _idx_cases(), ids=IDX_CASE_IDS)
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


def test_missing_or_misplaced_paths_raise_the_os_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST pickle .*nope.pkl.gz does not exist"):
        load_pickle(tmp_path / "nope.pkl.gz")
    with pytest.raises(IsADirectoryError, match="is a folder, not a file"):
        load_pickle(tmp_path)
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        load_idx(write(tmp_path / "file", b""))
    with pytest.raises(FileNotFoundError, match="IDX file"):
        read_idx(tmp_path / "nope")


# --- finding the data --------------------------------------------------------------------------


PLACES = ["mnist.pkl.gz", "mnist.pkl", "data/mnist.pkl.gz", "mnist/", "data/mnist/"]


def make_place(cwd: Path, place: str) -> Path:
    if place.endswith("/"):
        write_idx_folder(cwd / place)
        return cwd / place.rstrip("/")
    (cwd / place).parent.mkdir(parents=True, exist_ok=True)
    data = pickle.dumps(pixel_splits())
    return write(cwd / place, gzip.compress(data) if place.endswith(".gz") else data)


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
