"""Reading dataset files: gzip recognised by its magic bytes, and a cap on what a file may hold."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from fnn.errors import DatasetFormatError

__all__ = ["MAX_DECOMPRESSED_BYTES", "CappedReader", "open_data"]

MAX_DECOMPRESSED_BYTES = 256 * 2**20
"""No dataset file may decompress to more bytes (network2's pickle has 220,080,342)."""

_GZIP_MAGIC = b"\x1f\x8b"


class CappedReader:
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
def open_data(path: Path) -> Iterator[CappedReader]:
    """``path``'s bytes as a capped stream, decompressed when they start with gzip's magic."""
    with path.open("rb") as file:
        gzipped = file.read(2) == _GZIP_MAGIC
        file.seek(0)
        if path.suffix == ".gz" and not gzipped:
            raise DatasetFormatError(
                f"{path} is not gzip data: it does not start with the gzip magic bytes 1f 8b")
        opened = gzip.GzipFile(fileobj=file, mode="rb") if gzipped else nullcontext(file)
        with opened as raw:
            yield CappedReader(raw, path, MAX_DECOMPRESSED_BYTES)


