"""Running sweeps: bit-exact serially, on a process pool, on Dask and on threads; resuming;
failures; chapter-3 runs from Python values."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import fnn
from fnn.data import Labelled
from fnn.errors import CheckpointMismatchError, ConfigError, FnnTypeError
from fnn.expand import Expansion, expand_labelled
from fnn.optimizers import learning_rate, momentum
from fnn.params import init_params, tree_equal
from fnn.sweep import (
    Backend,
    SweepData,
    SweepExecutorError,
    check_data,
    data_fingerprint,
    job_run,
    jobs,
    local_pool,
    make_sweep,
    read_results,
    result_line,
    run_job,
    run_sweep,
    summarize,
    summary_text,
)
from fnn.sweep import run as sweep_run
from fnn.training import compiled
from fnn.training.run import with_settings

from .sweep_runs import BASE, CHAPTER3, GRID, canonical, sweep_data


@pytest.fixture(scope="module")
def data():
    return sweep_data()


@pytest.fixture(scope="module")
def sweep():
    return make_sweep(BASE, grid=GRID, seeds=3)


@pytest.fixture(scope="module")
def serial(data, sweep, tmp_path_factory):
    """The 2 × 2 × 3 sweep run in this process: (results, results file)."""
    path = tmp_path_factory.mktemp("serial") / "results.jsonl"
    return run_sweep(sweep, data, results=path), path


@pytest.fixture(scope="module")
def chapter3(data, tmp_path_factory):
    """Every chapter-3 setting, 2 seeds each, run in this process: (sweep, results file)."""
    sweep = make_sweep(BASE, overrides=CHAPTER3, seeds=2)
    path = tmp_path_factory.mktemp("chapter3") / "results.jsonl"
    run_sweep(sweep, data, results=path)
    return sweep, path


# --- one job ---------------------------------------------------------------------------------------


def test_an_explicit_seed_reproduces_plain_training(data):
    [job] = jobs(make_sweep(BASE, seeds=[3]))
    result = run_job(job, data)
    params, history = fnn.sgd(init_params([784, 10, 10], seed=3), data.training, epochs=2,
                              mini_batch_size=10, eta=0.5, lmbda=5.0, cost=fnn.cross_entropy,
                              seed=3, evaluation_data=data.evaluation,
                              monitor_evaluation_cost=True, monitor_evaluation_accuracy=True)
    assert result.status == "ok" and tree_equal(result.params, params)
    assert result.history == history


def test_a_chapter3_job_reproduces_plain_training_with_the_same_values(data):
    run = with_settings(BASE, optimizer=momentum(eta=0.1, mu=0.5), activation=fnn.RELU,
                        init=fnn.he_init, dropout=0.2, l1=0.1, lmbda=1.0,
                        expansion=Expansion(shifts=True), sizes=(784, 20, 10))
    [job] = jobs(make_sweep(run, seeds=[3]))
    result = run_job(job, data)
    # the seed feeds the init, the expansion and training, each through its own stream
    params, history = fnn.sgd(init_params([784, 20, 10], seed=3, init=fnn.he_init),
                              expand_labelled(data.training, Expansion(shifts=True), seed=3),
                              epochs=2, mini_batch_size=10, lmbda=1.0, l1=0.1, dropout=0.2,
                              optimizer=momentum(eta=0.1, mu=0.5), activation=fnn.RELU,
                              cost=fnn.cross_entropy, seed=3, evaluation_data=data.evaluation,
                              monitor_evaluation_cost=True, monitor_evaluation_accuracy=True)
    assert result.status == "ok" and tree_equal(result.params, params)
    assert result.history == history


def test_job_run_measures_what_the_summaries_need():
    [job] = jobs(make_sweep(BASE, seeds=2))[1:]
    run = job_run(job)
    assert run.config.monitor.evaluation_cost and run.config.monitor.evaluation_accuracy
    assert run.config.seed.spawn_key == (1,) and run._replace(config=job.run.config) == job.run


def test_configs_the_data_cannot_serve_are_refused_before_anything_runs(data, tmp_path):
    for settings, message in ((dict(sizes=[784, 10, 3]), "at least 10 outputs"),
                              (dict(sizes=[100, 10]), "start with the data's 784 inputs"),
                              (dict(mini_batch_size=1001), "<= the 1000 training examples")):
        with pytest.raises(ConfigError, match=message):
            run_sweep(make_sweep(with_settings(BASE, **settings)), data,
                      results=tmp_path / "r.jsonl")
    assert not (tmp_path / "r.jsonl").exists()
    with pytest.raises(FnnTypeError, match="data must be a SweepData"):
        check_data(make_sweep(BASE), (data.training, data.evaluation))
    with pytest.raises(ConfigError, match="at least 10 outputs"):  # any run of the grid
        check_data(make_sweep(BASE, grid={"sizes": [(784, 10, 10), (784, 10, 9)]}), data)


# --- the same bytes on every executor --------------------------------------------------------


def test_serial_results_are_complete_and_in_job_order(serial, sweep, data):
    results, path = serial
    assert [r.job for r in results] == list(jobs(sweep))
    assert {r.status for r in results} == {"ok"}
    assert all(len(r.history) == 2 and r.blas_threads == 1 for r in results)
    assert all(r.wall_seconds > 0 for r in results)
    assert {r.data for r in results} == {data_fingerprint(data)}
    assert len(path.read_bytes().splitlines()) == 12
    record = json.loads(path.read_bytes().splitlines()[0])
    assert sorted(record["versions"]) == ["fnn", "numpy", "python"]
    assert record["seed"] == {"root": 0, "spawn_index": 0} and record["status"] == "ok"


def test_a_two_process_pool_gives_the_serial_bytes(serial, sweep, data, tmp_path):
    path = tmp_path / "pool.jsonl"
    with local_pool(2, data) as pool:
        run_sweep(sweep, data, pool, results=path)
    assert canonical(path) == canonical(serial[1])


def test_chapter3_settings_give_the_same_bytes_serially_and_on_two_processes(chapter3, data,
                                                                             tmp_path):
    sweep, serial_path = chapter3
    serial = read_results(serial_path).results
    assert len(serial) == 2 * len(CHAPTER3) and {r.status for r in serial} == {"ok"}
    path = tmp_path / "pool.jsonl"
    with local_pool(2, data) as pool:
        run_sweep(sweep, data, pool, results=path)
    assert canonical(path) == canonical(serial_path)
    # the runs really differ: each override changes the trajectory
    finals = {r.job.overrides: r.history[-1].evaluation_cost for r in serial
              if r.job.seed.spawn_index == 0}
    assert len(set(finals.values())) == len(CHAPTER3)


@pytest.mark.parametrize("jit", [False, pytest.param(None, marks=pytest.mark.skipif(
    not compiled.available(), reason="numba is not installed (pip install 'fnn[jit]')"))],
    ids=["numpy", "numba"])
def test_each_engine_family_gives_the_same_bytes_serially_and_on_two_processes(data, tmp_path,
                                                                              jit):
    sweep = make_sweep(with_settings(BASE, jit=jit), grid=GRID, seeds=1)
    serial_path, pool_path = tmp_path / "serial.jsonl", tmp_path / "pool.jsonl"
    results = run_sweep(sweep, data, results=serial_path)
    with local_pool(2, data) as pool:
        run_sweep(sweep, data, pool, results=pool_path)
    assert canonical(pool_path) == canonical(serial_path)
    assert {r.engine for r in results} == {"numpy" if jit is False else "numba"}
    assert {r.engine for r in read_results(pool_path).results} == {r.engine for r in results}


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
    def unaligned(a):
        raw = np.empty(a.nbytes + 1, np.uint8)[1:]  # one byte off: misaligned for float64
        b = raw.view(a.dtype).reshape(a.shape)
        b[...] = a
        return b

    bad = SweepData(Labelled(unaligned(data.training.x), data.training.labels), data.evaluation)
    assert not bad.training.x.flags.aligned
    fixed = sweep_run._aligned(bad)
    assert fixed.training.x.flags.aligned and sweep_run._aligned(bad) is fixed  # copied once
    assert sweep_run._aligned(data) is data
    [job] = jobs(make_sweep(BASE, seeds=1))
    assert result_line(sweep_run._execute(job, bad), timing=False) == result_line(
        sweep_run._execute(job, data), timing=False)


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


def test_a_results_file_serves_only_the_jobs_of_this_sweep(serial, data, tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(serial[1].read_bytes())
    wider = make_sweep(BASE, grid={"eta": [0.1, 0.5, 1.0], "lmbda": [1.0, 5.0]}, seeds=3)
    seen = []
    results = run_sweep(wider, data, results=path,
                        progress=lambda done, total, _result: seen.append((done, total)))
    assert seen[0] == (12, 18) and len(results) == 18
    assert len(path.read_bytes().splitlines()) == 18
    assert [r.job for r in results] == list(jobs(wider))


# --- failures ------------------------------------------------------------------------------------


def test_diverged_and_failed_jobs_are_recorded_and_the_others_finish(data, tmp_path,
                                                                     monkeypatch):
    real_train = sweep_run.train_prepared

    def flaky_train(prepared):
        if learning_rate(prepared.config.optimizer) == 0.25:
            raise MemoryError("no room")
        return real_train(prepared)

    monkeypatch.setattr(sweep_run, "train_prepared", flaky_train)
    path = tmp_path / "f.jsonl"
    sweep = make_sweep(BASE, grid={"eta": [0.5, 1e308, 0.25]}, seeds=2)
    results = run_sweep(sweep, data, results=path)
    assert [r.status for r in results] == ["ok"] * 2 + ["diverged"] * 2 + ["failed"] * 2
    diverged, failed = results[2], results[4]
    assert diverged.error.startswith("NonFiniteError: parameters became non-finite in epoch 0")
    assert diverged.params is not None and len(diverged.history) == 0
    assert failed.error == "MemoryError: no room" and failed.params is None
    family = "numba" if compiled.available() else "numpy"
    assert {r.engine for r in results} == {family}  # failed in training: its engine is known
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

    with pytest.raises(SweepExecutorError, match=r"lost job \w+ \(OSError: worker lost\)"):
        run_sweep(make_sweep(BASE), data, Backend(Broken(), data))


def test_an_executor_must_be_an_executor(data):
    with pytest.raises(FnnTypeError, match="executor must be a concurrent.futures Executor"):
        run_sweep(make_sweep(BASE), data, Backend(object(), data))
