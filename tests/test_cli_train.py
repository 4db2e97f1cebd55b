"""``fnn train`` through ``main([...])``: exit codes, messages, files, the run it records."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys

import pytest

import fnn
from fnn.checkpoint import read_checkpoint
from fnn.cli import main
from fnn.datasets import load_sample
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
    it printed (0 epochs: the data are loaded and expanded, nothing is trained)."""
    model = tmp_path / "m.json"
    assert main(["train", "--sizes", "784,10,10", "--epochs", "0", "--mini-batch-size", "5",
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
    (["--epochs", "-1"], "argument --epochs: must be an int >= 0, got -1"),
    (["--monitor", "speed"], "argument --monitor: unknown monitor 'speed'"),
    (["--history", "h.txt"], "argument --history: must end in .json or .csv"),
    (["--resume"], "argument --resume: needs --checkpoint FILE"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["--split", "validation"], "argument --split: these data have no validation set"),
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
    assert main(["train", "--epochs", "0", "--no-progress", "--save", str(model)]) == 0
    run, out = load(model).metadata["run"], capsys.readouterr().out
    assert run["sizes"] == [784, 30, 10] and run["epochs"] == 0
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
