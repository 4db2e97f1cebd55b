"""fnn.datasets.safe_pickle: network2's mnist.pkl.gz through an unpickler that can run no code."""

from __future__ import annotations

import ast
import gzip
import pickle
import pickletools
import struct
from pathlib import Path

import numpy as np
import pytest

import fnn.datasets
from fnn.datasets import load_pickle, pickle_machine, safe_pickle
from fnn.errors import ConfigError, DatasetFormatError, UnsafeFileError

from .mnist_files import assert_format_error, pickled, pixel_splits, py2_pickle, write


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("numpy1", [False, True], ids=["numpy._core", "numpy.core"])
@pytest.mark.parametrize("protocol", range(6))
def test_python3_pickles_of_the_arrays_load_in_every_protocol_and_spelling(
        tmp_path, protocol, gz, numpy1):
    # protocols 0-2 store bytes as _codecs.encode(text, "latin1"), 5 as _frombuffer(buffer);
    # NumPy 1 wrote numpy.core where NumPy 2 writes numpy._core
    parts = pixel_splits()
    data = pickled(parts, protocol, numpy1=numpy1)
    assert (b"numpy._core" in data) != numpy1
    path = write(tmp_path / ("mnist.pkl.gz" if gz else "mnist.pkl"),
                 gzip.compress(data) if gz else data)
    splits = load_pickle(path)
    for split, (x, labels) in zip(splits, parts):
        np.testing.assert_array_equal(split.x, x)
        np.testing.assert_array_equal(split.labels, labels)
        assert split.x.dtype == np.float32 and split.labels.dtype == np.int64
        assert split.x.flags.writeable and split.labels.flags.writeable


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_other_plain_dtypes_byte_orders_and_fortran_order_come_back_as_the_same_values(
        tmp_path, protocol):
    parts = [(x.astype(dtype), y.astype(label_type))
             for (x, y), dtype, label_type in zip(pixel_splits(), (">f8", "<f2", "f4"),
                                                 (">i4", "u1", "<u8"))]
    parts[2] = (np.asfortranarray(parts[2][0]), parts[2][1])
    path = write(tmp_path / "mnist.pkl", pickle.dumps(tuple(parts), protocol=protocol))
    for split, (x, labels) in zip(load_pickle(path, dtype=np.float64), parts):
        np.testing.assert_array_equal(split.x, x.astype(np.float64))
        np.testing.assert_array_equal(split.labels, labels.astype(np.int64))


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


# --- nothing in a pickle runs ------------------------------------------------------------------


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


def test_the_refusal_names_the_seven_globals_an_mnist_pickle_may_reach(tmp_path):
    path = write(tmp_path / "evil.pkl", pickle.dumps(print))
    message = assert_format_error(lambda: load_pickle(path), path, "builtins.print",
                                  UnsafeFileError)
    assert ("(only numpy.core.multiarray._reconstruct, numpy._core.multiarray._reconstruct, "
            "numpy.ndarray, numpy.dtype, _codecs.encode, numpy.core.numeric._frombuffer, "
            "numpy._core.numeric._frombuffer are allowed)") in message


@pytest.mark.parametrize("length", [200, 100_000])
@pytest.mark.parametrize("protocol", range(6))
def test_a_global_with_a_long_name_is_refused_with_a_short_message(tmp_path, protocol, length):
    class Far:
        def __reduce__(self):
            return (getattr, (0, "x"))
    data = pickle.dumps(Far(), protocol=protocol)
    long_name = "m" * length
    if protocol >= 4:  # STACK_GLOBAL: the names are length-prefixed texts
        data = data.replace(b"\x8c\x08builtins", b"X" + struct.pack("<I", len(long_name))
                            + long_name.encode(), 1)
    else:  # GLOBAL: the names are lines of text
        data = data.replace(b"builtins\n", long_name.encode() + b"\n", 1).replace(
            b"__builtin__\n", long_name.encode() + b"\n", 1)
    path = write(tmp_path / "evil.pkl", data)
    # a name of 200 characters is refused as unsafe, shown cut; 100,000 are no name at all
    error = UnsafeFileError if length == 200 else DatasetFormatError
    message = assert_format_error(lambda: load_pickle(path), path, "", error)
    assert len(message) < len(str(path)) + 600, message
    assert long_name[:100] not in message


# --- broken pickles ----------------------------------------------------------------------------


def _pickle_cases() -> list[tuple[str, str, bytes, str]]:
    good = pickle.dumps(pixel_splits(), protocol=4)
    return [
        ("pickle-half", "mnist.pkl", good[: len(good) // 2],
         "is not a readable pickle (truncated or corrupt)"),
        ("pickle-no-stop", "mnist.pkl", good[:-1],
         "is not a readable pickle (truncated or corrupt)"),
        ("empty", "mnist.pkl", b"",
         "is not a readable pickle (truncated or corrupt): it ends before its STOP opcode"),
        ("not-a-pickle", "mnist.pkl", b"hello, world", "is not a readable pickle"),
        ("trailing-data", "mnist.pkl", good + b"junk", "has data after the end of the pickle"),
        ("two-parts", "mnist.pkl", pickle.dumps(pixel_splits()[:2]),
         ("must hold ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)) arrays, got "
          "((float32 array(5, 784), int64 array(5,)), (float32 array(5, 784), int64 array(5,)))")),
        ("dict", "mnist.pkl", pickle.dumps({"x": 1}),
         "opcode b'}', which an MNIST pickle never uses"),
        ("ints", "mnist.pkl", pickle.dumps(((1, 2),) * 3),
         "got ((int, int), (int, int), (int, int))"),
        ("too-many-opcodes", "mnist.pkl", b"\x80\x02" + b"(" * 10_001 + b".",
         "more than MAX_OPCODES = 10000"),
        ("long1-opcode", "mnist.pkl", b"\x80\x02N\x8a\x01\x05.", "opcode b'\\x8a'"),  # LONG1
        ("huge-memo-index", "mnist.pkl", b"\x80\x02Nr\x00\x00\x00\x40.", "got NoneType"),
        ("object-dtype", "mnist.pkl", py2_pickle(pixel_splits(), code=b"O8"),
         "dtype is not a plain number (name 'O8', state (3, b'<', None, None, None, -1, -1, 0))"),
        ("f16-dtype", "mnist.pkl", py2_pickle(pixel_splits(), code=b"f16"), "name 'f16'"),
        # issue 12: NumPy itself raises TypeError for f1; fnn never asks NumPy
        ("f1-dtype-python2", "mnist.pkl", py2_pickle(pixel_splits(), code=b"f1"), "name 'f1'"),
        ("f1-dtype-protocol-4", "mnist.pkl",
         good.replace(b"\x8c\x02f4", b"\x8c\x02f1", 1), "name 'f1'"),
        ("shape-vs-data", "mnist.pkl", py2_pickle(pixel_splits(), shape=(5, 785)),
         "holds a float32 array of shape (5, 785) (15700 bytes) with 15680 bytes of data"),
        ("bad-byte-order", "mnist.pkl",
         py2_pickle(pixel_splits()).replace(b"U\x01<N", b"U\x01?N", 1),
         "dtype is not a plain number"),
        ("structured-dtype", "mnist.pkl",
         py2_pickle(pixel_splits()).replace(b"K\x03U\x01<NNN", b"K\x03U\x01<N)N", 1),
         "dtype is not a plain number"),
    ]


PICKLE_CASES = _pickle_cases()


@pytest.mark.parametrize(("name", "data", "fragment"), [case[1:] for case in PICKLE_CASES],
                         ids=[case[0] for case in PICKLE_CASES])
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


# --- the opcode budget; no private API ---------------------------------------------------------


def test_max_opcodes_is_read_where_the_unpickler_counts(tmp_path, monkeypatch):
    assert safe_pickle.MAX_OPCODES == fnn.datasets.MAX_OPCODES == 10_000
    path = write(tmp_path / "mnist.pkl", py2_pickle(pixel_splits(1)))
    runs = sum(1 for _ in pickletools.genops(path.read_bytes()))
    monkeypatch.setattr(safe_pickle, "MAX_OPCODES", runs)
    assert load_pickle(path).test.x.shape == (1, 784)  # exactly the budget: fine
    monkeypatch.setattr(safe_pickle, "MAX_OPCODES", runs - 1)
    assert_format_error(lambda: load_pickle(path), path, f"more than MAX_OPCODES = {runs - 1}")


def test_the_reader_uses_no_part_of_the_pickle_module():
    # fnn's own interpreter replaced the subclass of pickle._Unpickler (issue 12)
    for module in (safe_pickle, pickle_machine):
        tree = ast.parse(Path(module.__file__).read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {name for name in imported if name and name.split(".")[0] == "pickle"}
