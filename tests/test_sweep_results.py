"""The results file: one JSON line per job, read back bit for bit, checked field by field."""

from __future__ import annotations

import json
import re
import tracemalloc

import numpy as np
import pytest

from fnn import files
from fnn.data import Labelled
from fnn.errors import ModelFormatError, ResultsFormatError
from fnn.params import tree_equal
from fnn.sweep import (
    FORMAT,
    make_sweep,
    parse_result,
    read_results,
    result_line,
    run_job,
    run_sweep,
)
from fnn.sweep import jobs as plan_jobs
from fnn.sweep.results import FORMAT_VERSION
from fnn.training.run import run_to_json, with_settings

from .sweep_runs import BASE, CHAPTER3, GRID, sweep_data


@pytest.fixture(scope="module")
def data():
    return sweep_data()


@pytest.fixture(scope="module")
def serial(data, tmp_path_factory):
    """The 2 × 2 × 3 sweep run in this process: (results, results file)."""
    path = tmp_path_factory.mktemp("serial") / "results.jsonl"
    return run_sweep(make_sweep(BASE, grid=GRID, seeds=3), data, results=path), path


def test_a_line_records_the_run_by_name_not_the_old_config(serial):
    results, path = serial
    record = json.loads(path.read_bytes().splitlines()[4])
    assert (record["format"], record["format_version"]) == (FORMAT, FORMAT_VERSION) == (
        "fnn.sweep-result", 2)
    assert "config" not in record
    assert record["run"] == run_to_json(results[4].job.run, seed=False)
    assert record["run"]["optimizer"] == {"name": "gradient_descent", "eta": 0.1}
    assert record["overrides"] == {"eta": 0.1, "lmbda": 5.0}
    assert record["seed"] == {"root": 0, "spawn_index": 1}


def test_a_bad_line_before_the_end_is_an_error_not_skipped(serial, tmp_path):
    lines = serial[1].read_bytes().splitlines(keepends=True)
    path = tmp_path / "r.jsonl"
    path.write_bytes(lines[0] + b"{not json\n" + lines[1])
    with pytest.raises(ModelFormatError, match=r"r\.jsonl: line 2: not a JSON line"):
        read_results(path)
    record = json.loads(lines[0])
    for change, message in (
            (dict(job_id="0" * 16), "is not the hash of its run and seed"),
            (dict(status="fine"), "status must be 'ok' .no error, params."),
            (dict(status="failed"), "with the error text, got 'failed', error None"),
            (dict(format_version=1), (r"format_version must be 2, got 1 \(written by fnn 0\.1: "
                                      r"run the sweep again\)")),
            (dict(format_version=3), "format_version must be 2, got 3$"),
            (dict(extra=1), "keys must be"),
            (dict(timing={"wall_seconds": "1"}), "timing must be"),
            (dict(overrides={"momentum": 1}), "run: unknown setting 'momentum' in overrides"),
            (dict(run={**record["run"], "optimizer": {"name": "rmsprop"}}),
             "run: unknown optimizer 'rmsprop'"),
            (dict(seed={"root": -1, "spawn_index": 0}), "seed must be"),
            (dict(blas_threads="1"), "blas_threads must be int or null, got '1'")):
        with pytest.raises(ModelFormatError, match=message):
            parse_result(json.dumps({**record, **change}))


def test_a_line_of_fnn_0_1_names_the_version_that_wrote_it(serial):
    record = json.loads(serial[1].read_bytes().splitlines()[0])
    old = {**record, "format_version": 1, "config": record["run"]}
    del old["run"]
    with pytest.raises(ModelFormatError, match=r"results\.jsonl: line 1: format_version must be "
                                               r"2, got 1 \(written by fnn 0\.1"):
        parse_result(json.dumps(old), source="results.jsonl: line 1")


def test_a_result_line_reads_back_bit_for_bit_in_float32_too(data):
    [job] = plan_jobs(make_sweep(with_settings(BASE, dtype="float32", epochs=1), seeds=1))
    result = run_job(job, data._replace(training=Labelled(data.training.x.astype(np.float32),
                                                          data.training.labels)))
    back = parse_result(result_line(result))
    assert back.params.weights[0].dtype == np.float32 and tree_equal(back.params, result.params)
    assert back.history == result.history and back.job == result.job
    assert result_line(back) == result_line(result)
    untimed = parse_result(result_line(result, timing=False))
    assert untimed.wall_seconds is None and result_line(untimed, timing=False) == result_line(
        result, timing=False)


def test_chapter3_runs_read_back_as_the_same_values(data, tmp_path):
    path = tmp_path / "r.jsonl"
    results = run_sweep(make_sweep(BASE, overrides=CHAPTER3, seeds=1), data, results=path)
    back = read_results(path).results
    assert [r.job for r in back] == [r.job for r in results]  # runs and overrides, as values
    for original, reread in zip(results, back):
        assert dict(reread.job.overrides) == dict(original.job.overrides)
        assert reread.params.weights[0].dtype == np.dtype(original.job.run.dtype)
        assert tree_equal(reread.params, original.params) and reread.history == original.history
        assert result_line(reread) == result_line(original)
    record = json.loads(path.read_bytes().splitlines()[0])
    assert record["overrides"] == {"optimizer": {"name": "momentum", "eta": 0.1, "mu": 0.9},
                                   "activation": "relu", "init": "he"}
    dtypes = {json.loads(line)["run"]["dtype"] for line in path.read_bytes().splitlines()}
    assert dtypes == {"float32", "float64"}


def test_a_torn_last_line_is_left_out_and_measured(serial, tmp_path):
    lines = serial[1].read_bytes().splitlines(keepends=True)
    path = tmp_path / "r.jsonl"
    path.write_bytes(lines[0] + lines[1][:-1])  # the newline never made it
    loaded = read_results(path)
    assert len(loaded.results) == 1 and loaded.torn == len(lines[1]) - 1
    assert result_line(loaded.results[0]) == lines[0]
    path.write_bytes(b"")
    assert read_results(path) == ((), 0)


# --- reading results files from elsewhere (issue 12) -------------------------------------------


def _good_line(serial) -> bytes:
    return serial[1].read_bytes().splitlines(keepends=True)[0]


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace('"format_version":2', '"format_version":NaN', 1),
     "format_version: expected a finite number, got NaN"),
    (lambda t: t.replace('"format_version":2', '"format_version":1e400', 1), "got 1e400"),
    (lambda t: t.replace('"status":"ok"', '"status":"ok","status":"ok"', 1),
     'duplicate key "status"'),
    (lambda t: "\n", "an empty line"),
])
def test_a_line_is_read_as_strict_json(serial, tmp_path, change, message):
    path = tmp_path / "r.jsonl"
    path.write_text(change(_good_line(serial).decode()).rstrip("\n") + "\n")
    with pytest.raises(ResultsFormatError, match=re.escape("r.jsonl: line 1: ")) as info:
        read_results(path)
    assert message in str(info.value) and isinstance(info.value, ModelFormatError)


@pytest.mark.parametrize(("key", "value"), [
    ("status", "x" * 100_000), ("error", "y" * 100_000), ("seed", {"root": list(range(10**5))}),
    ("versions", {str(i): i for i in range(10**4)}), ("blas_threads", "z" * 100_000),
    ("timing", {"wall_seconds": "w" * 100_000}), ("history", {"format": "f" * 100_000}),
    ("overrides", {"eta": "e" * 100_000}), ("format_version", "v" * 100_000),
    ("job_id", "j" * 100_000), ("extra", 0)])
def test_a_bad_field_is_shown_cut_however_big_it_is(serial, tmp_path, key, value):
    record = json.loads(_good_line(serial))
    record[key] = value
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(ResultsFormatError) as info:
        read_results(path)
    assert str(path) in str(info.value) and len(str(info.value)) < len(str(path)) + 1000


def test_a_torn_last_line_of_any_length_is_measured_without_being_held(serial, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setattr(files, "MAX_JSON_BYTES", 2**20)
    good = _good_line(serial)
    path = tmp_path / "r.jsonl"
    path.write_bytes(good + b"{" * (5 * 2**20))  # a writer killed after 5 MiB of its line
    tracemalloc.start()
    try:
        loaded = read_results(path)
        used = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (len(loaded.results), loaded.torn) == (1, 5 * 2**20)
    assert used < 4 * 2**20  # a line's worth, not the 5 MiB
    path.write_bytes(good + b"{" * (2**20 + 1) + b"\n" + good)
    with pytest.raises(ResultsFormatError, match=r"r\.jsonl: line 2: more than 1,048,576 "
                                                 r"bytes \(MAX_JSON_BYTES\)"):
        read_results(path)
    path.write_bytes(good.rstrip(b"\n") + b" " * (2**20 - len(good) + 1) + b"\n")
    assert len(read_results(path).results) == 1  # exactly the cap, and its newline


def test_a_line_records_its_engine_family_and_older_lines_were_numpys(serial, tmp_path):
    record = json.loads(_good_line(serial))
    assert record["engine"] in ("numpy", "numba")
    path = tmp_path / "r.jsonl"
    del record["engine"]  # as written before the compiled epoch existed
    path.write_text(json.dumps(record) + "\n")
    assert read_results(path).results[0].engine == "numpy"
    record["engine"] = "tpu"
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(ResultsFormatError, match=r"engine must be one of \['numpy', 'numba'\] "
                                                 r"or null, got 'tpu'"):
        read_results(path)
