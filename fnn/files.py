"""The small file edges every fnn writer and reader shares: atomic writes, JSON lines, strict JSON.

Nothing here knows about networks: ``atomic_write_bytes`` replaces a file all at once,
``append_line`` adds one line to a JSON-lines file, and ``parse_json``/``read_json`` read JSON
strictly (no NaN, no infinities, no duplicate keys), naming the file and the place on error.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from fnn.errors import ConfigError, FnnError, FnnTypeError, ModelFormatError

__all__ = ["append_line", "atomic_write_bytes", "key_path", "parse_json", "read_json"]

StrPath = str | os.PathLike[str]


# --------------------------------------------------------------------------- writing


def atomic_write_bytes(path: StrPath, data: bytes) -> Path:
    """Replace the file at ``path`` with ``data`` all at once, and return ``path`` as a Path.

    The bytes go to a temporary ``.{name}.*.tmp`` in the same directory, are flushed to disk
    (``os.fsync``) and renamed over ``path`` (``os.replace``); then the directory is synced,
    best effort. If anything fails the old file is untouched, the temporary file is removed
    and the original exception propagates. A replaced file keeps its permission bits; a new
    one gets ``0o666``; both less the umask, as ``open`` would.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = atomic_write_bytes(pathlib.Path(d) / "a.txt", b"old")
    ...     path = atomic_write_bytes(path, b"new")
    ...     path.read_bytes(), sorted(p.name for p in path.parent.iterdir())
    (b'new', ['a.txt'])
    """
    if not isinstance(data, bytes):
        raise FnnTypeError(f"data must be bytes, got {type(data).__name__}")
    target = Path(path)
    fd, temp = _open_temp(target)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        temp.replace(target)  # os.replace: atomic, and overwrites on every platform
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _fsync_directory(target.parent)
    return target


def _open_temp(target: Path) -> tuple[int, Path]:
    # os.open with a mode (not mkstemp's fixed 0o600) lets the umask apply as for open()
    try:
        mode = stat.S_IMODE(target.stat().st_mode) & 0o777
    except OSError:
        mode = 0o666
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        with contextlib.suppress(FileExistsError):
            return os.open(temp, flags, mode), temp
    raise FileExistsError(f"no free temporary name next to {target}")


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_directory(directory: Path) -> None:
    # makes the rename itself durable; not every platform can open a directory
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def append_line(path: StrPath, line: object) -> None:
    """Append ``line`` to ``path`` with one ``os.write`` (``O_APPEND``), then ``fsync``.

    On a local file system a regular file takes the whole line in that one call; if the
    kernel ever wrote less, the rest follows at once (a crash in between leaves a torn
    last line, which fnn's readers ignore).

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     append_line(pathlib.Path(d) / "r.jsonl", b'{"a": 1}\\n')
    ...     append_line(pathlib.Path(d) / "r.jsonl", b'{"a": 2}\\n')
    ...     (pathlib.Path(d) / "r.jsonl").read_bytes()
    b'{"a": 1}\\n{"a": 2}\\n'
    """
    if not isinstance(line, bytes):
        raise FnnTypeError(f"line must be bytes, got {type(line).__name__}")
    if not line.endswith(b"\n") or b"\n" in line[:-1]:
        raise ConfigError("line must hold exactly one line, ending with a newline")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o666)
    try:
        _write_all(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- strict JSON


class _Bad:
    """Stands in for a literal JSON may hold but fnn refuses (NaN, Infinity, 1e400)."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token


def read_json(path: StrPath, *, what: str = "model",
              error: type[FnnError] = ModelFormatError) -> Any:
    """The JSON value in the file at ``path``, read strictly (see ``parse_json``).

    ``OSError`` (missing file, a directory) passes through unchanged.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = atomic_write_bytes(pathlib.Path(d) / "c.json", b'{"eta": [0.5, 1e400]}')
    ...     read_json(path, what="checkpoint")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fnn.errors.ModelFormatError: .../c.json: eta[1]: expected a finite number, got 1e400
    """
    path = Path(path)
    return parse_json(path.read_bytes(), source=str(path), what=what, error=error)


def parse_json(data: bytes, *, source: str, what: str,
               error: type[FnnError] = ModelFormatError) -> Any:
    """The JSON value in ``data``, or ``error`` naming ``source`` and the place.

    Refused: empty, truncated or non-UTF-8 data, ``NaN``/``Infinity``/``-Infinity``,
    numbers that overflow to infinity (``1e400``) and duplicate keys. ``what`` names the
    kind of file in messages.

    >>> parse_json(b'{"a": 1, "a": 2}', source="x.json", what="model")
    Traceback (most recent call last):
    ...
    fnn.errors.ModelFormatError: x.json: top level: duplicate key "a"
    """
    if not data:
        raise error(f"{source}: empty file; expected a JSON {what} file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{source}: byte {e.start}: not UTF-8 ({e.reason}); "
                    f"a {what} file is UTF-8 JSON") from None
    refused: list[tuple[object, str]] = []  # (the value standing in, what is wrong there)
    value = _loads(text, source, refused, error)
    if refused:
        # a value a duplicate key overwrote is gone; the duplicate itself is always reported
        places = _places(value, {id(target) for target, _ in refused})
        where, problem = next((places[id(t)], p) for t, p in refused if id(t) in places)
        raise error(f"{source}: {where}: {problem}")
    return value


def _loads(text: str, source: str, refused: list[tuple[object, str]],
           error: type[FnnError]) -> Any:
    def constant(token: str) -> _Bad:
        bad = _Bad(token)
        refused.append((bad, f"expected a finite number, got {token}"))
        return bad

    def number(literal: str) -> float | _Bad:
        x = float(literal)
        return x if math.isfinite(x) else constant(literal[:40])

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) < len(pairs):
            refused.append((obj, f"duplicate key {json.dumps(_first_duplicate(pairs))[:60]}"))
        return obj

    try:
        return json.loads(text, parse_constant=constant, parse_float=number,
                          object_pairs_hook=unique)
    except json.JSONDecodeError as e:
        raise error(f"{source}: {_decode_problem(text, e)}") from None
    except RecursionError:
        raise error(f"{source}: lists or objects nested too deeply") from None
    except ValueError as e:  # the only other: an int longer than sys.get_int_max_str_digits()
        raise error(f"{source}: a number has too many digits: {str(e)[:120]}") from None


def _first_duplicate(pairs: list[tuple[str, Any]]) -> str:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    raise AssertionError("called only when there is a duplicate")


def _decode_problem(text: str, e: json.JSONDecodeError) -> str:
    if not text[e.pos:].strip():
        return f"line {e.lineno} column {e.colno}: unexpected end of file (truncated?)"
    if e.msg.startswith("Unterminated string"):  # no closing quote before the end
        return (f"line {e.lineno} column {e.colno}: unexpected end of file inside a string "
                "(truncated?)")
    return f"line {e.lineno} column {e.colno}: {e.msg}"


def key_path(where: str, key: str) -> str:
    """``where.key`` (or ``where["key"]`` for a key that is not an identifier).

    >>> key_path("metadata", "seed"), key_path("metadata", "a b")
    ('metadata.seed', 'metadata["a b"]')
    """
    if key.isidentifier():
        return f"{where}.{key}" if where else key
    shown = json.dumps(key)
    return f"{where}[{shown if len(shown) <= 40 else shown[:37] + '...'}]"


def _places(root: Any, targets: set[int]) -> dict[int, str]:
    """Where each value whose id is in ``targets`` sits inside ``root``, e.g. ``weights[1][3]``."""
    places: dict[int, str] = {}
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        value, where = stack.pop()
        if id(value) in targets:
            places[id(value)] = where or "top level"
        if isinstance(value, dict):
            stack.extend((v, key_path(where, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
    return places

