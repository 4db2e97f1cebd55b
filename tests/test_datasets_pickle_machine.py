"""fnn.datasets.pickle_machine: a pickle interpreter that builds plain values and runs no code."""

from __future__ import annotations

import io
import pickle
import pickletools
import re
import struct

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fnn.datasets import pickle_machine, safe_pickle
from fnn.datasets.pickle_machine import SHORT_TEXT, Refused, Stateful, unpickle
from fnn.errors import DatasetFormatError, UnsafeFileError

LATIN1 = {("_codecs", "encode"): safe_pickle._latin1}  # how protocols 0-2 spell bytes


def run(data: bytes, *, stand_ins=LATIN1, max_opcodes: int = 10_000,
        data_cap: int = 2**20):
    return unpickle(io.BytesIO(data), source="x.pkl", stand_ins=stand_ins,
                    max_opcodes=max_opcodes, data_cap=data_cap)


# 32-bit ints: protocol 2 writes bigger ones with LONG1, which no data file needs
plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31 - 1)
    | st.text(max_size=40) | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=5).map(tuple), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(value=plain, protocol=st.integers(0, 5))
def test_plain_values_come_back_as_pickle_loads_gives_them(value, protocol):
    assume(protocol >= 3 or b"" not in _leaves(value))  # b"" is builtins.bytes() there
    data = pickle.dumps(value, protocol=protocol)
    assert run(data) == pickle.loads(data)


def _leaves(value):
    return [leaf for item in value for leaf in _leaves(item)] if isinstance(value, tuple) \
        else [value]


def test_shared_references_stay_shared_and_are_never_copied():
    inner = (1, b"x" * 10_000)
    value = run(pickle.dumps((inner, inner, (inner,)), protocol=4))
    assert value[0] is value[1] is value[2][0]


@pytest.mark.parametrize("protocol", range(5))
def test_a_long_latin1_text_is_kept_as_its_latin1_bytes(protocol, monkeypatch):
    monkeypatch.setattr(pickle_machine, "_CHUNK", 7)  # escapes split across chunk boundaries
    text = "".join(map(chr, range(256))) * 40  # every latin-1 character, \0 \n \r \\ too
    assert run(pickle.dumps(text, protocol=protocol)) == text.encode("latin-1")
    short = "\u0100" * (SHORT_TEXT // 6)  # up to SHORT_TEXT bytes in the file: any text
    assert run(pickle.dumps(short, protocol=protocol)) == short


@pytest.mark.parametrize("protocol", range(5))
def test_a_long_text_beyond_latin1_is_refused(protocol):
    data = pickle.dumps("a" * 1000 + "\u0100", protocol=protocol)
    with pytest.raises(DatasetFormatError, match=r"x\.pkl is not a readable pickle .* a text "
                                                 r"of more than 256 bytes with characters "
                                                 r"beyond latin-1"):
        run(data)


def test_no_global_outside_the_stand_ins_is_reached():
    with pytest.raises(UnsafeFileError, match=r"x\.pkl reaches builtins\.print, which a data "
                                              r"file never needs \(only _codecs\.encode are "
                                              r"allowed\)\. Nothing was run\."):
        run(pickle.dumps(print))


class _Recorded(Stateful):
    __slots__ = ("args",)

    def __init__(self, *args):
        super().__init__()
        self.args = args


def _stand_in(*args):
    if args == (b"bad",):
        raise Refused("a bad argument")
    return _Recorded(*args)


STAND_INS = {("m", "f"): _stand_in, ("m", "marker"): object()}


def _call(args: bytes, state: bytes = b"") -> bytes:
    return b"\x80\x02cm\nf\n(" + args + b"tR" + state + b"."


def test_reduce_calls_only_stand_ins_and_build_gives_state_to_their_records():
    made = run(_call(b"K\x01K\x02", b"K\x07b"), stand_ins=STAND_INS)
    assert isinstance(made, _Recorded) and made.args == (1, 2) and made.state == 7
    for data, message in (
            (_call(b"U\x03bad"), "x.pkl holds a bad argument"),
            (_call(b"", b"K\x07bK\x08b"), "x.pkl holds BUILD gives a second state"),
            (b"\x80\x02cm\nmarker\n)R.", "REDUCE calls a object, not an allowed global"),
            (b"\x80\x02K\x01)R.", "REDUCE calls a int"),
            (b"\x80\x02cm\nf\nK\x01R.", "REDUCE's arguments are a int, not a tuple"),
            (b"\x80\x02K\x01K\x02b.", "BUILD gives a state to a int")):
        with pytest.raises(DatasetFormatError, match=message):
            run(data, stand_ins=STAND_INS)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "it ends before its STOP opcode"),
    (b"\x80\x06N.", "pickle protocol 6; fnn reads protocols 0 to 5"),
    (b"\x80\x02(K\x01.", "STOP with 1 values on the stack and 1 marks open"),
    (b"\x80\x02K\x01K\x02.", "STOP with 2 values on the stack"),
    (b"\x80\x02K\x01(\x85.", "a tuple's item is missing from the stack"),  # not below a MARK
    (b"\x80\x02t.", "TUPLE without a MARK"),
    (b"\x80\x02h\x05.", "a memo reference to entry 5, never stored"),
    (b"\x80\x02q\x00.", "a memo entry stored from an empty stack"),
    (b"I12x\n.", "an INT b'12x' that is not a decimal integer"),
    (b"I--5\n.", "an INT b'--5'"),
    (b"g-\n.", "a GET b'-' is not a decimal integer"),
    (b"I" + b"1" * 40 + b"\n.", "an INT longer than 31 bytes"),
    (b"\x80\x02T\xff\xff\xff\xff.", "a negative length -1"),
    (b"\x80\x02\x8c\x02\xff\xfe.", "a text that is not utf-8"),
    (b"\x80\x02\x8a\x01\x05.", "opcode b'\\x8a', which a data file never uses"),  # LONG1
    (b"\x80\x02].", "opcode b']'"),  # EMPTY_LIST
    (b"\x80\x05\x97.", "opcode b'\\x97'"),  # NEXT_BUFFER: out-of-band data
    (b"\x80\x02cm\x00\n", "it ends inside a global's name"),
    (b"\x80\x04\x95\x01\x00", "it ends inside an opcode's 8-byte argument"),
])
def test_malformed_streams_name_the_source_and_the_problem(data, message):
    prefix = "x.pkl is not a readable pickle (truncated or corrupt): "
    with pytest.raises(DatasetFormatError, match="^" + re.escape(prefix + message)):
        run(data, stand_ins=STAND_INS)


class _Asked(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, size=-1):
        self.asked.append(size)
        return super().read(size)


@pytest.mark.parametrize("header", [b"B" + struct.pack("<I", 2**32 - 1),
                                    b"\x8e" + struct.pack("<Q", 2**63),
                                    b"\x96" + struct.pack("<Q", 2**40),
                                    b"X" + struct.pack("<I", 2**31)])
def test_a_length_beyond_the_data_cap_is_refused_before_anything_is_read(header):
    stream = _Asked(b"\x80\x05" + header + b"\0" * 1000)
    with pytest.raises(DatasetFormatError, match=r"x\.pkl holds more than 1,000 bytes of "
                                                 r"strings and arrays; fnn refuses larger files "
                                                 r"\(MAX_DECOMPRESSED_BYTES\)"):
        unpickle(stream, source="x.pkl", stand_ins={}, max_opcodes=10, data_cap=1000)
    assert max(stream.asked) <= 8


def test_the_data_cap_counts_what_is_kept_and_the_opcode_budget_every_instruction():
    data = pickle.dumps((b"a" * 600, "b" * 300), protocol=4)
    assert run(data, data_cap=900)[0] == b"a" * 600
    with pytest.raises(DatasetFormatError, match="more than 899 bytes"):
        run(data, data_cap=899)
    ops = len(list(pickletools.genops(data)))
    assert run(data, max_opcodes=ops)[1] == b"b" * 300
    with pytest.raises(DatasetFormatError, match=f"more than MAX_OPCODES = {ops - 1} instr"):
        run(data, max_opcodes=ops - 1)


def test_a_long_payload_is_read_a_chunk_at_a_time(monkeypatch):
    monkeypatch.setattr(pickle_machine, "_CHUNK", 1000)
    payload = bytes(range(256)) * 20
    stream = _Asked(pickle.dumps(payload, protocol=4))
    assert unpickle(stream, source="x.pkl", stand_ins={}, max_opcodes=10,
                    data_cap=10_000) == payload
    assert max(stream.asked) == 1000
    cut = _Asked(pickle.dumps(payload, protocol=4)[:3000])
    with pytest.raises(DatasetFormatError, match="it ends inside a string of 5,120 bytes"):
        unpickle(cut, source="x.pkl", stand_ins={}, max_opcodes=10, data_cap=10_000)
