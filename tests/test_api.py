"""The public API takes plain tuples: every function gives the same bits for Params and pairs."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn
from fnn import strategies as fst
from fnn.data import Batch
from fnn.optimizers import momentum
from fnn.params import Params, tree_equal
from fnn.serialization import save


def _as_pair(params: Params, kind: type) -> tuple:
    """The same arrays as a plain pair of ``kind`` (tuple or list)."""
    return kind(map(kind, params))


def _same(a, b) -> bool:
    if isinstance(a, Params):
        return isinstance(b, Params) and tree_equal(a, b)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and (a == b or (np.isnan(a) and np.isnan(b)))


def _calls(batch: Batch, labels: np.ndarray) -> dict:
    x, y, m = batch.x, batch.y, batch.x.shape[0]
    cost = fnn.cross_entropy
    return {
        "forward": lambda p: fnn.forward(p, x),
        "output_z": lambda p: fnn.output_z(p, x),
        "trace": lambda p: tuple(fnn.trace(p, x)),
        "cost": lambda p: fnn.cost(p, x, y, cost=cost),
        "cost (labels)": lambda p: fnn.cost(p, x, labels, cost=cost),
        "backprop": lambda p: fnn.backprop(p, x, y, cost),
        "backprop (labels)": lambda p: fnn.backprop(p, x, labels, cost),
        "summed_gradient": lambda p: fnn.summed_gradient(p, x, y, fnn.quadratic),
        "l2_penalty": lambda p: fnn.l2_penalty(p, 5.0, 10),
        "l1_penalty": lambda p: fnn.l1_penalty(p, 5.0, 10),
        "l2_gradient": lambda p: fnn.l2_gradient(p, 5.0, 10),
        "l1_gradient": lambda p: fnn.l1_gradient(p, 5.0, 10),
        "accuracy": lambda p: fnn.accuracy(p, x, labels),
        "total_cost": lambda p: fnn.total_cost(p, x, labels, cost=cost, lmbda=1.0),
        "sgd_step": lambda p: fnn.sgd_step(p, (x, labels), eta=0.5, lmbda=1.0, n=50, cost=cost),
        "optimizer_step": lambda p: fnn.optimizer_step(
            (p, momentum(eta=0.1).init(fnn.as_params(p))), (x, y), optimizer=momentum(eta=0.1),
            lmbda=1.0, n=50, cost=cost),
        "sgd": lambda p: fnn.sgd(p, (x, labels), epochs=2, mini_batch_size=2, eta=0.5,
                                 lmbda=1.0, cost=cost, seed=0, monitor_training_cost=True,
                                 evaluation_data=(x, labels), monitor_evaluation_accuracy=True),
        "sgd (momentum)": lambda p: fnn.sgd(p, (x, y), epochs=1, mini_batch_size=m,
                                            optimizer=momentum(eta=0.1), cost=cost, seed=0),
        "shapes": fnn.shapes, "sizes_of": fnn.sizes_of, "zeros_like": fnn.zeros_like,
        "tree_map": lambda p: fnn.tree_map(np.negative, p),
        "save": _saved_bytes,
    }


def _saved_bytes(params) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return save(Path(folder) / "m.json", params, cost=fnn.cross_entropy).read_bytes()


@settings(max_examples=25, deadline=None)
@given(net=fst.nets(max_width=5, min_batch=2, max_batch=6), kind=st.sampled_from([tuple, list]))
def test_every_public_function_gives_the_same_bits_for_params_and_plain_pairs(net, kind):
    params, batch = net
    labels = batch.y.argmax(axis=1)
    plain = _as_pair(params, kind)
    for name, call in _calls(batch, labels).items():
        with np.errstate(all="ignore"):
            expected, got = call(params), call(plain)
        assert _same(expected, got), name


def test_params_is_what_fnn_returns_and_is_itself_a_plain_tuple():
    weights, biases = fnn.init_params([3, 2], seed=0)
    new = fnn.sgd_step((weights, biases), (np.ones((2, 3)), np.array([0, 1])), eta=0.5,
                       lmbda=0.0, n=2, cost=fnn.cross_entropy)
    assert type(new) is Params and isinstance(new, tuple) and len(new) == 2


@pytest.mark.parametrize("value", [None, 3, "params", np.ones((2, 3)), {"weights": []}])
def test_anything_else_is_a_type_error_naming_the_argument(value):
    with pytest.raises(fnn.FnnTypeError, match="params must be a \\(weights, biases\\) pair"):
        fnn.forward(value, np.ones((1, 3)))
