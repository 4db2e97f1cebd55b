"""``fnn evaluate`` through ``main([...])``: a saved model's accuracy and cost on a data set."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

import fnn
from fnn.cli import main
from fnn.datasets import load_sample
from fnn.serialization import load, save

from .conftest import MNIST_DIR

FAST = ["--sizes", "784,10,10", "--epochs", "2", "--no-progress"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A 784-10-10 model trained 2 epochs on the embedded sample, and what fnn train printed."""
    path = tmp_path_factory.mktemp("model") / "m.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["train", *FAST, "--save", str(path)]) == 0
    return path, printed.getvalue()


def test_evaluate_reports_what_train_reported(model, capsys):
    path, trained = model
    assert main(["evaluate", str(path), "--split", "test"]) == 0
    evaluated = capsys.readouterr().out
    assert re.search(r"accuracy (\d+)/2000", evaluated).group(1) == re.search(
        r"final test accuracy: (\d+)/", trained).group(1)
    assert evaluated.startswith(f"{path} on embedded sample test (2000 examples): accuracy ")


def test_the_cost_is_the_models_and_lmbda_adds_the_l2_term(model, capsys):
    path, _ = model
    saved, test = load(path), load_sample(dtype="float64").test
    costs = []
    for lmbda in (0.0, 5.0):
        assert main(["evaluate", str(path), "--lmbda", str(lmbda)]) == 0
        shown = float(re.search(r"cross_entropy cost ([\d.]+)", capsys.readouterr().out).group(1))
        costs.append(fnn.total_cost(saved.params, test.x, test.labels, cost=saved.cost,
                                    lmbda=lmbda, activation=saved.activations))
        assert shown == pytest.approx(costs[-1], abs=5e-7)  # printed to 6 decimals
    assert costs[1] > costs[0]


@pytest.mark.parametrize(("args", "fragment"), [
    (["--split", "validation"], "argument --split: these data have no validation set"),
    (["--lmbda", "-1"], "argument --lmbda: must be a finite number >= 0, got -1.0"),
    (["--split", "training"], "argument --split: invalid choice: 'training'"),
])
def test_usage_errors_exit_2_with_one_error_line(model, capsys, args, fragment):
    assert main(["evaluate", str(model[0]), *args]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [captured.err.strip()] and fragment in captured.err
    assert captured.err.startswith("fnn: error: ") and captured.out == ""


def test_a_model_for_other_inputs_is_a_usage_error(tmp_path, capsys):
    other = tmp_path / "small.json"
    save(other, fnn.init_params([100, 10], seed=0), cost=fnn.cross_entropy)
    assert main(["evaluate", str(other)]) == 2
    assert capsys.readouterr().err == (
        "fnn: error: argument --data: embedded sample has 784 inputs, the model expects 100\n")


def test_a_missing_or_corrupt_model_exits_1_naming_the_file(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope.json")]) == 1
    assert "nope.json" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["evaluate", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert err.startswith(f"fnn: error: {bad}") and out == ""


@pytest.mark.mnist
def test_evaluate_on_the_full_mnist_defaults_to_its_validation_set(model, capsys):
    path, _ = model
    data = str(MNIST_DIR / "mnist.pkl.gz")
    assert main(["evaluate", str(path), "--data", data]) == 0
    assert f"on {data} validation (10000 examples): accuracy " in capsys.readouterr().out
    assert main(["evaluate", str(path), "--data", data, "--split", "test"]) == 0
    assert f"on {data} test (10000 examples): accuracy " in capsys.readouterr().out
