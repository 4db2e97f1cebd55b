"""The ``fnn`` command through ``main([...])``: exit codes, messages, files."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys

import pytest

import fnn.training
from fnn.checkpoint import read_checkpoint
from fnn.cli import main
from fnn.serialization import load

FAST = ["--sizes", "784,10,10", "--epochs", "2", "--no-progress"]


def _final_accuracy(out: str) -> float:
    k, n = re.search(r"final test accuracy: (\d+)/(\d+)", out).groups()
    return int(k) / int(n)


def test_train_on_the_embedded_sample_learns_and_saves(tmp_path, capsys):
    model, history = tmp_path / "m.json", tmp_path / "h.csv"
    code = main(["train", "--epochs", "3", "--no-progress", "--monitor", "all",
                 "--save", str(model), "--history", str(history)])
    out = capsys.readouterr().out
    assert code == 0
    assert "seed 0" in out and "epoch 3/3: training cost" in out
    assert _final_accuracy(out) >= 0.90  # 784-30-10 after 3 epochs on 10,000 digits
    assert load(model).sizes == (784, 30, 10)
    assert history.read_text().startswith("epoch,training_cost,")
    assert main(["evaluate", str(model), "--split", "test"]) == 0
    evaluated = capsys.readouterr().out
    assert re.search(r"accuracy (\d+)/2000", evaluated).group(1) == re.search(
        r"final test accuracy: (\d+)/", out).group(1)


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
    (["--mini-batch-size", "0"], "argument --mini-batch-size: must be an int >= 1, got 0"),
    (["--cost", "hinge"], "argument --cost: invalid choice: 'hinge'"),
    (["--seed", "-1"], "argument --seed: must be an int >= 0, got -1"),
    (["--sizes", "784,0,10"], "argument --sizes: sizes[1] must be an int >= 1"),
    (["--sizes", "784,30,5"], "argument --sizes: the data have 784 inputs and 10 classes"),
    (["--lmbda", "-2"], "argument --lmbda: must be a finite number >= 0, got -2.0"),
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
    ckpt = tmp_path / "c.json"
    steps, real_step = [0], fnn.training.sgd_step

    def interrupting(*args, **kwargs):
        steps[0] += 1
        if steps[0] == 1500:  # in epoch 2 (1,000 mini-batches an epoch)
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(fnn.training, "sgd_step", interrupting)
    args = ["train", "--sizes", "784,10,10", "--epochs", "3", "--no-progress",
            "--checkpoint", str(ckpt)]
    assert main(args) == 130
    assert "interrupted" in capsys.readouterr().err
    assert read_checkpoint(ckpt).epochs_done == 1
    monkeypatch.setattr(fnn.training, "sgd_step", real_step)
    assert main([*args, "--resume", "--save", str(tmp_path / "resumed.json")]) == 0
    assert "resuming after epoch 1" in capsys.readouterr().out
    assert main(["train", "--sizes", "784,10,10", "--epochs", "3", "--no-progress",
                 "--save", str(tmp_path / "whole.json")]) == 0
    assert (tmp_path / "resumed.json").read_bytes() == (tmp_path / "whole.json").read_bytes()


def test_plot_writes_a_png(tmp_path, capsys):
    history = tmp_path / "h.json"
    assert main(["train", *FAST, "--monitor", "all", "--history", str(history)]) == 0
    assert main(["plot", str(history), "-o", str(tmp_path / "curves.png")]) == 0
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()


def test_plot_without_matplotlib_is_a_clear_runtime_error(tmp_path, capsys, monkeypatch):
    history = tmp_path / "h.json"
    history.write_text('{"format": "fnn.history", "records": []}')
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["plot", str(history), "-o", str(tmp_path / "c.png")]) == 1
    assert "matplotlib" in capsys.readouterr().err
    assert not (tmp_path / "c.png").exists()


def test_python_dash_m_fnn_shows_help_with_every_train_option():
    out = subprocess.run([sys.executable, "-m", "fnn", "train", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for option in ("--sizes", "--cost", "--epochs", "--mini-batch-size", "--eta", "--lmbda",
                   "--init", "--seed", "--data", "--monitor", "--save", "--history",
                   "--checkpoint", "--resume", "--activation", "--output", "--optimizer", "--mu",
                   "--schedule", "--early-stop", "--dropout", "--l1", "--expand", "--threads"):
        assert option in out


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
    assert saved.metadata["training"]["optimizer"] == "momentum"
    assert main(["evaluate", str(model)]) == 0
    assert "log_likelihood cost" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "fragment"), [
    (["--output", "softmax", "--cost", "quadratic"], "argument --cost: quadratic does not go with --output softmax"),
    (["--cost", "log_likelihood"], "argument --cost: log_likelihood does not go with --output sigmoid"),
    (["--activation", "swish"], "argument --activation: unknown activation 'swish'"),
    (["--activation", "relu,tanh"], "argument --activation: needs 1 or 1 names"),
    (["--mu", "0.9"], "argument --mu: only for --optimizer momentum or nesterov"),
    (["--optimizer", "momentum", "--mu", "1.5"], "argument --mu: must be a number in [0, 1), got 1.5"),
    (["--schedule", "cosine"], "argument --schedule: schedule must be 'constant' or 'halve:N'"),
    (["--dropout", "1"], "argument --dropout: must be a number in [0, 1), got 1.0"),
    (["--early-stop", "0"], "argument --early-stop: must be an int >= 1, got 0"),
])
def test_chapter3_usage_errors(tmp_path, capsys, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *FAST, "--save", "m.json", *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
