"""fnn.serialization: model files in network2's layout, and the one JSON layout of a tree."""

from __future__ import annotations

import errno
import json
import os
import platform
import random
import re
import sys
import time
import types
from itertools import pairwise

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn import files
from fnn.activations import RELU, SIGMOID, TANH, Activation, per_layer
from fnn.costs import Cost, cross_entropy, quadratic
from fnn.errors import ConfigError, FnnTypeError, ModelFormatError
from fnn.files import parse_json
from fnn.params import Params, init_params, sizes_of, tree_equal
from fnn.registry import COSTS
from fnn.serialization import (
    FORMAT,
    FORMAT_VERSION,
    Model,
    from_dict,
    load,
    save,
    to_dict,
    tree_from_dict,
    tree_to_dict,
)

F64_MAX = float(np.finfo(np.float64).max)  # 1.7976931348623157e308
F32_MAX = float(np.finfo(np.float32).max)  # 3.4028234663852886e38
F32_TINY = float(np.float32(1.4e-45))  # the smallest float32 subnormal


@st.composite
def models(draw: st.DrawFn, width: int) -> Params:
    """Params for 2-4 layers of width 1-6, any finite value of that width (-0.0, subnormals,
    the largest magnitudes included)."""
    sizes = draw(st.lists(st.integers(1, 6), min_size=2, max_size=4))
    dtype = np.float64 if width == 64 else np.float32
    values = st.floats(allow_nan=False, allow_infinity=False, width=width)
    weights = tuple(draw(hnp.arrays(dtype, (n_out, n_in), elements=values))
                    for n_in, n_out in pairwise(sizes))
    biases = tuple(draw(hnp.arrays(dtype, (n_out,), elements=values)) for n_out in sizes[1:])
    return Params(weights, biases)


def exact(values: list[float], dtype: type = np.float64) -> Params:
    """A one-layer net holding ``values`` as its single weight row (and the first as bias)."""
    return Params(weights=(np.array([values], dtype=dtype),),
                  biases=(np.array(values[:1], dtype=dtype),))


# ------------------------------------------------------------------------- round trips


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("round_trip")


@pytest.mark.parametrize("width", [64, 32])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_save_then_load_gives_the_same_bits(folder, width, data):
    params = data.draw(models(width))
    cost = data.draw(st.sampled_from(list(COSTS.values())))
    path = save(folder / f"net{width}.json", params, cost=cost, metadata={"w": width})
    again = save(folder / f"again{width}.json", params, cost=cost, metadata={"w": width})
    assert path.read_bytes() == again.read_bytes()
    model = load(path)
    assert tree_equal(model.params, params)
    assert model.cost is cost
    assert model.sizes == sizes_of(params)
    assert model.metadata["w"] == width
    assert tree_equal(from_dict(to_dict(params, cost=cost)).params, params)


def test_extreme_float64_values_are_written_exactly(tmp_path):
    values = [-0.0, 0.0, 5e-324, -5e-324, 2.2250738585072014e-308, F64_MAX, -F64_MAX, 0.1, 1 / 3]
    params = exact(values)
    path = save(tmp_path / "m.json", params, cost=quadratic)
    text = path.read_text()
    assert '"weights": [[[-0.0, 0.0, 5e-324, -5e-324, 2.2250738585072014e-308, ' \
           '1.7976931348623157e+308, -1.7976931348623157e+308, 0.1, 0.3333333333333333]]]' in text
    assert '"biases": [[[-0.0]]]' in text
    loaded = load(path).params
    assert tree_equal(loaded, params)
    assert np.signbit(loaded.biases[0][0])  # -0.0 stays negative


def test_float32_values_round_trip_through_their_exact_float64_value(tmp_path):
    values = [-0.0, F32_TINY, F32_MAX, -F32_MAX, float(np.float32(0.1))]
    params = exact(values, np.float32)
    path = save(tmp_path / "m.json", params, cost=cross_entropy)
    assert '"dtype": "float32"' in path.read_text()
    assert '0.10000000149011612' in path.read_text()  # float32(0.1) exactly, in float64 digits
    loaded = load(path).params
    assert loaded.weights[0].dtype == np.float32
    assert tree_equal(loaded, params)


def test_the_same_model_always_gives_the_same_bytes(tmp_path):
    params = init_params([5, 4, 3], seed=7)
    a = save(tmp_path / "a.json", params, cost=cross_entropy, metadata={"b": [1, 2], "a": 0.5})
    b = save(tmp_path / "b.json", params, cost=cross_entropy, metadata={"a": 0.5, "b": (1, 2)})
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes().endswith(b"}\n")
    assert to_dict(params, cost=cross_entropy) == to_dict(params, cost=cross_entropy)
    lines = a.read_text().splitlines()
    assert [line.split(":")[0].strip() for line in lines[1:-1]] == [
        '"format"', '"format_version"', '"sizes"', '"cost"', '"dtype"', '"activations"',
        '"metadata"', '"weights"', '"biases"']


def test_to_dict_layout_and_metadata_copy():
    params = exact([0.5, -0.25])
    meta = {"seed": 3, "layers": (30, 10), "note": "é"}
    d = to_dict(params, cost=quadratic, metadata=meta)
    assert d == {"format": "fnn.model", "format_version": 1, "sizes": [2, 1],
                 "cost": "QuadraticCost", "dtype": "float64",
                 "metadata": {"layers": [30, 10], "note": "é", "seed": 3},
                 "weights": [[[0.5, -0.25]]], "biases": [[[0.5]]], "activations": []}
    assert (FORMAT, FORMAT_VERSION) == ("fnn.model", 2)  # 1 for the nets network2 runs
    d["metadata"]["seed"] = 99
    assert meta["seed"] == 3  # the dict holds a copy
    model = from_dict(d)
    assert model == Model(model.params, (), quadratic, {"layers": [30, 10], "note": "é",
                                                        "seed": 99})
    assert model.sizes == (2, 1)
    assert tree_equal(model.params, params)


def test_save_records_versions_and_keeps_the_callers_metadata(tmp_path):
    path = save(tmp_path / "m.json", exact([1.0]), cost=quadratic,
                metadata={"seed": 1, "eta": 0.5, "versions": "mine"})
    meta = load(path).metadata
    assert meta["seed"] == 1 and meta["eta"] == 0.5
    assert meta["versions"] == {"fnn": fnn.__version__, "numpy": np.__version__,
                                "python": platform.python_version()}


def test_load_of_a_784_100_10_model_is_quick(tmp_path):
    params = init_params([784, 100, 10], seed=0)
    path = save(tmp_path / "big.json", params, cost=cross_entropy)
    start = time.perf_counter()
    model = load(path)
    assert time.perf_counter() - start < 1.0  # about 0.06 s on a laptop
    assert tree_equal(model.params, params)


# ---------------------------------------------------------------------- network2 files


def test_a_hand_written_network2_file_loads(tmp_path):
    path = tmp_path / "network2.json"
    path.write_text(
        '{"sizes": [2, 3, 1], '
        '"weights": [[[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]], [[0.7, -0.8, 0.9]]], '
        '"biases": [[[0.01], [0.02], [-0.03]], [[1.5]]], '
        '"cost": "CrossEntropyCost"}')
    model = load(path)
    assert model.sizes == (2, 3, 1)
    assert model.cost is cross_entropy
    assert model.metadata == {}
    assert model.params.weights[0].tolist() == [[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]]
    assert model.params.weights[1].tolist() == [[0.7, -0.8, 0.9]]
    assert model.params.biases[0].tolist() == [0.01, 0.02, -0.03]
    assert model.params.biases[1].tolist() == [1.5]
    assert all(a.dtype == np.float64 for a in (*model.params.weights, *model.params.biases))


def test_network2s_loader_reads_an_fnn_file(tmp_path):
    params = init_params([4, 3, 2], seed=11)
    path = save(tmp_path / "fnn.json", params, cost=cross_entropy, metadata={"seed": 11})
    # network2.load: json.load, getattr(module, data["cost"]), np.array of each list
    with path.open() as f:
        data = json.load(f)
    weights = [np.array(w) for w in data["weights"]]
    biases = [np.array(b) for b in data["biases"]]
    assert data["sizes"] == [4, 3, 2]
    assert data["cost"] == "CrossEntropyCost"
    assert [w.shape for w in weights] == [(3, 4), (2, 3)]
    assert [b.shape for b in biases] == [(3, 1), (2, 1)]
    for mine, theirs in zip((*params.weights, *params.biases), (*weights, *biases), strict=True):
        assert theirs.dtype == np.float64
        assert theirs.reshape(mine.shape).tobytes() == mine.tobytes()  # bit for bit


def network2_module() -> types.ModuleType:
    """A stand-in for network2.py, written from what its ``load`` does (not its source): the
    module's names (its two cost classes, ``Network`` with its sigmoid ``feedforward`` on
    column vectors, its helpers and imports) and ``load``: ``json.load`` the file, look the
    cost up by name in the module (``getattr``), build ``Network(sizes, cost=cost)``, then set
    its weights and biases to ``np.array`` of the file's lists."""
    module = types.ModuleType("network2")

    class QuadraticCost:
        pass

    class CrossEntropyCost:
        pass

    def sigmoid(z):
        with np.errstate(over="ignore"):  # network2's σ overflows quietly for very negative z
            return 1.0 / (1.0 + np.exp(-z))

    class Network:
        def __init__(self, sizes, cost=CrossEntropyCost):
            self.num_layers, self.sizes, self.cost = len(sizes), sizes, cost
            rng = np.random.default_rng(0)  # network2 draws a first net, replaced by load
            self.biases = [rng.standard_normal((y, 1)) for y in sizes[1:]]
            self.weights = [rng.standard_normal((y, x)) / np.sqrt(x)
                            for x, y in zip(sizes[:-1], sizes[1:])]

        def feedforward(self, a):
            for b, w in zip(self.biases, self.weights):
                a = sigmoid(np.dot(w, a) + b)
            return a

    def load(filename):
        with open(filename) as f:  # noqa: PTH123 (as network2 does)
            data = json.load(f)
        cost = getattr(sys.modules[module.__name__], data["cost"])
        net = Network(data["sizes"], cost=cost)
        net.weights = [np.array(w) for w in data["weights"]]
        net.biases = [np.array(b) for b in data["biases"]]
        return net

    names = {"json": json, "random": random, "sys": sys, "np": np, "QuadraticCost": QuadraticCost,
             "CrossEntropyCost": CrossEntropyCost, "Network": Network, "load": load,
             "sigmoid": sigmoid, "sigmoid_prime": lambda z: sigmoid(z) * (1 - sigmoid(z)),
             "vectorized_result": lambda j: np.eye(10)[:, [j]]}
    for name, value in names.items():
        setattr(module, name, value)
    return module


@pytest.fixture
def network2(monkeypatch):
    module = network2_module()
    monkeypatch.setitem(sys.modules, module.__name__, module)  # its load looks itself up there
    return module


def network2_outputs(net, x):
    """network2's feedforward of each row of ``x`` as a column, as rows again."""
    return np.hstack([net.feedforward(row.reshape(-1, 1).astype(np.float64)) for row in x]).T


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cost", [quadratic, cross_entropy], ids=["quadratic", "cross_entropy"])
def test_network2_reads_a_sigmoid_models_file_and_predicts_what_fnn_predicts(
        tmp_path, network2, cost, dtype):
    params = init_params([6, 5, 4, 3], seed=3, dtype=dtype)
    path = save(tmp_path / "m.json", params, cost=cost, metadata={"seed": 3})
    net = network2.load(path)
    assert net.cost is getattr(network2, json.loads(path.read_text())["cost"])
    x = np.random.default_rng(1).random((50, 6)).astype(dtype)
    model = load(path)
    tolerance = 1e-12 if dtype == np.float64 else 1e-5  # network2 runs float32's values in f64
    np.testing.assert_allclose(network2_outputs(net, x), fnn.forward(model, x), rtol=tolerance)
    assert np.argmax(network2_outputs(net, x), axis=1).tolist() == fnn.predict(model, x).tolist()


NETWORK2_CANNOT_RUN = [(RELU, cross_entropy), (TANH, quadratic), ((SIGMOID, RELU), cross_entropy),
                       (SIGMOID, fnn.log_likelihood), (RELU, fnn.log_likelihood)]


@pytest.mark.parametrize(("activation", "cost"), NETWORK2_CANNOT_RUN,
                         ids=["relu", "tanh", "sigmoid-then-relu", "softmax", "relu-softmax"])
def test_network2_refuses_the_file_of_a_net_it_cannot_run_and_fnn_runs_it_as_trained(
        tmp_path, network2, activation, cost):
    params = init_params([6, 5, 4, 3], seed=3)
    path = save(tmp_path / "m.json", params, cost=cost, activation=activation)
    data = json.loads(path.read_text())
    assert (data["format_version"], data["cost"]) == (2, f"fnn:{cost.name}")
    with pytest.raises(AttributeError, match=f"has no attribute 'fnn:{cost.name}'"):
        network2.load(path)
    model = load(path)
    assert model.activations == per_layer(activation, 2) and model.cost is cost
    x = np.random.default_rng(1).random((50, 6))
    assert fnn.predict(model, x).tolist() == fnn.predict(params, x, activation=activation).tolist()
    expected = fnn.forward(params, x, activation=activation, output=cost.output)
    assert fnn.forward(model, x).tobytes() == expected.tobytes()


def test_a_relu_file_of_fnn_0_1_is_what_network2_misread_and_fnn_still_reads_right(
        tmp_path, network2):
    """Before version 2 a ReLU net's file named network2's cost: network2 ran it as sigmoid."""
    params = init_params([6, 8, 3], seed=3)
    old = to_dict(params, cost=cross_entropy) | {"activations": ["relu"]}  # as fnn 0.1 wrote
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    x = np.random.default_rng(1).random((200, 6))
    theirs = np.argmax(network2_outputs(network2.load(path), x), axis=1)  # no complaint
    ours = fnn.predict(load(path), x)
    assert ours.tolist() == fnn.predict(params, x, activation=RELU).tolist()
    assert (theirs != ours).any()


def test_a_sigmoid_models_file_is_laid_out_as_before(tmp_path):
    path = save(tmp_path / "m.json", exact([0.5, -0.25]), cost=cross_entropy, metadata={"s": 1})
    lines = path.read_text().splitlines()
    assert lines[:7] == ['{', '  "format": "fnn.model",', '  "format_version": 1,',
                         '  "sizes": [2, 1],', '  "cost": "CrossEntropyCost",',
                         '  "dtype": "float64",', '  "activations": [],']
    assert lines[7].startswith('  "metadata": {"s": 1, "versions": {"fnn": ')
    assert lines[8:] == ['  "weights": [[[0.5, -0.25]]],', '  "biases": [[[0.5]]]', '}']


# ------------------------------------------------------------------ a Model, saved as it is


def test_save_takes_a_model_with_its_activations_cost_and_metadata(tmp_path):
    params = init_params([3, 4, 2], seed=0)
    first = load(save(tmp_path / "a.json", params, cost=fnn.log_likelihood, activation=TANH,
                      metadata={"seed": 7}))
    again = load(save(tmp_path / "b.json", first))
    assert tree_equal(again.params, params) and again.activations == (TANH,)
    assert again.cost is fnn.log_likelihood and again.metadata == first.metadata
    assert load(save(tmp_path / "c.json", first, metadata={"x": 1})).metadata["x"] == 1
    mine = load(save(tmp_path / "d.json", fnn.Model(params, RELU, quadratic)))
    assert mine.activations == (RELU,) and mine.cost is quadratic
    assert set(mine.metadata) == {"versions"}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cost": cross_entropy}, ("cost: this Model runs its own cost 'log_likelihood', got "
                              "'cross_entropy'; pass model.params to run its params with others")),
    ({"activation": SIGMOID}, ("activation: this Model runs its own hidden activations ['tanh'], "
                              "got ['sigmoid']")),
])
def test_save_refuses_a_model_with_other_activations_or_cost(tmp_path, kwargs, message):
    model = fnn.Model(init_params([3, 4, 2], seed=0), (TANH,), fnn.log_likelihood)
    with pytest.raises(ConfigError, match=re.escape(message)):
        save(tmp_path / "m.json", model, **kwargs)
    assert list(tmp_path.iterdir()) == []
    same = save(tmp_path / "m.json", model, cost=fnn.log_likelihood, activation=TANH)
    assert load(same).cost is fnn.log_likelihood


def test_save_without_a_cost_says_it_needs_one(tmp_path):
    with pytest.raises(FnnTypeError, match=r"^cost must be an fnn Cost such as "
                                           r"fnn\.cross_entropy, got None$"):
        save(tmp_path / "m.json", init_params([3, 2], seed=0))
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------- bad files


def doc(**raw: str | None) -> str:
    """A valid one-layer fnn file with some top-level values replaced by raw JSON text."""
    fields: dict[str, str | None] = {
        "format": '"fnn.model"', "format_version": "1", "sizes": "[2, 1]",
        "cost": '"QuadraticCost"', "dtype": '"float64"', "metadata": '{"seed": 0}',
        "weights": "[[[0.5, -0.25]]]", "biases": "[[[0.125]]]"} | raw
    return "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items() if v is not None) + "}"


NETWORK2 = '{"sizes": [2, 1], "weights": [[[0.5, -0.25]]], "biases": [[[0.125]]], ' \
           '"cost": "QuadraticCost"}'
BIG_INT = "1" + "0" * 400

BAD_FILES = [
    ("nan", doc(weights="[[[NaN, 0.5]]]"), "weights[0][0][0]: expected a finite number, got NaN"),
    ("infinity", doc(biases="[[[Infinity]]]"),
     "biases[0][0][0]: expected a finite number, got Infinity"),
    ("minus-infinity", doc(weights="[[[0.5, -Infinity]]]"),
     "weights[0][0][1]: expected a finite number, got -Infinity"),
    ("overflow", doc(weights="[[[0.5, 1e400]]]"),
     "weights[0][0][1]: expected a finite number, got 1e400"),
    ("huge-int", doc(weights=f"[[[0.5, {BIG_INT}]]]"),
     "weights[0][0][1]: expected a finite number, got 1000000"),
    ("float32-overflow", doc(dtype='"float32"', weights="[[[1e39, 0.5]]]"),
     "weights[0][0][0]: expected a finite number within the float32 range, got 1e+39"),
    ("true", doc(weights="[[[0.5, true]]]"),
     "weights[0][0][1]: expected a finite number, got true"),
    ("string", doc(weights='[[["0.5", 1]]]'),
     'weights[0][0][0]: expected a finite number, got "0.5"'),
    ("null", doc(biases="[[[null]]]"), "biases[0][0][0]: expected a finite number, got null"),
    ("bias-not-in-a-list", doc(biases="[[0.125]]"),
     "biases[0][0]: expected a list of 1 number for sizes [2, 1], got 0.125"),
    ("ragged", doc(sizes="[2, 2]", weights="[[[0.5, 0.25], [0.5]]]", biases="[[[0], [0]]]"),
     "weights[0][1]: expected a list of 2 numbers for sizes [2, 2], got a list of 1"),
    ("rows-vs-sizes", doc(sizes="[2, 2]", biases="[[[0], [0]]]"),
     "weights[0]: expected a 2 x 2 matrix (a list of 2 rows) for sizes [2, 2], got a list of 1"),
    ("columns-vs-sizes", doc(sizes="[3, 1]"),
     "weights[0][0]: expected a list of 3 numbers for sizes [3, 1], got a list of 2"),
    ("layers-vs-sizes", doc(sizes="[2, 1, 1]"),
     "weights: expected a list of 2 matrices for sizes [2, 1, 1], got a list of 1"),
    ("weights-not-a-list", doc(weights='{"0": []}'),
     "weights: expected a list of 1 matrices for sizes [2, 1], got an object"),
    ("one-size", doc(sizes="[784]"),
     "sizes: expected an input and an output layer, got [784]"),
    ("no-sizes", doc(sizes="[]"), "sizes: expected an input and an output layer, got []"),
    ("zero-size", doc(sizes="[3, 0]"), "sizes[1]: expected an int >= 1, got 0"),
    ("float-size", doc(sizes="[3, 2.5]"), "sizes[1]: expected an int >= 1, got 2.5"),
    ("bool-size", doc(sizes="[true, 1]"), "sizes[0]: expected an int >= 1, got true"),
    ("string-sizes", doc(sizes='"3,2"'),
     'sizes: expected a list of ints such as [784, 30, 10], got "3,2"'),
    ("unknown-cost", doc(cost='"HingeCost"'),
     "cost: expected one of ['CrossEntropyCost', 'LogLikelihoodCost', 'QuadraticCost'], got \"HingeCost\""),
    ("fnn-cost-name", doc(cost='"cross_entropy"'),
     "cost: expected one of ['CrossEntropyCost', 'LogLikelihoodCost', 'QuadraticCost'], got \"cross_entropy\""),
    ("future-version", doc(format_version="3"),
     "format_version: this fnn reads versions [1, 2], got 3"),
    ("bool-version", doc(format_version="true"),
     "format_version: this fnn reads versions [1, 2], got true"),
    ("no-version", doc(format_version=None),
     "format_version: this fnn reads versions [1, 2], got nothing"),
    ("fnn-cost-in-version-1", doc(cost='"fnn:quadratic"'),
     "cost: expected one of ['CrossEntropyCost', 'LogLikelihoodCost', 'QuadraticCost'], got \"fnn:quadratic\""),
    ("unknown-fnn-cost", doc(format_version="2", activations="[]", cost='"fnn:hinge"'),
     ("cost: expected one of ['CrossEntropyCost', 'LogLikelihoodCost', 'QuadraticCost', "
     "'fnn:cross_entropy', 'fnn:log_likelihood', 'fnn:quadratic'], got \"fnn:hinge\"")),
    ("version-2-without-activations", doc(format_version="2", cost='"fnn:quadratic"'),
     'top level: missing key "activations" of an fnn model (format_version 2)'),
    ("a-history-file", '{"format": "fnn.history", "records": []}',
     ('format: expected "fnn.model", got "fnn.history": a training history (fnn train '
     '--history), not a model')),
    ("csv", "epoch,cost\n1,0.5\n",
     ("not a model file: it starts with 'epoch,cost\\n1,0.5\\n'; a model file is JSON (an object "
     "with sizes, weights, biases and cost) or safetensors named *.safetensors")),
    ("numbers", "1,2\n3,4\n", "not a model file: it starts with '1,2\\n3,4\\n'"),
    ("safetensors-named-json", b"\x10" + b"\x00" * 7 + b'{"a": {}}       ',
     "a safetensors file, not JSON: name it *.safetensors to load it as one"),
    ("other-format", doc(format='"other"'), 'format: expected "fnn.model", got "other"'),
    ("float16", doc(dtype='"float16"'),
     "dtype: expected one of ['float32', 'float64'], got \"float16\""),
    ("metadata-list", doc(metadata="[]"), "metadata: expected a JSON object, got a list of 0"),
    ("missing-key", doc(dtype=None), 'top level: missing key "dtype" of an fnn model'),
    ("extra-key", doc(extra="1"), 'top level: unexpected key "extra" in an fnn model'),
    ("network2-missing-key", NETWORK2.replace('"biases": [[[0.125]]], ', ""),
     'top level: missing key "biases" of a network2 model'),
    ("network2-extra-key", NETWORK2.replace("{", '{"dtype": "float64", '),
     'top level: unexpected key "dtype" in a network2 model'),
    ("duplicate-key", NETWORK2.replace("{", '{"cost": "CrossEntropyCost", '),
     'top level: duplicate key "cost"'),
    ("duplicate-drops-a-nan", NETWORK2.replace("{", '{"cost": NaN, '),
     'top level: duplicate key "cost"'),
    ("nested-duplicate-key", doc(metadata='{"run": {"seed": 0, "seed": 1}}'),
     'metadata.run: duplicate key "seed"'),
    ("nan-in-metadata", doc(metadata='{"lr": [0.5, NaN]}'),
     "metadata.lr[1]: expected a finite number, got NaN"),
    ("top-level-list", "[1, 2]", "top level: expected a JSON object, got a list of 2"),
    ("top-level-number", "3", "top level: expected a JSON object, got 3"),
    ("empty", b"", "empty file; expected a JSON model file"),
    ("whitespace", b" \n", "line 2 column 1: unexpected end of file (truncated?)"),
    ("truncated", doc()[:-3], f"line 1 column {len(doc()) - 2}: unexpected end of file (truncated?)"),
    ("truncated-in-a-string", doc()[:21],
     "line 1 column 12: unexpected end of file inside a string (truncated?)"),
    ("garbage-after", doc() + "}", f"line 1 column {len(doc()) + 1}: Extra data"),
    ("not-utf8", b"\xff\xfe{\x00}\x00", "byte 0: not UTF-8 (invalid start byte)"),
    ("bom", "\ufeff" + NETWORK2, "line 1 column 1: Unexpected UTF-8 BOM"),
    ("too-deep", "[" * 100_000, "lists or objects nested too deeply"),
    ("too-many-digits", doc(metadata='{"n": ' + "9" * 5000 + "}"),
     "a number has too many digits: an integer of 5,000 digits; at most 4,300"),
]


@pytest.mark.parametrize(("content", "message"), [row[1:] for row in BAD_FILES],
                         ids=[row[0] for row in BAD_FILES])
def test_a_bad_file_names_itself_and_the_place(tmp_path, content, message):
    path = tmp_path / "model.json"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    with pytest.raises(ModelFormatError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_a_saved_file_cut_anywhere_is_refused(tmp_path):
    path = save(tmp_path / "model.json", init_params([3, 2], seed=0), cost=quadratic)
    whole = path.read_bytes()
    for end in range(0, len(whole) - 2, 7):  # the last 2 bytes are "}\n"
        path.write_bytes(whole[:end])
        with pytest.raises(ModelFormatError, match=r"truncated\?|empty file") as info:
            load(path)
        assert str(info.value).startswith(f"{path}: ")


def outcome(fn, arg):
    """``fn(arg)``, or the ModelFormatError it raised (any other exception fails the test)."""
    try:
        return fn(arg)
    except ModelFormatError as e:
        return e


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=3),
    max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(list(json.loads(doc()))), value=JSON, network2=st.booleans())
def test_any_json_in_any_field_loads_or_raises_model_format_error(key, value, network2):
    data = json.loads(NETWORK2 if network2 else doc()) | {key: value}
    result = outcome(from_dict, data)
    if isinstance(result, Model):
        assert result.sizes == tuple(data["sizes"])
    else:
        assert str(result).startswith("<dict>: ")


@settings(max_examples=200, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, 400), st.binary(max_size=3)), min_size=1,
                      max_size=4))
def test_any_corrupted_file_loads_or_raises_model_format_error(folder, edits):
    text = bytearray(save(folder / "fuzz.json", init_params([3, 2], seed=0),
                          cost=quadratic).read_bytes())
    for at, new in edits:
        text[at:at + len(new)] = new
    path = folder / "fuzz.json"
    path.write_bytes(bytes(text))
    result = outcome(load, path)
    assert isinstance(result, Model) or str(result).startswith(f"{path}: ")


def test_bad_files_in_the_table_differ_from_a_good_one_only_where_named(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(doc())
    model = load(path)
    assert model.sizes == (2, 1) and model.metadata == {"seed": 0}
    assert model.params.weights[0].tolist() == [[0.5, -0.25]]


@pytest.mark.parametrize(("data", "message"), [
    ({"sizes": [1, 1], "weights": [np.zeros((1, 1))], "biases": [[[0.0]]],
      "cost": "QuadraticCost"},
     ("<dict>: weights[0]: expected a 1 x 1 matrix (a list of 1 rows) for sizes [1, 1], "
      "got array([[0.]])")),
    ({"sizes": [1, 1], "weights": [[[float("nan")]]], "biases": [[[0.0]]],
      "cost": "QuadraticCost"}, "<dict>: weights[0][0][0]: expected a finite number, got NaN"),
    ({"sizes": [1, 1], "weights": [[[np.float32(1)]]], "biases": [[[0.0]]],
      "cost": "QuadraticCost"},
     "<dict>: weights[0][0][0]: expected a finite number, got np.float32(1.0)"),
    ({"sizes": [1, 1], "weights": [[[0.0]]], "biases": [[[0.0]]], "cost": "QuadraticCost",
      (1, 2): 3}, "<dict>: top level: unexpected key [1, 2] in a network2 model"),
    (json.loads(doc()) | {"metadata": {"f": object()}},
     ("<dict>: metadata.f: expected JSON data (dict, list, str, int, float, bool or None), "
      "got object")),
])
def test_from_dict_checks_a_callers_dict(data, message):
    with pytest.raises(ModelFormatError, match="^" + re.escape(message)):
        from_dict(data)


def test_from_dict_accepts_tuples_and_numpy_floats():
    model = from_dict({"sizes": (1, 2), "weights": ([[np.float64(0.5)], [-1]],),
                       "biases": [[[0.25], (2.0,)]], "cost": "QuadraticCost"})
    assert model.params.weights[0].tolist() == [[0.5], [-1.0]]
    assert model.params.biases[0].tolist() == [0.25, 2.0]


def test_os_errors_pass_through_unchanged(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.json")
    with pytest.raises(IsADirectoryError):
        load(tmp_path)


# ----------------------------------------------------------------------- atomic saves


def _fail_after_half_a_write(real_write):
    calls = []

    def write(fd, data):
        calls.append(fd)
        if len(calls) == 1:
            return real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")
    return write


def _raise(*_args, **_kwargs):
    raise OSError(errno.EIO, "injected")


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
@pytest.mark.parametrize("existing", [True, False], ids=["replacing", "new"])
def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, where,
                                                           existing):
    path = tmp_path / "model.json"
    if existing:
        save(path, init_params([3, 2], seed=0), cost=quadratic)
    before = path.read_bytes() if existing else None
    fake = _fail_after_half_a_write(os.write) if where == "write" else _raise
    with monkeypatch.context() as patch:
        patch.setattr(os, where, fake)
        with pytest.raises(OSError) as info:
            save(path, init_params([3, 2], seed=1), cost=quadratic)
    assert info.value.errno in (errno.ENOSPC, errno.EIO)  # the injected error, unchanged
    assert sorted(p.name for p in tmp_path.iterdir()) == (["model.json"] if existing else [])
    if existing:
        assert path.read_bytes() == before
        assert tree_equal(load(path).params, init_params([3, 2], seed=0))


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"params": exact([0.5, float("nan")])}, ConfigError, "params contain NaN or inf"),
    ({"params": exact([float("inf")])}, ConfigError, "params contain NaN or inf"),
    ({"metadata": {"eta": float("inf")}}, ConfigError,
     "metadata.eta: expected a finite number, got inf"),
    ({"metadata": {"run": {1: "a"}}}, ConfigError, "metadata.run: keys must be strings, got 1"),
    ({"metadata": {"rng": np.random.default_rng(0)}}, ConfigError,
     "metadata.rng: expected JSON data"),
    ({"metadata": {"seed": np.int64(3)}}, ConfigError, "metadata.seed: expected JSON data"),
    ({"metadata": [("seed", 1)]}, FnnTypeError, "metadata must be a dict of JSON data"),
    ({"cost": Cost("hinge", quadratic.fn, quadratic.delta)}, ConfigError,
     "cost 'hinge' cannot be saved; a model file stores one of"),
    ({"cost": "quadratic"}, FnnTypeError, "cost must be an fnn Cost"),
    ({"params": [np.zeros((1, 1))]}, FnnTypeError,
     "params must be a (weights, biases) pair of sequences of numpy arrays, got a list of 1"),
])
def test_save_refuses_bad_arguments_before_opening_anything(tmp_path, kwargs, error, message):
    args = {"params": exact([0.5]), "cost": quadratic, "metadata": None} | kwargs
    with pytest.raises(error, match=re.escape(message)):
        save(tmp_path / "m.json", args.pop("params"), **args)
    assert list(tmp_path.iterdir()) == []


def test_metadata_that_contains_itself_is_refused():
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ConfigError, match=r"metadata\.loop\[0\]: contains itself"):
        to_dict(exact([0.5]), cost=quadratic, metadata={"loop": loop})


def test_metadata_nested_too_deeply_is_refused():
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ConfigError, match=r"^metadata: nested too deeply$"):
        to_dict(exact([0.5]), cost=quadratic, metadata={"deep": deep})


def test_save_accepts_str_paths_and_returns_a_path(tmp_path):
    result = save(str(tmp_path / "m.json"), exact([0.5]), cost=quadratic)
    assert result == tmp_path / "m.json"
    assert load(str(result)).sizes == (1, 1)


# ------------------------------------------------------------ params as a plain pair


def _as_pair(params: Params, kind: type = list) -> tuple:
    return kind(params.weights), kind(params.biases)


@pytest.mark.parametrize("kind", [list, tuple], ids=["lists", "tuples"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_plain_weights_biases_pair_saves_bit_identically_to_params(tmp_path, kind, dtype):
    params = init_params([4, 3, 2], seed=5, dtype=dtype)
    pair = _as_pair(params, kind)
    assert to_dict(pair, cost=cross_entropy, metadata={"s": 1}) == to_dict(
        params, cost=cross_entropy, metadata={"s": 1})
    a = save(tmp_path / "a.json", params, cost=cross_entropy, metadata={"s": 1})
    b = save(tmp_path / "b.json", pair, cost=cross_entropy, metadata={"s": 1})
    assert a.read_bytes() == b.read_bytes()
    loaded = load(b).params
    assert isinstance(loaded, Params) and type(loaded.weights) is tuple
    assert tree_equal(loaded, params)
    assert tree_equal(from_dict(to_dict(pair, cost=cross_entropy)).params, params)


@pytest.mark.parametrize(("params", "error", "message"), [
    ((), FnnTypeError, "params must be a (weights, biases) pair"),
    (([np.zeros((2, 3))], [np.zeros(3)]), ConfigError,
     "params have inconsistent layer shapes: weights ((2, 3),), biases ((3,),)"),
    (([np.zeros((2, 3), np.float16)], [np.zeros(2, np.float16)]), ConfigError,
     "params must be all float32 or all float64, got ['float16']"),
    (([np.zeros((2, 3))], [np.zeros(2, np.float32)]), ConfigError,
     "params must be all float32 or all float64, got ['float32', 'float64']"),
    (([[[0.5, 1.0]]], [[0.0]]), FnnTypeError, "params must be a (weights, biases) pair"),
], ids=["empty", "shapes", "float16", "mixed", "nested-lists"])
def test_a_bad_pair_is_refused_before_opening_anything(tmp_path, params, error, message):
    with pytest.raises(error, match=re.escape(message)):
        save(tmp_path / "m.json", params, cost=quadratic)
    with pytest.raises(error, match=re.escape(message)):
        to_dict(params, cost=quadratic)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------- activations in the file


@pytest.mark.parametrize("activation", [RELU, TANH, (RELU, TANH)], ids=["relu", "tanh", "mixed"])
def test_hidden_activations_are_saved_by_name_and_load_as_the_values(tmp_path, activation):
    params = init_params([3, 4, 4, 2], seed=0)
    path = save(tmp_path / "m.json", params, cost=cross_entropy, activation=activation)
    names = ["relu", "relu"] if activation is RELU else (
        ["tanh", "tanh"] if activation is TANH else ["relu", "tanh"])
    assert json.loads(path.read_text())["activations"] == names
    model = load(path)
    assert model.activations == tuple(fnn.registry.activation(n) for n in names)


def test_a_file_without_activations_has_sigmoid_hidden_layers_and_a_users_cannot_be_saved(
        tmp_path):
    data = to_dict(init_params([3, 4, 2], seed=0), cost=quadratic)
    del data["activations"]
    assert from_dict(data).activations == (SIGMOID,)
    mine = Activation("swish", lambda z: z / (1 + np.exp(-z)), RELU.prime)
    with pytest.raises(ConfigError, match=r"activation 'swish' cannot be saved; a model file "
                                          r"stores one of \['relu', 'sigmoid', 'tanh'\]"):
        save(tmp_path / "m.json", init_params([3, 4, 2], seed=0), cost=quadratic,
             activation=mine)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the tree's JSON layout


def _through_json(tree, sizes, dtype):
    """``tree`` written as fnn writes JSON and read back as fnn reads it."""
    text = json.dumps(tree_to_dict(tree), allow_nan=False)
    return tree_from_dict(parse_json(text.encode(), source="t", what="tree"), sizes=sizes,
                          dtype=dtype)


@pytest.mark.parametrize("width", [64, 32])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_tree_to_dict_then_tree_from_dict_gives_the_same_bits(width, data):
    params = data.draw(models(width))
    dtype = params.weights[0].dtype
    for tree in (params, _as_pair(params)):
        again = _through_json(tree, sizes_of(params), dtype)
        assert tree_equal(again, params)
        assert tree_equal(tree_from_dict(tree_to_dict(tree), sizes=sizes_of(params),
                                         dtype=dtype), params)


def test_tree_to_dict_is_network2s_layout_exactly():
    params = Params(weights=(np.array([[0.5, -0.0, 5e-324], [1.0, 2.0, 3.0]]),
                             np.array([[F64_MAX, -2.2250738585072014e-308]])),
                    biases=(np.array([-0.0, 0.25]), np.array([-5e-324])))
    d = tree_to_dict(params)
    assert d == {"weights": [[[0.5, -0.0, 5e-324], [1.0, 2.0, 3.0]],
                             [[F64_MAX, -2.2250738585072014e-308]]],
                 "biases": [[[-0.0], [0.25]], [[-5e-324]]]}
    assert json.dumps(d) == (
        '{"weights": [[[0.5, -0.0, 5e-324], [1.0, 2.0, 3.0]], '
        '[[1.7976931348623157e+308, -2.2250738585072014e-308]]], '
        '"biases": [[[-0.0], [0.25]], [[-5e-324]]]}')
    assert all(type(x) is float for row in d["weights"][0] for x in row)
    model = to_dict(params, cost=quadratic)
    assert (model["weights"], model["biases"]) == (d["weights"], d["biases"])
    back = tree_from_dict(d, sizes=[3, 2, 1])
    assert tree_equal(back, params) and np.signbit(back.biases[0][0])
    assert [b.shape for b in back.biases] == [(2,), (1,)]


def test_float32_trees_are_written_as_their_exact_float64_values():
    values = [-0.0, F32_TINY, F32_MAX, -F32_MAX, float(np.float32(0.1))]
    params = exact(values, np.float32)
    d = tree_to_dict(params)
    assert d["weights"] == [[values]] and d["biases"] == [[[-0.0]]]
    assert "0.10000000149011612" in json.dumps(d)
    back = tree_from_dict(json.loads(json.dumps(d)), sizes=[5, 1], dtype=np.float32)
    assert back.weights[0].dtype == back.biases[0].dtype == np.float32
    assert tree_equal(back, params) and np.signbit(back.biases[0][0])
    assert tree_from_dict(d, sizes=[5, 1]).weights[0].dtype == np.float64  # the default


def test_tree_to_dict_refuses_what_is_not_a_finite_tree():
    with pytest.raises(ConfigError, match="^tree contain NaN or inf$"):
        tree_to_dict(exact([0.5, float("nan")]))
    with pytest.raises(FnnTypeError, match=r"^tree must be a \(weights, biases\) pair"):
        tree_to_dict({"weights": [], "biases": []})


TREE = '{"weights": [[[0.5, -0.25]]], "biases": [[[0.125]]]}'


@pytest.mark.parametrize(("data", "sizes", "dtype", "message"), [
    ("[1]", [2, 1], "float64", "top level: expected a JSON object, got a list of 1"),
    ("3", [2, 1], "float64", "top level: expected a JSON object, got 3"),
    ('{"weights": [[[0.5, -0.25]]]}', [2, 1], "float64",
     'top level: missing key "biases" of a parameter tree'),
    (TREE.replace("{", '{"extra": 1, '), [2, 1], "float64",
     'top level: unexpected key "extra" in a parameter tree'),
    (TREE.replace("-0.25", "true"), [2, 1], "float64",
     "weights[0][0][1]: expected a finite number, got true"),
    (TREE.replace("0.125", '"0.125"'), [2, 1], "float64",
     'biases[0][0][0]: expected a finite number, got "0.125"'),
    (TREE.replace("0.125", "null"), [2, 1], "float64",
     "biases[0][0][0]: expected a finite number, got null"),
    (TREE, [3, 1], "float64",
     "weights[0][0]: expected a list of 3 numbers for sizes [3, 1], got a list of 2"),
    (TREE, [2, 2], "float64",
     "weights[0]: expected a 2 x 2 matrix (a list of 2 rows) for sizes [2, 2], got a list of 1"),
    (TREE, [2, 1, 1], "float64",
     "weights: expected a list of 2 matrices for sizes [2, 1, 1], got a list of 1"),
    (TREE.replace("[[[0.125]]]", "[[0.125]]"), [2, 1], "float64",
     "biases[0][0]: expected a list of 1 number for sizes [2, 1], got 0.125"),
    (TREE.replace("0.5", "1e39"), [2, 1], "float32",
     "weights[0][0][0]: expected a finite number within the float32 range, got 1e+39"),
    (TREE.replace("0.5", "1" + "0" * 400), [2, 1], "float64",
     "weights[0][0][0]: expected a finite number, got 1000000"),
], ids=["list", "number", "missing-biases", "extra-key", "bool", "string", "null",
        "columns", "rows", "layers", "bias-not-in-a-list", "float32-overflow", "huge-int"])
def test_tree_from_dict_names_the_source_and_the_place(data, sizes, dtype, message):
    with pytest.raises(ModelFormatError) as info:
        tree_from_dict(json.loads(data), sizes=sizes, dtype=dtype, source="ck.json: params")
    assert str(info.value).startswith(f"ck.json: params: {message}"), str(info.value)


def test_tree_from_dict_says_dict_when_given_no_source():
    with pytest.raises(ModelFormatError, match=r"^<dict>: weights\[0\]\[0\]\[0\]: expected a "
                                               r"finite number, got NaN"):
        tree_from_dict({"weights": [[[float("nan"), 0.0]]], "biases": [[[0.0]]]}, sizes=(2, 1))


def test_tree_from_dict_accepts_tuples_and_numpy_floats_and_copies():
    rows = [[np.float64(0.5)], [-1]]
    tree = tree_from_dict({"weights": (rows,), "biases": [[[0.25], (2.0,)]]}, sizes=(1, 2))
    assert tree.weights[0].tolist() == [[0.5], [-1.0]]
    assert tree.biases[0].tolist() == [0.25, 2.0]
    rows[0][0] = 9.0
    assert tree.weights[0][0, 0] == 0.5


def test_the_module_names_its_public_functions():
    from fnn import serialization
    assert {"tree_to_dict", "tree_from_dict", "save", "load", "to_dict", "from_dict"} <= set(
        serialization.__all__)
    assert not {"atomic_write_bytes", "read_json"} & set(serialization.__all__)  # fnn.files


# --- loading models from elsewhere (issue 12) ---------------------------------------------------


HOSTILE = {
    "a long cost": {"cost": "c" * 100_000},
    "a long format": {"format": "f" * 100_000},
    "a long version": {"format_version": "v" * 100_000},
    "a long size": {"sizes": [2, int("9" * 4000)]},
    "many sizes": {"sizes": list(range(1, 100_000))},
    "a long key": {"k" * 100_000: 1},
    "a long activation": {"activations": ["a" * 100_000]},
    "a long dtype": {"dtype": ["d" * 100_000]},
    "deep metadata": {"metadata": json.loads("[" * 500 + "]" * 500)},
    "a long weight": {"weights": [[["w" * 100_000, 0.0]]]},
}


@pytest.mark.parametrize("change", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_model_raises_model_format_error_with_a_short_message(tmp_path, change):
    path = tmp_path / "m.json"
    good = {"format": "fnn.model", "format_version": 1, "sizes": [2, 1], "cost": "QuadraticCost",
            "dtype": "float64", "metadata": {}, "weights": [[[0.5, 0.0]]], "biases": [[[0.0]]]}
    path.write_text(json.dumps({**good, **change}))
    with pytest.raises(ModelFormatError) as info:
        load(path)
    assert str(path) in str(info.value) and len(str(info.value)) < len(str(path)) + 1000
    assert info.value.__cause__ is None  # an expected refusal, not the safety net


def test_model_files_over_the_json_caps_are_refused_before_parsing(tmp_path, monkeypatch):
    path = save(tmp_path / "m.json", init_params([3, 2], seed=0), cost=fnn.quadratic)
    monkeypatch.setattr(files, "MAX_JSON_BYTES", path.stat().st_size - 1)
    with pytest.raises(ModelFormatError, match=r"m\.json: more than [\d,]+ bytes; fnn reads "
                                               r"model files of at most"):
        load(path)
    monkeypatch.setattr(files, "MAX_JSON_BYTES", 2**20)
    monkeypatch.setattr(files, "MAX_JSON_VALUES", 10)
    with pytest.raises(ModelFormatError, match=r"m\.json: up to \d+ values; fnn reads model "
                                               r"files of at most 10 values"):
        load(path)
