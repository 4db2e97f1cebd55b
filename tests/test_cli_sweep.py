"""``fnn sweep`` through ``main([...])``: the base run takes fnn train's options, ``--grid``
varies any of them in their text form, and the results match the Python API's bit for bit."""

from __future__ import annotations

import json
import re
import shlex

import pytest

import fnn
from fnn.cli import main
from fnn.cli._args import TRAIN_DEFAULTS, add_run_options, make_parser, run_from_args, train_command
from fnn.expand import Expansion
from fnn.history import Monitor
from fnn.optimizers import adam, momentum
from fnn.params import tree_equal
from fnn.schedules import constant, step_decay
from fnn.serialization import load
from fnn.sweep import (
    JobSeed,
    jobs,
    make_sweep,
    read_results,
    run_sweep,
    summarize,
    summary_csv,
    summary_text,
)
from fnn.training.run import RUN_SETTINGS, run_to_json, with_settings

from .sweep_runs import BASE, CHAPTER3, GRID, SMALL, canonical, sweep_data


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The 2 × 2 × 3 sweep of ``BASE`` run from Python: (results, results file)."""
    path = tmp_path_factory.mktemp("serial") / "results.jsonl"
    return run_sweep(make_sweep(BASE, grid=GRID, seeds=3), sweep_data(), results=path), path


def test_fnn_sweep_runs_reports_and_resumes(serial, tmp_path, capsys):
    out = tmp_path / "cli.jsonl"
    argv = ["sweep", "--grid", "eta=0.1,0.5", "--grid", "lmbda=1,5", "--seeds", "3", *SMALL,
            "--workers", "1", "--out", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out == summary_text(summarize(serial[0]))
    assert "12 jobs (4 configs × 3 seeds)" in captured.err
    assert "[12/12] eta=0.5 lmbda=5.0 seed 0/2: ok, test accuracy" in captured.err
    assert "ETA" in captured.err
    assert canonical(out) == canonical(serial[1])
    assert main([*argv, "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert "12 of 12 jobs are already in" in captured.err and "[1/12]" not in captured.err
    assert captured.out == summary_csv(summarize(serial[0]))
    out.write_bytes(out.read_bytes()[:-1000])  # as if killed while writing the last line
    assert main([*argv, "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "is incomplete (an interrupted write)" in captured.err
    assert "11 of 12 jobs are already in" in captured.err
    assert canonical(out) == canonical(serial[1])


def test_fnn_sweep_on_two_processes_with_explicit_seeds(tmp_path, capsys):
    out = tmp_path / "cli.jsonl"
    assert main(["sweep", "--seed-list", "3,7", *SMALL, "--workers", "2",
                 "--format", "json", "--no-progress", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    [row] = json.loads(captured.out)
    assert (row["config"], row["runs"], row["ok"]) == ("(base)", 2, 2)
    assert "2 local worker processes" in captured.err and "[1/2]" not in captured.err
    seeds = sorted(r.job.seed for r in read_results(out).results)
    assert seeds == [JobSeed(3, None), JobSeed(7, None)]


def test_ctrl_c_exits_130_and_the_same_command_resumes(serial, tmp_path, capsys, monkeypatch):
    import fnn.cli.sweep as sweep_cli

    out = tmp_path / "cli.jsonl"
    argv = ["sweep", "--grid", "eta=0.1,0.5", "--grid", "lmbda=1,5", "--seeds", "3", *SMALL,
            "--workers", "1", "--no-progress", "--out", str(out)]
    real_report = sweep_cli._Reporter.__call__

    def interrupting(self, done, total, result):
        real_report(self, done, total, result)
        if done == 3 and result is not None:
            raise KeyboardInterrupt

    monkeypatch.setattr(sweep_cli._Reporter, "__call__", interrupting)
    assert main(argv) == 130
    captured = capsys.readouterr()
    assert f"fnn: interrupted; 3 of 12 jobs are saved in {out}" in captured.err
    assert "run the same command to resume" in captured.err and captured.out == ""
    assert len(read_results(out).results) == 3
    monkeypatch.setattr(sweep_cli._Reporter, "__call__", real_report)
    assert main(argv) == 0
    assert "3 of 12 jobs are already in" in capsys.readouterr().err
    assert canonical(out) == canonical(serial[1])


# --- chapter 3 from the command line ----------------------------------------------------------


def test_a_chapter3_grid_gives_the_python_sweeps_bytes_on_two_processes(tmp_path, capsys):
    out = tmp_path / "cli.jsonl"
    assert main(["sweep", *SMALL, "--l1", "0.1", "--init", "he",
                 "--grid", "optimizer=momentum(eta=0.1,mu=0.9),adam(eta=0.01)",
                 "--grid", "activation=relu,tanh", "--grid", "dropout=0,0.5",
                 "--seeds", "1", "--workers", "2", "--no-progress", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "8 jobs (8 configs × 1 seed)" in captured.err
    sweep = make_sweep(with_settings(BASE, l1=0.1, init=fnn.he_init),
                       grid={"optimizer": [momentum(eta=0.1, mu=0.9), adam(eta=0.01)],
                             "activation": [fnn.RELU, fnn.TANH], "dropout": [0.0, 0.5]},
                       seeds=1)
    python = tmp_path / "python.jsonl"
    results = run_sweep(sweep, sweep_data(), results=python)  # serially, in this process
    assert canonical(out) == canonical(python)
    assert captured.out == summary_text(summarize(results))
    assert "optimizer=adam(eta=0.01, beta1=0.9, beta2=0.999, eps=1e-08) activation=tanh " \
           "dropout=0.5" in captured.out


def test_grid_values_in_text_form_are_the_python_values(tmp_path, capsys):
    out = tmp_path / "cli.jsonl"
    assert main(["sweep", "--sizes", "784,10,10", "--epochs", "1", "--training-rows", "1000",
                 "--evaluation-rows", "500", "--optimizer", "momentum", "--eta", "0.05",
                 "--mu", "0.5", "--activation", "relu",
                 "--grid", "expansion=none,shifts", "--grid", "dtype=float64,float32",
                 "--grid", "schedule=constant,step_decay(every=1,factor=0.5)",
                 "--grid", "l1=0,0.1", "--seed-list", "5", "--workers", "1",
                 "--format", "json", "--no-progress", "--out", str(out)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 16 and {row["ok"] for row in rows} == {1}
    base = with_settings(BASE, epochs=1, optimizer=momentum(eta=0.05, mu=0.5),
                         activation=fnn.RELU, init=fnn.he_init)  # he: fnn train's for ReLU
    sweep = make_sweep(base, grid={"expansion": [Expansion(), Expansion(shifts=True)],
                                   "dtype": ["float64", "float32"],
                                   "schedule": [constant(), step_decay(every=1, factor=0.5)],
                                   "l1": [0.0, 0.1]}, seeds=[5])
    assert [r.job for r in read_results(out).results] == list(jobs(sweep))
    shifted = [r for r in read_results(out).results if r.job.run.expansion.shifts]
    assert len(shifted) == 8 and all(r.params.weights[0].shape == (10, 784) for r in shifted)


def test_the_base_run_takes_every_fnn_train_run_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in RUN_SETTINGS:
        assert f"--{name.replace('_', '-')}" in out
    for option in ("--grid", "--seeds", "--seed-list", "--root-seed", "--output", "--mu",
                   "--expand", "--expand-rotations", "--seed", "--data", "--split",
                   "--training-rows", "--evaluation-rows", "--workers", "--scheduler", "--out",
                   "--format", "--no-progress"):
        assert option in out


# --- usage errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "fragments"), [
    (["--grid", "alpha=1"], ["argument --grid: must be NAME=V1,V2,... with NAME one of"]),
    (["--grid", "seed=1,2"], ["argument --grid: must be NAME=V1,V2,... with NAME one of"]),
    (["--grid", "eta=0.1,,0.5"], ["argument --grid: eta needs values separated by commas"]),
    (["--grid", "eta=0.1,-1"], ["argument --grid: eta", "must be a finite number > 0, got -1.0"]),
    (["--grid", "eta=x"], ["argument --grid: eta: must be a number, got 'x'"]),
    (["--grid", "eta=0.1", "--grid", "eta=0.2"], ["argument --grid: eta is given more than once"]),
    (["--grid", "eta=0.5,0.5"], ["argument --grid: overrides give the same run twice"]),
    (["--grid", "optimizer=momentum(eta=0.1,mu=0.9),momentum(eta=0.1, mu=0.9)"],
     ["argument --grid: overrides give the same run twice"]),
    (["--grid", "optimizer=rmsprop"], ["argument --grid: optimizer: unknown optimizer 'rmsprop'"]),
    (["--grid", "optimizer=momentum(eta=0.1"],
     ["argument --grid: optimizer: cannot read 'momentum(eta=0.1' at character 16"]),
    (["--grid", "activation=relu,swish"],
     ["argument --grid: activation: unknown activation 'swish'"]),
    (["--grid", "dropout=0,1"], ["argument --grid: dropout", "must be a number in [0, 1), got 1.0"]),
    (["--grid", "expansion=none,twirl"],
     ["argument --grid: expansion", ("expansion must be none, shifts, rotations:K or "
                                     "shifts+rotations:K, got 'twirl'")]),
    (["--grid", "dtype=float16"], ["argument --grid: dtype", "got 'float16'"]),
    (["--grid", "sizes=784-0-10"], ["argument --grid: sizes", "sizes[1] must be an int >= 1"]),
    (["--grid", "epochs=1,0"], ["argument --grid: epochs: must be an int >= 1, got 0"]),
    (["--epochs", "0"], ["argument --epochs: must be an int >= 1, got 0"]),
    (["--grid", "activation=[relu,tanh],relu"],
     [("argument --grid: activation=[relu,tanh]: 2 activations for the 1 hidden layer of "
       "784-10-10 (give one for all, or one per hidden layer)")]),
    (["--grid", "sizes=784-10-10,784-10-10-10", "--activation", "relu,tanh"],
     ["argument --activation: 2 names given for 1 hidden layer"]),
    (["--seed-list", "1,1"], ["argument --seed-list: must be distinct ints >= 0"]),
    (["--seed-list", "1", "--root-seed", "2"], ["argument --root-seed: not used with --seed-list"]),
    (["--seeds", "2", "--seed-list", "1"], ["not allowed with argument --seeds"]),
    (["--workers", "2", "--scheduler", "tcp://x:1"], ["not allowed with argument --workers"]),
    (["--grid", "sizes=784-10-3"], ["outputs (the data's labels go up to 9)"]),
    (["--grid", "mini-batch-size=5000"], ["mini_batch_size must be <= the 1000 training"]),
    (["--optimizer", "rmsprop"], ["argument --optimizer: unknown optimizer 'rmsprop'"]),
    (["--activation", "relu,tanh"], ["argument --activation: 2 names given for 1 hidden layer"]),
    (["--optimizer", "adam", "--mu", "0.9"], [("argument --mu: only for --optimizer momentum or "
                                               "nesterov, got --optimizer adam")]),
])
def test_fnn_sweep_usage_errors_exit_2_and_write_nothing(args, fragments, tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    assert main(["sweep", *SMALL, *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fnn: error: ") and err.splitlines() == [err.strip()]
    for fragment in fragments:
        assert fragment in err
    assert not out.exists()


def test_fnn_sweep_needs_a_jsonl_out_in_a_folder_that_exists(tmp_path, capsys):
    assert main(["sweep", *SMALL]) == 2
    assert "the following arguments are required: --out" in capsys.readouterr().err
    assert main(["sweep", *SMALL, "--out", str(tmp_path / "r.csv")]) == 2
    assert "must end in .jsonl" in capsys.readouterr().err
    assert main(["sweep", *SMALL, "--out", str(tmp_path / "no" / "r.jsonl")]) == 1
    assert "does not exist" in capsys.readouterr().err


# --- every row says how to replay it -------------------------------------------------------------


def _train_run(command):
    """The run ``fnn train`` makes of a printed command line, with its seed."""
    words = shlex.split(command)
    assert words[:2] == ["fnn", "train"]
    parser = make_parser()
    add_run_options(parser, TRAIN_DEFAULTS)
    args, rest = parser.parse_known_args(words[2:])
    seed = rest[rest.index("--seed") + 1]
    root, _, child = seed.partition("/")
    return run_from_args(args, Monitor(), seed=JobSeed(int(root), int(child) if child else None))


@pytest.mark.parametrize("override", CHAPTER3, ids=",".join)
@pytest.mark.parametrize("seed", [JobSeed(0, 2), JobSeed(7)], ids=["child", "int"])
def test_the_printed_command_describes_the_jobs_run_exactly(override, seed):
    run = with_settings(BASE, **override)
    command = train_command(run, seed)
    replayed = _train_run(command)
    assert run_to_json(replayed, seed=False) == run_to_json(run, seed=False), command
    assert command.endswith(f"--seed {seed.root}" + (f"/{seed.spawn_index}"
                                                    if seed.spawn_index is not None else ""))


def test_each_row_prints_the_fnn_train_command_that_replays_it_exactly(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    assert main(["sweep", "--sizes", "784,10,10", "--epochs", "2", "--training-rows", "600",
                 "--evaluation-rows", "300", "--activation", "relu",
                 "--grid", "optimizer=momentum(eta=0.05,mu=0.5),adam(eta=0.01)",
                 "--grid", "dropout=0,0.2", "--seeds", "2", "--workers", "1",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    rows = re.findall(r"^\[\s*\d+/8\] (.*) seed (\S+): ok, validation accuracy ([\d.]+)%.*\n"
                      r"    (fnn train .*)$", err, re.MULTILINE)
    assert len(rows) == 8
    results = {(r.job.seed.spawn_index, sw_label(r)): r for r in read_results(out).results}
    for label, seed, shown, command in rows[::3]:  # three of them, both seeds, two configs
        assert command.endswith(f" --training-rows 600 --evaluation-rows 300 --seed {seed}")
        result = results[(int(seed.split("/")[1]), label)]
        model = tmp_path / "replayed.json"
        assert main([*shlex.split(command)[1:], "--no-progress", "--save", str(model)]) == 0
        printed = capsys.readouterr().out
        last = result.history[-1]
        assert (f"epoch 2/2: validation cost {last.evaluation_cost:.6f}, validation accuracy "
                f"{last.evaluation_correct}/300 ({shown}%)") in printed
        assert tree_equal(load(model).params, result.params)  # the same bits, not just figures


def sw_label(result):
    from fnn.sweep import config_label
    return config_label(result.job.overrides)
