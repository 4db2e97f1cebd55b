"""``fnn evaluate`` through ``main([...])``: a saved model's accuracy and cost on a data set."""

from __future__ import annotations

import contextlib
import errno
import io
import re
import sys

import pytest

import fnn
from fnn.cli import evaluate, main
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
        assert main(["evaluate", str(path), "--lmbda", str(lmbda), "--split", "test"]) == 0
        shown = float(re.search(r"cross_entropy cost ([\d.]+)", capsys.readouterr().out).group(1))
        costs.append(fnn.total_cost(saved.params, test.x, test.labels, cost=saved.cost,
                                    lmbda=lmbda, activation=saved.activations))
        assert shown == pytest.approx(costs[-1], abs=5e-7)  # printed to 6 decimals
    assert costs[1] > costs[0]


@pytest.mark.parametrize(("args", "fragment"), [
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


# --- a model that runs as it was saved, in either format ----------------------------------


@pytest.fixture(scope="module")
def relu_softmax(tmp_path_factory):
    """A 784-12-10 ReLU net with a softmax output, trained a little, saved in both formats."""
    sample = load_sample(dtype="float64")
    params, _ = fnn.sgd(fnn.init_params([784, 12, 10], seed=0, init=fnn.he_init),
                        (sample.training.x[:2000], sample.training.labels[:2000]), epochs=2,
                        mini_batch_size=20, eta=0.1, lmbda=0.0, cost=fnn.log_likelihood,
                        activation=fnn.RELU, seed=0)
    folder = tmp_path_factory.mktemp("relu")
    paths = [save(folder / f"m.{suffix}", params, cost=fnn.log_likelihood,
                  activation=fnn.RELU) for suffix in ("json", "safetensors")]
    return params, paths


def test_evaluate_runs_a_relu_softmax_model_with_its_own_activations(relu_softmax, capsys):
    params, paths = relu_softmax
    test = load_sample(dtype="float64").test
    right = fnn.accuracy(params, test.x, test.labels, activation=fnn.RELU)
    assert right != fnn.accuracy(params, test.x, test.labels)  # run as sigmoid, it differs
    cost = fnn.total_cost(params, test.x, test.labels, cost=fnn.log_likelihood, lmbda=0.0,
                          activation=fnn.RELU)
    lines = []
    for path in paths:
        assert main(["evaluate", str(path), "--split", "test"]) == 0
        lines.append(capsys.readouterr().out.removeprefix(str(path)))
    assert lines[0] == lines[1] == (
        f" on embedded sample test (2000 examples): accuracy {right}/2000 "
        f"({100 * right / 2000:.2f}%), log_likelihood cost {cost:.6f}\n")


# --- every model file that cannot be used: exit 1, one line naming the file and the problem -


def _bad_models(folder, relu_softmax):
    """(path, what the one error line says after "fnn: error: ") for each kind of bad model."""
    json_model, safetensors_model = relu_softmax[1]
    (folder / "a-folder.json").mkdir()
    (folder / "scores.csv").write_text("epoch,accuracy\n1,0.9\n")
    (folder / "digits.csv").write_text("1,2,3\n4,5,6\n")
    (folder / "empty.json").write_bytes(b"")
    (folder / "cut.json").write_bytes(json_model.read_bytes()[:117])  # after "dtype":
    (folder / "history.json").write_text('{"format": "fnn.history", "records": []}')
    (folder / "renamed.json").write_bytes(safetensors_model.read_bytes())
    (folder / "renamed.safetensors").write_bytes(json_model.read_bytes())
    (folder / "cut.safetensors").write_bytes(safetensors_model.read_bytes()[:-4])
    (folder / "pickle.json").write_bytes(b"\x80\x04\x95")
    f = folder
    return [
        (f / "nope.json", f"model file {f / 'nope.json'} does not exist"),
        (f / "nope.safetensors", f"model file {f / 'nope.safetensors'} does not exist"),
        (f / "a-folder.json", f"model file {f / 'a-folder.json'} is a directory, not a model file"),
        (f / "scores.csv", (f"{f / 'scores.csv'}: not a model file: it starts with "
                           "'epoch,accuracy\\n1,0.9\\n'; a model file is JSON (an object with "
                           "sizes, weights, biases and cost) or safetensors named *.safetensors")),
        (f / "digits.csv", (f"{f / 'digits.csv'}: not a model file: it starts with "
                           "'1,2,3\\n4,5,6\\n'; a model file is JSON")),
        (f / "empty.json", f"{f / 'empty.json'}: empty file; expected a JSON model file"),
        (f / "cut.json", (f"{f / 'cut.json'}: line 6 column 10: unexpected end of file "
                         "(truncated?)")),
        (f / "history.json", (f"{f / 'history.json'}: format: expected \"fnn.model\", got "
                             "\"fnn.history\": a training history (fnn train --history), not a "
                             "model")),
        (f / "renamed.json", (f"{f / 'renamed.json'}: a safetensors file, not JSON: name it "
                             "*.safetensors to load it as one")),
        # the reason in brackets is the package's own words, which vary with its version
        (f / "renamed.safetensors", (f"{f / 'renamed.safetensors'}: not a readable safetensors "
                                    "file (")),
        (f / "cut.safetensors", f"{f / 'cut.safetensors'}: not a readable safetensors file ("),
        (f / "pickle.json", (f"{f / 'pickle.json'}: byte 0: not UTF-8 (invalid start byte); a "
                            "model file is UTF-8 JSON")),
    ]


def test_every_unusable_model_file_is_one_clear_line_naming_it(tmp_path, capsys, relu_softmax):
    for path, message in _bad_models(tmp_path, relu_softmax):
        assert main(["evaluate", str(path)]) == 1, path
        out, err = capsys.readouterr()
        assert out == "" and err.startswith(f"fnn: error: {message}"), (path, err)
        assert err.count("\n") == 1 and "Errno" not in err and "Traceback" not in err
        if path.name == "renamed.safetensors":
            assert err.endswith("); it starts like JSON: name a JSON model *.json\n")


@pytest.mark.parametrize(("error", "message"), [
    (PermissionError(errno.EACCES, "Permission denied"), "cannot be read: permission denied"),
    (OSError(errno.EIO, "Input/output error"), "cannot be read: Input/output error"),
])
def test_a_model_file_that_cannot_be_read_says_why_in_words(tmp_path, capsys, monkeypatch,
                                                             error, message):
    path = tmp_path / "m.json"
    error.filename = str(path)

    def fail(_path):
        raise error
    monkeypatch.setattr(evaluate, "load", fail)  # the tests run as root: chmod cannot refuse
    assert main(["evaluate", str(path)]) == 1
    assert capsys.readouterr().err == f"fnn: error: model file {path} {message}\n"


def test_a_safetensors_model_without_the_extra_says_what_to_install(tmp_path, capsys,
                                                                    monkeypatch, relu_softmax):
    path = relu_softmax[1][1]
    for name in ("safetensors", "safetensors.numpy"):
        monkeypatch.setitem(sys.modules, name, None)  # import safetensors now fails
    assert main(["evaluate", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"fnn: error: loading {path} needs the safetensors package: "
        'pip install "fnn[safetensors]"\n')


def test_a_model_with_fewer_outputs_than_classes_is_a_usage_error(tmp_path, capsys):
    path = save(tmp_path / "five.json", fnn.init_params([784, 5], seed=0), cost=fnn.quadratic)
    assert main(["evaluate", str(path), "--split", "test"]) == 2
    assert capsys.readouterr().err == (
        "fnn: error: argument --data: embedded sample has 10 classes, the model has 5 outputs\n")


@pytest.mark.mnist
def test_evaluate_on_the_full_mnist_defaults_to_its_validation_set(model, capsys):
    path, _ = model
    data = str(MNIST_DIR / "mnist.pkl.gz")
    assert main(["evaluate", str(path), "--data", data]) == 0
    assert f"on {data} validation (10000 examples): accuracy " in capsys.readouterr().out
    assert main(["evaluate", str(path), "--data", data, "--split", "test"]) == 0
    assert f"on {data} test (10000 examples): accuracy " in capsys.readouterr().out
