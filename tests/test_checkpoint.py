"""Checkpoints: resume in a new process equals the uninterrupted run, bit for bit."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fnn.checkpoint import fingerprint, read_checkpoint, sgd_checkpointed
from fnn.costs import COSTS
from fnn.data import Batch
from fnn.errors import CheckpointMismatchError, ModelFormatError
from fnn.params import init_params, tree_equal
from fnn.training import sgd

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
def test_resume_equals_the_uninterrupted_run(tmp_path, cost):
    start = init_params([2, 3, 2], seed=1)
    whole, whole_history = sgd(start, (DATA.x, DATA.y), **_kwargs(cost))
    path = tmp_path / "run.ckpt.json"
    sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, **_kwargs(cost, epochs=2))
    saved = read_checkpoint(path)
    assert saved.epochs_done == 2 and saved.state.history == whole_history[:2]
    resumed, history = sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, resume=True,
                                        **_kwargs(cost))
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
    root = str(__import__("pathlib").Path(__file__).resolve().parents[1])
    run = lambda n: subprocess.run([sys.executable, "-c", code, str(n)], capture_output=True,
                                   text=True, check=True, cwd=root).stdout.split("\n")
    run(3)  # "interrupted" after 3 epochs: a new process continues to 5
    resumed = run(5)
    whole, history = sgd(init_params([2, 3, 2], seed=1), (DATA.x, DATA.y),
                         **_kwargs(COSTS["cross_entropy"]))
    assert resumed[0] == b"".join(a.tobytes() for a in (*whole.weights, *whole.biases)).hex()
    assert resumed[1] == history.to_json().replace("\n", "")


@pytest.mark.parametrize(("change", "message"), [
    (dict(eta=0.5), "eta: checkpoint has 0.8, this run has 0.5"),
    (dict(lmbda=0.0), "lmbda: checkpoint has 2.0, this run has 0.0"),
    (dict(mini_batch_size=5), "mini_batch_size: checkpoint has 4, this run has 5"),
    (dict(seed=14), "seed: checkpoint has 13, this run has 14"),
    (dict(cost="quadratic"), "cost: checkpoint has 'cross_entropy', this run has 'quadratic'"),
    (dict(monitor_training_cost=False), "monitor: checkpoint has"),
    (dict(evaluation_data=(EVAL.x[:8], EVAL.y.argmax(1)[:8])), "evaluation data differ"),
])
def test_resume_with_other_settings_names_what_differs(tmp_path, change, message):
    path = tmp_path / "ck.json"
    start = init_params([2, 3, 2], seed=1)
    sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path,
                     **_kwargs("cross_entropy", epochs=1))
    with pytest.raises(CheckpointMismatchError, match=message):
        sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, resume=True,
                         **_kwargs("cross_entropy", **change))


def test_resume_with_other_training_data_or_sizes_is_refused(tmp_path):
    path = tmp_path / "ck.json"
    sgd_checkpointed(init_params([2, 3, 2], seed=1), (DATA.x, DATA.y), checkpoint=path,
                     **_kwargs("cross_entropy", epochs=1))
    other = DATA.x.copy()
    other[0, 0] += 1e-9
    with pytest.raises(CheckpointMismatchError, match="training data differ"):
        sgd_checkpointed(init_params([2, 3, 2], seed=1), (other, DATA.y), checkpoint=path,
                         resume=True, **_kwargs("cross_entropy"))
    with pytest.raises(CheckpointMismatchError, match=r"sizes: checkpoint has \[2, 3, 2\]"):
        sgd_checkpointed(init_params([2, 4, 2], seed=1), (DATA.x, DATA.y), checkpoint=path,
                         resume=True, **_kwargs("cross_entropy"))


def test_a_longer_run_than_the_checkpoint_is_refused_the_other_way(tmp_path):
    path = tmp_path / "ck.json"
    sgd_checkpointed(init_params([2, 3, 2], seed=1), (DATA.x, DATA.y), checkpoint=path,
                     **_kwargs("cross_entropy", epochs=3))
    with pytest.raises(CheckpointMismatchError, match="3 epochs done, more than epochs=2"):
        sgd_checkpointed(init_params([2, 3, 2], seed=1), (DATA.x, DATA.y), checkpoint=path,
                         resume=True, **_kwargs("cross_entropy", epochs=2))


def test_checkpoint_files_are_deterministic_and_strict(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for path in (a, b):
        sgd_checkpointed(init_params([2, 3, 2], seed=1), (DATA.x, DATA.y), checkpoint=path,
                         **_kwargs("cross_entropy", epochs=2))
    assert a.read_bytes() == b.read_bytes()
    doc = json.loads(a.read_text())
    doc["epochs_done"] = -1
    a.write_text(json.dumps(doc))
    with pytest.raises(ModelFormatError, match="a.json: epochs_done must equal the 2 history"):
        read_checkpoint(a)
    b.write_bytes(b.read_bytes()[:100])
    with pytest.raises(ModelFormatError, match="b.json"):
        read_checkpoint(b)


def test_fingerprint_sees_every_byte_dtype_and_shape():
    base = fingerprint(Batch(DATA.x, DATA.y))
    assert base == fingerprint(Batch(DATA.x.copy(), DATA.y.copy()))
    assert base != fingerprint(Batch(DATA.x.astype(np.float32), DATA.y))
    assert base != fingerprint(Batch(DATA.x.reshape(-1, 1), DATA.y))
    assert fingerprint(None) is None
