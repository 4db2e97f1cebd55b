"""Structure-aware mutators: pickle opcode streams, JSON trees, IDX headers.

Each mutator has libFuzzer's custom-mutator signature ``(data, max_size, seed) -> bytes``. It
parses the input as the format it is fuzzing, changes a few things a byte-flipper would rarely
hit together (a memo reference in place of a value, a subtree copied elsewhere, a header that
disagrees with its payload) and writes it back; input that does not parse gets byte-level
mutations. Everything is deterministic in ``seed``, so a failing input can be re-made.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import pickle
import pickletools
import struct
import zlib
from collections.abc import Callable
from random import Random
from typing import Any

__all__ = ["byte_mutate", "gzip_aware", "mutate_idx", "mutate_json", "mutate_json_lines",
           "mutate_pickle", "use_libfuzzer"]

# --------------------------------------------------------------------------- bytes

_LIBFUZZER: list[Callable[[bytes, int], bytes]] = []  # atheris.Mutate, while fuzzing


def use_libfuzzer(mutate: Callable[[bytes, int], bytes]) -> None:
    """Make ``byte_mutate`` use libFuzzer's mutations (``atheris.Mutate``): ``run.py`` does,
    once fuzzing starts. Outside a fuzzing run ``atheris.Mutate`` ends the process."""
    _LIBFUZZER[:] = [mutate]


def byte_mutate(data: bytes, max_size: int, rng: Random) -> bytes:
    """libFuzzer's own byte mutations while fuzzing, else a few random edits."""
    if _LIBFUZZER:
        return bytes(_LIBFUZZER[0](data, max_size))
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        if out and kind < 0.4:
            out[rng.randrange(len(out))] = rng.randrange(256)
        elif out and kind < 0.6:
            del out[rng.randrange(len(out)):][: rng.randint(1, 8)]
        elif kind < 0.8:
            at = rng.randrange(len(out) + 1)
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif out:
            del out[rng.randrange(len(out)):]
    return bytes(out[:max_size])


def gzip_aware(mutate: Callable[[bytes, int, Random], bytes],
               ) -> Callable[[bytes, int, int], bytes]:
    """``mutate`` applied inside gzip when the input is gzip (kept gzip'd 9 times in 10)."""
    def mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng = Random(seed)
        if rng.random() < 0.15:  # libFuzzer's own mutations on the whole input
            return byte_mutate(data, max_size, rng)
        if data[:2] == b"\x1f\x8b":
            try:
                inner = _gunzip(data, 16 * max_size)
            except (OSError, EOFError, zlib.error):
                return byte_mutate(data, max_size, rng)
            changed = mutate(inner, 16 * max_size, rng)
            if rng.random() < 0.9:
                zipped = gzip.compress(changed, compresslevel=rng.choice((1, 6, 9)), mtime=0)
                if len(zipped) <= max_size:
                    return zipped
            return changed[:max_size]
        out = mutate(data, max_size, rng)
        if rng.random() < 0.03:  # now and then a raw input becomes gzip'd
            zipped = gzip.compress(out, mtime=0)
            if len(zipped) <= max_size:
                return zipped
        return out[:max_size]
    return mutator


def _gunzip(data: bytes, cap: int) -> bytes:
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        out = stream.read(cap + 1)
    if len(out) > cap:
        raise OSError("too big to mutate")
    return out


# --------------------------------------------------------------------------- pickle


def _op(code: bytes, arg: bytes = b"") -> bytes:
    return code + arg


def _global_line(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _short_text(text: str) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    return (b"\x8c" + bytes([len(raw)]) + raw) if len(raw) < 256 else (
        b"X" + struct.pack("<I", len(raw)) + raw)


_NAMES = [
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("os", "system"), ("builtins", "eval"), ("builtins", "getattr"), ("__builtin__", "bytes"),
    ("numpy", "load"), ("numpy.core.multiarray", "scalar"), ("copyreg", "_reconstructor"),
]
_TEXTS = ["f4", "f8", "f2", "f1", "i8", "i4", "u1", "i1", "O8", "V8", "S4", "U1", "<", ">", "|",
          "=", "C", "F", "b", "latin1", "latin-1", "utf-8", "numpy", "dtype", "ndarray",
          "_reconstruct", "encode", "\u0100" * 300, "\x00" * 300, "", "\udc80"]


def _interesting_ops(rng: Random, memo_size: int) -> list[bytes]:
    """Opcodes (with arguments) worth inserting: memo traffic, calls, names, odd lengths."""
    k = rng.randrange(max(memo_size, 1) + 2)
    module, name = rng.choice(_NAMES)
    blob = bytes(rng.randrange(256) for _ in range(rng.choice((0, 1, 4, 8, 16, 784 * 4))))
    return [
        pickle.MARK, pickle.TUPLE, pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3,
        pickle.EMPTY_TUPLE, pickle.NONE, pickle.NEWTRUE, pickle.NEWFALSE, pickle.REDUCE,
        pickle.BUILD, pickle.STOP, pickle.STACK_GLOBAL, pickle.MEMOIZE, pickle.POP,
        pickle.DUP, pickle.EMPTY_LIST, pickle.EMPTY_DICT, pickle.APPENDS,
        _op(pickle.BINGET, bytes([k % 256])), _op(pickle.LONG_BINGET, struct.pack("<I", k)),
        _op(pickle.BINPUT, bytes([k % 256])), _op(pickle.LONG_BINPUT, struct.pack("<I", k)),
        _op(pickle.BININT1, bytes([rng.randrange(256)])),
        _op(pickle.BININT, struct.pack("<i", rng.choice((-1, 0, 1, 784, 2**31 - 1, -2**31)))),
        _op(pickle.BININT2, struct.pack("<H", rng.choice((0, 784, 65535)))),
        _op(pickle.INT, rng.choice((b"00", b"01", b"-1", b"784", b"9" * 30)) + b"\n"),
        _op(pickle.PUT, str(k).encode() + b"\n"), _op(pickle.GET, str(k).encode() + b"\n"),
        _op(pickle.PROTO, bytes([rng.randrange(7)])),
        _op(pickle.FRAME, struct.pack("<Q", rng.choice((0, 9, 2**63)))),
        _global_line(module, name), _short_text(module), _short_text(name),
        _short_text(rng.choice(_TEXTS)),
        _op(pickle.UNICODE, rng.choice((b"f4", b"\\u0000" * 10, b"\\U0001f600", b"\\u01")) + b"\n"),
        _op(pickle.SHORT_BINBYTES, bytes([len(blob) % 256]) + blob[:255]),
        _op(pickle.BINBYTES, struct.pack("<I", len(blob)) + blob),
        _op(pickle.BINBYTES, struct.pack("<I", rng.choice((2**31 - 1, 2**32 - 1)))),
        _op(pickle.BYTEARRAY8, struct.pack("<Q", len(blob)) + blob),
        _op(pickle.BINUNICODE8, struct.pack("<Q", rng.choice((2**40, 3))) + b"abc"),
        _op(pickle.SHORT_BINSTRING, b"\x02f4"), _op(pickle.SHORT_BINSTRING, b"\x01<"),
        _op(pickle.BINSTRING, struct.pack("<i", rng.choice((-1, len(blob)))) + blob),
        _op(pickle.STRING, b"'f4'\n"), _op(pickle.LONG1, b"\x01\x05"),
        _op(pickle.NEXT_BUFFER), _op(pickle.READONLY_BUFFER),
    ]


def _chunks(data: bytes) -> list[bytes]:
    """The opcodes of ``data``, each with its argument bytes; unparsable rest as one chunk."""
    chunks, starts = [], []
    with contextlib.suppress(Exception):  # pickletools raises anything on garbage
        for _, _, pos in pickletools.genops(data):
            starts.append(pos)
    if not starts:
        return [data] if data else []
    starts.append(len(data))
    # genops stops at STOP; whatever follows is one more chunk
    for start, end in zip(starts, starts[1:]):
        chunks.append(data[start:end])
    return [c for c in chunks if c]


def _memo_references(rng: Random, memo_size: int) -> bytes:
    """A tuple of many references to memoized values: the shape of a memo bomb."""
    k = rng.randrange(max(memo_size, 1))
    get = _op(pickle.BINGET, bytes([k])) if k < 256 else _op(pickle.LONG_BINGET,
                                                                struct.pack("<I", k))
    return pickle.MARK + get * rng.choice((2, 6, 100, 3000)) + pickle.TUPLE


def _pickle_edit(data: bytes, max_size: int, rng: Random) -> bytes:
    chunks = _chunks(data)
    if len(chunks) < 2:
        return byte_mutate(data, max_size, rng)
    memo_size = sum(c[:1] in (pickle.MEMOIZE, pickle.BINPUT, pickle.LONG_BINPUT, pickle.PUT)
                    for c in chunks)
    for _ in range(rng.choice((1, 1, 2, 3))):
        i, j = rng.randrange(len(chunks)), rng.randrange(len(chunks))
        kind = rng.randrange(9)
        if kind == 0:
            del chunks[i]
        elif kind == 1:
            chunks.insert(j, chunks[i])
        elif kind == 2:
            chunks[i], chunks[j] = chunks[j], chunks[i]
        elif kind in (3, 4):
            chunks.insert(i, rng.choice(_interesting_ops(rng, memo_size)))
        elif kind == 5:
            chunks[i] = rng.choice(_interesting_ops(rng, memo_size))
        elif kind == 6:
            chunks.insert(i, _memo_references(rng, memo_size))
        elif kind == 7 and len(chunks[i]) > 1:  # one argument byte changed
            c = bytearray(chunks[i])
            c[rng.randrange(1, len(c))] = rng.choice((0, 1, 2, 0x7F, 0x80, 0xFF,
                                                      rng.randrange(256)))
            chunks[i] = bytes(c)
        else:
            chunks[i] = byte_mutate(chunks[i], len(chunks[i]) + 16, rng)
        if not chunks:
            break
    return b"".join(chunks)[:max_size]


mutate_pickle = gzip_aware(_pickle_edit)
"""Pickle opcode streams: delete, copy, swap or insert opcodes (memo gets and puts, globals
inside and outside the allow-list, odd lengths), change one argument; gzip kept."""


# --------------------------------------------------------------------------- JSON

_SCALARS: list[Any] = [0, 1, -1, 2, 3, 784, 2**31, 2**63, -(2**63), 10**30, 0.5, -0.0, 1e308,
                       5e-324, 3.4e38, True, False, None, "", "x" * 100, "NaN", "float32",
                       "float64", "int8", "CrossEntropyCost", "QuadraticCost", "sigmoid",
                       "relu", "fnn.model", "fnn.checkpoint", "fnn.sweep-result",
                       "fnn.history", "ok", "diverged", "failed", [], {}, [[]], [[[]]]]
_KEYS = ["format", "format_version", "sizes", "weights", "biases", "cost", "dtype", "metadata",
         "activations", "tree", "tuple", "count", "settings", "data", "history", "params",
         "optimizer_state", "best", "epochs_done", "records", "epoch", "job_id", "status",
         "overrides", "seed", "error", "run", "versions", "timing", "root", "spawn_index"]


def _nodes(value: Any, limit: int = 5000) -> list[tuple[Any, Any]]:
    """(container, key) of up to ``limit`` places in the tree, breadth first."""
    places: list[tuple[Any, Any]] = []
    queue = [value]
    while queue and len(places) < limit:
        node = queue.pop(0)
        items = node.items() if isinstance(node, dict) else enumerate(node) \
            if isinstance(node, list) else ()
        for key, child in items:
            places.append((node, key))
            if isinstance(child, dict | list):
                queue.append(child)
    return places


def _json_edit(value: Any, rng: Random) -> Any:
    places = _nodes(value)
    if not places:
        return rng.choice([value, [value], {"format": value}])
    for _ in range(rng.choice((1, 1, 2, 3))):
        node, key = rng.choice(places)
        if key not in (node if isinstance(node, dict) else range(len(node))):
            continue
        old = node[key]
        kind = rng.randrange(10)
        if kind in (0, 1):
            node[key] = json.loads(json.dumps(rng.choice(_SCALARS)))
        elif kind == 2:  # a copy of another part of the tree (structure reuse)
            other, other_key = rng.choice(places)
            if other_key in (other if isinstance(other, dict) else range(len(other))):
                node[key] = json.loads(json.dumps(other[other_key]))
        elif kind == 3:
            del node[key]
        elif kind == 4 and isinstance(node, list):
            node.insert(key, json.loads(json.dumps(old)))
        elif kind == 4:
            node[rng.choice(_KEYS)] = json.loads(json.dumps(old))
        elif kind == 5 and isinstance(old, int | float) and not isinstance(old, bool):
            node[key] = rng.choice((old + 1, old - 1, -old, old * 2**rng.randint(-60, 60),
                                    int(old) if abs(old) < 1e300 else 0, float(old)))
        elif kind == 6:
            node[key] = rng.choice(([old], {"tree": old}, {"tuple": [old]}, [old, old]))
        elif kind == 7 and isinstance(old, list) and old:
            node[key] = old[: rng.randrange(len(old))]
        elif kind == 8 and isinstance(old, list):
            node[key] = old + old[-1:] * rng.choice((1, 2, 50))
        else:
            node[key] = rng.choice(_SCALARS) if not isinstance(old, str) else old[::-1]
    return value


def _json_text(value: Any, rng: Random) -> bytes:
    separators = rng.choice(((",", ":"), (", ", ": "), (",", ": ")))
    text = json.dumps(value, separators=separators, allow_nan=True)
    roll = rng.random()
    if roll < 0.05:  # text the parser must refuse: NaN, 1e400, a duplicate key, a cut
        text = text.replace(rng.choice(("0.", "1", "2")), rng.choice(("NaN", "1e400",
                                                                      "Infinity", "-")), 1)
    elif roll < 0.08 and "{" in text:
        at = text.index("{") + 1
        text = text[:at] + '"a": 1, "a": 2' + ("," if text[at] != "}" else "") + text[at:]
    elif roll < 0.1:
        text = text[: rng.randrange(len(text) + 1)]
    elif roll < 0.12:
        return text.encode()[:-1] + b"\xff"
    return text.encode()


def mutate_json(data: bytes, max_size: int, seed: int) -> bytes:
    """A JSON file: parse, change one to three places in the tree, write with random spacing."""
    rng = Random(seed)
    if rng.random() < 0.15:  # libFuzzer's own mutations on the whole input
        return byte_mutate(data, max_size, rng)
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return byte_mutate(data, max_size, rng)
    return _json_text(_json_edit(value, rng), rng)[:max_size]


def mutate_json_lines(data: bytes, max_size: int, seed: int) -> bytes:
    """A JSON-lines file: mutate one line as ``mutate_json`` does, or drop, copy or tear one."""
    rng = Random(seed)
    lines = data.split(b"\n")
    i = rng.randrange(len(lines))
    kind = rng.randrange(10)
    if kind < 6:
        lines[i] = mutate_json(lines[i], max_size, rng.randrange(2**32)).replace(b"\n", b" ")
    elif kind == 6 and len(lines) > 1:
        del lines[i]
    elif kind == 7:
        lines.insert(rng.randrange(len(lines) + 1), lines[i])
    elif kind == 8:
        lines[-1] = lines[i][: rng.randrange(len(lines[i]) + 1)]  # a torn last line
    else:
        lines.insert(i, rng.choice((b"", b" ", b"{}", b"null")))
    return b"\n".join(lines)[:max_size]


# --------------------------------------------------------------------------- IDX


def _idx_edit(data: bytes, max_size: int, rng: Random) -> bytes:
    """An IDX file: its type code, rank, dimensions or payload length changed."""
    if len(data) < 4:
        return byte_mutate(data, max_size, rng)
    ndim = data[3]
    header, payload = bytearray(data[: 4 + 4 * ndim]), data[4 + 4 * ndim:]
    kind = rng.randrange(7)
    if kind == 0:
        header[2] = rng.choice((0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF))
    elif kind == 1:
        header[3] = rng.choice((0, 1, 2, 3, 4, 32, 33, 64, 65, 255))
    elif kind == 2 and ndim and len(header) >= 8:
        d = rng.randrange(ndim)
        if len(header) >= 8 + 4 * d:
            value = rng.choice((0, 1, 27, 28, 29, 2**16, 2**31, 2**32 - 1))
            header[4 + 4 * d: 8 + 4 * d] = struct.pack(">I", value)
    elif kind == 3:
        payload = payload[: rng.randrange(len(payload) + 1)]
    elif kind == 4:
        payload += bytes(rng.choice((1, 28, 784)))
    elif kind == 5 and len(header) > 4:
        header = header[: rng.randrange(4, len(header))]
    else:
        return byte_mutate(data, max_size, rng)
    return (bytes(header) + payload)[:max_size]


def mutate_idx(data: bytes, max_size: int, seed: int) -> bytes:
    """The IDX target's input: a selector byte (which file, gzip'd or not), then the file."""
    rng = Random(seed)
    if not data:
        return bytes([rng.randrange(8)])
    selector, body = data[:1], data[1:]
    if rng.random() < 0.1:
        selector = bytes([rng.randrange(8)])
    return (selector + gzip_aware(_idx_edit)(body, max_size - 1, rng.randrange(2**32)))[:max_size]
