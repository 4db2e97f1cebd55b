"""fnn.datasets.reading: gzip known by its magic bytes, and a cap on what any file may hold."""

from __future__ import annotations

import gzip
import io
import pickle
import struct

import numpy as np
import pytest

import fnn.datasets
from fnn.datasets import load_idx, load_pickle, read_idx, reading
from fnn.datasets.reading import MAX_DECOMPRESSED_BYTES, CappedReader, open_data
from fnn.errors import DatasetFormatError

from .mnist_files import (
    assert_format_error,
    digits,
    idx_bytes,
    pixel_splits,
    write,
    write_idx_folder,
    written_loader,
)


def _gzip_cases() -> list[tuple[str, str, bytes, str]]:
    good = pickle.dumps(pixel_splits(), protocol=4)
    zipped = gzip.compress(good)
    bad_crc = bytearray(zipped)
    bad_crc[-8] ^= 0xFF
    images = digits(3, 2)[0]
    return [
        ("gzip-half", "mnist.pkl.gz", zipped[: len(zipped) // 2],
         "corrupt or truncated gzip data"),
        ("gzip-no-trailer", "mnist.pkl.gz", zipped[:-4], "corrupt or truncated gzip data"),
        ("gzip-bad-crc", "mnist.pkl.gz", bytes(bad_crc),
         "corrupt or truncated gzip data: CRC check failed"),
        ("gzip-garbage", "mnist.pkl.gz", zipped[:2] + b"\x00" * 40,
         "corrupt or truncated gzip data"),
        ("gz-name-raw-data", "mnist.pkl.gz", good, "is not gzip data"),
        ("gz-name-empty", "mnist.pkl.gz", b"", "is not gzip data"),
        ("idx-gzip-truncated", "t10k-images-idx3-ubyte.gz", gzip.compress(idx_bytes(images))[:-30],
         "corrupt or truncated gzip data"),
        ("idx-gz-name-raw-data", "t10k-images-idx3-ubyte.gz", idx_bytes(images),
         "is not gzip data"),
    ]


GZIP_CASES = _gzip_cases()


@pytest.mark.parametrize(("name", "data", "fragment"), [case[1:] for case in GZIP_CASES],
                         ids=[case[0] for case in GZIP_CASES])
def test_bad_gzip_data_raises_dataset_format_error_naming_file_and_problem(
        tmp_path, name, data, fragment):
    load, path = written_loader(tmp_path, name, data)
    assert_format_error(load, path, fragment)


def test_gzip_is_known_by_its_magic_bytes_not_its_name(tmp_path):
    raw = b"\x00\x01 not compressed"
    unnamed = write(tmp_path / "data.bin", gzip.compress(raw))
    with open_data(unnamed) as stream:
        assert stream.read() == raw
    plain = write(tmp_path / "plain.bin", raw)
    with open_data(plain) as stream:
        assert stream.read() == raw
    parts = pixel_splits()
    pickled = write(tmp_path / "mnist.pkl", gzip.compress(pickle.dumps(parts)))
    np.testing.assert_array_equal(load_pickle(pickled).test.x, parts[2][0])


def test_the_decompression_cap_stops_a_gzip_bomb(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "MAX_DECOMPRESSED_BYTES", 2**20)
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
    monkeypatch.setattr(reading, "MAX_DECOMPRESSED_BYTES", 1000)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    assert_format_error(lambda: load_idx(tmp_path), images, "more than 1,000 bytes")
    monkeypatch.setattr(reading, "MAX_DECOMPRESSED_BYTES", 5 * 784 + 16)  # exactly the file: fine
    assert read_idx(images).shape == (5, 28, 28)


def test_the_cap_is_256_mib_and_the_package_re_exports_it():
    assert MAX_DECOMPRESSED_BYTES == 256 * 2**20
    assert fnn.datasets.MAX_DECOMPRESSED_BYTES == MAX_DECOMPRESSED_BYTES
    assert MAX_DECOMPRESSED_BYTES > 220_080_342  # network2's pickle, decompressed, fits


# --- CappedReader on its own -------------------------------------------------------------------


class _Recording(io.BytesIO):
    """A stream that remembers the size of every read asked of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int | None] = []

    def read(self, size: int | None = -1) -> bytes:
        self.asked.append(size)
        return super().read(size)


def test_capped_reader_yields_up_to_the_cap_and_refuses_one_byte_more(tmp_path):
    path = tmp_path / "f.bin"
    exact = CappedReader(io.BytesIO(b"abcd"), path, 4)
    assert exact.read(3) == b"abc"
    assert exact.read() == b"d"
    assert exact.read() == b""  # the end, still within the cap
    over = CappedReader(io.BytesIO(b"abcde"), path, 4)
    assert over.read(2) == b"ab"
    with pytest.raises(DatasetFormatError, match=r"f\.bin holds more than 4 bytes "
                                                 r"\(decompressed\); fnn refuses larger files "
                                                 r"\(MAX_DECOMPRESSED_BYTES\)"):
        over.read()


@pytest.mark.parametrize("size", [None, -1, 10**9, 2**31])
def test_capped_reader_never_asks_for_more_than_one_byte_past_the_cap(tmp_path, size):
    raw = _Recording(b"x" * 100)
    reader = CappedReader(raw, tmp_path / "f.bin", 10)
    assert reader.read(4) == b"xxxx"
    with pytest.raises(DatasetFormatError, match="more than 10 bytes"):
        reader.read(size)
    assert raw.asked == [4, 7]  # the 6 bytes left under the cap, and one more


def test_capped_reader_lines_must_end_in_a_newline(tmp_path):
    reader = CappedReader(io.BytesIO(b"numpy\nndar"), tmp_path / "f.pkl", 100)
    assert reader.readline() == b"numpy\n"
    with pytest.raises(DatasetFormatError, match=r"f\.pkl ends inside a line of text "
                                                 r"\(truncated\)"):
        reader.readline()


def test_capped_reader_counts_lines_against_the_cap(tmp_path):
    reader = CappedReader(io.BytesIO(b"a\n" * 10), tmp_path / "f.pkl", 5)
    assert reader.readline() + reader.readline() == b"a\na\n"
    with pytest.raises(DatasetFormatError, match="more than 5 bytes"):
        reader.readline()


def test_open_data_reads_the_cap_when_it_opens_the_file(tmp_path, monkeypatch):
    path = write(tmp_path / "f.bin", gzip.compress(b"y" * 50))
    monkeypatch.setattr(reading, "MAX_DECOMPRESSED_BYTES", 49)
    with open_data(path) as stream, pytest.raises(DatasetFormatError, match="more than 49"):
        stream.read()
    monkeypatch.setattr(reading, "MAX_DECOMPRESSED_BYTES", 50)
    with open_data(path) as stream:
        assert stream.read() == b"y" * 50


def test_open_data_refuses_a_gz_name_without_gzip_magic_before_reading(tmp_path):
    path = write(tmp_path / "x.gz", b"plain")
    with pytest.raises(DatasetFormatError, match=r"x\.gz is not gzip data: it does not start "
                                                 r"with the gzip magic bytes 1f 8b"), \
            open_data(path):
        pass  # pragma: no cover
