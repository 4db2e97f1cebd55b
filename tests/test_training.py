from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fnn.costs import COSTS, cross_entropy, quadratic
from fnn.data import Batch
from fnn.errors import NonFiniteError
from fnn.params import Params, init_params, tree_equal
from fnn.training import (
    epoch_rng,
    iterate_sgd,
    make_config,
    minibatches,
    run_epoch,
    sgd,
    sgd_step,
)

from .conftest import read_only, separable


def test_sgd_step_on_a_full_batch_equals_the_hand_computed_update():
    # w = 0, b = 0 ⇒ a = ½ for every row, so δ = ½ - y for cross-entropy
    params = Params((np.zeros((1, 2)),), (np.zeros(1),))
    x = np.array([[1, 0], [0, 1], [1, 1], [2, 0], [0, 2]], dtype=float)
    y = np.array([[1], [0], [1], [0], [0]], dtype=float)
    new = sgd_step(params, Batch(x, y), eta=1.0, lmbda=0.0, n=11, cost=cross_entropy)
    # Σδx = (0, 1), Σδ = ½; update by eta/m = 1/5
    np.testing.assert_array_equal(new.weights[0], [[0.0, -0.2]])
    np.testing.assert_array_equal(new.biases[0], [-0.1])
    quad = sgd_step(params, Batch(x, y), eta=1.0, lmbda=0.0, n=11, cost=quadratic)
    np.testing.assert_array_equal(quad.weights[0], [[0.0, -0.05]])  # δ gains a factor σ' = ¼


def test_partial_last_batch_is_averaged_over_its_own_size_with_l2():
    # the last batch of n = 11 with size 5 holds one example: z = 0 there
    params = Params((np.array([[0.0, 3.0]]),), (np.zeros(1),))
    one = Batch(np.array([[2.0, 0.0]]), np.array([[0.0]]))
    new = sgd_step(params, one, eta=0.5, lmbda=5.0, n=11, cost=cross_entropy)
    shrink = 1 - 0.5 * (5.0 / 11)  # δ = ½, ∂C/∂w = (1, 0), ∂C/∂b = ½, m = 1
    np.testing.assert_array_equal(new.weights[0], [[-0.5, shrink * 3.0]])
    np.testing.assert_array_equal(new.biases[0], [-0.25])


def test_an_epoch_is_the_fold_of_steps_over_batches_of_5_5_1():
    data = separable(11)
    config = make_config(epochs=1, mini_batch_size=5, eta=0.5, lmbda=5.0, cost=cross_entropy,
                         seed=3)
    batches = list(minibatches(data, 5, epoch_rng(3, 0)))
    assert [b.x.shape[0] for b in batches] == [5, 5, 1]
    order = epoch_rng(3, 0).permutation(11)
    np.testing.assert_array_equal(np.concatenate([b.x for b in batches]), data.x[order])
    params = init_params([2, 3, 2], seed=0)
    by_hand = params
    for b in batches:
        by_hand = sgd_step(by_hand, b, eta=0.5, lmbda=5.0, n=11, cost=cross_entropy)
    assert tree_equal(run_epoch(params, data, config, epoch_rng(3, 0)), by_hand)


def _network2_update(params, batch, eta, lmbda, n):
    """network2.update_mini_batch, per example with column vectors, as the book writes it."""
    ws = [w.copy() for w in params.weights]
    bs = [b.reshape(-1, 1).copy() for b in params.biases]
    nabla_w, nabla_b = [np.zeros_like(w) for w in ws], [np.zeros_like(b) for b in bs]
    for x, y in zip(batch.x, batch.y):
        activation, activations, zs = x.reshape(-1, 1), [x.reshape(-1, 1)], []
        for b, w in zip(bs, ws):
            zs.append(w @ activation + b)
            activation = 1 / (1 + np.exp(-zs[-1]))
            activations.append(activation)
        delta = activations[-1] - y.reshape(-1, 1)
        dw, db = [delta @ activations[-2].T], [delta]
        for l in range(2, len(ws) + 1):
            sp = activations[-l] * (1 - activations[-l])
            delta = (ws[-l + 1].T @ delta) * sp
            dw.insert(0, delta @ activations[-l - 1].T)
            db.insert(0, delta)
        nabla_w = [a + d for a, d in zip(nabla_w, dw)]
        nabla_b = [a + d for a, d in zip(nabla_b, db)]
    m = batch.x.shape[0]
    ws = [(1 - eta * (lmbda / n)) * w - (eta / m) * nw for w, nw in zip(ws, nabla_w)]
    bs = [b - (eta / m) * nb for b, nb in zip(bs, nabla_b)]
    return ws, [b.ravel() for b in bs]


def test_sgd_step_is_numerically_network2s_update():
    params = init_params([6, 5, 4, 3], seed=4)
    rng = np.random.default_rng(5)
    batch = Batch(rng.random((7, 6)), np.eye(3)[rng.integers(0, 3, 7)])
    ours = sgd_step(params, batch, eta=0.5, lmbda=5.0, n=50, cost=cross_entropy)
    ws, bs = _network2_update(params, batch, 0.5, 5.0, 50)
    for a, b in zip((*ours.weights, *ours.biases), (*ws, *bs)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def _train(**overrides):
    kwargs = dict(epochs=4, mini_batch_size=7, eta=0.5, lmbda=0.5, cost=cross_entropy, seed=11)
    kwargs.update(overrides)
    data = separable(60, seed=1)
    return sgd(init_params([2, 4, 2], seed=2), (data.x, data.y), **kwargs)


def test_same_seed_gives_identical_bytes_and_other_seeds_differ():
    p1, h1 = _train(monitor_training_cost=True)
    p2, h2 = _train(monitor_training_cost=True)
    assert tree_equal(p1, p2) and h1 == h2
    p3, h3 = _train(seed=12, monitor_training_cost=True)
    assert not tree_equal(p1, p3) and h1 != h3


def test_a_short_run_is_an_exact_prefix_of_a_longer_one():
    short, _ = _train(epochs=2)
    steps = list(iterate_sgd(init_params([2, 4, 2], seed=2), separable(60, seed=1),
                             epochs=4, mini_batch_size=7, eta=0.5, lmbda=0.5,
                             cost=cross_entropy, seed=11))
    assert tree_equal(steps[1][0], short)
    assert tree_equal(steps[3][0], _train()[0])


def test_monitoring_never_changes_the_trajectory():
    data = separable(30, seed=9)
    plain, _ = _train()
    watched, history = _train(evaluation_data=(data.x, data.y.argmax(1)),
                              monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                              monitor_training_cost=True, monitor_training_accuracy=True)
    assert tree_equal(plain, watched)
    assert all(None not in r[:8] for r in history)  # every figure and eta; stopped stays None


def test_same_seed_gives_identical_bytes_in_a_fresh_process():
    code = textwrap.dedent("""
        import hashlib, numpy as np, fnn
        rng = np.random.default_rng(0)
        x = rng.random((40, 3)); y = (x.sum(1) > 1.5).astype(np.int64)
        p, h = fnn.sgd(fnn.init_params([3, 4, 2], seed=1), (x, y), epochs=3,
                       mini_batch_size=6, eta=0.7, lmbda=1.0, cost="quadratic", seed=5,
                       monitor_training_cost=True)
        blob = b"".join(a.tobytes() for a in (*p.weights, *p.biases)) + h.to_json().encode()
        print(hashlib.sha256(blob).hexdigest())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    rng = np.random.default_rng(0)
    x = rng.random((40, 3))
    y = (x.sum(1) > 1.5).astype(np.int64)
    p, h = sgd(init_params([3, 4, 2], seed=1), (x, y), epochs=3, mini_batch_size=6, eta=0.7,
               lmbda=1.0, cost="quadratic", seed=5, monitor_training_cost=True)
    blob = b"".join(a.tobytes() for a in (*p.weights, *p.biases)) + h.to_json().encode()
    assert out == hashlib.sha256(blob).hexdigest()


def test_training_leaves_global_random_and_error_state_alone():
    np_state, py_state, err = np.random.get_state()[1].copy(), random.getstate(), np.geterr()
    _train(monitor_training_cost=True)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert random.getstate() == py_state and np.geterr() == err


def test_read_only_inputs_train_unchanged_and_outputs_do_not_alias():
    data = separable(25, seed=4)
    x, y, labels = data.x.copy(), data.y.copy(), data.y.argmax(1)
    for a in (x, y, labels):
        a.setflags(write=False)
    params = read_only(init_params([2, 3, 2], seed=0))
    before = b"".join(a.tobytes() for a in (*params.weights, *params.biases, x, y, labels))
    for epochs in (0, 2):
        out, _ = sgd(params, (x, y), epochs=epochs, mini_batch_size=4, eta=1.0, lmbda=1.0,
                     cost=quadratic, seed=0, evaluation_data=(x, labels),
                     monitor_evaluation_accuracy=True, monitor_training_cost=True)
        leaves = (*out.weights, *out.biases)
        assert not any(np.shares_memory(o, a) for o in leaves
                       for a in (*params.weights, *params.biases, x, y))
        assert all(o.flags.writeable for o in leaves)
    assert before == b"".join(a.tobytes() for a in (*params.weights, *params.biases, x, y,
                                                     labels))


@pytest.mark.parametrize("cost", COSTS.values(), ids=COSTS.keys())
def test_a_small_network_learns_a_separable_problem(cost):
    data, held_out = separable(400, seed=0), separable(200, seed=1)
    params, history = sgd(init_params([2, 8, 2], seed=0), (data.x, data.y), epochs=40,
                          mini_batch_size=10, eta=3.0 if cost is quadratic else 1.0, lmbda=0.0,
                          cost=cost, seed=0, evaluation_data=(held_out.x, held_out.y.argmax(1)),
                          monitor_training_cost=True, monitor_evaluation_accuracy=True)
    costs = [r.training_cost for r in history]
    assert costs[-1] < 0.5 * costs[0]
    assert history[-1].evaluation_accuracy >= 0.95
    assert history[-1].evaluation_correct == round(200 * history[-1].evaluation_accuracy)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("cost", COSTS.values(), ids=COSTS.keys())
def test_divergence_raises_non_finite_error_in_the_first_epoch(cost):
    data = separable(50, seed=0)
    start = init_params([2, 3, 2], seed=0)
    with pytest.raises(NonFiniteError, match=r"epoch 0, mini-batch \d+") as info:
        sgd(start, (data.x, data.y), epochs=3, mini_batch_size=10, eta=1e308, lmbda=5.0,
            cost=cost, seed=0)
    err = info.value
    assert err.epoch == 0 and err.batch is not None and len(err.history) == 0
    assert all(np.isfinite(a).all() for a in (*err.params.weights, *err.params.biases))
    assert isinstance(err, FloatingPointError)
    if err.batch == 0:
        assert tree_equal(err.params, start)


def test_the_deprecated_misspelt_monitor_keyword_still_works():
    with pytest.warns(DeprecationWarning, match="monitor_traning_cost"):
        _, history = _train(monitor_traning_cost=True)
    assert all(r.training_cost is not None for r in history)


def test_integer_labels_and_one_hot_targets_train_identically():
    data = separable(30, seed=3)
    a, _ = sgd(init_params([2, 2], seed=0), (data.x, data.y), epochs=2, mini_batch_size=4,
               eta=1.0, cost=cross_entropy, seed=0)
    b, _ = sgd(init_params([2, 2], seed=0), (data.x, data.y.argmax(1)), epochs=2,
               mini_batch_size=4, eta=1.0, cost=cross_entropy, seed=0)
    assert tree_equal(a, b)


def test_float32_training_stays_float32():
    data = separable(30, seed=3)
    params, _ = sgd(init_params([2, 3, 2], seed=0, dtype=np.float32),
                    (data.x.astype(np.float32), data.y), epochs=2, mini_batch_size=4, eta=1.0,
                    cost=cross_entropy, seed=0)
    assert {a.dtype for a in (*params.weights, *params.biases)} == {np.dtype(np.float32)}
