"""The small file edges every fnn writer and reader shares: atomic writes, JSON lines, strict JSON.

Nothing here knows about networks: ``atomic_write_bytes`` replaces a file all at once,
``append_line`` adds one line to a JSON-lines file, ``parse_json``/``read_json`` read JSON
strictly (no NaN, no infinities, no duplicate keys, at most ``MAX_JSON_BYTES`` and
``MAX_JSON_VALUES``), naming the file and the place on error, and ``load_errors`` turns any
other failure inside a load into the loader's own error.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fnn.errors import ConfigError, FnnError, FnnTypeError, ModelFormatError

__all__ = ["MAX_JSON_BYTES", "MAX_JSON_VALUES", "append_line", "atomic_write_bytes", "key_path",
           "load_errors", "parse_json", "read_capped", "read_json"]

StrPath = str | os.PathLike[str]

MAX_JSON_BYTES = 256 * 2**20
"""The largest JSON file (or line of a JSON-lines file) fnn reads: about 12 million numbers."""

MAX_JSON_VALUES = 2**24
"""The most values (numbers, strings, lists, objects) a JSON file may hold. Counted before
parsing, this bounds the parse's memory whatever the file's shape (about 110 bytes a value at
worst, for nested empty lists or one-key objects; 32 for a float)."""


# --------------------------------------------------------------------------- writing


def atomic_write_bytes(path: StrPath, data: bytes) -> Path:
    """Replace the file at ``path`` with ``data`` all at once, and return ``path`` as a Path.

    The bytes go to a temporary ``.{name}.{pid}-{random}.tmp`` in the same directory, are
    flushed to disk (``os.fsync``) and renamed over ``path`` (``os.replace``); then the
    directory is synced, best effort. If anything fails the old file is untouched, the
    temporary file is removed and the original exception propagates. A process killed
    mid-write cannot remove its temporary file: the next write of ``path`` does (any whose
    process is gone). A replaced file keeps its permission bits; a new one gets ``0o666``;
    both less the umask, as ``open`` would.

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
    _remove_orphans(target)
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
        temp = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        with contextlib.suppress(FileExistsError):
            return os.open(temp, flags, mode), temp
    raise FileExistsError(f"no free temporary name next to {target}")


def _remove_orphans(target: Path) -> None:
    """Delete the temporary files of ``target`` whose writer is dead (killed mid-write).

    A temporary file's name holds its writer's process id; a writer still running, on this
    machine, keeps its own. Best effort: what cannot be listed or removed is left.
    """
    if os.name != "posix":  # os.kill(pid, 0) is a probe only on POSIX
        return
    pattern = re.compile(rf"\.{re.escape(target.name)}\.([0-9]+)-[0-9a-f]{{8}}\.tmp")
    with contextlib.suppress(OSError):
        for entry in target.parent.iterdir():
            match = pattern.fullmatch(entry.name)
            if match and not _running(int(match.group(1))):
                with contextlib.suppress(OSError):
                    entry.unlink()


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: someone else's process, alive
        return True
    return True


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


@contextlib.contextmanager
def load_errors(source: str, error: type[FnnError]) -> Iterator[None]:
    """Inside, any failure but ``OSError`` and fnn's own errors becomes ``error`` naming
    ``source``: the safety net of every loader, so a file can only make it raise its error.

    The original exception (a ``MemoryError``, or a bug the message asks to report) is kept as
    ``__cause__``. ``OSError`` (the file could not be opened or read) passes through.

    >>> with load_errors("m.json", ModelFormatError):
    ...     [1, 2][5]
    Traceback (most recent call last):
    ...
    fnn.errors.ModelFormatError: m.json: could not be read (IndexError: list index out of range); please report this as a bug in fnn
    """
    try:
        yield
    except (FnnError, OSError):
        raise
    except MemoryError as e:
        raise error(f"{source}: ran out of memory while reading it") from e
    except RecursionError as e:
        raise error(f"{source}: nested too deeply to read") from e
    except Exception as e:
        text = str(e) if len(str(e)) <= 200 else str(e)[:197] + "..."
        raise error(f"{source}: could not be read ({type(e).__name__}: {text}); please report "
                    "this as a bug in fnn") from e


def read_capped(path: StrPath, cap: int, *, what: str,
                error: type[FnnError] = ModelFormatError) -> bytes:
    """The bytes of the file at ``path``, or ``error`` if it holds more than ``cap``.

    Reads (and allocates) at most the file's size plus one byte, or ``cap + 1`` bytes a
    chunk at a time when the file says less than it holds (a pipe, a growing file).

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = atomic_write_bytes(pathlib.Path(d) / "m.json", b"[1, 2]")
    ...     read_capped(path, 2**30, what="model")
    b'[1, 2]'
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = atomic_write_bytes(pathlib.Path(d) / "m.json", b"[1, 2]")
    ...     read_capped(path, 5, what="model")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fnn.errors.ModelFormatError: .../m.json: more than 5 bytes; fnn reads model files of at most 5 bytes
    """
    with Path(path).open("rb") as file:
        size = min(os.fstat(file.fileno()).st_size, cap)
        data = file.read(size + 1)  # a buffered read allocates all it is asked for
        if len(data) == size + 1 <= cap:
            more = bytearray(data)
            while len(more) <= cap and (chunk := file.read(min(2**20, cap + 1 - len(more)))):
                more += chunk
            data = bytes(more)
    if len(data) > cap:
        raise error(f"{path}: more than {cap:,} bytes; fnn reads {what} files of at most "
                    f"{cap:,} bytes")
    return data


def read_json(path: StrPath, *, what: str = "model",
              error: type[FnnError] = ModelFormatError) -> Any:
    """The JSON value in the file at ``path``, read strictly (see ``parse_json``).

    Files over ``MAX_JSON_BYTES`` are refused unread; ``OSError`` (missing file, a directory)
    passes through unchanged.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = atomic_write_bytes(pathlib.Path(d) / "c.json", b'{"eta": [0.5, 1e400]}')
    ...     read_json(path, what="checkpoint")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fnn.errors.ModelFormatError: .../c.json: eta[1]: expected a finite number, got 1e400
    """
    data = read_capped(path, MAX_JSON_BYTES, what=what, error=error)
    return parse_json(data, source=str(path), what=what, error=error)


def parse_json(data: bytes, *, source: str, what: str,
               error: type[FnnError] = ModelFormatError) -> Any:
    """The JSON value in ``data``, or ``error`` naming ``source`` and the place.

    Refused: empty, truncated or non-UTF-8 data, ``NaN``/``Infinity``/``-Infinity``,
    numbers that overflow to infinity (``1e400``), integers of more than 4,300 digits,
    duplicate keys, and more than ``MAX_JSON_BYTES`` bytes or ``MAX_JSON_VALUES`` values
    (both checked before parsing). ``what`` names the kind of file in messages.

    >>> parse_json(b'{"a": 1, "a": 2}', source="x.json", what="model")
    Traceback (most recent call last):
    ...
    fnn.errors.ModelFormatError: x.json: top level: duplicate key "a"
    """
    if not data:
        raise error(f"{source}: empty file; expected a JSON {what} file")
    _check_size(data, source, what, error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{source}: byte {e.start}: not UTF-8 ({e.reason}); "
                    f"a {what} file is UTF-8 JSON") from None
    refused: list[tuple[object, str]] = []  # (the value standing in, what is wrong there)
    value = _loads(text, source, refused, error)
    if refused:
        # a value a duplicate key overwrote is gone (then its place is not known)
        problems: dict[int, str] = {}
        for target, problem in reversed(refused):  # the first problem found for each value
            problems[id(target)] = problem
        where, problem = _first_place(value, problems) or ("", refused[0][1])
        if len(where) > 200:  # a place deep inside nested lists
            where = f"{where[:97]}...{where[-100:]}"
        raise error(f"{source}: {where}: {problem}" if where else f"{source}: {problem}")
    return value


def _check_size(data: bytes, source: str, what: str, error: type[FnnError]) -> None:
    if len(data) > MAX_JSON_BYTES:
        raise error(f"{source}: more than {MAX_JSON_BYTES:,} bytes; fnn reads {what} files "
                    f"of at most {MAX_JSON_BYTES:,} bytes (MAX_JSON_BYTES)")
    # every value but the first follows a comma or a colon or opens its list or object;
    # those bytes inside strings count too, so this bounds the values from above
    values = 1 + sum(map(data.count, (b",", b":", b"[", b"{")))
    if values > MAX_JSON_VALUES:
        raise error(f"{source}: up to {values:,} values; fnn reads {what} files of at most "
                    f"{MAX_JSON_VALUES:,} values (MAX_JSON_VALUES)")


_MAX_REFUSED = 100  # refusals remembered: one, with its place, is all a message shows


def _loads(text: str, source: str, refused: list[tuple[object, str]],
           error: type[FnnError]) -> Any:
    def refuse(value: object, problem: str) -> None:
        if len(refused) < _MAX_REFUSED:
            refused.append((value, problem))

    def constant(token: str) -> _Bad:
        bad = _Bad(token)
        refuse(bad, f"expected a finite number, got {token}")
        return bad

    def number(literal: str) -> float | _Bad:
        x = float(literal)
        return x if math.isfinite(x) else constant(literal[:40])

    def integer(literal: str) -> int:
        if len(literal.lstrip("-")) > _MAX_DIGITS:  # whatever sys.set_int_max_str_digits says
            raise ValueError(f"an integer of {len(literal.lstrip('-')):,} digits; at most "
                             f"{_MAX_DIGITS:,}")
        return int(literal)

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) < len(pairs) and len(refused) < _MAX_REFUSED:
            refuse(obj, f"duplicate key {json.dumps(_first_duplicate(pairs))[:60]}")
        return obj

    try:
        return json.loads(text, parse_constant=constant, parse_float=number,
                          parse_int=integer, object_pairs_hook=unique)
    except json.JSONDecodeError as e:
        raise error(f"{source}: {_decode_problem(text, e)}") from None
    except RecursionError:
        raise error(f"{source}: lists or objects nested too deeply") from None
    except ValueError as e:  # the only other: an int longer than _MAX_DIGITS
        raise error(f"{source}: a number has too many digits: {str(e)[:120]}") from None


_MAX_DIGITS = 4300  # Python's default sys.get_int_max_str_digits()


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


def _first_place(root: Any, problems: dict[int, str]) -> tuple[str, str] | None:
    """Where the first value (in the file's order) with a problem sits inside ``root``, e.g.
    ``weights[1][3]``, and its problem; None if a duplicate key replaced every one of them.
    Only the current path's places are ever built."""
    if id(root) in problems:
        return "top level", problems[id(root)]
    stack: list[tuple[Iterator[tuple[str, Any]], str]] = [(_children(root, ""), "")]
    while stack:
        children, _ = stack[-1]
        for where, child in children:
            if id(child) in problems:
                return where, problems[id(child)]
            if isinstance(child, dict | list):
                stack.append((_children(child, where), where))
                break
        else:
            stack.pop()
    return None


def _children(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        return ((key_path(where, k), v) for k, v in value.items())
    if isinstance(value, list):
        return ((f"{where}[{i}]", v) for i, v in enumerate(value))
    return iter(())
