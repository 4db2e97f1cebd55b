"""Bounded work for the dataset loaders, whatever a file says or repeats (issue 12).

A pickle load holds the bytes of the file's strings and arrays (at most
``MAX_DECOMPRESSED_BYTES``), each array built once as a view of them; an IDX load holds the
file's bytes and the arrays it returns. Every figure here is measured with tracemalloc, which
counts NumPy's buffers too.
"""

from __future__ import annotations

import gzip
import pickle
import subprocess
import sys
import textwrap
import time
import tracemalloc

import numpy as np
import pytest

from fnn.datasets import load_idx, load_pickle, reading, safe_pickle
from fnn.errors import DatasetFormatError

from .conftest import MNIST_DIR
from .mnist_files import assert_format_error, pickled, pixel_splits, write, write_idx_folder

MiB = 2**20


def peak(call):
    """``call()``'s result (or exception) and the peak bytes it allocated."""
    tracemalloc.start()
    try:
        try:
            result = call()
        except Exception as e:  # noqa: BLE001 - returned for the caller to check
            result = e
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_memo_bomb_is_refused_before_any_array_is_built(tmp_path):
    # the issue's file, scaled down: one array memoized once and referenced 5,000 times;
    # fnn 0.1 built it once per reference (here 40 GB)
    a = np.zeros(8 * MiB, np.uint8)
    path = write(tmp_path / "bomb.pkl.gz", gzip.compress(pickle.dumps(((a,) * 5000,),
                                                                      protocol=4), 1))
    started = time.monotonic()
    error, used = peak(lambda: load_pickle(path))
    assert isinstance(error, DatasetFormatError) and str(path) in str(error)
    assert "must hold ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)) arrays, " \
           "got ((uint8 array(8388608,), uint8 array(8388608,), uint8 array(8388608,), " \
           "uint8 array(8388608,), ...))" in str(error)
    assert used < 1.2 * a.nbytes + 2 * MiB, used  # the file's bytes, once
    assert time.monotonic() - started < 10


@pytest.mark.slow
def test_the_issues_204_kb_file_is_refused_within_a_memory_limit(tmp_path):
    # exactly the issue's file: 200 MiB of zeros pickled once, referenced 5,000 times;
    # fnn 0.1 died of MemoryError at 3.6 GB under a 4 GB limit, here the limit is 1 GiB
    a = np.zeros(200 * MiB, np.uint8)
    data = gzip.compress(pickle.dumps(((a,) * 5000,), protocol=4))
    del a
    path = write(tmp_path / "bomb.pkl.gz", data)
    assert len(data) < 210_000
    child = textwrap.dedent(f"""
        import re, resource
        from pathlib import Path
        from fnn.datasets import load_pickle
        from fnn.errors import DatasetFormatError
        def kib(field):
            return int(re.search(field + r":\\s+(\\d+)", Path("/proc/self/status").read_text())[1])
        resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))
        Path("/proc/self/clear_refs").write_text("5")  # the peak, from here
        start = kib("VmRSS")
        try:
            load_pickle({str(path)!r})
        except DatasetFormatError as e:
            print(type(e).__name__, e.__cause__ is None, "must hold" in str(e))
        print((kib("VmHWM") - start) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    assert out[:3] == ["DatasetFormatError", "True", "True"], out
    assert int(out[3]) < 200 * 1.15 + 10, out  # MiB: the file's 200 MiB, once


def test_an_array_referenced_by_every_split_is_built_once(tmp_path):
    part = pixel_splits(2000)[0]  # 6.3 MB of pixels, pickled once, referenced three times
    path = write(tmp_path / "mnist.pkl", pickle.dumps((part, part, part), protocol=4))
    splits, used = peak(lambda: load_pickle(path))
    assert splits.training.x is splits.validation.x is splits.test.x
    np.testing.assert_array_equal(splits.test.x, part[0])
    assert used < 1.2 * path.stat().st_size + 2 * MiB, used


def test_arrays_sharing_one_buffer_are_refused(tmp_path):
    x, labels = pixel_splits(2)[0]
    buffer = bytearray(x.tobytes())

    class View:  # NumPy's protocol-5 reduce, twice over one buffer
        def __reduce__(self):
            return (np._core.numeric._frombuffer, (buffer, x.dtype, x.shape, "C"))
    data = pickle.dumps(((View(), labels), (View(), labels), (View(), labels)), protocol=5)
    path = write(tmp_path / "mnist.pkl", data)
    assert_format_error(lambda: load_pickle(path), path, "holds two arrays with the same bytes")


def test_the_pickle_caps_are_on_the_stream_and_on_what_it_holds(tmp_path, monkeypatch):
    parts = pixel_splits(5)
    path = write(tmp_path / "mnist.pkl", pickle.dumps(parts, protocol=0))  # 6x the bytes
    held = sum(a.nbytes for pair in parts for a in pair)
    monkeypatch.setattr(reading, "MAX_DECOMPRESSED_BYTES", held + 5000)  # and the names
    assert load_pickle(path).test.x.shape == (5, 784)
    monkeypatch.setattr(reading, "MAX_DECOMPRESSED_BYTES", held - 100)
    assert_format_error(lambda: load_pickle(path), path,
                        f"holds more than {held - 100:,} bytes of strings and arrays")
    monkeypatch.setattr(reading, "MAX_DECOMPRESSED_BYTES", held + 5000)
    monkeypatch.setattr(safe_pickle, "MAX_PICKLE_BYTES", path.stat().st_size - 1)
    assert_format_error(lambda: load_pickle(path), path,
                        f"holds more than {path.stat().st_size - 1:,} bytes (decompressed)")


def test_max_pickle_bytes_admits_real_mnist_in_protocol_0():
    assert safe_pickle.MAX_PICKLE_BYTES == 2 * 2**30 > 1_216_684_680
    assert reading.MAX_DECOMPRESSED_BYTES > 220_080_000  # network2's arrays


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_a_pickle_load_holds_its_data_about_once(tmp_path, protocol):
    parts = pixel_splits(2000)
    held = sum(a.nbytes for pair in parts for a in pair)
    path = write(tmp_path / "mnist.pkl.gz", gzip.compress(pickle.dumps(parts, protocol), 1))
    splits, used = peak(lambda: load_pickle(path))
    np.testing.assert_array_equal(splits.test.x, parts[2][0])
    assert used < 1.2 * held + 2 * MiB, (used, held)  # README: "Loading files from elsewhere"


def test_an_idx_load_holds_the_file_and_the_arrays_it_returns(tmp_path):
    write_idx_folder(tmp_path, n_train=3000, n_test=500, gz=True)
    raw = (3000 + 500) * 785
    splits, used = peak(lambda: load_idx(tmp_path))
    returned = sum(s.x.nbytes + s.labels.nbytes for s in splits if s is not None)
    assert used < raw + 1.1 * returned + 2 * MiB, (used, raw, returned)


@pytest.mark.parametrize("header", [
    bytes([0, 0, 8, 3]) + (0).to_bytes(4, "big") + (2**32 - 1).to_bytes(4, "big") * 2,
    bytes([0, 0, 8, 70]) + (1).to_bytes(4, "big") * 70 + b"\0",
    bytes([0, 0, 8, 1]) + (2**32 - 1).to_bytes(4, "big"),
], ids=["empty-but-huge", "70-dimensions", "claims-4-gb"])
def test_idx_headers_that_numpy_cannot_shape_are_refused_cheaply(tmp_path, header):
    write_idx_folder(tmp_path)
    path = write(tmp_path / "train-labels-idx1-ubyte.gz", gzip.compress(header))
    error, used = peak(lambda: load_idx(tmp_path))
    assert isinstance(error, DatasetFormatError) and str(path) in str(error), error
    assert used < 4 * MiB


@pytest.mark.slow
@pytest.mark.mnist
def test_real_mnist_re_pickled_in_every_protocol_loads_bit_for_bit(tmp_path):
    network2 = load_pickle(MNIST_DIR / "mnist.pkl.gz")
    arrays = tuple((s.x, s.labels) for s in network2)
    for protocol in range(6):
        path = tmp_path / f"mnist-{protocol}.pkl"
        with path.open("wb") as file:
            pickle.dump(arrays, file, protocol=protocol)
        splits, used = peak(lambda p=path: load_pickle(p))
        for split, (x, labels) in zip(splits, arrays):
            np.testing.assert_array_equal(split.x, x)
            np.testing.assert_array_equal(split.labels, labels)
        assert used < 1.2 * 220_080_000, (protocol, used)
        path.unlink()
    spelled = tmp_path / "mnist-numpy1.pkl"  # NumPy 1's module names, protocol 5
    spelled.write_bytes(pickled(arrays, 5, numpy1=True))
    np.testing.assert_array_equal(load_pickle(spelled).training.x, arrays[0][0])
