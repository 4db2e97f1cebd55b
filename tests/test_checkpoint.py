"""Checkpoints: resume in a new process equals the uninterrupted run, bit for bit."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fnn
from fnn.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    read_checkpoint,
    settings_of,
    sgd_checkpointed,
)
from fnn.data import Batch, fingerprint
from fnn.errors import (
    CheckpointFormatError,
    CheckpointMismatchError,
    ConfigError,
    ModelFormatError,
)
from fnn.history import Monitor
from fnn.optimizers import (
    GradientTransformation,
    adam,
    chain,
    clip_by_global_norm,
    momentum,
    nesterov,
)
from fnn.params import Params, init_params, tree_equal, tree_map
from fnn.registry import COSTS
from fnn.schedules import halve_on_plateau, step_decay
from fnn.serialization import tree_to_dict
from fnn.training import compiled, config_to_json, make_config, prepare, sgd, train_states

from .conftest import separable

DATA = separable(23, seed=5)  # 23 examples in batches of 4: the last batch is partial
EVAL = separable(9, seed=6)


def _kwargs(cost_, **changes):
    kw = dict(epochs=5, mini_batch_size=4, eta=0.8, lmbda=2.0, cost=cost_, seed=13,
              evaluation_data=(EVAL.x, EVAL.y.argmax(1)), monitor_evaluation_cost=True,
              monitor_evaluation_accuracy=True, monitor_training_cost=True)
    kw.update(changes)
    return kw


@pytest.mark.parametrize("cost", COSTS.values(), ids=COSTS.keys())
def test_resume_equals_the_uninterrupted_run(tmp_path, cost, jit):
    start = init_params([2, 3, 2], seed=1)
    whole, whole_history = sgd(start, (DATA.x, DATA.y), **_kwargs(cost, jit=jit))
    path = tmp_path / "run.ckpt.json"
    sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, **_kwargs(cost, epochs=2,
                                                                         jit=jit))
    saved = read_checkpoint(path)
    assert saved.epochs_done == 2 and saved.state.history == whole_history[:2]
    assert saved.settings["engine"] == ("numpy" if jit is False else "numba")
    resumed, history = sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, resume=True,
                                        **_kwargs(cost, jit=jit))
    assert tree_equal(resumed, whole) and history == whole_history
    assert read_checkpoint(path).epochs_done == 5


def test_resume_in_a_new_process_is_bit_identical(tmp_path):
    path = tmp_path / "ck.json"
    code = textwrap.dedent(f"""
        import sys
        from fnn.checkpoint import sgd_checkpointed
        from fnn.params import init_params
        from tests.test_checkpoint import DATA, _kwargs
        from fnn.costs import cross_entropy
        epochs = int(sys.argv[1])
        p, h = sgd_checkpointed(init_params([2, 3, 2], seed=1), (DATA.x, DATA.y),
                                checkpoint={str(path)!r}, resume=True,
                                **_kwargs(cross_entropy, epochs=epochs))
        print(b"".join(a.tobytes() for a in (*p.weights, *p.biases)).hex())
        print(h.to_json().replace(chr(10), ""))
    """)
    root = str(Path(__file__).resolve().parents[1])
    run = lambda n: subprocess.run([sys.executable, "-c", code, str(n)], capture_output=True,
                                   text=True, check=True, cwd=root).stdout.split("\n")
    run(3)  # "interrupted" after 3 epochs: a new process continues to 5
    resumed = run(5)
    whole, history = sgd(init_params([2, 3, 2], seed=1), (DATA.x, DATA.y),
                         **_kwargs(fnn.cross_entropy))
    assert resumed[0] == b"".join(a.tobytes() for a in (*whole.weights, *whole.biases)).hex()
    assert resumed[1] == history.to_json().replace("\n", "")


def test_plain_pairs_and_deprecated_names_checkpoint_the_same_run(tmp_path):
    start = init_params([2, 3, 2], seed=1)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    params, history = sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=a,
                                       **_kwargs(fnn.cross_entropy, epochs=2))
    pair = (list(start.weights), list(start.biases))
    with pytest.warns(DeprecationWarning, match="cost='cross_entropy' .* is deprecated"):
        again, again_history = sgd_checkpointed(pair, (DATA.x, DATA.y), checkpoint=b,
                                                **_kwargs("cross_entropy", epochs=2))
    assert tree_equal(again, params) and again_history == history
    assert a.read_bytes() == b.read_bytes()


# --- every kind of run resumes bit for bit -----------------------------------------------------

RUNS = {
    "network2": {},
    "momentum": dict(eta=None, optimizer=momentum(eta=0.5, mu=0.9)),
    "nesterov": dict(eta=None, optimizer=nesterov(eta=0.3, mu=0.8)),
    "adam": dict(eta=None, optimizer=adam(eta=0.05)),
    "clip-then-momentum": dict(eta=None,
                               optimizer=chain(clip_by_global_norm(1.0), momentum(eta=0.1))),
    "dropout": dict(dropout=0.3),
    "l1": dict(l1=0.5, lmbda=0.0),
    "relu": dict(activation=fnn.RELU),
    "early-stop": dict(early_stop=2, lmbda=0.0, epochs=6),
    "halve-on-plateau": dict(schedule=halve_on_plateau(patience=1), epochs=6),
    "step-decay": dict(schedule=step_decay(2, factor=0.5), epochs=6),
    "momentum-halving": dict(eta=None, optimizer=momentum(eta=0.5, mu=0.5),
                             schedule=halve_on_plateau(patience=1), epochs=6),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("run", RUNS.values(), ids=RUNS.keys())
def test_every_kind_of_run_resumed_after_any_epoch_equals_the_uninterrupted_run(
        tmp_path, run, dtype):
    start = init_params([2, 3, 2], seed=1, dtype=dtype)
    data = (DATA.x.astype(dtype), DATA.y)
    whole, whole_history = sgd(start, data, **_kwargs(fnn.cross_entropy, **run))
    for done in range(1, len(whole_history)):
        path = tmp_path / f"after{done}.json"
        sgd_checkpointed(start, data, checkpoint=path,
                         **_kwargs(fnn.cross_entropy, **run | {"epochs": done}))
        resumed, history = sgd_checkpointed(start, data, checkpoint=path, resume=True,
                                            **_kwargs(fnn.cross_entropy, **run))
        assert tree_equal(resumed, whole), (done, "params")
        assert history == whole_history, (done, "history")


def test_the_early_stop_run_returns_an_earlier_epochs_params_after_resuming(tmp_path):
    # the case above covers this only if early stopping really stops and looks back
    run = RUNS["early-stop"]
    start = init_params([2, 3, 2], seed=1)
    whole, history = sgd(start, (DATA.x, DATA.y), **_kwargs(fnn.cross_entropy, **run))
    assert history.stopped is not None and len(history) < run["epochs"]
    path = tmp_path / "ck.json"
    last, _ = sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path,
                               **_kwargs(fnn.cross_entropy, **run | {"epochs": len(history)}))
    saved = read_checkpoint(path)
    assert saved.state.best is not None and not tree_equal(saved.state.best, saved.state.params)
    assert tree_equal(last, whole) and tree_equal(saved.state.best, whole)


def test_a_run_resumed_where_its_schedule_stops_it_stops_as_the_uninterrupted_run(tmp_path):
    # halve_on_plateau(patience=1, min_factor=0.5) ends training at the first plateau; a
    # checkpoint written by a run of exactly that many epochs has not recorded the stop
    run = dict(schedule=halve_on_plateau(patience=1, min_factor=0.5), epochs=8)
    start = init_params([2, 3, 2], seed=1)
    whole, whole_history = sgd(start, (DATA.x, DATA.y), **_kwargs(fnn.cross_entropy, **run))
    assert whole_history.stopped is not None and len(whole_history) < run["epochs"]
    path = tmp_path / "ck.json"
    sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path,
                     **_kwargs(fnn.cross_entropy, **run | {"epochs": len(whole_history)}))
    resumed, history = sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, resume=True,
                                        **_kwargs(fnn.cross_entropy, **run))
    assert tree_equal(resumed, whole)
    assert history == whole_history


# --- what the file holds -----------------------------------------------------------------------


def _state_after(start, run: dict, epochs: int):
    """The TrainState after ``epochs`` epochs, straight from the training generator."""
    kw = _kwargs(fnn.cross_entropy, **run | {"epochs": epochs})
    evaluation = kw.pop("evaluation_data")
    monitor = Monitor(**{f: kw.pop(f"monitor_{f}", False) for f in Monitor._fields})
    config = make_config(monitor=monitor, **kw)
    prepared = prepare(start, (DATA.x, DATA.y), config, evaluation_data=evaluation)
    return list(train_states(prepared))[-1], prepared


def _assert_same_state(a, b):
    if isinstance(a, Params):
        assert isinstance(b, Params) and tree_equal(a, b)
    elif isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same_state(x, y)
    else:
        assert type(a) is type(b) is int and a == b


@pytest.mark.parametrize(("run", "encoded"), [
    ({}, lambda _state: {"tuple": []}),
    (RUNS["momentum"], lambda s: {"tuple": [{"tree": tree_to_dict(s[0])}]}),
    (RUNS["adam"], lambda s: {"tuple": [{"count": 12}, {"tree": tree_to_dict(s[1])},
                                        {"tree": tree_to_dict(s[2])}]}),
    (RUNS["clip-then-momentum"],
     lambda s: {"tuple": [{"tuple": []}, {"tuple": [{"tree": tree_to_dict(s[1][0])}]}]}),
], ids=["network2", "momentum", "adam", "clip-then-momentum"])
def test_the_file_holds_params_optimizer_state_and_settings_in_their_json_layouts(
        tmp_path, run, encoded):
    start = init_params([2, 3, 2], seed=1)
    path = tmp_path / "ck.json"
    sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path,
                     **_kwargs(fnn.cross_entropy, **run | {"epochs": 2}))
    doc = json.loads(path.read_text())
    state, prepared = _state_after(start, run, 2)
    assert set(doc) == {"format", "format_version", "epochs_done", "settings", "data",
                        "history", "params", "optimizer_state", "best"}
    assert (doc["format"], doc["format_version"], doc["epochs_done"]) == (FORMAT, 2, 2)
    assert FORMAT_VERSION == 2
    assert doc["params"] == tree_to_dict(state.params)
    assert doc["optimizer_state"] == encoded(state.opt_state)  # 2 epochs of 6 steps for adam
    assert doc["best"] is None
    assert doc["history"] == state.history.to_dict()
    assert doc["settings"] == settings_of(prepared.params, prepared.config,
                                          prepared.engine.family)
    assert doc["data"] == {"training": fingerprint(prepared.data),
                           "evaluation": fingerprint(prepared.evaluation)}
    saved = read_checkpoint(path)
    assert tree_equal(saved.state.params, state.params)
    _assert_same_state(saved.state.opt_state, state.opt_state)
    assert saved.state.history == state.history


def test_settings_are_sizes_dtype_and_the_config_without_epochs():
    start = init_params([2, 3, 2], seed=1, dtype=np.float32)
    config = make_config(epochs=7, mini_batch_size=4, cost=fnn.cross_entropy, seed=13,
                         optimizer=momentum(eta=0.5, mu=0.9), lmbda=2.0, dropout=0.25,
                         activation=fnn.RELU)
    settings = settings_of(start, config)
    expected = {k: v for k, v in config_to_json(config).items() if k not in ("epochs", "jit")}
    assert settings == {"sizes": [2, 3, 2], "dtype": "float32", **expected, "engine": "numpy"}
    assert "epochs" not in settings and "jit" not in settings
    assert settings_of(start, config, "numba")["engine"] == "numba"
    assert settings["optimizer"] == {"name": "momentum", "eta": 0.5, "mu": 0.9}
    assert (settings["cost"], settings["activation"], settings["seed"]) == (
        "cross_entropy", "relu", 13)
    json.dumps(settings, allow_nan=False)  # plain JSON data


def test_settings_of_takes_a_plain_weights_biases_pair_as_every_public_function_does():
    start = init_params([2, 3, 2], seed=1, dtype=np.float32)
    config = make_config(epochs=7, mini_batch_size=4, cost=fnn.cross_entropy, seed=13, eta=0.5)
    for pair in ((list(start.weights), list(start.biases)), tuple(start)):
        assert settings_of(pair, config) == settings_of(start, config)


def test_the_early_stop_checkpoint_holds_the_best_params(tmp_path):
    run = RUNS["early-stop"]
    start = init_params([2, 3, 2], seed=1)
    path = tmp_path / "ck.json"
    sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path,
                     **_kwargs(fnn.cross_entropy, **run | {"epochs": 2}))
    state, _ = _state_after(start, run, 2)
    assert state.best is not None
    assert json.loads(path.read_text())["best"] == tree_to_dict(state.best)
    assert tree_equal(read_checkpoint(path).state.best, state.best)


# --- a run fnn cannot describe cannot be checkpointed ------------------------------------------


def _recording_run(kind: str, calls: list[str]) -> dict:
    """Keywords of a run with one value a user wrote (recording its calls) instead of fnn's."""
    def mine(what, fn):
        def recorded(*args):
            calls.append(what)
            return fn(*args)
        return recorded

    if kind == "optimizer":
        def update(grads, state, params):
            calls.append("update")
            return tree_map(lambda g: -0.5 * g, grads), state
        return dict(eta=None, optimizer=GradientTransformation(lambda _params: (), update))
    if kind == "cost":
        ce = fnn.cross_entropy
        return dict(cost=fnn.Cost("my_cost", mine("fn", ce.fn), mine("delta", ce.delta),
                                  ce.output))
    if kind == "activation":
        return dict(activation=fnn.Activation("my_sigmoid", mine("fn", fnn.SIGMOID.fn),
                                              mine("prime", fnn.SIGMOID.prime)))
    return dict(schedule=mine("schedule", lambda _epoch, _history: 1.0))


@pytest.mark.parametrize("kind", ["optimizer", "cost", "activation", "schedule"])
def test_a_run_with_a_users_own_value_is_refused_before_any_training(tmp_path, kind):
    calls: list[str] = []
    run = _recording_run(kind, calls)
    start = init_params([2, 3, 2], seed=1)
    path = tmp_path / "ck.json"
    with pytest.raises(ConfigError, match="no name to write in a file"):
        sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path,
                         **_kwargs(fnn.cross_entropy, **run))
    assert calls == [] and not path.exists()
    sgd(start, (DATA.x, DATA.y), **_kwargs(fnn.cross_entropy, **run | {"epochs": 1}))
    assert calls  # the same run trains without a checkpoint


def test_resuming_with_a_users_optimizer_is_refused_and_leaves_the_checkpoint(tmp_path):
    calls: list[str] = []
    start = init_params([2, 3, 2], seed=1)
    path = tmp_path / "ck.json"
    sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path,
                     **_kwargs(fnn.cross_entropy, epochs=1))
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="no name to write in a file"):
        sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, resume=True,
                         **_kwargs(fnn.cross_entropy, **_recording_run("optimizer", calls)))
    assert calls == [] and path.read_bytes() == before


# --- resuming something else is refused --------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    (dict(eta=0.5), ('optimizer: checkpoint has {"name": "gradient_descent", "eta": 0.8}, '
                     'this run has {"name": "gradient_descent", "eta": 0.5}')),
    (dict(eta=None, optimizer=momentum(eta=0.8)),
     'this run has {"name": "momentum", "eta": 0.8, "mu": 0.9}'),
    (dict(lmbda=0.0), "lmbda: checkpoint has 2.0, this run has 0.0"),
    (dict(l1=0.1), "l1: checkpoint has 0.0, this run has 0.1"),
    (dict(mini_batch_size=5), "mini_batch_size: checkpoint has 4, this run has 5"),
    (dict(seed=14), "seed: checkpoint has 13, this run has 14"),
    (dict(cost=fnn.quadratic), 'cost: checkpoint has "cross_entropy", this run has "quadratic"'),
    (dict(activation=fnn.RELU), 'activation: checkpoint has "sigmoid", this run has "relu"'),
    (dict(dropout=0.5), "dropout: checkpoint has 0.0, this run has 0.5"),
    (dict(early_stop=3), "early_stop: checkpoint has null, this run has 3"),
    (dict(schedule=step_decay(2)), 'schedule: checkpoint has {"name": "constant"}'),
    (dict(monitor_training_cost=False), "monitor: checkpoint has"),
    (dict(evaluation_data=(EVAL.x[:8], EVAL.y.argmax(1)[:8])), "evaluation data differ"),
], ids=["eta", "optimizer", "lmbda", "l1", "mini_batch_size", "seed", "cost", "activation",
        "dropout", "early_stop", "schedule", "monitor", "evaluation_data"])
def test_resume_with_other_settings_names_what_differs(tmp_path, change, message):
    path = tmp_path / "ck.json"
    start = init_params([2, 3, 2], seed=1)
    sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path,
                     **_kwargs(fnn.cross_entropy, epochs=1))
    with pytest.raises(CheckpointMismatchError) as info:
        sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, resume=True,
                         **_kwargs(fnn.cross_entropy, **change))
    assert str(info.value).startswith(f"cannot resume from {path}: "), str(info.value)
    assert message in str(info.value), str(info.value)


def test_resume_with_other_training_data_or_sizes_is_refused(tmp_path):
    path = tmp_path / "ck.json"
    sgd_checkpointed(init_params([2, 3, 2], seed=1), (DATA.x, DATA.y), checkpoint=path,
                     **_kwargs(fnn.cross_entropy, epochs=1))
    other = DATA.x.copy()
    other[0, 0] += 1e-9
    with pytest.raises(CheckpointMismatchError, match="training data differ"):
        sgd_checkpointed(init_params([2, 3, 2], seed=1), (other, DATA.y), checkpoint=path,
                         resume=True, **_kwargs(fnn.cross_entropy))
    with pytest.raises(CheckpointMismatchError, match=r"sizes: checkpoint has \[2, 3, 2\]"):
        sgd_checkpointed(init_params([2, 4, 2], seed=1), (DATA.x, DATA.y), checkpoint=path,
                         resume=True, **_kwargs(fnn.cross_entropy))
    with pytest.raises(CheckpointMismatchError, match='dtype: checkpoint has "float64", this '
                                                      'run has "float32"'):
        sgd_checkpointed(init_params([2, 3, 2], seed=1, dtype=np.float32), (DATA.x, DATA.y),
                         checkpoint=path, resume=True, **_kwargs(fnn.cross_entropy))


def test_a_longer_run_than_the_checkpoint_is_refused_the_other_way(tmp_path):
    path = tmp_path / "ck.json"
    sgd_checkpointed(init_params([2, 3, 2], seed=1), (DATA.x, DATA.y), checkpoint=path,
                     **_kwargs(fnn.cross_entropy, epochs=3))
    with pytest.raises(CheckpointMismatchError, match="3 epochs done, more than epochs=2"):
        sgd_checkpointed(init_params([2, 3, 2], seed=1), (DATA.x, DATA.y), checkpoint=path,
                         resume=True, **_kwargs(fnn.cross_entropy, epochs=2))


def test_resume_without_a_checkpoint_starts_afresh_and_without_resume_overwrites(tmp_path):
    start = init_params([2, 3, 2], seed=1)
    whole, history = sgd(start, (DATA.x, DATA.y), **_kwargs(fnn.cross_entropy, epochs=2))
    path = tmp_path / "ck.json"
    fresh, fresh_history = sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path,
                                            resume=True, **_kwargs(fnn.cross_entropy, epochs=2))
    assert tree_equal(fresh, whole) and fresh_history == history
    again, again_history = sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path,
                                            **_kwargs(fnn.cross_entropy, epochs=2))
    assert tree_equal(again, whole) and again_history == history
    assert read_checkpoint(path).epochs_done == 2


# --- bad files ---------------------------------------------------------------------------------


def test_checkpoint_files_are_deterministic_and_strict(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for path in (a, b):
        sgd_checkpointed(init_params([2, 3, 2], seed=1), (DATA.x, DATA.y), checkpoint=path,
                         **_kwargs(fnn.cross_entropy, epochs=2))
    assert a.read_bytes() == b.read_bytes()
    doc = json.loads(a.read_text())
    doc["epochs_done"] = -1
    a.write_text(json.dumps(doc))
    with pytest.raises(ModelFormatError, match="a.json: epochs_done must equal the 2 history"):
        read_checkpoint(a)
    b.write_bytes(b.read_bytes()[:100])
    with pytest.raises(ModelFormatError, match="b.json"):
        read_checkpoint(b)


def _adam_doc(tmp_path: Path) -> tuple[Path, dict]:
    path = tmp_path / "a.json"
    sgd_checkpointed(init_params([2, 3, 2], seed=1), (DATA.x, DATA.y), checkpoint=path,
                     **_kwargs(fnn.cross_entropy, eta=None, optimizer=adam(eta=0.05), epochs=1))
    return path, json.loads(path.read_text())


def _set(doc: dict, keys: tuple, value) -> dict:
    inner = doc
    for key in keys[:-1]:
        inner = inner[key]
    inner[keys[-1]] = value
    return doc


@pytest.mark.parametrize(("keys", "value", "message"), [
    (("format_version",), 1, "a.json: not an fnn checkpoint of format version 2"),
    (("format",), "fnn.model", "a.json: not an fnn checkpoint of format version 2"),
    (("params", "weights", 0, 0, 0), True,
     "a.json: params: weights[0][0][0]: expected a finite number, got true"),
    (("params", "biases", 1), [[0.0]],
     ("a.json: params: biases[1]: expected a 2 x 1 matrix (a list of 2 rows) for sizes "
      "[2, 3, 2], got a list of 1")),
    (("optimizer_state", "tuple", 0), {"count": -1},
     ('a.json: optimizer_state[0]: expected {"tree": ...}, {"tuple": [...]} or '
      '{"count": int}, got {"count": -1}')),
    (("optimizer_state", "tuple", 0), {"count": 6, "tree": None},
     "a.json: optimizer_state[0]: expected"),
    (("optimizer_state", "tuple", 1, "tree", "weights", 0), [[0.0, 0.0]],
     "a.json: optimizer_state[1]: weights[0]: expected a 3 x 2 matrix"),
    (("optimizer_state",), [], "a.json: optimizer_state: expected"),
    (("best",), {"weights": []}, 'a.json: best: top level: missing key "biases"'),
    (("settings", "dtype"), "float16",
     "a.json: settings.dtype must be float32 or float64, got \"float16\""),
    (("settings",), [], "a.json: settings and data must be objects"),
    (("history",), None, "a.json: history: history must be a dict with format 'fnn.history'"),
], ids=["version-1", "a-model-file", "params-bool", "params-shape", "negative-count",
        "two-kinds", "moment-shape", "state-a-list", "best-no-biases", "float16",
        "settings-a-list", "history-null"])
def test_a_malformed_checkpoint_names_the_file_and_the_place(tmp_path, keys, value, message):
    path, doc = _adam_doc(tmp_path)
    path.write_text(json.dumps(_set(doc, keys, value)))
    with pytest.raises(ModelFormatError) as info:
        read_checkpoint(path)
    assert str(info.value).startswith(f"{tmp_path}/{message}"), str(info.value)  # the full path


def test_a_checkpoint_that_is_not_json_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "ck.json"
    path.write_text('{"format": "fnn.checkpoint", "format_version": NaN}')
    with pytest.raises(ModelFormatError, match=r"ck\.json: format_version: expected a finite"):
        read_checkpoint(path)
    with pytest.raises(FileNotFoundError):
        read_checkpoint(tmp_path / "missing.json")


def test_fingerprint_sees_every_byte_dtype_and_shape():
    base = fingerprint(Batch(DATA.x, DATA.y))
    assert base == fingerprint(Batch(DATA.x.copy(), DATA.y.copy()))
    assert base != fingerprint(Batch(DATA.x.astype(np.float32), DATA.y))
    assert base != fingerprint(Batch(DATA.x.reshape(-1, 1), DATA.y))
    assert fingerprint(None) is None


# --- reading checkpoints from elsewhere (issue 12) ----------------------------------------------


@pytest.mark.parametrize(("keys", "value", "message"), [
    (("settings", "sizes"), [2, "3", 2], ("a.json: settings.sizes must be a list of at least "
                                          'two ints >= 1, got [2, "3", 2]')),
    (("settings", "sizes"), {"a": 1}, "a.json: settings.sizes must be a list"),
    (("extra",), 0, "a.json: expected the keys ['format', 'format_version', 'epochs_done'"),
    (("epochs_done",), "9" * 100_000, ("a.json: epochs_done must equal the 1 history records, "
                                       'got "999999')),
    (("history", "records"), [{"epoch": "e" * 100_000}], "a.json: history: history record 0"),
    (("optimizer_state",), json.loads('{"tuple": [' * 40 + "{}" + "]}" * 40),
     "a.json: optimizer_state" + "[0]" * 32 + ": expected {\"tree\": ...}, {\"tuple\": [...]} or "
     "{\"count\": int}, nested at most 32 deep"),
    (("settings", "dtype"), "f" * 100_000, "a.json: settings.dtype must be float32 or float64"),
])
def test_a_hostile_checkpoint_raises_checkpoint_format_error_with_a_short_message(
        tmp_path, keys, value, message):
    path, doc = _adam_doc(tmp_path)
    path.write_text(json.dumps(_set(doc, keys, value)))
    with pytest.raises(CheckpointFormatError) as info:
        read_checkpoint(path)
    assert str(info.value).startswith(f"{tmp_path}/{message}"), str(info.value)
    assert len(str(info.value)) < len(str(path)) + 1000
    assert isinstance(info.value, ModelFormatError) and info.value.__cause__ is None


# --- the engine family that wrote a checkpoint -------------------------------------------------

needs_numba = pytest.mark.skipif(not compiled.available(),
                                 reason="numba is not installed (pip install 'fnn[jit]')")


@needs_numba
@pytest.mark.parametrize(("first", "then", "saved", "now"), [
    (False, None, "numpy", "numba"), (None, False, "numba", "numpy"),
    (True, False, "numba", "numpy")])
def test_a_run_resumes_only_on_the_engine_family_that_wrote_it(tmp_path, first, then, saved,
                                                                now):
    start, path = init_params([2, 3, 2], seed=1), tmp_path / "ck.json"
    sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path,
                     **_kwargs(fnn.cross_entropy, epochs=2, jit=first))
    before = path.read_bytes()
    with pytest.raises(CheckpointMismatchError) as info:
        sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, resume=True,
                         **_kwargs(fnn.cross_entropy, jit=then))
    assert f'engine: checkpoint has "{saved}", this run has "{now}"; the compiled epoch' in str(
        info.value)
    assert "jit=True (fnn train --jit on, needs fnn[jit]) for numba" in str(info.value)
    assert path.read_bytes() == before
    # asking for the family that wrote it (jit True or None for numba) resumes
    sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, resume=True,
                     **_kwargs(fnn.cross_entropy, jit=saved == "numba" or False))


def test_a_checkpoint_without_an_engine_was_written_by_numpy(tmp_path):
    start, path = init_params([2, 3, 2], seed=1), tmp_path / "ck.json"
    whole, _ = sgd(start, (DATA.x, DATA.y), **_kwargs(fnn.cross_entropy, jit=False))
    sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path,
                     **_kwargs(fnn.cross_entropy, epochs=2, jit=False))
    doc = json.loads(path.read_text())
    del doc["settings"]["engine"]  # as fnn wrote it before the compiled epoch
    path.write_text(json.dumps(doc))
    resumed, _ = sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, resume=True,
                                  **_kwargs(fnn.cross_entropy, jit=False))
    assert tree_equal(resumed, whole)
