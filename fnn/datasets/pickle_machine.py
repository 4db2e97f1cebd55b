"""A pickle interpreter that builds plain values and calls nothing but the stand-ins it is given.

``unpickle`` runs the opcodes a data file needs, in protocols 0 to 5: tuples, ints, booleans,
None, texts, bytes, the memo, globals, REDUCE and BUILD. Nothing else: no lists, dicts or
sets, no instance creation, persistent ids or out-of-band buffers. A global is looked up in
the caller's ``stand_ins``, plain functions that only record what the file says; any other
raises ``UnsafeFileError`` naming it, before anything runs. REDUCE calls only a stand-in, and
BUILD only gives a state to a ``Stateful`` record a stand-in made.

Work is bounded whatever the file says or repeats: at most ``max_opcodes`` instructions; at
most ``data_cap`` bytes of texts and bytes kept, counted before they are read (a memo
reference or a tuple holds a reference, never a copy); and a text longer than
``SHORT_TEXT`` bytes must be latin-1, which is how Python 3 pickles bytes in protocols 0 to 2,
and is kept as its latin-1 bytes, decoded chunk by chunk as it is read.
"""

from __future__ import annotations

import codecs
import re
import struct
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from fnn.errors import DatasetFormatError, UnsafeFileError

__all__ = ["SHORT_TEXT", "Refused", "Stateful", "Stream", "unpickle"]

SHORT_TEXT = 256
"""Texts up to this many bytes become ``str``; longer ones must be latin-1 and stay bytes."""

_CHUNK = 2**20  # bytes read (and decoded) at a time for anything longer
_NAME_LINE = 256  # a module or attribute name in a GLOBAL opcode, with its newline
_NUMBER_LINE = 32  # INT, PUT and GET spell their argument in decimal
_DECIMAL = re.compile(rb"-?[0-9]+")


class Stream(Protocol):
    """Where the pickle comes from: ``fnn.datasets.reading.CappedReader`` or any binary file."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (all that is left for -1); fewer only at the end."""

    def readline(self, size: int = -1, /) -> bytes:
        """The bytes up to and including the next newline, at most ``size`` of them."""


class Refused(Exception):
    """What a stand-in (or a ``Stateful``'s BUILD) raises for arguments it does not take."""


class Stateful:
    """A record BUILD may give a state to, once (as ``__setstate__`` would)."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state: Any = None

    def set_state(self, state: Any) -> None:
        """Keep ``state``; ``Refused`` for a second state or for None."""
        if self.state is not None:
            raise Refused(f"BUILD gives a second state to a {type(self).__name__}")
        if state is None:
            raise Refused(f"BUILD gives a {type(self).__name__} the state None")
        self.state = state


def unpickle(stream: Stream, *, source: str, stand_ins: Mapping[tuple[str, str], Any],
             max_opcodes: int, data_cap: int, what: str = "a data file") -> Any:
    """The value the pickle in ``stream`` describes, built from plain values and stand-ins.

    Errors are ``DatasetFormatError`` (``UnsafeFileError`` for a global outside
    ``stand_ins``) whose message starts with ``source``; ``what`` names the kind of file.

    >>> import io, pickle
    >>> unpickle(io.BytesIO(pickle.dumps((1, "a", b"b"), protocol=4)), source="x.pkl",
    ...          stand_ins={}, max_opcodes=100, data_cap=100)
    (1, 'a', b'b')
    >>> unpickle(io.BytesIO(pickle.dumps(print)), source="x.pkl", stand_ins={},
    ...          max_opcodes=100, data_cap=100)
    Traceback (most recent call last):
    ...
    fnn.errors.UnsafeFileError: x.pkl reaches builtins.print, which a data file never needs (none are allowed). Nothing was run.
    """
    return _Machine(stream, source, stand_ins, max_opcodes, data_cap, what).run()


class _Stop(Exception):
    """STOP: the value on the stack is the result."""


class _Machine:
    def __init__(self, stream: Stream, source: str, stand_ins: Mapping[tuple[str, str], Any],
                 max_opcodes: int, data_cap: int, what: str) -> None:
        self.stream, self.source, self.stand_ins, self.what = stream, source, stand_ins, what
        self.max_opcodes, self.data_cap, self.data_room = max_opcodes, data_cap, data_cap
        # the names of the callable stand-ins, by identity: REDUCE calls nothing else
        self.callables = {id(f): f"{m}.{n}" for (m, n), f in stand_ins.items() if callable(f)}
        self.stack: list[Any] = []
        self.metastack: list[list[Any]] = []  # the stacks under each open MARK
        self.memo: dict[int, Any] = {}

    def run(self) -> Any:
        for _ in range(self.max_opcodes):
            code = self.stream.read(1)
            if not code:
                raise self.corrupt("it ends before its STOP opcode")
            handler = _HANDLERS.get(code[0])
            if handler is None:
                raise self.corrupt(f"opcode {code!r}, which {self.what} never uses")
            try:
                handler(self)
            except _Stop:
                return self.result()
        raise self.corrupt(f"more than MAX_OPCODES = {self.max_opcodes} instructions")

    def result(self) -> Any:
        if self.metastack or len(self.stack) != 1:
            raise self.corrupt(f"STOP with {len(self.stack)} values on the stack and "
                               f"{len(self.metastack)} marks open; expected one value")
        return self.stack[0]

    # -- errors

    def corrupt(self, problem: str) -> DatasetFormatError:
        return DatasetFormatError(
            f"{self.source} is not a readable pickle (truncated or corrupt): {problem}")

    # -- reading

    def exactly(self, n: int) -> bytes:
        data = self.stream.read(n)
        if len(data) < n:
            raise self.corrupt(f"it ends inside an opcode's {n}-byte argument")
        return data

    def unpack(self, fmt: str) -> int:
        value: int = struct.unpack(fmt, self.exactly(struct.calcsize(fmt)))[0]
        return value

    def line(self, limit: int, what: str) -> bytes:
        """One newline-terminated argument of at most ``limit`` bytes, without its newline."""
        data = self.stream.readline(limit)
        if not data.endswith(b"\n"):
            if len(data) < limit:
                raise self.corrupt(f"it ends inside {what}")
            raise self.corrupt(f"{what} longer than {limit - 1} bytes")
        return data[:-1]

    def number(self, what: str) -> int:
        text = self.line(_NUMBER_LINE, what)
        if not _DECIMAL.fullmatch(text):
            raise self.corrupt(f"{what} {text[:20]!r} is not a decimal integer")
        return int(text)

    def keep(self, n: int) -> None:
        """Count ``n`` more bytes of texts and bytes against the cap, before holding them."""
        if n > self.data_room:
            raise DatasetFormatError(
                f"{self.source} holds more than {self.data_cap:,} bytes of strings and arrays; "
                f"fnn refuses larger files (MAX_DECOMPRESSED_BYTES)")
        self.data_room -= n

    def payload(self, n: int) -> bytes | bytearray:
        """``n`` bytes of the file, read a chunk at a time (so a false length costs nothing)."""
        if n < 0:
            raise self.corrupt(f"a negative length {n}")
        self.keep(n)
        if n <= _CHUNK:
            return self.exactly(n)
        out = bytearray()
        while len(out) < n:
            chunk = self.stream.read(min(_CHUNK, n - len(out)))
            if not chunk:
                raise self.corrupt(f"it ends inside a string of {n:,} bytes")
            out += chunk
        return out

    def text(self, n: int) -> str | bytearray:
        """A UTF-8 text of ``n`` bytes: a ``str`` if short, else its latin-1 bytes."""
        if n <= SHORT_TEXT:
            self.keep(n)
            return self.decoded(self.exactly(n), "utf-8")
        if n // 2 > self.data_room:  # latin-1 takes at most 2 bytes a character in UTF-8
            self.keep(n // 2)
        decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
        out, left = bytearray(), n
        while left:
            chunk = self.stream.read(min(_CHUNK, left))
            if not chunk:
                raise self.corrupt(f"it ends inside a text of {n:,} bytes")
            left -= len(chunk)
            out += self.latin1(decoder, chunk, final=not left, encoding="utf-8")
        return out

    def line_text(self) -> str | bytearray:
        """A protocol-0 text (raw-unicode-escape, up to a newline): as ``text``."""
        first = self.stream.readline(SHORT_TEXT + 1)
        if first.endswith(b"\n"):
            self.keep(len(first) - 1)
            return self.decoded(first[:-1], "raw-unicode-escape")
        if len(first) <= SHORT_TEXT:
            raise self.corrupt("it ends inside a text")
        decoder = codecs.getincrementaldecoder("raw-unicode-escape")()
        out, chunk = bytearray(), first
        while not chunk.endswith(b"\n"):
            out += self.latin1(decoder, chunk, final=False, encoding="raw-unicode-escape")
            chunk = self.stream.readline(_CHUNK)
            if not chunk:
                raise self.corrupt("it ends inside a text")
        out += self.latin1(decoder, chunk[:-1], final=True, encoding="raw-unicode-escape")
        return out

    def decoded(self, raw: bytes, encoding: str) -> str:
        try:
            return raw.decode(encoding, "surrogatepass" if encoding == "utf-8" else "strict")
        except UnicodeDecodeError as e:
            raise self.corrupt(f"a text that is not {encoding} ({e.reason})") from None

    def latin1(self, decoder: codecs.IncrementalDecoder, chunk: bytes, *, final: bool,
               encoding: str) -> bytes:
        """The next chunk of a long text, decoded, as latin-1 bytes (counted as kept)."""
        try:
            data = decoder.decode(chunk, final).encode("latin-1")
        except UnicodeDecodeError as e:
            raise self.corrupt(f"a text that is not {encoding} ({e.reason})") from None
        except UnicodeEncodeError:
            raise self.corrupt(f"a text of more than {SHORT_TEXT} bytes with characters "
                               f"beyond latin-1 (only array data is that long)") from None
        self.keep(len(data))
        return data

    # -- the stack

    def push(self, value: Any) -> None:
        self.stack.append(value)

    def pop(self, what: str = "a value") -> Any:
        if not self.stack:
            raise self.corrupt(f"{what} is missing from the stack")
        return self.stack.pop()

    def pop_mark(self) -> list[Any]:
        if not self.metastack:
            raise self.corrupt("TUPLE without a MARK")
        items, self.stack = self.stack, self.metastack.pop()
        return items

    def memo_get(self, index: int) -> None:
        if index not in self.memo:
            raise self.corrupt(f"a memo reference to entry {index}, never stored")
        self.push(self.memo[index])

    def memo_put(self, index: int) -> None:
        if not self.stack:
            raise self.corrupt("a memo entry stored from an empty stack")
        self.memo[index] = self.stack[-1]

    # -- globals and calls

    def find(self, module: Any, name: Any) -> None:
        if not (isinstance(module, str) and isinstance(name, str)):
            raise self.corrupt("STACK_GLOBAL names that are not texts")
        try:
            self.push(self.stand_ins[module, name])
        except KeyError:
            allowed = ", ".join(f"{m}.{n}" for m, n in self.stand_ins)
            raise UnsafeFileError(
                f"{self.source} reaches {_cut(module)}.{_cut(name)}, which {self.what} never "
                f"needs ({f'only {allowed} are' if allowed else 'none are'} allowed). "
                "Nothing was run.") from None

    def global_line(self) -> None:
        module = self.decoded(self.line(_NAME_LINE, "a global's module name"), "utf-8")
        name = self.decoded(self.line(_NAME_LINE, "a global's name"), "utf-8")
        self.find(module, name)

    def reduce(self) -> None:
        args, function = self.pop("REDUCE's arguments"), self.pop("REDUCE's callable")
        name = self.callables.get(id(function)) if callable(function) else None
        if name is None:
            raise self.corrupt(f"REDUCE calls a {type(function).__name__}, not an allowed "
                               "global")
        if not isinstance(args, tuple):
            raise self.corrupt(f"REDUCE's arguments are a {type(args).__name__}, not a tuple")
        try:
            self.push(function(*args))
        except Refused as e:
            raise DatasetFormatError(f"{self.source} holds {e}") from None
        except TypeError:  # the stand-ins are plain functions: the number of arguments
            raise self.corrupt(f"{name} called with {len(args)} arguments") from None

    def build(self) -> None:
        state = self.pop("BUILD's state")
        target = self.pop("BUILD's object")
        if not isinstance(target, Stateful):
            raise self.corrupt(f"BUILD gives a state to a {type(target).__name__}")
        try:
            target.set_state(state)
        except Refused as e:
            raise DatasetFormatError(f"{self.source} holds {e}") from None
        self.push(target)

    def int_line(self) -> None:
        text = self.line(_NUMBER_LINE, "an INT")
        if text in (b"00", b"01"):  # how protocols 0 and 1 spell False and True
            self.push(text == b"01")
        elif _DECIMAL.fullmatch(text):
            self.push(int(text))
        else:
            raise self.corrupt(f"an INT {text[:20]!r} that is not a decimal integer")

    def stack_global(self) -> None:
        name, module = self.pop("a global's name"), self.pop("a global's module")
        self.find(module, name)

    def frame(self) -> None:
        self.exactly(8)  # the frame's length: a hint for buffering, not needed here

    def proto(self) -> None:
        version = self.exactly(1)[0]
        if version > 5:
            raise self.corrupt(f"pickle protocol {version}; fnn reads protocols 0 to 5")

    def stop(self) -> None:
        raise _Stop


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _bytearray(data: bytes | bytearray) -> bytearray:
    return data if isinstance(data, bytearray) else bytearray(data)  # a long one is already


def _mark(m: _Machine) -> None:
    m.metastack.append(m.stack)
    m.stack = []


def _tuple(n: int) -> Callable[[_Machine], None]:
    def handler(m: _Machine) -> None:
        items = [m.pop("a tuple's item") for _ in range(n)]
        m.push(tuple(reversed(items)))
    return handler


_HANDLERS: dict[int, Callable[[_Machine], None]] = {
    0x80: _Machine.proto,  # PROTO
    0x95: _Machine.frame,  # FRAME
    ord("."): _Machine.stop,  # STOP
    ord("("): _mark,  # MARK
    ord("t"): lambda m: m.push(tuple(m.pop_mark())),  # TUPLE
    ord(")"): _tuple(0), 0x85: _tuple(1), 0x86: _tuple(2), 0x87: _tuple(3),
    ord("N"): lambda m: m.push(None),  # NONE
    0x88: lambda m: m.push(True), 0x89: lambda m: m.push(False),  # NEWTRUE, NEWFALSE
    ord("I"): _Machine.int_line,  # INT
    ord("J"): lambda m: m.push(m.unpack("<i")),  # BININT
    ord("K"): lambda m: m.push(m.unpack("<B")),  # BININT1
    ord("M"): lambda m: m.push(m.unpack("<H")),  # BININT2
    # Python 2's str (network2's file) and Python 3's bytes: bytes either way
    ord("U"): lambda m: m.push(m.payload(m.unpack("<B"))),  # SHORT_BINSTRING
    ord("T"): lambda m: m.push(m.payload(m.unpack("<i"))),  # BINSTRING
    ord("C"): lambda m: m.push(m.payload(m.unpack("<B"))),  # SHORT_BINBYTES
    ord("B"): lambda m: m.push(m.payload(m.unpack("<I"))),  # BINBYTES
    0x8E: lambda m: m.push(m.payload(m.unpack("<Q"))),  # BINBYTES8
    0x96: lambda m: m.push(_bytearray(m.payload(m.unpack("<Q")))),  # BYTEARRAY8
    0x8C: lambda m: m.push(m.text(m.unpack("<B"))),  # SHORT_BINUNICODE
    ord("X"): lambda m: m.push(m.text(m.unpack("<I"))),  # BINUNICODE
    0x8D: lambda m: m.push(m.text(m.unpack("<Q"))),  # BINUNICODE8
    ord("V"): lambda m: m.push(m.line_text()),  # UNICODE
    ord("c"): _Machine.global_line,  # GLOBAL
    0x93: _Machine.stack_global,  # STACK_GLOBAL
    ord("R"): _Machine.reduce,  # REDUCE
    ord("b"): _Machine.build,  # BUILD
    ord("p"): lambda m: m.memo_put(m.number("a PUT")),  # PUT
    ord("q"): lambda m: m.memo_put(m.unpack("<B")),  # BINPUT
    ord("r"): lambda m: m.memo_put(m.unpack("<I")),  # LONG_BINPUT
    0x94: lambda m: m.memo_put(len(m.memo)),  # MEMOIZE
    ord("g"): lambda m: m.memo_get(m.number("a GET")),  # GET
    ord("h"): lambda m: m.memo_get(m.unpack("<B")),  # BINGET
    ord("j"): lambda m: m.memo_get(m.unpack("<I")),  # LONG_BINGET
}
