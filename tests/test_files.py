"""fnn.files: atomic writes, JSON lines and strict JSON, the edges every fnn file goes through."""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import math
import os
import random
import signal
import stat
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fnn import files
from fnn.errors import (
    CheckpointMismatchError,
    DatasetFormatError,
    FnnError,
    FnnTypeError,
    ModelFormatError,
)
from fnn.files import (
    append_line,
    atomic_write_bytes,
    key_path,
    load_errors,
    parse_json,
    read_capped,
    read_json,
)

# ----------------------------------------------------------------------- atomic writes


def _fail_after_half_a_write(real_write):
    calls = []

    def write(fd, data):
        calls.append(fd)
        if len(calls) == 1:
            return real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")
    return write


def _raise(*_args, **_kwargs):
    raise OSError(errno.EIO, "injected")


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
@pytest.mark.parametrize("existing", [True, False], ids=["replacing", "new"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, where,
                                                            existing):
    path = tmp_path / "model.json"
    if existing:
        atomic_write_bytes(path, b"old contents\n")
    fake = _fail_after_half_a_write(os.write) if where == "write" else _raise
    with monkeypatch.context() as patch:
        patch.setattr(os, where, fake)
        with pytest.raises(OSError) as info:
            atomic_write_bytes(path, b"new contents, longer than the old ones\n")
    assert info.value.errno in (errno.ENOSPC, errno.EIO)  # the injected error, unchanged
    assert sorted(p.name for p in tmp_path.iterdir()) == (["model.json"] if existing else [])
    if existing:
        assert path.read_bytes() == b"old contents\n"


def test_a_write_interrupted_by_keyboard_interrupt_cleans_up(tmp_path, monkeypatch):
    def interrupt(_fd):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(tmp_path / "x.bin", b"data")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_permissions_and_refuses_text(tmp_path):
    path = tmp_path / "m.json"
    path.write_bytes(b"old")
    path.chmod(0o600)
    atomic_write_bytes(path, b"new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == b"new"
    plain = tmp_path / "plain"
    plain.write_bytes(b"")  # what open() gives under this umask
    fresh = atomic_write_bytes(tmp_path / "fresh", b"x")
    assert stat.S_IMODE(fresh.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    with pytest.raises(FnnTypeError, match="data must be bytes, got str"):
        atomic_write_bytes(path, "text")  # type: ignore[arg-type]
    assert path.read_bytes() == b"new"


def test_atomic_write_accepts_str_paths_returns_a_path_and_leaves_only_the_file(tmp_path):
    result = atomic_write_bytes(str(tmp_path / "a.bin"), b"\x00\xff")
    assert result == tmp_path / "a.bin"
    assert result.read_bytes() == b"\x00\xff"
    atomic_write_bytes(result, b"")  # an empty file is a file too
    assert result.read_bytes() == b""
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_a_short_os_write_is_continued_until_every_byte_is_written(tmp_path, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:3])))
    data = bytes(range(256)) * 4
    assert atomic_write_bytes(tmp_path / "a.bin", data).read_bytes() == data


# ----------------------------------------------------------------------- append_line


def _counting(monkeypatch, name):
    calls = []
    real = getattr(os, name)

    def counted(*args):
        calls.append(args)
        return real(*args)
    monkeypatch.setattr(os, name, counted)
    return calls


def test_append_line_adds_one_line_per_call_with_one_write_and_one_fsync(tmp_path, monkeypatch):
    path = tmp_path / "results.jsonl"
    path.write_bytes(b'{"old": true}\n')
    writes, syncs = _counting(monkeypatch, "write"), _counting(monkeypatch, "fsync")
    for i in range(3):
        append_line(path, json.dumps({"i": i}).encode() + b"\n")
        assert (len(writes), len(syncs)) == (i + 1, i + 1)
    assert path.read_bytes() == b'{"old": true}\n{"i": 0}\n{"i": 1}\n{"i": 2}\n'
    assert [json.loads(line) for line in path.read_text().splitlines()][1:] == [
        {"i": 0}, {"i": 1}, {"i": 2}]


def test_append_line_creates_the_file_and_accepts_str_paths(tmp_path):
    path = tmp_path / "new.jsonl"
    append_line(str(path), b"first\n")
    append_line(path, b"\n")  # an empty line is one line
    assert path.read_bytes() == b"first\n\n"


def test_append_line_finishes_a_line_the_kernel_took_only_part_of(tmp_path, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:2])))
    path = tmp_path / "r.jsonl"
    append_line(path, b'{"a": 12345}\n')
    append_line(path, b'{"b": 6}\n')
    assert path.read_bytes() == b'{"a": 12345}\n{"b": 6}\n'


NOT_ONE_LINE = [("str", "text\n"), ("bytearray", bytearray(b"x\n")),
                ("memoryview", memoryview(b"x\n")), ("None", None), ("two-lines", b"a\nb\n"),
                ("no-newline", b"no newline"), ("empty", b""), ("two-empty-lines", b"\n\n"),
                ("a-line-and-an-empty-one", b"a\n\n")]


@pytest.mark.parametrize("line", [row[1] for row in NOT_ONE_LINE],
                         ids=[row[0] for row in NOT_ONE_LINE])
def test_append_line_refuses_anything_but_one_newline_ended_line_of_bytes(tmp_path, line):
    path, absent = tmp_path / "r.jsonl", tmp_path / "absent.jsonl"
    path.write_bytes(b"kept\n")
    for target in (path, absent):
        with pytest.raises(FnnError, match="^line must "):
            append_line(target, line)
    assert path.read_bytes() == b"kept\n"
    assert not absent.exists()  # refused before the file is opened


def test_append_line_raises_type_error_for_non_bytes_and_value_error_for_bad_bytes(tmp_path):
    # STYLE.md: TypeError for the wrong kind of object, ValueError for a bad value, and the
    # message names what came (as atomic_write_bytes does: "data must be bytes, got str")
    path = tmp_path / "r.jsonl"
    for line in ("text\n", bytearray(b"x\n"), None):
        with pytest.raises(FnnTypeError, match=f"got {type(line).__name__}"):
            append_line(path, line)
    for line in (b"a\nb\n", b"no newline", b""):
        with pytest.raises(FnnError) as info:
            append_line(path, line)
        assert isinstance(info.value, ValueError), type(info.value).__mro__
    assert not path.exists()


# ----------------------------------------------------------------------- strict JSON


def test_read_json_is_strict_for_every_kind_of_file(tmp_path):
    path = tmp_path / "ckpt.json"
    path.write_text('{"epoch": 3, "history": [{"cost": 0.5}]}')
    assert read_json(path, what="checkpoint") == {"epoch": 3, "history": [{"cost": 0.5}]}
    path.write_text('{"history": [{"cost": 0.5}, {"cost": -1e999}]}')
    with pytest.raises(ModelFormatError,
                       match=r"ckpt\.json: history\[1\]\.cost: expected a finite number"):
        read_json(path, what="checkpoint")
    path.write_text('{"odd key": {"a": 1, "a": 2}}')
    with pytest.raises(ModelFormatError, match=r'ckpt\.json: \["odd key"\]: duplicate key "a"'):
        read_json(path, what="checkpoint")
    path.write_bytes(b"")
    with pytest.raises(ModelFormatError, match="empty file; expected a JSON checkpoint file"):
        read_json(path, what="checkpoint")


def test_read_json_names_the_file_and_passes_os_errors_through(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("[1, NaN]")
    with pytest.raises(ModelFormatError) as info:
        read_json(str(path))
    assert str(info.value) == f"{path}: [1]: expected a finite number, got NaN"
    with pytest.raises(FileNotFoundError):
        read_json(tmp_path / "missing.json")
    with pytest.raises(IsADirectoryError):
        read_json(tmp_path)


BIG = "9" * 5000
BAD_JSON = [
    ("nan", b'{"a": NaN}', "a: expected a finite number, got NaN"),
    ("infinity", b"[1, Infinity]", "[1]: expected a finite number, got Infinity"),
    ("minus-infinity", b'{"a": [-Infinity]}', "a[0]: expected a finite number, got -Infinity"),
    ("overflow", b'{"a": {"b": 1e400}}', "a.b: expected a finite number, got 1e400"),
    ("first-of-several", b'{"a": [1, NaN], "b": Infinity}',
     "a[1]: expected a finite number, got NaN"),
    ("duplicate-key", b'{"a": 1, "a": 2}', 'top level: duplicate key "a"'),
    ("nested-duplicate-key", b'{"run": {"seed": 0, "seed": 1}}', 'run: duplicate key "seed"'),
    ("duplicate-drops-a-nan", b'{"cost": NaN, "cost": 1}', 'top level: duplicate key "cost"'),
    ("odd-key", b'{"odd key": [{"a": 1, "a": 2}]}', '["odd key"][0]: duplicate key "a"'),
    ("empty", b"", "empty file; expected a JSON model file"),
    ("whitespace", b" \n", "line 2 column 1: unexpected end of file (truncated?)"),
    ("truncated", b'{"a": [1, 2', "line 1 column 12: unexpected end of file (truncated?)"),
    ("truncated-in-a-string", b'{"abc',
     "line 1 column 2: unexpected end of file inside a string (truncated?)"),
    ("garbage-after", b"{} }", "line 1 column 4: Extra data"),
    ("not-utf8", b"\xff\xfe{\x00}\x00",
     "byte 0: not UTF-8 (invalid start byte); a model file is UTF-8 JSON"),
    ("bom", "\ufeff{}".encode(), "line 1 column 1: Unexpected UTF-8 BOM"),
    ("too-deep", b"[" * 100_000, "lists or objects nested too deeply"),
    ("too-many-digits", b'{"n": ' + BIG.encode() + b"}",
     "a number has too many digits: an integer of 5,000 digits; at most 4,300"),
]


@pytest.mark.parametrize(("data", "message"), [row[1:] for row in BAD_JSON],
                         ids=[row[0] for row in BAD_JSON])
def test_parse_json_refuses_what_fnn_never_writes_naming_source_and_place(data, message):
    with pytest.raises(ModelFormatError) as info:
        parse_json(data, source="x.json", what="model")
    assert str(info.value).startswith(f"x.json: {message}"), str(info.value)


def test_parse_json_raises_the_error_class_and_kind_of_file_it_is_given():
    with pytest.raises(DatasetFormatError, match="^r.jsonl: empty file; expected a JSON "
                                                 "results file$"):
        parse_json(b"", source="r.jsonl", what="results", error=DatasetFormatError)
    with pytest.raises(CheckpointMismatchError, match=r"^c: a: expected a finite number"):
        parse_json(b'{"a": NaN}', source="c", what="checkpoint", error=CheckpointMismatchError)


def test_parse_json_keeps_big_ints_and_the_shortest_float_text_exactly():
    data = b'{"n": 12345678901234567890, "x": [5e-324, -0.0, 0.1, 1.7976931348623157e308]}'
    value = parse_json(data, source="s", what="model")
    assert value["n"] == 12345678901234567890 and type(value["n"]) is int
    assert value["x"] == [5e-324, -0.0, 0.1, 1.7976931348623157e308]
    assert math.copysign(1.0, value["x"][1]) == -1.0


FINITE_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=3),
    max_leaves=10)


@settings(max_examples=200, deadline=None)
@given(value=FINITE_JSON)
def test_parse_json_reads_whatever_json_dumps_writes_without_nan(value):
    text = json.dumps(value, allow_nan=False)
    assert parse_json(text.encode(), source="s", what="model") == json.loads(text)


def test_key_path_quotes_keys_that_are_not_identifiers():
    assert key_path("", "seed") == "seed"
    assert key_path("metadata", "seed") == "metadata.seed"
    assert key_path("metadata", "a b") == 'metadata["a b"]'
    assert key_path("", "1x") == '["1x"]'
    long = key_path("m", "k " * 40)
    assert long.startswith('m["k k') and long.endswith('...]') and len(long) == len("m[]") + 40
    assert key_path("m", "é") == "m.é"  # a Python identifier, so no quotes


# ----------------------------------------------------------------------- loading files from elsewhere


def test_load_errors_turns_any_failure_into_the_loaders_error_keeping_the_cause():
    for raised, message in ((MemoryError(), "m.json: ran out of memory while reading it"),
                            (RecursionError(), "m.json: nested too deeply to read"),
                            (KeyError("k"), ("m.json: could not be read (KeyError: 'k'); "
                                             "please report this as a bug in fnn")),
                            (ValueError("v" * 10_000), "could not be read (ValueError: vvv")):
        with pytest.raises(ModelFormatError) as info, load_errors("m.json", ModelFormatError):
            raise raised
        assert str(info.value).startswith(message) or message in str(info.value)
        assert len(str(info.value)) < 400 and info.value.__cause__ is raised
    for passing in (OSError(errno.EIO, "io"), FileNotFoundError(), DatasetFormatError("d"),
                    CheckpointMismatchError("c")):
        with pytest.raises(type(passing)) as info, load_errors("m.json", ModelFormatError):
            raise passing
        assert info.value is passing


def _loaders(tmp_path):
    """(load, the module function a failure is injected into, the loader's error class)."""
    from fnn import checkpoint, serialization
    from fnn.datasets import idx, load_idx, load_pickle, safe_pickle
    from fnn.errors import CheckpointFormatError, ResultsFormatError
    from fnn.sweep import results
    from fnn.sweep.results import read_results

    from .mnist_files import pixel_splits, write_idx_folder
    (tmp_path / "m.pkl").write_bytes(__import__("pickle").dumps(pixel_splits(1)))
    write_idx_folder(tmp_path / "idx")
    (tmp_path / "m.json").write_text('{"sizes": [1, 1], "weights": [[[0.5]]], "biases": '
                                     '[[[0.5]]], "cost": "QuadraticCost"}')
    (tmp_path / "c.ckpt").write_text('{"format": "fnn.checkpoint", "format_version": 2}')
    (tmp_path / "r.jsonl").write_text('{"format": "fnn.sweep-result"}\n')
    return [
        (lambda: load_pickle(tmp_path / "m.pkl"), safe_pickle, "_ndarray", DatasetFormatError,
         tmp_path / "m.pkl"),
        (lambda: load_idx(tmp_path / "idx"), idx, "_parse_idx", DatasetFormatError,
         tmp_path / "idx"),
        (lambda: serialization.load(tmp_path / "m.json"), serialization, "_model",
         ModelFormatError, tmp_path / "m.json"),
        (lambda: checkpoint.read_checkpoint(tmp_path / "c.ckpt"), checkpoint, "_checkpoint",
         CheckpointFormatError, tmp_path / "c.ckpt"),
        (lambda: read_results(tmp_path / "r.jsonl"), results, "_result", ResultsFormatError,
         tmp_path / "r.jsonl"),
    ]


@pytest.mark.parametrize("index", range(5), ids=["pickle", "idx", "model", "checkpoint",
                                                 "results"])
@pytest.mark.parametrize("failure", [MemoryError, ZeroDivisionError])
def test_every_loader_raises_its_own_error_naming_the_file_whatever_fails_inside(
        tmp_path, monkeypatch, index, failure):
    load, module, name, error, path = _loaders(tmp_path)[index]

    def fail(*_args, **_kwargs):
        raise failure("injected")
    monkeypatch.setattr(module, name, fail)
    with pytest.raises(error) as info:
        load()
    assert str(path) in str(info.value) and type(info.value.__cause__) is failure
    assert ("ran out of memory" if failure is MemoryError else "please report") in str(info.value)


def test_read_capped_allocates_only_what_the_file_holds(tmp_path):
    path = tmp_path / "small.json"
    path.write_bytes(b"[1]")
    tracemalloc.start()
    try:
        assert read_capped(path, 2**30, what="model") == b"[1]"
        assert tracemalloc.get_traced_memory()[1] < 2**20  # not the cap's gigabyte
    finally:
        tracemalloc.stop()
    with pytest.raises(ModelFormatError, match=r"small\.json: more than 2 bytes; fnn reads "
                                               r"model files of at most 2 bytes"):
        read_capped(path, 2, what="model")


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux's /proc")
def test_read_capped_reads_files_that_say_they_are_empty():
    status = read_capped("/proc/self/status", 2**20, what="status")  # st_size is 0
    assert status.startswith(b"Name:") and len(status) > 100


def test_the_json_caps_are_checked_before_parsing(monkeypatch):
    monkeypatch.setattr(files, "MAX_JSON_BYTES", 10)
    with pytest.raises(ModelFormatError, match=r"x\.json: more than 10 bytes; fnn reads model "
                                               r"files of at most 10 bytes \(MAX_JSON_BYTES\)"):
        parse_json(b"[" + b"1," * 10 + b"1]", source="x.json", what="model")
    monkeypatch.setattr(files, "MAX_JSON_BYTES", 2**20)
    monkeypatch.setattr(files, "MAX_JSON_VALUES", 5)
    assert parse_json(b'{"a": [1, 2]}', source="x.json", what="model") == {"a": [1, 2]}
    with pytest.raises(ModelFormatError, match=r"x\.json: up to 6 values; fnn reads model files "
                                               r"of at most 5 values \(MAX_JSON_VALUES\)"):
        parse_json(b'{"a": [1, 2, 3]}', source="x.json", what="model")


def test_a_refused_value_deep_inside_nested_lists_is_placed_in_a_bounded_message():
    data = b"[" * 800 + b"NaN" + b"]" * 800
    with pytest.raises(ModelFormatError) as info:
        parse_json(data, source="x.json", what="model")
    message = str(info.value)
    assert message.startswith("x.json: [0][0][0]") and message.endswith("got NaN")
    assert "..." in message and len(message) < 300


# the shapes that cost the most memory per byte of file (README: "Loading files from elsewhere")
WORST_JSON = {
    "empty lists": b"[" + b"[]," * 100_000 + b"[]]",
    "one-key objects": b"[" + b'{"":0},' * 50_000 + b"{}]",
    "nested pairs": b"[" + b"[[]]," * 80_000 + b"[]]",
    "floats": b"[" + b"0.5," * 100_000 + b"0]",
    "astral text": b'["\xf0\x9f\x98\x80' + b"a" * 400_000 + b'"]',
    "duplicate keys": b"[" + b'{"a":0,"a":0},' * 30_000 + b"{}]",
}


@pytest.mark.parametrize("data", WORST_JSON.values(), ids=WORST_JSON.keys())
def test_parsing_json_costs_at_most_40_bytes_per_byte_of_file(data):
    tracemalloc.start()
    try:
        with contextlib.suppress(ModelFormatError):
            parse_json(data, source="x.json", what="model")
        used = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert used < 40 * len(data), used / len(data)


# ----------------------------------------------------------------------- crash safety


def test_the_next_write_removes_temporary_files_whose_writer_is_gone(tmp_path):
    target = tmp_path / "run.ckpt"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    names = {f".run.ckpt.{dead}-0123abcd.tmp": "orphan",  # its process has exited
             f".run.ckpt.{os.getppid()}-0123abcd.tmp": "live",  # a running process's
             f".run.ckpt.{os.getpid()}-0123abcd.tmp": "ours",  # this process's
             f".other.ckpt.{dead}-0123abcd.tmp": "another file's",
             f".run.ckpt.{dead}-0123abcd.tmp.keep": "not a temporary name"}
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    atomic_write_bytes(target, b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        {*names, "run.ckpt"} - {f".run.ckpt.{dead}-0123abcd.tmp"})


def _temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def _kill_at_random_moments(write_forever, check, folder: Path, *, rounds: int, seed: int,
                            cycle: float, inside: int = 0) -> int:
    """Fork a child running ``write_forever``, SIGKILL it after a random delay of up to three
    write ``cycle``s, ``check`` the files: ``rounds`` times, and more (up to 200) until
    ``inside`` kills left a temporary file, i.e. landed inside a write. Returns how many did.
    The child's disk is slow (each fsync waits 10 ms), so that many do."""
    rng, mid_write = random.Random(seed), 0
    for done in itertools.count():
        if done >= 200 or (done >= rounds and mid_write >= inside):
            return mid_write
        ready, started = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child writes until it is killed
            try:
                os.fsync = lambda fd, fsync=os.fsync: (time.sleep(0.01), fsync(fd))  # slow disk
                write_forever(lambda fd=started: os.write(fd, b"."))
            finally:
                os._exit(1)
        os.close(started)
        os.read(ready, 1)  # the child has finished its first write: it runs at full speed
        os.close(ready)
        time.sleep(rng.uniform(0.0, 3 * cycle))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        check()
        left = _temporaries(folder)
        assert len(left) <= 1, left  # a write removes the temporaries of the dead first
        mid_write += bool(left)
    raise AssertionError("unreachable")


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="kills a forked child")
@pytest.mark.parametrize("kind", ["save", "checkpoint"])
def test_a_writer_killed_at_any_moment_leaves_the_previous_file_and_no_growing_debris(
        tmp_path, kind):
    import fnn
    from fnn.checkpoint import read_checkpoint, sgd_checkpointed, write_checkpoint
    from fnn.params import init_params
    from fnn.serialization import load, save

    path = tmp_path / "file.json"
    params = [init_params([784, 100, 10], seed=seed) for seed in (0, 1)]  # 1.7 MB each
    if kind == "save":
        def write(i):
            save(path, params[i % 2], cost=fnn.cross_entropy, metadata={"i": i % 2})
        read = load
    else:
        data = (np.random.default_rng(0).random((8, 784)), np.arange(8) % 10)
        sgd_checkpointed(params[0], data, checkpoint=path, epochs=2, mini_batch_size=4,
                         eta=0.1, lmbda=0.0, cost=fnn.cross_entropy, seed=0)
        first = read_checkpoint(path)
        checkpoints = [first, first._replace(state=first.state._replace(params=params[1]))]

        def write(i):
            write_checkpoint(path, checkpoints[i % 2])
        read = read_checkpoint
    write(0)
    versions = {path.read_bytes()}
    started = time.perf_counter()
    write(1)
    cycle = time.perf_counter() - started
    versions.add(path.read_bytes())

    def write_forever(first_done):
        for i in itertools.count():
            write(i)
            if i == 0:
                first_done()

    def check():
        assert path.read_bytes() in versions  # one whole version, never a mix
        read(path)

    mid_write = _kill_at_random_moments(write_forever, check, tmp_path, rounds=40, seed=12,
                                        cycle=cycle, inside=5)
    assert mid_write >= 5, mid_write  # the kills did land inside writes
    write(0)  # the next run: no temporary file is left behind
    assert _temporaries(tmp_path) == []


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="kills a forked child")
def test_a_results_append_killed_at_any_moment_leaves_every_earlier_line(tmp_path):
    from fnn.data import Labelled
    from fnn.sweep import SweepData, base_run, jobs, make_sweep, read_results, run_sweep
    from fnn.sweep.results import finished

    rng = np.random.default_rng(0)
    data = SweepData(Labelled(rng.random((8, 784)), np.arange(8) % 10),
                     Labelled(rng.random((4, 784)), np.arange(4)))
    sweep = make_sweep(base_run(sizes=(784, 30, 10), epochs=1, mini_batch_size=4), seeds=1)
    source = tmp_path / "one.jsonl"
    run_sweep(sweep, data, results=source)
    line = source.read_bytes()  # one job's line, 0.5 MB
    path = tmp_path / "results.jsonl"
    stamp = read_results(source).results[0].data

    def write_forever(first_done):
        append_line(path, line)
        first_done()
        while True:
            append_line(path, line)

    def check():
        loaded = read_results(path)  # every complete line reads; a torn one is measured
        assert len(loaded.results) >= 1
        assert path.stat().st_size == len(loaded.results) * len(line) + loaded.torn
        finished(path, jobs(sweep), stamp)  # the next run cuts the torn line off
        assert path.stat().st_size % len(line) == 0
        assert path.read_bytes() == line * (path.stat().st_size // len(line))
        os.truncate(path, len(line))  # back to the first line: each round costs the same

    started = time.perf_counter()
    append_line(path, line)  # the file as the previous run left it
    cycle = time.perf_counter() - started
    _kill_at_random_moments(write_forever, check, tmp_path, rounds=40, seed=3, cycle=cycle)


def test_a_file_full_of_refusals_remembers_only_the_first_hundred():
    many = b"[" + b'{"a":0,"a":0},' * 200_000 + b"{}]"  # 200,000 objects with a duplicate
    tracemalloc.start()
    try:
        with pytest.raises(ModelFormatError, match=r'^x\.json: \[0\]: duplicate key "a"$'):
            parse_json(many, source="x.json", what="model")
        assert tracemalloc.get_traced_memory()[1] < 40 * len(many)
    finally:
        tracemalloc.stop()
    # the hundred remembered were all replaced by a duplicate key: the problem, without place
    replaced = b'{"x": [' + b"NaN, " * 100 + b'0], "x": 1}'
    with pytest.raises(ModelFormatError, match=r"^x\.json: expected a finite number, got NaN$"):
        parse_json(replaced, source="x.json", what="model")
