"""fnn.Model: params that run with their own activations and cost, wherever params go."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn import strategies as fst
from fnn.activations import RELU, SIGMOID, TANH, per_layer, softmax
from fnn.costs import cross_entropy, log_likelihood, quadratic
from fnn.errors import ConfigError, FnnTypeError
from fnn.model import Model, as_model, resolve
from fnn.params import init_params, tree_equal
from fnn.registry import COSTS

from .conftest import read_only


def _relu_softmax(seed: int = 0) -> Model:
    return Model(init_params([5, 7, 6, 4], seed=seed, init=fnn.he_init), (RELU, TANH),
                 log_likelihood)


X = np.random.default_rng(0).normal(size=(9, 5))
LABELS = np.arange(9) % 4


# ----------------------------------------------------------------------------- the value


def test_a_model_is_an_immutable_named_tuple_of_four_fields():
    model = _relu_softmax()
    assert isinstance(model, tuple) and Model._fields == ("params", "activations", "cost",
                                                          "metadata")
    params, activations, cost, metadata = model
    assert activations == (RELU, TANH) and cost is log_likelihood and metadata is None
    assert model.sizes == (5, 7, 6, 4)
    with pytest.raises(AttributeError):
        model.cost = quadratic  # type: ignore[misc]
    assert model._replace(cost=quadratic).cost is quadratic and model.cost is log_likelihood


def test_a_model_pickles_and_comes_back_equal():
    model = _relu_softmax()._replace(metadata={"seed": 0})
    again = pickle.loads(pickle.dumps(model))
    assert tree_equal(again.params, model.params)
    assert again[1:] == model[1:]


def test_the_package_exports_the_model_api():
    assert fnn.Model is Model
    for name in ("save", "load", "predict", "load_mnist"):
        assert name in fnn.__all__ and callable(getattr(fnn, name))
    code = "import sys, fnn; print('safetensors' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"  # the optional package is imported only to read or write a file


def test_as_model_repeats_one_activation_and_passes_a_canonical_model_through():
    params = init_params([3, 4, 4, 2], seed=0)
    model = as_model(Model(params, TANH, cross_entropy))
    assert model.activations == (TANH, TANH)
    assert as_model(model) is model
    pair = as_model(Model((list(params.weights), list(params.biases)), (TANH, TANH),
                          cross_entropy))
    assert type(pair.params) is fnn.Params and tree_equal(pair.params, params)


@pytest.mark.parametrize(("model", "error", "message"), [
    ((init_params([3, 2], seed=0), (), quadratic), FnnTypeError,
     "model must be an fnn Model, got tuple"),
    (Model(init_params([3, 4, 2], seed=0), (), quadratic), ConfigError,
     "activation needs one entry per hidden layer (1), got []"),
    (Model(init_params([3, 4, 2], seed=0), ("relu",), quadratic), FnnTypeError,
     "activation must be an fnn Activation such as fnn.RELU"),
    (Model(init_params([3, 2], seed=0), (), "quadratic"), FnnTypeError,
     "model.cost must be an fnn Cost such as fnn.cross_entropy, got 'quadratic'"),
    (Model(init_params([3, 2], seed=0), (), quadratic, [("seed", 0)]), FnnTypeError,
     "model.metadata must be a dict or None, got list"),
    (Model(([np.zeros((2, 3))], [np.zeros(3)]), (), quadratic), ConfigError,
     "model.params have inconsistent layer shapes"),
], ids=["tuple", "activations", "activation-name", "cost-name", "metadata", "shapes"])
def test_as_model_refuses_what_is_not_a_model(model, error, message):
    with pytest.raises(error, match="^" + re.escape(message)):
        as_model(model)
    if isinstance(model, Model):
        with pytest.raises(error, match="^" + re.escape(message)):
            fnn.forward(model, np.zeros((1, 3)))


# ------------------------------------------------------------ running it as it was trained


def test_every_function_runs_a_model_with_its_own_activations_output_and_cost():
    model = _relu_softmax()
    p, acts, c = model.params, model.activations, model.cost
    same = [
        (fnn.forward(model, X), fnn.forward(p, X, activation=acts, output=softmax)),
        (fnn.output_z(model, X), fnn.output_z(p, X, activation=acts)),
        (fnn.predict(model, X), np.argmax(fnn.output_z(p, X, activation=acts), axis=1)),
        (fnn.cost(model, X, LABELS), fnn.cost(p, X, LABELS, cost=c, activation=acts)),
        (fnn.accuracy(model, X, LABELS), fnn.accuracy(p, X, LABELS, activation=acts)),
        (fnn.total_cost(model, X, LABELS, lmbda=2.0),
         fnn.total_cost(p, X, LABELS, cost=c, lmbda=2.0, activation=acts)),
    ]
    for mine, theirs in same:
        assert np.asarray(mine).tobytes() == np.asarray(theirs).tobytes()
    assert tree_equal(fnn.backprop(model, X, LABELS), fnn.backprop(p, X, LABELS, c,
                                                                   activation=acts))
    assert tree_equal(fnn.summed_gradient(model, X, LABELS),
                      fnn.summed_gradient(p, X, LABELS, c, activation=acts))
    t, u = fnn.trace(model, X), fnn.trace(p, X, activation=acts, output=softmax)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(t.activations, u.activations,
                                                          strict=True))
    assert not np.array_equal(fnn.forward(model, X), fnn.forward(p, X))  # sigmoid is another net


def test_a_model_runs_without_writing_to_its_arrays():
    model = _relu_softmax()._replace(params=read_only(_relu_softmax().params))
    assert fnn.predict(model, X).shape == (9,)
    assert fnn.forward(model, X).shape == (9, 4)


def test_predict_gives_integer_labels_and_reads_z_not_saturated_outputs():
    labels = fnn.predict(_relu_softmax(), X)
    assert labels.dtype == np.intp and labels.shape == (9,)
    # σ rounds both outputs to 1.0 in float32; the weighted inputs still tell them apart
    p = ([np.zeros((2, 1), np.float32)], [np.array([20.0, 30.0], np.float32)])
    assert fnn.forward(p, np.zeros((1, 1), np.float32)).tolist() == [[1.0, 1.0]]
    assert fnn.predict(p, np.zeros((1, 1), np.float32)).tolist() == [1]
    assert fnn.predict(Model(p, (), quadratic), np.zeros((1, 1), np.float32)).tolist() == [1]


@pytest.mark.parametrize(("call", "message"), [
    (lambda m: fnn.forward(m, X, activation=SIGMOID),
     ("activation: this Model runs its own hidden activations ['relu', 'tanh'], got "
     "['sigmoid', 'sigmoid']; pass model.params to run its params with others")),
    (lambda m: fnn.forward(m, X, output=fnn.sigmoid),
     "output: this Model runs its own output layer 'softmax', got 'sigmoid'"),
    (lambda m: fnn.cost(m, X, LABELS, cost=cross_entropy),
     "cost: this Model runs its own cost 'log_likelihood', got 'cross_entropy'"),
    (lambda m: fnn.accuracy(m, X, LABELS, activation=(RELU, RELU)),
     ("activation: this Model runs its own hidden activations ['relu', 'tanh'], got "
     "['relu', 'relu']")),
    (lambda m: fnn.total_cost(m, X, LABELS, cost=quadratic, lmbda=0.0),
     "cost: this Model runs its own cost 'log_likelihood', got 'quadratic'"),
    (lambda m: fnn.backprop(m, X, LABELS, cross_entropy),
     "cost: this Model runs its own cost 'log_likelihood', got 'cross_entropy'"),
    (lambda m: fnn.predict(m, X, activation=TANH),
     ("activation: this Model runs its own hidden activations ['relu', 'tanh'], got "
     "['tanh', 'tanh']")),
], ids=["forward-activation", "forward-output", "cost", "accuracy", "total_cost", "backprop",
        "predict"])
def test_other_activations_or_costs_with_a_model_are_refused(call, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        call(_relu_softmax())


def test_the_models_own_activations_and_cost_may_be_repeated():
    model = _relu_softmax()
    assert fnn.forward(model, X, activation=(RELU, TANH), output=softmax).tobytes() == \
        fnn.forward(model, X).tobytes()
    assert fnn.cost(model, X, LABELS, cost=log_likelihood) == fnn.cost(model, X, LABELS)


@pytest.mark.parametrize("call", [
    lambda p: fnn.cost(p, X, LABELS),
    lambda p: fnn.backprop(p, X, LABELS),
    lambda p: fnn.summed_gradient(p, X, LABELS),
    lambda p: fnn.total_cost(p, X, LABELS, lmbda=0.0),
], ids=["cost", "backprop", "summed_gradient", "total_cost"])
def test_plain_params_still_need_a_cost(call):
    with pytest.raises(FnnTypeError, match=r"^cost must be an fnn Cost such as "
                                           r"fnn\.cross_entropy, got None$"):
        call(_relu_softmax().params)


def test_resolve_leaves_plain_params_to_the_callers_defaults():
    params = init_params([3, 2], seed=0)
    run = resolve(params)
    assert run.params is params and run.activation is SIGMOID and run.cost is None
    assert run.output is fnn.sigmoid
    assert resolve(params, activation=RELU, cost=quadratic, output=softmax)[1:] == (
        RELU, quadratic, softmax)


@pytest.mark.parametrize("cost", COSTS.values(), ids=COSTS.keys())
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_a_model_gives_the_bits_of_its_params_run_by_hand(cost, data):
    params, batch = data.draw(fst.nets(max_width=6))
    n_hidden = len(params.weights) - 1
    acts = tuple(data.draw(st.lists(st.sampled_from([SIGMOID, TANH, RELU]), min_size=n_hidden,
                                    max_size=n_hidden)))
    model = Model(params, acts, cost)
    by_hand = fnn.forward(params, batch.x, activation=acts, output=cost.output)
    assert fnn.forward(model, batch.x).tobytes() == by_hand.tobytes()
    z = fnn.output_z(params, batch.x, activation=per_layer(acts, n_hidden))
    assert fnn.predict(model, batch.x).tolist() == np.argmax(z, axis=1).tolist()


# --------------------------------------------------------------------- what load gives back


@pytest.mark.parametrize("suffix", ["json", "safetensors"])
def test_load_gives_a_model_that_predicts_as_the_trained_net(tmp_path, suffix):
    if suffix == "safetensors":
        pytest.importorskip("safetensors", reason="safetensors is not installed (fnn[safetensors])")
    model = _relu_softmax(seed=4)
    loaded = fnn.load(fnn.save(tmp_path / f"m.{suffix}", model, metadata={"seed": 4}))
    assert isinstance(loaded, Model) and loaded.activations == (RELU, TANH)
    assert loaded.cost is log_likelihood and loaded.metadata["seed"] == 4
    assert fnn.predict(loaded, X).tolist() == fnn.predict(model, X).tolist()
    assert fnn.forward(loaded, X).tobytes() == fnn.forward(model, X).tobytes()
