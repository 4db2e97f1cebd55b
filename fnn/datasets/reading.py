"""Reading dataset files: gzip recognised by its magic bytes, and caps on what a file may hold.

``MAX_DECOMPRESSED_BYTES`` bounds the data a file may hold (all of an IDX file; the strings and
arrays of a pickle), and ``open_data`` never lets a stream yield more than the cap its caller
gives, so a gzip bomb stops there, whatever its headers say.
"""

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
"""The most data a dataset file may hold, decompressed: all of an IDX file, the strings and
arrays of a pickle (network2's pickle holds 220,080,000 bytes of arrays)."""

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 2**20


class CappedReader:
    """A binary stream that refuses to yield more than ``cap`` bytes; errors name ``path``."""

    def __init__(self, raw: io.BufferedIOBase, path: Path, cap: int) -> None:
        self._raw, self._path, self._cap, self._count = raw, path, cap, 0

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all, if ``size`` is None or negative), fewer only at the end."""
        if size is not None and 0 <= size <= _CHUNK:
            return self._counted(self._raw.read, size)
        return bytes(self.read_all(size))

    def read_all(self, size: int | None = -1) -> bytearray:
        """As ``read``, as a bytearray grown a chunk at a time: a reader asked for n bytes
        allocates n at once, so a huge ``size`` would cost memory the file never fills."""
        out = bytearray()
        while size is None or size < 0 or len(out) < size:
            want = _CHUNK if size is None or size < 0 else min(_CHUNK, size - len(out))
            chunk = self._counted(self._raw.read, want)
            if not chunk:
                break
            out += chunk
        return out

    def readline(self, size: int | None = -1) -> bytes:
        """A line, or its first ``size`` bytes; a last line without a newline is an error."""
        line = self._counted(self._raw.readline, size)
        if not line.endswith(b"\n") and (size is None or size < 0 or len(line) < size):
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
def open_data(path: Path, cap: int | None = None) -> Iterator[CappedReader]:
    """``path``'s bytes as a stream capped at ``cap`` bytes (``MAX_DECOMPRESSED_BYTES`` as it
    is when the file is opened, by default), decompressed when they start with gzip's magic."""
    with path.open("rb") as file:
        gzipped = file.read(2) == _GZIP_MAGIC
        file.seek(0)
        if path.suffix == ".gz" and not gzipped:
            raise DatasetFormatError(
                f"{path} is not gzip data: it does not start with the gzip magic bytes 1f 8b")
        opened = gzip.GzipFile(fileobj=file, mode="rb") if gzipped else nullcontext(file)
        with opened as raw:
            yield CappedReader(raw, path, MAX_DECOMPRESSED_BYTES if cap is None else cap)


