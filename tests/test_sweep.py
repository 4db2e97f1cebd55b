"""Sweeps: expansion and seeds, bit-exact runs serially / on a process pool / on Dask,
resuming, failures, summaries, the results file and ``fnn sweep``."""

from __future__ import annotations

import csv
import io
import json
import statistics
import sys

import numpy as np
import pytest

from fnn import cli, sweep_cli
from fnn.costs import COSTS
from fnn.data import Labelled
from fnn.datasets import load_sample
from fnn.errors import (
    CheckpointMismatchError,
    ConfigError,
    FnnTypeError,
    ModelFormatError,
)
from fnn.params import init_params, tree_equal
from fnn.sweep import (
    JobSeed,
    SweepData,
    SweepExecutorError,
    check_data,
    expand,
    job_id,
    local_pool,
    make_sweep,
    parse_result,
    read_results,
    result_line,
    run_job,
    run_sweep,
    seed_sequence,
    summarize,
    summary_csv,
    summary_json,
    summary_text,
    sweep_config,
)
from fnn.training import sgd

BASE = sweep_config(sizes=[784, 10, 10], epochs=2)
GRID = {"eta": [0.1, 0.5], "lmbda": [1.0, 5.0]}
SMALL = ["--sizes", "784,10,10", "--epochs", "2", "--training-rows", "1000",
         "--evaluation-rows", "500"]


@pytest.fixture(scope="module")
def data():
    sample = load_sample(dtype=np.float64)
    return SweepData(Labelled(sample.training.x[:1000], sample.training.labels[:1000]),
                     Labelled(sample.test.x[:500], sample.test.labels[:500]))


@pytest.fixture(scope="module")
def sweep():
    return make_sweep(BASE, grid=GRID, seeds=3)


@pytest.fixture(scope="module")
def serial(data, sweep, tmp_path_factory):
    """The 2 × 2 × 3 sweep run in this process: (results, results file)."""
    path = tmp_path_factory.mktemp("serial") / "results.jsonl"
    return run_sweep(sweep, data, results=path), path


def canonical(path):
    """The file's records without their timing, ordered by job id: what must not vary."""
    lines = path.read_bytes().splitlines(keepends=True)
    results = [parse_result(line) for line in lines]
    assert [result_line(r) for r in results] == lines  # every line reads back to its bytes
    return b"".join(sorted(result_line(r, timing=False) for r in results))


# --- expansion and seeds ---------------------------------------------------------------------


def test_expansion_is_deterministic_and_in_grid_order(sweep):
    jobs = expand(sweep)
    assert jobs == expand(make_sweep(BASE, grid=GRID, seeds=3))
    assert len(jobs) == 12 and len({j.job_id for j in jobs}) == 12
    assert [dict(j.overrides) for j in jobs[::3]] == [
        {"eta": 0.1, "lmbda": 1.0}, {"eta": 0.1, "lmbda": 5.0},
        {"eta": 0.5, "lmbda": 1.0}, {"eta": 0.5, "lmbda": 5.0}]
    assert [j.seed for j in jobs[:3]] == [JobSeed(0, 0), JobSeed(0, 1), JobSeed(0, 2)]
    assert jobs[4].config == BASE._replace(eta=0.1, lmbda=5.0)
    assert jobs[4].job_id == job_id(jobs[4].config, jobs[4].seed)


def test_more_seeds_never_change_the_earlier_jobs():
    three, five = (expand(make_sweep(BASE, grid=GRID, seeds=n, root_seed=7)) for n in (3, 5))
    for c in range(4):
        assert five[5 * c:5 * c + 3] == three[3 * c:3 * c + 3]
    for i in range(5):  # child i is the i-th spawned child, however many are spawned
        spawned = np.random.SeedSequence(7).spawn(i + 1 + 3 * (i % 2))[i]
        assert (seed_sequence(JobSeed(7, i)).generate_state(8)
                == spawned.generate_state(8)).all()


def test_an_equal_value_spelled_otherwise_is_the_same_job():
    a = make_sweep(BASE, overrides=[{"lmbda": 1, "sizes": (784, 10, 10)}], seeds=1)
    b = make_sweep(BASE._replace(lmbda=1.0), seeds=1)
    assert expand(a)[0].job_id == expand(b)[0].job_id


def test_an_explicit_seed_reproduces_plain_training(data):
    [job] = expand(make_sweep(BASE, seeds=[3]))
    result = run_job(job, data)
    params, history = sgd(init_params([784, 10, 10], seed=3), data.training, epochs=2,
                          mini_batch_size=10, eta=0.5, lmbda=5.0, cost="cross_entropy", seed=3,
                          evaluation_data=data.evaluation, monitor_evaluation_cost=True,
                          monitor_evaluation_accuracy=True)
    assert result.status == "ok" and tree_equal(result.params, params)
    assert result.history == history


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: sweep_config(eta=float("nan")), ConfigError, "eta must be a finite number > 0, got nan"),
    (lambda: sweep_config(seed=1), ConfigError, "a sweep setting must be one of"),
    (lambda: sweep_config(cost="hinge"), ConfigError,
     f"cost must be one of {sorted(COSTS)}, got 'hinge'"),
    (lambda: sweep_config(epochs=True), FnnTypeError, "epochs must be an int >= 0, got True"),
    (lambda: make_sweep(BASE, grid={"eta": []}), ConfigError, "grid eta must be a non-empty list"),
    (lambda: make_sweep(BASE, grid={"eta": [1]}, overrides=[{}]), ConfigError, "not both"),
    (lambda: make_sweep(BASE, overrides=[{"eta": 1}, {"eta": 1.0}]), ConfigError,
     "overrides give the same config twice: (('eta', 1.0),)"),
    (lambda: make_sweep(BASE, seeds=0), ConfigError, "seeds must be an int >= 1, got 0"),
    (lambda: make_sweep(BASE, seeds=[1, 1]), ConfigError, "seeds must not repeat, got [1, 1]"),
    (lambda: make_sweep(BASE, seeds=[1], root_seed=2), ConfigError,
     "root_seed is only used with a count of seeds"),
    (lambda: make_sweep(BASE, root_seed=-1), ConfigError, "root_seed must be an int >= 0, got -1"),
    (lambda: make_sweep({"eta": 1}), FnnTypeError, "base must be a SweepConfig, got dict"),
])
def test_bad_sweeps_name_the_argument_and_value(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_configs_the_data_cannot_serve_are_refused_before_anything_runs(data, tmp_path):
    for settings, message in ((dict(sizes=[784, 10, 3]), "at least 10 outputs"),
                              (dict(sizes=[100, 10]), "start with the data's 784 inputs"),
                              (dict(mini_batch_size=1001), "<= the 1000 training examples")):
        with pytest.raises(ConfigError, match=message):
            run_sweep(make_sweep(BASE._replace(**settings)), data, results=tmp_path / "r.jsonl")
    assert not (tmp_path / "r.jsonl").exists()
    with pytest.raises(FnnTypeError, match="data must be a SweepData"):
        check_data(make_sweep(BASE), (data.training, data.evaluation))


# --- the same bytes on every executor --------------------------------------------------------


def test_serial_results_are_complete_and_in_job_order(serial, sweep):
    results, path = serial
    assert [r.job for r in results] == list(expand(sweep))
    assert {r.status for r in results} == {"ok"}
    assert all(len(r.history) == 2 and r.blas_threads == 1 for r in results)
    assert all(r.wall_seconds > 0 for r in results)
    assert len(path.read_bytes().splitlines()) == 12
    record = json.loads(path.read_bytes().splitlines()[0])
    assert sorted(record["versions"]) == ["fnn", "numpy", "python"]
    assert record["seed"] == {"root": 0, "spawn_index": 0} and record["status"] == "ok"


def test_a_two_process_pool_gives_the_serial_bytes(serial, sweep, data, tmp_path):
    path = tmp_path / "pool.jsonl"
    with local_pool(2, data) as pool:
        run_sweep(sweep, data, pool, results=path)
    assert canonical(path) == canonical(serial[1])


@pytest.mark.slow
def test_a_dask_local_cluster_gives_the_serial_bytes(serial, sweep, data, tmp_path):
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (pip install 'fnn[sweep]')")
    from fnn.sweep import dask_executor

    path = tmp_path / "dask.jsonl"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client, dask_executor(client, data) as backend:
        results = run_sweep(sweep, data, backend, results=path)
    assert {r.blas_threads for r in results} == {1}
    assert canonical(path) == canonical(serial[1])


def test_a_thread_pool_here_leaves_blas_to_the_caller(serial, sweep, data, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl is not installed")

    def blas_threads():
        return max(i["num_threads"] for i in threadpoolctl.threadpool_info()
                   if i["user_api"] == "blas")

    before = blas_threads()
    with ThreadPoolExecutor(2) as pool:
        unpinned = run_sweep(make_sweep(BASE, seeds=2), data, pool)
    assert {r.blas_threads for r in unpinned} == {before} and blas_threads() == before
    path = tmp_path / "threads.jsonl"
    with threadpoolctl.threadpool_limits(1), ThreadPoolExecutor(2) as pool:
        run_sweep(sweep, data, pool, results=path)
    assert canonical(path) == canonical(serial[1])
    assert blas_threads() == before


def test_a_serial_sweep_pins_blas_while_it_runs_and_restores_it(data):
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl is not installed")
    before = [p["num_threads"] for p in threadpoolctl.threadpool_info()]
    seen = []

    def watch(done, total, result):
        seen.append([p["num_threads"] for p in threadpoolctl.threadpool_info()])

    [result] = run_sweep(make_sweep(BASE, seeds=1), data, progress=watch)
    assert [p["num_threads"] for p in threadpoolctl.threadpool_info()] == before
    assert seen[-1] == [1] * len(before) and result.blas_threads == 1


def test_without_threadpoolctl_nothing_is_pinned_and_the_record_says_so(data, monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import raises ImportError
    [result] = run_sweep(make_sweep(BASE, seeds=1), data)
    assert result.status == "ok" and result.blas_threads is None
    assert b'"blas_threads":null' in result_line(result)


def test_unaligned_data_from_a_transport_are_aligned_once_per_worker(data):
    from fnn import sweep as sw

    def unaligned(a):
        raw = np.empty(a.nbytes + 1, np.uint8)[1:]  # one byte off: misaligned for float64
        b = raw.view(a.dtype).reshape(a.shape)
        b[...] = a
        return b

    bad = SweepData(Labelled(unaligned(data.training.x), data.training.labels), data.evaluation)
    assert not bad.training.x.flags.aligned
    fixed = sw._aligned(bad)
    assert fixed.training.x.flags.aligned and sw._aligned(bad) is fixed  # copied once
    assert sw._aligned(data) is data
    [job] = expand(make_sweep(BASE, seeds=1))
    assert result_line(sw._execute(job, bad), timing=False) == result_line(
        sw._execute(job, data), timing=False)


# --- resuming ----------------------------------------------------------------------------------


def test_an_interrupted_sweep_resumes_to_the_same_table(serial, sweep, data, tmp_path):
    lines = serial[1].read_bytes().splitlines(keepends=True)
    path = tmp_path / "resumed.jsonl"
    path.write_bytes(b"".join(lines[:5]) + lines[5][:777])  # a crash tore the 6th line
    assert read_results(path).torn == 777
    assert len(read_results(path).results) == 5
    seen = []
    results = run_sweep(sweep, data, results=path,
                        progress=lambda done, total, r: seen.append((done, total, r is None)))
    assert seen[0] == (5, 12, True) and seen[-1] == (12, 12, False) and len(seen) == 8
    assert read_results(path).torn == 0
    assert canonical(path) == canonical(serial[1])
    assert summary_text(summarize(results)) == summary_text(summarize(serial[0]))
    again = run_sweep(sweep, data, results=path)  # nothing left to run
    assert [result_line(r) for r in again] == [result_line(r) for r in results]


def test_ctrl_c_on_a_pool_stops_at_once_and_the_rerun_completes(serial, sweep, data, tmp_path):
    path = tmp_path / "interrupted.jsonl"

    def interrupt(done, total, result):
        if result is not None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), local_pool(2, data) as pool:
        run_sweep(sweep, data, pool, results=path, progress=interrupt)
    assert len(read_results(path).results) == 1
    with local_pool(2, data) as pool:
        run_sweep(sweep, data, pool, results=path)
    assert canonical(path) == canonical(serial[1])


def test_resuming_with_other_data_is_refused(serial, sweep, data, tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(serial[1].read_bytes())
    other = data._replace(evaluation=Labelled(data.evaluation.x[:499],
                                              data.evaluation.labels[:499]))
    with pytest.raises(CheckpointMismatchError, match="was run on other data"):
        run_sweep(sweep, other, results=path)


def test_a_bad_line_before_the_end_is_an_error_not_skipped(serial, tmp_path):
    lines = serial[1].read_bytes().splitlines(keepends=True)
    path = tmp_path / "r.jsonl"
    path.write_bytes(lines[0] + b"{not json\n" + lines[1])
    with pytest.raises(ModelFormatError, match=r"r\.jsonl: line 2: not a JSON line"):
        read_results(path)
    record = json.loads(lines[0])
    for change, message in ((dict(job_id="0" * 16), "is not the hash of its config and seed"),
                            (dict(status="fine"), "status must be 'ok' .no error, params."),
                            (dict(status="failed"), "with the error text, got 'failed', error None"),
                            (dict(format_version=2), "format_version must be 1"),
                            (dict(extra=1), "keys must be"),
                            (dict(timing={"wall_seconds": "1"}), "timing must be")):
        with pytest.raises(ModelFormatError, match=message):
            parse_result(json.dumps({**record, **change}))


# --- failures ------------------------------------------------------------------------------------


def test_diverged_and_failed_jobs_are_recorded_and_the_others_finish(data, tmp_path,
                                                                     monkeypatch):
    import fnn.sweep

    real_sgd = fnn.sweep.sgd

    def flaky_sgd(params, training, **kw):
        if kw["eta"] == 0.25:
            raise MemoryError("no room")
        return real_sgd(params, training, **kw)

    monkeypatch.setattr(fnn.sweep, "sgd", flaky_sgd)
    path = tmp_path / "f.jsonl"
    sweep = make_sweep(BASE, grid={"eta": [0.5, 1e308, 0.25]}, seeds=2)
    results = run_sweep(sweep, data, results=path)
    assert [r.status for r in results] == ["ok"] * 2 + ["diverged"] * 2 + ["failed"] * 2
    diverged, failed = results[2], results[4]
    assert diverged.error.startswith("NonFiniteError: parameters became non-finite in epoch 0")
    assert diverged.params is not None and len(diverged.history) == 0
    assert failed.error == "MemoryError: no room" and failed.params is None
    reread = read_results(path).results
    assert [r.status for r in sorted(reread, key=lambda r: r.job.job_id)] == [
        r.status for r in sorted(results, key=lambda r: r.job.job_id)]
    rows = summarize(results)
    assert [(s.label, s.ok, s.diverged, s.failed) for s in rows] == [
        ("eta=0.25", 0, 0, 2), ("eta=0.5", 2, 0, 0), ("eta=1e+308", 0, 2, 0)]
    assert rows[0].final_accuracy is None and rows[1].final_accuracy is not None


def test_an_executor_losing_jobs_is_not_a_job_failure(data):
    from concurrent.futures import Executor, Future

    class Broken(Executor):
        def submit(self, *_args, **_kwargs):
            future = Future()
            future.set_exception(OSError("worker lost"))
            return future

    from fnn.sweep import Backend

    with pytest.raises(SweepExecutorError, match=r"lost job \w+ \(OSError: worker lost\)"):
        run_sweep(make_sweep(BASE), data, Backend(Broken(), data))


# --- summaries -----------------------------------------------------------------------------------


def test_summary_figures_equal_hand_computed_ones(serial):
    results = serial[0]
    rows = summarize(results)
    assert [s.label for s in rows] == ["eta=0.1 lmbda=1.0", "eta=0.1 lmbda=5.0",
                                       "eta=0.5 lmbda=1.0", "eta=0.5 lmbda=5.0"]
    assert summarize(reversed(results)) == rows  # the order of completion does not matter
    for row, group in zip(rows, (results[i:i + 3] for i in range(0, 12, 3))):
        histories = [r.history for r in group]
        by_metric = {
            "final_accuracy": [h[-1].evaluation_accuracy for h in histories],
            "best_accuracy": [max(e.evaluation_accuracy for e in h) for h in histories],
            "best_epoch": [1 + [e.evaluation_accuracy for e in h].index(
                max(e.evaluation_accuracy for e in h)) for h in histories],
            "final_cost": [h[-1].evaluation_cost for h in histories],
            "best_cost": [min(e.evaluation_cost for e in h) for h in histories],
        }
        assert (row.runs, row.ok, row.diverged, row.failed) == (3, 3, 0, 0)
        for metric, values in by_metric.items():
            stats = getattr(row, metric)
            assert stats.mean == pytest.approx(sum(values) / 3, rel=1e-12)
            assert stats.std == pytest.approx(statistics.stdev(values), rel=1e-9, abs=1e-15)
            assert (stats.min, stats.max) == (min(values), max(values))


def test_summary_as_text_csv_and_json(serial):
    rows = summarize(serial[0])
    text = summary_text(rows)
    assert text.splitlines()[0].split() == ["config", "runs", "ok", "diverged", "failed",
                                            "metric", "mean", "std", "min", "max"]
    assert len(text.splitlines()) == 2 + 4 * 5
    table = list(csv.DictReader(io.StringIO(summary_csv(rows))))
    assert [r["config"] for r in table] == [s.label for s in rows]
    assert float(table[2]["final_accuracy_mean"]) == rows[2].final_accuracy.mean
    doc = json.loads(summary_json(rows))
    assert doc[3]["overrides"] == {"eta": 0.5, "lmbda": 5.0}
    assert doc[3]["best_cost"]["max"] == rows[3].best_cost.max
    assert doc[0]["settings"]["sizes"] == [784, 10, 10]


def test_one_seed_has_no_standard_deviation(data):
    [row] = summarize(run_sweep(make_sweep(BASE, seeds=1), data))
    assert row.final_accuracy.std is None and row.final_accuracy.min == row.final_accuracy.max
    assert "-" in summary_text([row]).splitlines()[2]


# --- results lines -------------------------------------------------------------------------------


def test_a_result_line_reads_back_bit_for_bit_in_float32_too(data):
    [job] = expand(make_sweep(BASE._replace(dtype="float32", epochs=1), seeds=1))
    result = run_job(job, data._replace(training=Labelled(data.training.x.astype(np.float32),
                                                          data.training.labels)))
    back = parse_result(result_line(result))
    assert back.params.weights[0].dtype == np.float32 and tree_equal(back.params, result.params)
    assert back.history == result.history and back.job == result.job
    assert result_line(back) == result_line(result)
    untimed = parse_result(result_line(result, timing=False))
    assert untimed.wall_seconds is None and result_line(untimed, timing=False) == result_line(
        result, timing=False)


# --- fnn sweep -------------------------------------------------------------------------------------


def sweep_main(argv):
    """``fnn.cli.main`` once sweep is wired in; until then the same parser and exit codes."""
    if "sweep" in cli.COMMANDS:
        return cli.main(argv)
    parser = cli._Parser(prog="fnn")
    sweep_cli.add_sweep_parser(parser.add_subparsers(dest="command", required=True,
                                                     parser_class=cli._Parser))
    try:
        return sweep_cli.run_sweep_command(parser.parse_args(argv))
    except cli.UsageError as e:
        print(f"fnn: error: {e}", file=sys.stderr)
        return 2
    except (OSError, cli.FnnError) as e:
        print(f"fnn: error: {e}", file=sys.stderr)
        return 1


def test_fnn_sweep_runs_reports_and_resumes(serial, tmp_path, capsys):
    out = tmp_path / "cli.jsonl"
    argv = ["sweep", "--grid", "eta=0.1,0.5", "--grid", "lmbda=1,5", "--seeds", "3", *SMALL,
            "--workers", "1", "--out", str(out)]
    assert sweep_main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out == summary_text(summarize(serial[0]))
    assert "12 jobs (4 configs × 3 seeds)" in captured.err
    assert "[12/12] eta=0.5 lmbda=5.0 seed 0/2: ok, evaluation accuracy" in captured.err
    assert "ETA" in captured.err
    assert canonical(out) == canonical(serial[1])
    assert sweep_main([*argv, "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert "12 of 12 jobs are already in" in captured.err and "[1/12]" not in captured.err
    assert captured.out == summary_csv(summarize(serial[0]))
    out.write_bytes(out.read_bytes()[:-1000])  # as if killed while writing the last line
    assert sweep_main([*argv, "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "is incomplete (an interrupted write)" in captured.err
    assert "11 of 12 jobs are already in" in captured.err
    assert canonical(out) == canonical(serial[1])


def test_fnn_sweep_on_two_processes_with_explicit_seeds(data, tmp_path, capsys):
    out = tmp_path / "cli.jsonl"
    assert sweep_main(["sweep", "--seed-list", "3,7", *SMALL, "--workers", "2",
                       "--format", "json", "--no-progress", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    [row] = json.loads(captured.out)
    assert (row["config"], row["runs"], row["ok"]) == ("(base)", 2, 2)
    assert "2 local worker processes" in captured.err and "[1/2]" not in captured.err
    seeds = sorted(r.job.seed for r in read_results(out).results)
    assert seeds == [JobSeed(3, None), JobSeed(7, None)]


@pytest.mark.parametrize(("args", "message"), [
    (["--grid", "alpha=1"], "argument --grid: must be NAME=V1,V2,... with NAME one of"),
    (["--grid", "eta=0.1,,0.5"], "argument --grid: eta needs values separated by commas"),
    (["--grid", "eta=0.1,-1"], "argument --grid: eta must be a finite number > 0, got -1.0"),
    (["--grid", "eta=x"], "argument --grid: could not convert string to float: 'x'"),
    (["--grid", "eta=0.1", "--grid", "eta=0.2"], "argument --grid: eta is given more than once"),
    (["--grid", "eta=0.5,0.5"], "argument --grid: overrides give the same config twice"),
    (["--seed-list", "1,1"], "argument --seed-list: must be distinct ints >= 0"),
    (["--seed-list", "1", "--root-seed", "2"], "argument --root-seed: not used with --seed-list"),
    (["--seeds", "2", "--seed-list", "1"], "not allowed with argument --seeds"),
    (["--workers", "2", "--scheduler", "tcp://x:1"], "not allowed with argument --workers"),
    (["--grid", "sizes=784-10-3"], "outputs (the data's labels go up to 9)"),
    (["--grid", "mini-batch-size=5000"], "mini_batch_size must be <= the 1000 training"),
])
def test_fnn_sweep_usage_errors_exit_2_and_write_nothing(args, message, tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    assert sweep_main(["sweep", *SMALL, *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fnn: error: ") and message in err
    assert not out.exists()


def test_fnn_sweep_needs_a_jsonl_out_in_a_folder_that_exists(tmp_path, capsys):
    assert sweep_main(["sweep", *SMALL]) == 2
    assert "the following arguments are required: --out" in capsys.readouterr().err
    assert sweep_main(["sweep", *SMALL, "--out", str(tmp_path / "r.csv")]) == 2
    assert "must end in .jsonl" in capsys.readouterr().err
    assert sweep_main(["sweep", *SMALL, "--out", str(tmp_path / "no" / "r.jsonl")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_plotting_a_results_file(serial, tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (fnn[plot])")
    image = tmp_path / "curves.png"
    assert sweep_cli.plot_results(serial[1], image) == 0
    assert image.read_bytes().startswith(b"\x89PNG") and "wrote" in capsys.readouterr().out
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(ConfigError, match="holds no finished jobs"):
        sweep_cli.plot_results(empty, image)
