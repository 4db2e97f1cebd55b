"""Model files in safetensors: chosen by the suffix, bit-exact, strict, atomic, optional."""

from __future__ import annotations

import errno
import json
import os
import re
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn.activations import RELU, SIGMOID, TANH
from fnn.costs import cross_entropy, log_likelihood, quadratic
from fnn.errors import ConfigError, ModelFormatError
from fnn.params import Params, init_params, tree_equal
from fnn.registry import COSTS
from fnn.serialization import SAFETENSORS_VERSION, format_of, load, save

from .test_serialization import exact, models, outcome

safetensors_numpy = pytest.importorskip(
    "safetensors.numpy", reason="safetensors is not installed (fnn[safetensors])")

SIZES = [3, 4, 2]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("safetensors")


def parts(dtype=np.float64):
    """The tensors and ``__metadata__`` of a valid 3-4-2 ReLU model file, to spoil."""
    params = init_params(SIZES, seed=0, dtype=dtype)
    tensors = {"weights.0": params.weights[0], "biases.0": params.biases[0],
               "weights.1": params.weights[1], "biases.1": params.biases[1]}
    meta = {"format": "fnn.model", "format_version": "1", "sizes": "[3, 4, 2]",
            "activations": '["relu"]', "cost": "cross_entropy", "dtype": np.dtype(dtype).name,
            "fnn_version": "0.1.0", "metadata": '{"seed": 0}'}
    return tensors, meta


def write(path, tensors, meta):
    path.write_bytes(safetensors_numpy.save(tensors, metadata=meta))
    return path


def header(path):
    """The file's JSON header, as the format lays it out."""
    data = path.read_bytes()
    return json.loads(data[8:8 + int.from_bytes(data[:8], "little")])


# ------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("width", [64, 32])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_save_then_load_gives_the_same_bits_and_the_same_model_as_json(folder, width, data):
    params = data.draw(models(width))
    n_hidden = len(params.weights) - 1
    acts = tuple(data.draw(st.lists(st.sampled_from([SIGMOID, TANH, RELU]), min_size=n_hidden,
                                    max_size=n_hidden)))
    cost = data.draw(st.sampled_from(list(COSTS.values())))
    path = save(folder / f"net{width}.safetensors", params, cost=cost, activation=acts,
                metadata={"w": width, "note": "é"})
    again = save(folder / f"again{width}.safetensors", params, cost=cost, activation=acts,
                 metadata={"note": "é", "w": width})
    assert path.read_bytes() == again.read_bytes()  # the same model, the same bytes
    model = load(path)
    assert tree_equal(model.params, params)
    assert model.activations == acts and model.cost is cost
    as_json = load(save(folder / f"net{width}.json", params, cost=cost, activation=acts,
                        metadata={"w": width, "note": "é"}))
    assert tree_equal(as_json.params, model.params)
    assert (as_json.activations, as_json.cost, as_json.metadata) == (
        model.activations, model.cost, model.metadata)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_values_are_stored_as_their_bytes(tmp_path, dtype):
    info = np.finfo(dtype)
    values = [-0.0, 0.0, float(info.smallest_subnormal), -float(info.smallest_subnormal),
              float(info.tiny), float(info.max), -float(info.max), 0.1, 1 / 3]
    params = exact(values, dtype)
    path = save(tmp_path / "m.safetensors", params, cost=quadratic)
    loaded = load(path).params
    assert tree_equal(loaded, params) and np.signbit(loaded.biases[0][0])
    assert loaded.weights[0].dtype == dtype
    raw = np.array(values, dtype=dtype).astype(np.dtype(dtype).newbyteorder("<")).tobytes()
    assert raw in path.read_bytes()  # little-endian, as the format says


def test_the_header_holds_the_metadata_as_strings_and_tensors_by_layer(tmp_path):
    params = init_params([5, 4, 3, 2], seed=1, dtype=np.float32)
    path = save(tmp_path / "m.safetensors", params, cost=log_likelihood, activation=(RELU, TANH),
                metadata={"seed": 1, "run": {"eta": 0.5}})
    head = header(path)
    meta = head.pop("__metadata__")
    assert list(meta) == sorted(meta) == sorted([  # sorted: the same model, the same bytes
        "format", "format_version", "sizes", "activations", "cost", "dtype", "fnn_version",
        "metadata"])
    assert {k: meta[k] for k in ("format", "format_version", "sizes", "activations", "cost",
                                 "dtype", "fnn_version")} == {
        "format": "fnn.model", "format_version": str(SAFETENSORS_VERSION), "sizes": "[5, 4, 3, 2]",
        "activations": '["relu", "tanh"]', "cost": "log_likelihood", "dtype": "float32",
        "fnn_version": fnn.__version__}
    assert json.loads(meta["metadata"])["run"] == {"eta": 0.5}
    assert json.loads(meta["metadata"])["versions"]["fnn"] == fnn.__version__
    assert {name: (t["dtype"], t["shape"]) for name, t in head.items()} == {
        "weights.0": ("F32", [4, 5]), "biases.0": ("F32", [4]),
        "weights.1": ("F32", [3, 4]), "biases.1": ("F32", [3]),
        "weights.2": ("F32", [2, 3]), "biases.2": ("F32", [2])}
    assert all(isinstance(v, str) for v in meta.values())


def test_a_file_written_by_hand_as_the_readme_describes_loads(tmp_path):
    tensors, meta = parts()
    model = load(write(tmp_path / "m.safetensors", tensors, meta))
    assert model.sizes == (3, 4, 2) and model.activations == (RELU,)
    assert model.cost is cross_entropy and model.metadata == {"seed": 0}
    assert tree_equal(model.params, init_params(SIZES, seed=0))


def test_loaded_arrays_are_writable_copies_independent_of_the_file(tmp_path):
    params = init_params(SIZES, seed=0)
    path = save(tmp_path / "m.safetensors", params, cost=quadratic)
    model = load(path)
    save(path, init_params(SIZES, seed=1), cost=quadratic)  # the file changes after the load
    assert tree_equal(model.params, params)
    assert all(a.flags.writeable for a in (*model.params.weights, *model.params.biases))
    model.params.weights[0][0, 0] = 1.0  # and writing to them leaves the file alone
    assert tree_equal(load(path).params, init_params(SIZES, seed=1))


def test_the_suffix_chooses_the_format_in_any_case(tmp_path):
    params = init_params(SIZES, seed=0)
    upper = save(tmp_path / "M.SAFETENSORS", params, cost=quadratic)
    assert upper.read_bytes()[8:9] == b"{" and format_of(upper) == "safetensors"
    assert tree_equal(load(upper).params, params)
    for name in ("m.json", "m.model", "m"):
        assert save(tmp_path / name, params, cost=quadratic).read_bytes().startswith(b"{\n")


def test_safetensors_is_smaller_than_json_and_holds_exactly_the_parameters(tmp_path):
    params = init_params([784, 30, 10], seed=0, dtype=np.float32)
    st_path = save(tmp_path / "m.safetensors", params, cost=cross_entropy)
    json_path = save(tmp_path / "m.json", params, cost=cross_entropy)
    n = sum(a.size for a in (*params.weights, *params.biases))
    head = int.from_bytes(st_path.read_bytes()[:8], "little")
    assert st_path.stat().st_size == 8 + head + 4 * n
    assert st_path.stat().st_size * 3 < json_path.stat().st_size


# ------------------------------------------------------------------------- bad files


def _spoil(tensors=None, meta=None, dtype=np.float64):
    """(tensors, meta) of ``parts`` with some replaced (a None value removes the entry)."""
    good_tensors, good_meta = parts(dtype)
    t = {k: v for k, v in (good_tensors | (tensors or {})).items() if v is not None}
    m = {k: v for k, v in (good_meta | (meta or {})).items() if v is not None}
    return t, m


def _nan_at(name, place, value):
    tensors, _ = parts()
    array = tensors[name].copy()
    array[place] = value
    return {name: array}


NEED = "sizes [3, 4, 2] need weights.0-1 and biases.0-1"
BAD = [
    ("no-metadata", (parts()[0], None),
     ("no __metadata__ in the header, so not an fnn model (fnn writes the sizes, activations "
     "and cost there)")),
    ("missing-key", _spoil(meta={"cost": None}),
     '__metadata__: missing key "cost" of an fnn model'),
    ("extra-key", _spoil(meta={"author": "me"}),
     ("__metadata__: unexpected key \"author\"; expected keys ['format', 'format_version', "
     "'sizes', 'activations', 'cost', 'dtype', 'fnn_version', 'metadata']")),
    ("other-format", _spoil(meta={"format": "gpt"}),
     '__metadata__.format: expected "fnn.model", got "gpt"'),
    ("future-version", _spoil(meta={"format_version": "2"}),
     "__metadata__.format_version: this fnn reads versions ['1'], got \"2\""),
    ("unknown-cost", _spoil(meta={"cost": "hinge"}),
     ("__metadata__.cost: expected one of ['cross_entropy', 'log_likelihood', 'quadratic'], "
     'got "hinge"')),
    ("network2-cost-name", _spoil(meta={"cost": "CrossEntropyCost"}),
     ("__metadata__.cost: expected one of ['cross_entropy', 'log_likelihood', 'quadratic'], "
     'got "CrossEntropyCost"')),
    ("float16", _spoil(meta={"dtype": "float16"}),
     "__metadata__.dtype: expected one of ['float32', 'float64'], got \"float16\""),
    ("sizes-not-json", _spoil(meta={"sizes": "3,4,2"}),
     "__metadata__.sizes: line 1 column 2: Extra data"),
    ("sizes-empty", _spoil(meta={"sizes": ""}), '__metadata__.sizes: expected JSON text, got ""'),
    ("sizes-zero", _spoil(meta={"sizes": "[3, 0, 2]"}),
     "__metadata__.sizes[1]: expected an int >= 1, got 0"),
    ("sizes-nan", _spoil(meta={"sizes": "[3, NaN, 2]"}),
     "__metadata__.sizes: [1]: expected a finite number, got NaN"),
    ("sizes-disagree", _spoil(meta={"sizes": "[3, 5, 2]"}),
     "weights.0: shape [4, 3], expected [5, 3] for sizes [3, 5, 2]"),
    ("too-many-activations", _spoil(meta={"activations": '["relu", "relu"]'}),
     ("__metadata__.activations: expected a list of 1 names (one per hidden layer) for sizes "
     "[3, 4, 2], got a list of 2")),
    ("unknown-activation", _spoil(meta={"activations": '["swish"]'}),
     "__metadata__.activations[0]: expected one of ['relu', 'sigmoid', 'tanh'], got \"swish\""),
    ("metadata-list", _spoil(meta={"metadata": "[1]"}),
     "__metadata__.metadata: expected a JSON object, got a list of 1"),
    ("metadata-nan", _spoil(meta={"metadata": '{"eta": NaN}'}),
     "__metadata__.metadata: eta: expected a finite number, got NaN"),
    ("metadata-duplicate", _spoil(meta={"metadata": '{"a": 1, "a": 2}'}),
     '__metadata__.metadata: top level: duplicate key "a"'),
    ("missing-tensor", _spoil(tensors={"biases.1": None}),
     f'tensors: missing "biases.1"; {NEED}'),
    ("renamed-tensor", _spoil(tensors={"weights.0": None, "w0": parts()[0]["weights.0"]}),
     f'tensors: missing "weights.0"; {NEED}'),
    ("extra-tensor", _spoil(tensors={"weights.2": np.zeros((2, 2))}),
     f'tensors: unexpected "weights.2"; {NEED}'),
    ("shapes-do-not-chain", _spoil(tensors={"weights.1": np.zeros((2, 5))}),
     "weights.1: shape [2, 5], expected [2, 4] for sizes [3, 4, 2]"),
    ("bias-as-a-column", _spoil(tensors={"biases.0": np.zeros((4, 1))}),
     "biases.0: shape [4, 1], expected [4] for sizes [3, 4, 2]"),
    ("dtype-mismatch", _spoil(tensors={"biases.1": np.zeros(2, np.float32)}),
     'biases.1: dtype "F32", but __metadata__.dtype is float64 (F64)'),
    ("all-float32-said-float64", (parts(np.float32)[0], parts()[1]),
     'weights.0: dtype "F32", but __metadata__.dtype is float64 (F64)'),
    ("integers", _spoil(tensors={"weights.0": np.zeros((4, 3), np.int64)}),
     'weights.0: dtype "I64", but __metadata__.dtype is float64 (F64)'),
    ("nan", _spoil(tensors=_nan_at("weights.1", (1, 2), np.nan)),
     "weights.1[1, 2]: expected a finite number, got nan"),
    ("infinity", _spoil(tensors=_nan_at("biases.0", 3, -np.inf)),
     "biases.0[3]: expected a finite number, got -inf"),
]


@pytest.mark.parametrize(("contents", "message"), [row[1:] for row in BAD],
                         ids=[row[0] for row in BAD])
def test_a_bad_file_names_itself_and_the_problem(tmp_path, contents, message):
    path = write(tmp_path / "model.safetensors", *contents)
    with pytest.raises(ModelFormatError) as info:
        load(path)
    assert str(info.value) == f"{path}: {message}"
    assert info.value.__cause__ is None  # an expected refusal, not the safety net


# the reason is the package's own words, which changed over its versions
NOT_SAFETENSORS = [
    ("empty", b"", "header too small|HeaderTooSmall"),
    ("csv", b"epoch,cost\n1,0.5\n", "header too large|HeaderTooLarge"),
    ("json", b'{"sizes": [2, 1]}', (r"(header too large|HeaderTooLarge)\); it starts like JSON: "
                                   r"name a JSON model \*\.json$")),
    ("header-not-json", (8).to_bytes(8, "little") + b"[1, 2]  ",
     "invalid JSON in header|InvalidHeaderDeserialization"),
    ("metadata-not-strings", (24).to_bytes(8, "little") + b'{"__metadata__":{"a":1}}',
     "invalid JSON in header|InvalidHeaderDeserialization"),
]


@pytest.mark.parametrize(("data", "reason"), [row[1:] for row in NOT_SAFETENSORS],
                         ids=[row[0] for row in NOT_SAFETENSORS])
def test_a_file_that_is_not_safetensors_says_so(tmp_path, data, reason):
    path = tmp_path / "m.safetensors"
    path.write_bytes(data)
    with pytest.raises(ModelFormatError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: not a readable safetensors file (")
    assert re.search(reason, str(info.value)) and len(str(info.value)) < len(str(path)) + 300


def test_a_saved_file_cut_anywhere_is_refused(tmp_path):
    whole = save(tmp_path / "m.safetensors", init_params(SIZES, seed=0), cost=quadratic)
    data = whole.read_bytes()
    for end in range(0, len(data), 13):
        whole.write_bytes(data[:end])
        with pytest.raises(ModelFormatError, match=r"not a readable safetensors file"):
            load(whole)


@settings(max_examples=200, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, 700), st.binary(min_size=1, max_size=3)),
                      min_size=1, max_size=4))
def test_any_corrupted_file_loads_or_raises_model_format_error(folder, edits):
    data = bytearray(save(folder / "fuzz.safetensors", init_params(SIZES, seed=0),
                          cost=quadratic, activation=RELU).read_bytes())
    for at, new in edits:
        data[at:at + len(new)] = new
    path = folder / "fuzz.safetensors"
    path.write_bytes(bytes(data))
    result = outcome(load, path)
    if isinstance(result, ModelFormatError):
        assert str(result).startswith(f"{path}: ")
        assert len(str(result)) < len(str(path)) + 1000
    else:
        assert tree_equal(result.params, result.params) and len(result.sizes) >= 2


def test_os_errors_pass_through_as_open_raises_them(tmp_path):
    with pytest.raises(FileNotFoundError) as missing:
        load(tmp_path / "missing.safetensors")
    assert missing.value.filename == str(tmp_path / "missing.safetensors")
    (tmp_path / "folder.safetensors").mkdir()
    with pytest.raises(IsADirectoryError):
        load(tmp_path / "folder.safetensors")


# ------------------------------------------------------------------- saving, atomically


def test_save_refuses_what_it_cannot_store_before_opening_anything(tmp_path):
    with pytest.raises(ConfigError, match="params contain NaN or inf"):
        save(tmp_path / "m.safetensors", exact([0.5, float("nan")]), cost=quadratic)
    with pytest.raises(ConfigError, match=r"metadata\.eta: expected a finite number, got inf"):
        save(tmp_path / "m.safetensors", exact([0.5]), cost=quadratic,
             metadata={"eta": float("inf")})
    mine = fnn.Activation("swish", lambda z: z, RELU.prime)
    with pytest.raises(ConfigError, match="activation 'swish' cannot be saved"):
        save(tmp_path / "m.safetensors", init_params(SIZES, seed=0), cost=quadratic,
             activation=mine)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("existing", [True, False], ids=["replacing", "new"])
def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, existing):
    path = tmp_path / "m.safetensors"
    if existing:
        save(path, init_params(SIZES, seed=0), cost=quadratic)
    before = path.read_bytes() if existing else None

    def fail(*_args):
        raise OSError(errno.ENOSPC, "No space left on device")
    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", fail)
        with pytest.raises(OSError, match="No space left"):
            save(path, init_params(SIZES, seed=1), cost=quadratic)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["m.safetensors"] if existing else [])
    if existing:
        assert path.read_bytes() == before


# ------------------------------------------------------------------ without the extra


def test_without_the_package_safetensors_files_say_what_to_install(tmp_path, monkeypatch):
    params = init_params(SIZES, seed=0)
    written = save(tmp_path / "m.safetensors", params, cost=quadratic)
    for name in ("safetensors", "safetensors.numpy"):
        monkeypatch.setitem(sys.modules, name, None)  # as if it were not installed
    install = re.escape('needs the safetensors package: pip install "fnn[safetensors]"')
    with pytest.raises(ImportError, match=f"^saving {re.escape(str(tmp_path / 'n.safetensors'))} "
                                          f"{install}$"):
        save(tmp_path / "n.safetensors", params, cost=quadratic)
    with pytest.raises(ImportError, match=f"^loading {re.escape(str(written))} {install}$"):
        load(written)
    with pytest.raises(ImportError, match=install):
        format_of(written, doing="saving")
    assert format_of(written) == "safetensors"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
    assert tree_equal(load(save(tmp_path / "m.json", params, cost=quadratic)).params, params)


def test_a_model_in_safetensors_is_a_params_tree_of_tuples(tmp_path):
    model = load(save(tmp_path / "m.safetensors", init_params(SIZES, seed=0), cost=quadratic))
    assert isinstance(model.params, Params) and type(model.params.weights) is tuple
    assert all(a.dtype == np.float64 for a in (*model.params.weights, *model.params.biases))
