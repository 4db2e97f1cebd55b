"""``fnn train`` through ``main([...])``: exit codes, messages, files, the run it records."""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fnn
import fnn.cli._args as cli_args
from fnn.checkpoint import read_checkpoint
from fnn.cli import _parser, main
from fnn.datasets import load_sample
from fnn.history import History
from fnn.optimizers import momentum
from fnn.params import tree_equal
from fnn.serialization import load
from fnn.training.run import RUN_SETTINGS, run_from_json, start

from .mnist_files import write_idx_folder

FAST = ["--sizes", "784,10,10", "--epochs", "2", "--no-progress"]


@pytest.fixture(scope="module")
def tiny_idx(tmp_path_factory):
    """An IDX folder of 20 training and 5 test digits: expanding it costs nothing."""
    folder = tmp_path_factory.mktemp("idx")
    write_idx_folder(folder, n_train=20, n_test=5)
    return folder


def _recorded_run(folder, tmp_path, capsys, *options):
    """The run ``fnn train`` records for ``options`` on the IDX digits in ``folder``, and what
    it printed (1 epoch of a few mini-batches)."""
    model = tmp_path / "m.json"
    assert main(["train", "--sizes", "784,10,10", "--epochs", "1", "--mini-batch-size", "5",
                 "--no-progress", "--data", str(folder), *options, "--save", str(model)]) == 0
    run = load(model).metadata["run"]
    model.unlink()
    return run, capsys.readouterr().out


def _final_accuracy(out: str) -> float:
    k, n = re.search(r"final test accuracy: (\d+)/(\d+)", out).groups()
    return int(k) / int(n)


def test_train_on_the_embedded_sample_learns_and_saves(tmp_path, capsys):
    model, history = tmp_path / "m.json", tmp_path / "h.csv"
    code = main(["train", "--epochs", "3", "--no-progress", "--monitor", "all",
                 "--save", str(model), "--history", str(history)])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"seed 0, (numba|numpy) engine", out) and "epoch 3/3: training cost" in out
    assert "validation set 2000 each epoch, test set 2000 at the end" in out
    assert re.search(r"epoch 1/3: training cost [\d.]+, training accuracy \d+/10000 "
                     r"\([\d.]+%\), validation cost [\d.]+, validation accuracy \d+/2000", out)
    assert out.count("final test accuracy") == 1 and "test accuracy" not in out.split("final")[0]
    assert _final_accuracy(out) >= 0.90  # 784-30-10 after 3 epochs on 10,000 digits
    assert load(model).sizes == (784, 30, 10)
    assert history.read_text().startswith("epoch,training_cost,")


def test_same_seed_gives_byte_identical_files(tmp_path, capsys):
    def run(folder):
        folder.mkdir()
        assert main(["train", *FAST, "--seed", "7", "--save", str(folder / "m.json"),
                     "--history", str(folder / "h.json"),
                     "--checkpoint", str(folder / "c.json")]) == 0
        return [(folder / n).read_bytes() for n in ("m.json", "h.json", "c.json")]
    assert run(tmp_path / "a") == run(tmp_path / "b")
    capsys.readouterr()


@pytest.mark.parametrize(("args", "fragment"), [
    (["--eta", "nan"], "argument --eta: must be a finite number > 0, got nan"),
    (["--eta", "inf"], "argument --eta: must be a finite number > 0, got inf"),
    (["--eta", "0"], "argument --eta: must be a finite number > 0, got 0.0"),
    (["--eta", "-1"], "argument --eta: must be a finite number > 0, got -1.0"),
    (["--eta", "fast"], "argument --eta: must be a number, got 'fast'"),
    (["--mini-batch-size", "0"], "argument --mini-batch-size: must be an int >= 1, got 0"),
    (["--cost", "hinge"], ("argument --cost: unknown cost 'hinge'; expected one of "
                           "['cross_entropy', 'log_likelihood', 'quadratic']")),
    (["--seed", "-1"], "argument --seed: must be an int >= 0, got -1"),
    (["--sizes", "784,0,10"], "argument --sizes: sizes[1] must be an int >= 1"),
    (["--sizes", "784,30,5"], "argument --sizes: the data have 784 inputs and 10 classes"),
    (["--lmbda", "-2"], "argument --lmbda: must be a finite number >= 0, got -2.0"),
    (["--epochs", "-1"], "argument --epochs: must be an int >= 1, got -1"),
    (["--epochs", "0"], "argument --epochs: must be an int >= 1, got 0"),
    (["--epochs", "two"], "argument --epochs: must be an integer, got 'two'"),
    (["--mu", "x", "--optimizer", "momentum"], "argument --mu: must be a number, got 'x'"),
    (["--seed", "0/x"], "argument --seed: must be an int >= 0, or ROOT/K"),
    (["--seed", "1/-2"], "argument --seed: must be an int >= 0, got -2"),
    (["--save", "m.txt"], "argument --save: must end in .json or .safetensors, got 'm.txt'"),
    (["--checkpoint", "c.txt"], "argument --checkpoint: must end in .ckpt or .json"),
    (["--history", "m.json"], "argument --history: m.json is also --save"),
    (["--overwrite"], "argument --overwrite: needs --checkpoint FILE"),
    (["--checkpoint", "c.json", "--resume", "--overwrite"],
     "argument --overwrite: give --resume (continue the checkpoint) or --overwrite"),
    (["--data", "/etc/hostname"], "argument --data: /etc/hostname is not MNIST data by its name"),
    (["--monitor", "speed"], "argument --monitor: unknown monitor 'speed'"),
    (["--history", "h.txt"], "argument --history: must end in .json or .csv"),
    (["--resume"], "argument --resume: needs --checkpoint FILE"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_usage_errors_exit_2_with_one_error_line_and_write_nothing(tmp_path, capsys, monkeypatch,
                                                                    args, fragment):
    monkeypatch.chdir(tmp_path)
    code = main(["train", *FAST, "--save", "m.json", *args])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines() == [err.strip()] and err.startswith("fnn: error: ")
    assert fragment in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_missing_or_corrupt_data_exit_1_naming_the_path(tmp_path, capsys):
    assert main(["train", *FAST, "--data", str(tmp_path / "nope.pkl.gz")]) == 1
    assert str(tmp_path / "nope.pkl.gz") in capsys.readouterr().err
    bad = tmp_path / "mnist.pkl.gz"
    bad.write_bytes(gzip.compress(b"not a pickle at all"))
    assert main(["train", *FAST, "--data", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert "mnist.pkl.gz" in err and err.startswith("fnn: error: ") and "epoch" not in out


def test_unwritable_output_is_detected_before_training(tmp_path, capsys):
    code = main(["train", *FAST, "--save", str(tmp_path / "no" / "such" / "m.json")])
    out, err = capsys.readouterr()
    assert code == 1 and "folder" in err and str(tmp_path / "no" / "such") in err
    assert "epoch" not in out


def test_ctrl_c_exits_130_and_leaves_the_last_epochs_checkpoint(tmp_path, capsys, monkeypatch):
    import fnn.cli.train as train_cli

    ckpt = tmp_path / "c.json"
    seen, real_progress = [], train_cli._Progress.__call__

    def interrupting(self, epoch, done, total):
        seen.append((epoch, done, total))
        if epoch == 1 and 2 * done >= total:  # halfway through epoch 2
            raise KeyboardInterrupt
        real_progress(self, epoch, done, total)

    monkeypatch.setattr(train_cli._Progress, "__call__", interrupting)
    args = ["train", "--sizes", "784,10,10", "--epochs", "3", "--no-progress",
            "--checkpoint", str(ckpt)]
    assert main(args) == 130
    assert "interrupted" in capsys.readouterr().err
    epoch, done, total = seen[-1]
    assert epoch == 1 and 0 < done < total  # stopped inside epoch 2, not between epochs
    assert read_checkpoint(ckpt).epochs_done == 1
    monkeypatch.setattr(train_cli._Progress, "__call__", real_progress)
    assert main([*args, "--resume", "--save", str(tmp_path / "resumed.json")]) == 0
    assert "resuming after epoch 1" in capsys.readouterr().out
    assert main(["train", "--sizes", "784,10,10", "--epochs", "3", "--no-progress",
                 "--save", str(tmp_path / "whole.json")]) == 0
    assert (tmp_path / "resumed.json").read_bytes() == (tmp_path / "whole.json").read_bytes()


def test_python_dash_m_fnn_shows_help_with_every_train_option():
    out = subprocess.run([sys.executable, "-m", "fnn", "train", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for option in ("--sizes", "--cost", "--epochs", "--mini-batch-size", "--eta", "--lmbda",
                   "--init", "--seed", "--data", "--monitor", "--save", "--history",
                   "--checkpoint", "--resume", "--activation", "--output", "--optimizer", "--mu",
                   "--schedule", "--early-stop", "--dropout", "--l1", "--expand", "--threads",
                   "--expansion", "--expand-rotations", "--dtype", "--split", "--no-progress"):
        assert option in out
    for name in RUN_SETTINGS:  # the options are made from the one table of run settings
        assert f"--{name.replace('_', '-')}" in out


# --- chapter 3 -----------------------------------------------------------------------------------


def test_chapter3_options_train_and_are_recorded(tmp_path, capsys):
    model = tmp_path / "m.json"
    code = main(["train", "--sizes", "784,20,10", "--epochs", "2", "--no-progress",
                 "--output", "softmax", "--activation", "relu", "--optimizer", "momentum",
                 "--mu", "0.5", "--eta", "0.05", "--lmbda", "1", "--schedule", "halve:2",
                 "--early-stop", "3", "--dropout", "0.1", "--l1", "0.1", "--expand",
                 "--save", str(model)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "on embedded sample (50000 examples" in out  # 10,000 digits and their 4 shifts
    assert _final_accuracy(out) >= 0.85
    saved = load(model)
    assert saved.cost.name == "log_likelihood" and [a.name for a in saved.activations] == ["relu"]
    run = saved.metadata["run"]
    assert run["optimizer"] == {"name": "momentum", "eta": 0.05, "mu": 0.5}
    assert run["schedule"]["name"] == "halve_on_plateau" and run["schedule"]["patience"] == 2
    assert (run["early_stop"], run["dropout"], run["l1"], run["lmbda"]) == (3, 0.1, 0.1, 1.0)
    assert run["expansion"] == {"shifts": True, "rotations": 0, "max_degrees": 10.0}
    assert (run["init"], run["cost"], run["activation"]) == ("he", "log_likelihood", "relu")
    assert saved.metadata["seed"] == 0 and "seed" not in run
    assert main(["evaluate", str(model)]) == 0
    assert "log_likelihood cost" in capsys.readouterr().out


def test_the_recorded_run_reproduces_the_model_from_python(tmp_path, capsys):
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl is not installed")
    model = tmp_path / "m.json"
    assert main(["train", "--sizes", "784,10,10", "--epochs", "1", "--no-progress", "--seed", "4",
                 "--optimizer", "momentum(eta=0.1, mu=0.5)", "--activation", "tanh",
                 "--dropout", "0.2", "--l1", "0.01", "--save", str(model)]) == 0
    capsys.readouterr()
    saved = load(model)
    run = run_from_json(saved.metadata["run"], seed=saved.metadata["seed"])
    assert run.config.optimizer == momentum(eta=0.1, mu=0.5)
    assert (run.config.activation, run.init) == (fnn.TANH, fnn.default_init)
    sample = load_sample(dtype="float64")
    with threadpoolctl.threadpool_limits(1):  # as fnn train pins BLAS
        params, training = start(run, sample.training)
        params, _ = fnn.train(params, training, run.config, evaluation_data=sample.test)
    assert tree_equal(params, saved.params)


@pytest.mark.parametrize(("spelled", "same_as"), [
    (["--optimizer", "momentum(eta=0.1, mu=0.9)"],
     ["--optimizer", "momentum", "--eta", "0.1", "--mu", "0.9"]),
    (["--optimizer", "nesterov", "--eta", "0.2"], ["--optimizer", "nesterov(eta=0.2)"]),
    (["--optimizer", "adam", "--eta", "0.01"], ["--optimizer", "adam(eta=0.01)"]),
    (["--eta", "0.5"], []),
    (["--schedule", "halve:3"], ["--schedule", "halve_on_plateau(patience=3)"]),
    (["--expand"], ["--expansion", "shifts"]),
    (["--expand", "--expand-rotations", "1"], ["--expansion", "shifts+rotations:1"]),
    (["--output", "softmax"], ["--output", "softmax", "--cost", "log_likelihood"]),
    (["--activation", "relu"], ["--activation", "relu", "--init", "he"]),
    (["--activation", "[tanh]"], ["--activation", "tanh"]),
])
def test_shorthands_and_spec_texts_record_the_same_run(tiny_idx, tmp_path, capsys, spelled,
                                                       same_as):
    short, _ = _recorded_run(tiny_idx, tmp_path, capsys, *spelled)
    longhand, _ = _recorded_run(tiny_idx, tmp_path, capsys, *same_as)
    assert short == longhand


def test_the_defaults_are_the_books_run(tmp_path, capsys):
    model = tmp_path / "m.json"
    assert main(["train", "--epochs", "1", "--no-progress", "--save", str(model)]) == 0
    run, out = load(model).metadata["run"], capsys.readouterr().out
    assert run["sizes"] == [784, 30, 10] and run["epochs"] == 1
    assert run["optimizer"] == {"name": "gradient_descent", "eta": 0.5}
    assert (run["lmbda"], run["mini_batch_size"], run["cost"]) == (5.0, 10, "cross_entropy")
    assert (run["activation"], run["init"], run["dtype"]) == ("sigmoid", "default", "float64")
    assert run["schedule"] == {"name": "constant"} and run["early_stop"] is None
    assert "10000 examples" in out


def test_expansion_options_enlarge_the_training_set(tiny_idx, tmp_path, capsys):
    for options, examples in ((["--expansion", "none"], 20), (["--expansion", "shifts"], 100),
                              (["--expansion", "rotations:2"], 60),
                              (["--expansion", "shifts+rotations:1"], 120),
                              (["--expand", "--expand-rotations", "2"], 140),
                              (["--expand-rotations", "1"], 40)):
        _, out = _recorded_run(tiny_idx, tmp_path, capsys, *options)
        assert f"({examples} examples;" in out, (options, out)


def test_one_activation_per_hidden_layer(tmp_path, capsys):
    model = tmp_path / "m.json"
    assert main(["train", "--sizes", "784,10,10,10", "--epochs", "1", "--no-progress",
                 "--activation", "relu,tanh", "--save", str(model)]) == 0
    capsys.readouterr()
    saved = load(model)
    assert [a.name for a in saved.activations] == ["relu", "tanh"]
    assert saved.metadata["run"]["activation"] == ["relu", "tanh"]
    assert saved.metadata["run"]["init"] == "he"  # a ReLU layer: He's initialization


@pytest.mark.parametrize(("args", "fragment"), [
    (["--output", "softmax", "--cost", "quadratic"], "argument --cost: quadratic does not go with --output softmax"),
    (["--cost", "log_likelihood"], "argument --cost: log_likelihood does not go with --output sigmoid"),
    (["--activation", "swish"], ("argument --activation: unknown activation 'swish'; expected one "
                                 "of ['relu', 'sigmoid', 'tanh']")),
    (["--activation", "relu,tanh"], "argument --activation: 2 names given for 1 hidden layer"),
    (["--mu", "0.9"], "argument --mu: only for --optimizer momentum or nesterov"),
    (["--optimizer", "adam", "--mu", "0.9"], ("argument --mu: only for --optimizer momentum or "
                                              "nesterov, got --optimizer adam")),
    (["--optimizer", "momentum", "--mu", "1.5"], "argument --mu: must be a number in [0, 1), got 1.5"),
    (["--optimizer", "rmsprop"], "argument --optimizer: unknown optimizer 'rmsprop'; expected one of"),
    (["--optimizer", "momentum(eta="], "argument --optimizer: cannot read 'momentum(eta='"),
    (["--optimizer", "momentum(eta=0.1, mu=0.9)", "--eta", "0.2"],
     "argument --eta: the optimizer already sets eta=0.1"),
    (["--schedule", "cosine"], ("argument --schedule: unknown schedule 'cosine'; expected one of "
                                "['constant', 'halve_on_plateau', 'step_decay']")),
    (["--schedule", "halve_on_plateau(patience=0)"], ("argument --schedule: patience must be an "
                                                      "int >= 1, got 0")),
    (["--dropout", "1"], "argument --dropout: must be a number in [0, 1), got 1.0"),
    (["--early-stop", "0"], "argument --early-stop: must be an int >= 1, got 0"),
    (["--l1", "-1"], "argument --l1: must be a finite number >= 0, got -1.0"),
    (["--expansion", "twirl"], ("argument --expansion: expansion must be none, shifts, "
                                "rotations:K or shifts+rotations:K, got 'twirl'")),
    (["--expansion", "shifts", "--expand"], ("argument --expand: give --expansion or --expand, "
                                             "not both")),
    (["--dtype", "float16"], ("argument --dtype: dtype must be one of ['float64', 'float32'], "
                              "got 'float16'")),
    (["--init", "xavier"], "argument --init: unknown initializer 'xavier'"),
])
def test_chapter3_usage_errors(tmp_path, capsys, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *FAST, "--save", "m.json", *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1
    assert err.startswith("fnn: error: ")
    assert list(tmp_path.iterdir()) == []


# --- issue 13: the rough edges ----------------------------------------------------------------

SMALL = ["--sizes", "784,10,10", "--training-rows", "500", "--evaluation-rows", "200",
         "--no-progress"]


def _parsers():
    """Every parser of the ``fnn`` command: the top level and each sub-command's."""
    top = _parser()
    [commands] = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    return [("fnn", top), *((f"fnn {name}", p) for name, p in commands.choices.items())]


def test_every_option_of_every_command_has_help():
    missing = [f"{name} {action.option_strings or action.dest}"
               for name, parser in _parsers() for action in parser._actions
               if not (action.help or "").strip() or action.help == argparse.SUPPRESS]
    assert missing == []
    [commands] = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert all(choice.help for choice in commands._choices_actions)  # each command's line


def test_train_help_describes_what_it_trains_today():
    out = subprocess.run([sys.executable, "-m", "fnn", "train", "--help"], capture_output=True,
                         text=True, check=True).stdout
    text = " ".join(out.split())
    assert "a sigmoid network" not in text
    assert "sigmoid, tanh or ReLU hidden layers" in text and "softmax output" in text
    assert "numbered from 1" in text


def test_a_split_the_data_do_not_have_is_a_usage_error(tiny_idx, capsys):
    assert main(["train", *FAST, "--data", str(tiny_idx), "--split", "validation"]) == 2
    assert capsys.readouterr().err == ("fnn: error: argument --split: these data have no "
                                       "validation set\n")


@pytest.mark.parametrize(("option", "make", "fragment"), [
    ("--save", lambda d: (d / "m.json").mkdir() or d / "m.json",
     "m.json: is a folder, not a file"),
    ("--history", lambda d: (d / "f").write_text("") or d / "f" / "h.csv",
     "f/h.csv: {d}/f is a file, not a folder"),
    ("--checkpoint", lambda d: d / "no" / "c.ckpt", "no/c.ckpt: folder {d}/no does not exist"),
    ("--data", lambda d: d / "nope.pkl.gz",
     "--data {d}/nope.pkl.gz: MNIST path {d}/nope.pkl.gz does not exist"),
    ("--data", lambda d: (d / "empty").mkdir() or d / "empty",
     "{d}/empty is a folder with neither the IDX files"),
])
def test_bad_paths_exit_1_naming_the_option_the_file_and_the_problem(tmp_path, capsys, option,
                                                                     make, fragment):
    path = make(tmp_path)
    assert main(["train", *FAST, option, str(path)]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("fnn: error: ") and err.count("\n") == 1 and "Errno" not in err
    assert fragment.format(d=tmp_path) in err and option in err
    assert "epoch" not in out


def test_an_unwritable_folder_or_file_is_named_before_training(tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(cli_args.os, "access",  # root may write anywhere: pretend it may not
                        lambda p, mode: False if str(p).startswith(str(locked)) else real(p, mode))
    assert main(["train", *FAST, "--history", str(locked / "h.csv")]) == 1
    assert f"--history {locked / 'h.csv'}: folder {locked} is not writable" in \
        capsys.readouterr().err
    (locked / "m.json").write_text("{}")
    monkeypatch.setattr(cli_args.os, "access",
                        lambda p, mode: False if str(p).endswith("m.json") else real(p, mode))
    assert main(["train", *FAST, "--save", str(locked / "m.json")]) == 1
    assert "the file exists and is read-only" in capsys.readouterr().err


def test_one_idx_file_as_data_asks_for_its_folder(tiny_idx, capsys):
    image_file = next(tiny_idx.glob("train-images*"))
    assert main(["train", *FAST, "--data", str(image_file)]) == 2
    err = capsys.readouterr().err
    assert f"{image_file} is one IDX file; give the folder holding the four ({tiny_idx})" in err


def test_an_existing_checkpoint_is_refused_unless_resume_or_overwrite(tmp_path, capsys):
    ckpt = tmp_path / "c.ckpt"
    args = ["train", *SMALL, "--epochs", "2", "--checkpoint", str(ckpt)]
    assert main([*args, "--epochs", "1"]) == 0
    kept = ckpt.read_bytes()
    capsys.readouterr()
    assert main(args) == 2  # silently starting afresh would throw its epochs away
    err = capsys.readouterr().err
    assert err == (f"fnn: error: argument --checkpoint: {ckpt} exists; give --resume to "
                   "continue it, or --overwrite to start afresh and replace it\n")
    assert ckpt.read_bytes() == kept
    assert main([*args, "--overwrite"]) == 0
    assert "resuming" not in capsys.readouterr().out
    fresh = ckpt.read_bytes()
    assert main([*args, "--epochs", "1", "--overwrite"]) == 0
    assert main([*args, "--resume"]) == 0  # 1 epoch, then resumed to 2: the same bytes
    assert "resuming after epoch 1" in capsys.readouterr().out
    assert ckpt.read_bytes() == fresh and read_checkpoint(ckpt).epochs_done == 2


def test_epochs_are_numbered_from_1_on_screen_and_in_the_files_people_read(tmp_path, capsys,
                                                                           monkeypatch):
    csv_file, json_file, ckpt = tmp_path / "h.csv", tmp_path / "h.json", tmp_path / "c.ckpt"
    for history in (csv_file, json_file):
        assert main(["train", *SMALL, "--epochs", "3", "--history", str(history),
                     "--checkpoint", str(ckpt), "--overwrite"]) == 0
    out = capsys.readouterr().out
    assert re.findall(r"^epoch (\d)/3:", out, re.MULTILINE) == ["1", "2", "3"] * 2
    assert [int(row.split(",")[0]) for row in csv_file.read_text().splitlines()[1:]] == [1, 2, 3]
    assert [r["epoch"] for r in json.loads(json_file.read_text())["records"]] == [1, 2, 3]
    # a checkpoint is fnn's own state, read back by fnn: it keeps the library's records (0-based)
    assert [r.epoch for r in read_checkpoint(ckpt).state.history] == [0, 1, 2]
    # fnn plot draws the file's numbers: it gives the plotter the library's History back
    import fnn.plotting
    seen = []
    monkeypatch.setattr(fnn.plotting, "require_matplotlib", lambda: None)
    monkeypatch.setattr(fnn.plotting, "learning_curves", lambda h, path: seen.append(h))
    assert main(["plot", str(csv_file), "-o", str(tmp_path / "c.png")]) == 0
    assert [r.epoch for r in seen[0]] == [0, 1, 2]  # learning_curves shows epoch + 1


def test_diverging_and_numpy_warnings_are_reported_in_two_clean_lines(capsys):
    code = main(["train", *SMALL, "--activation", "relu", "--eta", "1e5", "--epochs", "2",
                 "--jit", "off", "--monitor", "all"])
    out, err = capsys.readouterr()
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 2 and "Warning" not in err and "fnn/" not in err and ".py" not in err
    assert lines[0].startswith("fnn: note: NumPy met ") and "overflow" in lines[0]
    assert re.fullmatch(r"fnn: error: training diverged in epoch 1(, mini-batch \d+: the params "
                        r"stopped being finite|: a monitored cost was not finite) \(eta "
                        r"100000.0, lmbda 5.0\); try a smaller --eta", lines[1])
    assert out.startswith("fnn ") and "final" not in out


def test_counting_numpys_warnings_changes_no_value():
    params = fnn.init_params([784, 30, 10], seed=0)
    huge = fnn.Params(tuple(w * 1e305 for w in params.weights), params.biases)
    x = load_sample(dtype="float64").test.x[:50]
    with np.errstate(all="ignore"):
        quiet = fnn.forward(huge, x, activation=fnn.RELU)
    out = io.StringIO()
    with cli_args.numpy_notes(out) as counts:
        counted = fnn.forward(huge, x, activation=fnn.RELU)
    assert counts["overflow"] >= 1 and out.getvalue().count("\n") == 1
    np.testing.assert_array_equal(counted, quiet)  # NaN where NaN, bit for bit elsewhere


@pytest.mark.parametrize(("argv", "fragment"), [
    (["train", "--eta", "1e400x"], "argument --eta: must be a number, got '1e400x'"),
    (["train", "--optimizer", "momentum", "--mu", "0.5.5"],
     "argument --mu: must be a number, got '0.5.5'"),
    (["train", "--dropout", "half"], "argument --dropout: must be a number, got 'half'"),
    (["train", "--threads", "all"], "argument --threads: must be an integer, got 'all'"),
    (["evaluate", "m.json", "--lmbda", "x"], "argument --lmbda: must be a number, got 'x'"),
    (["sweep", "--out", "r.jsonl", "--grid", "lmbda=1,x"], "must be a number, got 'x'"),
])
def test_no_python_conversion_message_leaks(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "could not convert" not in err and "invalid literal" not in err


def _saved_params(tmp_path, name, *options):
    path = tmp_path / f"{name}.json"
    assert main(["train", *SMALL, "--jit", "off", "--seed", "3", "--eta", "3", "--lmbda", "0",
                 *options, "--save", str(path)]) == 0
    return load(path).params


def test_early_stopping_keeps_the_best_params_when_the_epoch_limit_comes_first(tmp_path,
                                                                                capsys):
    history = tmp_path / "h.json"
    kept = _saved_params(tmp_path, "early", "--epochs", "5", "--early-stop", "100",
                         "--history", str(history))
    out = capsys.readouterr().out
    accuracies = [r.evaluation_accuracy for r in History.from_json(history.read_text())]
    best = accuracies.index(max(accuracies)) + 1  # numbered from 1, as in the file
    assert best < 5 and accuracies[-1] < max(accuracies)  # the limit came first, after the best
    assert (f"early stopping: the epoch limit came first; keeping epoch {best}'s params, the "
            f"best validation accuracy") in out
    assert f"final validation accuracy: {round(max(accuracies) * 200)}/200" in out
    assert tree_equal(kept, _saved_params(tmp_path, "best", "--epochs", str(best)))
    # and when the patience runs out first
    stopped = _saved_params(tmp_path, "stopped", "--epochs", "30", "--early-stop", "2")
    out = capsys.readouterr().out
    assert f"early stopping after epoch {best + 2}: no better validation accuracy for 2 " \
           f"epochs; keeping epoch {best}'s params, the best" in out
    assert tree_equal(stopped, kept)


def test_the_progress_bar_stays_and_without_tqdm_nothing_but_the_epoch_lines(capsys,
                                                                             monkeypatch):
    pytest.importorskip("tqdm", reason="tqdm is not installed (fnn[progress])")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["train", *SMALL[:-1], "--epochs", "2"]) == 0
    bar = terminal.getvalue()
    assert bar.endswith("\n") and "epoch 2/2: 100%" in bar.rsplit("\r", 1)[-1]  # it stays
    assert "mini-batches" not in bar and capsys.readouterr().out.count("\nepoch ") == 2
    monkeypatch.setitem(sys.modules, "tqdm", None)  # not installed
    terminal.seek(0)
    terminal.truncate()
    assert main(["train", *SMALL[:-1], "--epochs", "2"]) == 0
    assert terminal.getvalue() == ""  # the one line per epoch on stdout is all
    assert capsys.readouterr().out.count("\nepoch ") == 2


def test_a_child_seed_trains_as_its_seed_sequence(tmp_path, capsys):
    model = tmp_path / "m.json"
    assert main(["train", *SMALL, "--epochs", "1", "--seed", "0/1", "--save", str(model)]) == 0
    assert "seed 0/1" in capsys.readouterr().out
    saved = load(model)
    assert saved.metadata["seed"] == {"entropy": 0, "spawn_key": [1]}
    run = run_from_json(saved.metadata["run"], seed=saved.metadata["seed"])
    assert run.config.seed.spawn_key == (1,) and run.config.seed.entropy == 0
