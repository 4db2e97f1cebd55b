"""Chapter-3 extensions: activations, softmax, L1, dropout, optimizers, schedules, expansion."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fnn import strategies as fst
from fnn.activations import ACTIVATIONS, RELU, SIGMOID, TANH, log_softmax, softmax
from fnn.checkpoint import sgd_checkpointed
from fnn.costs import COSTS, cross_entropy, l1_gradient, l1_penalty, log_likelihood
from fnn.data import Batch
from fnn.errors import ConfigError
from fnn.expand import expand, rotate, shift
from fnn.gradcheck import check_gradient
from fnn.monitor import EpochRecord, History
from fnn.network import backprop, cost, forward, trace
from fnn.optimizers import adam, make_optimizer, momentum, nesterov
from fnn.optimizers import sgd as plain_sgd
from fnn.params import Params, init_params, tree_equal, tree_map
from fnn.schedules import halve_on_plateau
from fnn.training import dropout_masks, optimizer_step, sgd, sgd_step

from .conftest import separable

SMOOTH = {"sigmoid": SIGMOID, "tanh": TANH}


@pytest.mark.parametrize("activation", SMOOTH.values(), ids=SMOOTH.keys())
@pytest.mark.parametrize("cost_fn", COSTS.values(), ids=COSTS.keys())
@settings(max_examples=20, deadline=None)
@given(net=fst.nets(min_layers=3, max_width=6, max_batch=7))
def test_every_smooth_activation_and_output_cost_pair_matches_finite_differences(
        activation, cost_fn, net):
    params, batch = net
    grads = backprop(params, batch.x, batch.y, cost_fn, activation=activation)
    check_gradient(lambda p: cost(p, batch.x, batch.y, cost=cost_fn, activation=activation),
                   grads, params, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("cost_fn", COSTS.values(), ids=COSTS.keys())
@pytest.mark.parametrize("seed", range(8))
def test_relu_matches_finite_differences_away_from_its_kink(cost_fn, seed):
    rng = np.random.default_rng(seed)
    he = init_params([5, 6, 4, 3], seed=seed, scheme="he")
    params = he._replace(biases=tuple(rng.normal(size=b.shape) for b in he.biases))
    batch = Batch(rng.normal(size=(7, 5)), np.eye(3)[rng.integers(0, 3, 7)])
    zs = trace(params, batch.x, activation=RELU).zs[:-1]
    assert min(np.abs(z).min() for z in zs) > 1e-5  # no unit within eps of the kink
    grads = backprop(params, batch.x, batch.y, cost_fn, activation=RELU)
    check_gradient(lambda p: cost(p, batch.x, batch.y, cost=cost_fn, activation=RELU),
                   grads, params, rtol=1e-5, atol=1e-7)


def test_mixed_activations_per_hidden_layer():
    params = init_params([4, 5, 5, 2], seed=3)
    batch = Batch(np.random.default_rng(1).normal(size=(6, 4)), np.eye(2)[[0, 1, 1, 0, 1, 0]])
    acts = (TANH, SIGMOID)
    grads = backprop(params, batch.x, batch.y, cross_entropy, activation=acts)
    check_gradient(lambda p: cost(p, batch.x, batch.y, cost=cross_entropy, activation=acts),
                   grads, params)
    with pytest.raises(ConfigError, match="one entry per hidden layer"):
        forward(params, batch.x, activation=(TANH,))


@settings(max_examples=20, deadline=None)
@given(net=fst.nets(min_layers=3, max_width=6, max_batch=7), l1=st.sampled_from([0.1, 5.0]))
def test_l1_penalty_gradient_matches_finite_differences_off_zero(net, l1):
    params, batch = net
    params = tree_map(lambda a: np.where(np.abs(a) < 1e-3, 0.5, a), params)  # off the kink
    n = 13
    grads = tree_map(np.add, backprop(params, batch.x, batch.y, cross_entropy),
                     l1_gradient(params, l1, n))
    check_gradient(lambda p: cost(p, batch.x, batch.y, cost=cross_entropy)
                   + l1_penalty(p, l1, n), grads, params)


@pytest.mark.parametrize("activation", ACTIVATIONS.values(), ids=ACTIVATIONS.keys())
def test_dropout_with_a_fixed_mask_matches_finite_differences(activation):
    rng = np.random.default_rng(4)
    params = init_params([5, 7, 6, 3], seed=2)
    batch = Batch(rng.normal(size=(6, 5)), np.eye(3)[rng.integers(0, 3, 6)])
    masks = dropout_masks(batch, [7, 6], 0.5, np.random.default_rng(9))
    assert {0.0, 2.0} == set(np.unique(np.concatenate([m.ravel() for m in masks])).tolist())
    grads = backprop(params, batch.x, batch.y, log_likelihood, activation=activation,
                     masks=masks)
    check_gradient(lambda p: cost(p, batch.x, batch.y, cost=log_likelihood,
                                  activation=activation, masks=masks), grads, params)


def test_softmax_and_log_softmax_are_stable_and_consistent():
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        s, ls = softmax(z), log_softmax(z)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(np.exp(ls[1]), s[1], rtol=1e-15)
    assert ls[0].tolist() == [0.0, -1000.0, -2000.0]


# --- optimizers: one hand-computed step each ------------------------------------------


P = Params((np.array([[1.0, -2.0]]),), (np.array([0.5]),))
G = Params((np.array([[0.25, -1.0]]),), (np.array([2.0]),))


def _leaves(tree):
    return [a.tolist() for a in (*tree.weights, *tree.biases)]


def test_sgd_and_momentum_steps_by_hand():
    new, state = plain_sgd(eta=0.5).update(G, (), P)
    assert _leaves(new) == [[[0.875, -1.5]], [-0.5]] and state == ()
    opt = momentum(eta=0.5, mu=0.5)
    p1, s1 = opt.update(G, opt.init(P), P)
    p2, s2 = opt.update(G, s1, p1)
    # v1 = -0.5 g; v2 = 0.5 v1 - 0.5 g = -0.75 g; p2 = p - 1.25 g
    assert _leaves(s2[0]) == [[[-0.1875, 0.75]], [-1.5]]
    assert _leaves(p2) == [[[0.6875, -0.75]], [-2.0]]


def test_nesterov_step_by_hand():
    opt = nesterov(eta=0.5, mu=0.5)
    p1, (v1,) = opt.update(G, opt.init(P), P)
    # v = -eta g; p + mu v - eta g = p - 0.75 g
    assert _leaves(v1) == [[[-0.125, 0.5]], [-1.0]]
    assert _leaves(p1) == [[[0.8125, -1.25]], [-1.0]]


def test_adam_first_step_moves_each_entry_by_about_eta():
    opt = adam(eta=0.1, eps=1e-8)
    (t, m, v) = opt.init(P)
    assert t == 0
    p1, (t1, m1, v1) = opt.update(G, (t, m, v), P)
    assert t1 == 1
    np.testing.assert_allclose(m1.weights[0], 0.1 * G.weights[0], rtol=1e-15)
    np.testing.assert_allclose(v1.weights[0], 0.001 * G.weights[0] ** 2, rtol=1e-12)
    # bias-corrected first step: p - eta g/(|g| + eps)
    want = P.weights[0] - 0.1 * G.weights[0] / (np.abs(G.weights[0]) + 1e-8)
    np.testing.assert_allclose(p1.weights[0], want, rtol=1e-12)


def test_optimizer_step_with_sgd_matches_sgd_step_including_l2_and_l1():
    params = init_params([3, 4, 2], seed=0)
    batch = Batch(np.random.default_rng(0).random((5, 3)), np.eye(2)[[0, 1, 1, 0, 1]])
    a = sgd_step(params, batch, eta=0.5, lmbda=5.0, l1=0.5, n=50, cost=cross_entropy)
    b, _ = optimizer_step((params, ()), batch, optimizer=plain_sgd(eta=0.5), lmbda=5.0, l1=0.5,
                          n=50, cost=cross_entropy)
    for x, y in zip(_leaves(a), _leaves(b)):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-15)


def test_bad_optimizer_settings():
    with pytest.raises(ConfigError, match=r"optimizer 'momentum' takes settings \['eta', 'mu'\]"):
        make_optimizer("momentum", eta=0.1, beta1=0.9)
    with pytest.raises(ConfigError, match=r"mu must be a number in \[0, 1\), got 1.5"):
        make_optimizer("momentum", eta=0.1, mu=1.5)


# --- training with the extensions -----------------------------------------------------


DATA, HELD = separable(120, seed=2), separable(60, seed=3)


def _run(**kw):
    args = dict(epochs=6, mini_batch_size=10, eta=0.5, lmbda=0.1, cost=log_likelihood, seed=4,
                evaluation_data=(HELD.x, HELD.y.argmax(1)), monitor_evaluation_accuracy=True)
    args.update(kw)
    return sgd(init_params([2, 6, 2], seed=1, scheme="he"), (DATA.x, DATA.y), **args)


@pytest.mark.parametrize("extra", [
    dict(activation="relu"), dict(activation="tanh", optimizer="momentum",
                                  optimizer_settings={"mu": 0.9}, eta=0.1),
    dict(optimizer="nesterov", optimizer_settings={"mu": 0.5}, eta=0.2),
    dict(optimizer="adam", eta=0.01), dict(dropout=0.3, activation="relu"),
    dict(l1=0.5), dict(schedule="halve:2", early_stop=4, eta=2.0),
], ids=["relu", "tanh-momentum", "nesterov", "adam", "dropout", "l1", "schedule-early-stop"])
def test_extensions_learn_and_reproduce_bit_for_bit(extra):
    p1, h1 = _run(epochs=15, **extra)
    p2, h2 = _run(epochs=15, **extra)
    assert tree_equal(p1, p2) and h1 == h2
    assert max(r.evaluation_accuracy for r in h1) >= 0.9


def test_sigmoid_default_is_unchanged_by_the_extension_keywords():
    a, ha = sgd(init_params([2, 3, 2], seed=0), (DATA.x, DATA.y), epochs=2, mini_batch_size=7,
                eta=1.0, lmbda=1.0, cost=cross_entropy, seed=0)
    b, hb = sgd(init_params([2, 3, 2], seed=0), (DATA.x, DATA.y), epochs=2, mini_batch_size=7,
                eta=1.0, lmbda=1.0, cost=cross_entropy, seed=0, activation="sigmoid",
                optimizer="sgd", l1=0.0, dropout=0.0, schedule="constant")
    assert tree_equal(a, b) and ha == hb


def test_dropout_changes_training_but_not_evaluation():
    plain, _ = _run(activation="relu")
    dropped, history = _run(activation="relu", dropout=0.5)
    assert not tree_equal(plain, dropped)
    x = HELD.x
    assert forward(dropped, x, activation=RELU).tolist() == forward(dropped, x,
                                                                    activation=RELU).tolist()


def test_halving_schedule_records_etas_and_stops_at_eta0_over_128():
    # lmbda large and eta tiny: accuracy cannot improve, so every epoch halves with patience 1
    _, history = _run(schedule="halve:1", eta=1e-9, epochs=20)
    etas = [r.eta for r in history]
    assert etas[:3] == [1e-9, 1e-9, 5e-10]
    assert history.stopped is not None and "eta0/128" in history.stopped[1]
    assert etas[-1] == 1e-9 / 64 and len(history) < 20


def test_early_stop_returns_the_best_params_seen():
    params, history = _run(early_stop=2, epochs=40, eta=2.0)
    epoch, reason = history.stopped
    best = int(reason.split("epoch ")[-1].split("'")[0])
    accuracies = [r.evaluation_accuracy for r in history]
    assert accuracies[best] == max(accuracies) and epoch - best >= 2
    again, _ = _run(epochs=best + 1, eta=2.0)  # the prefix property gives epoch best's params
    assert tree_equal(params, again)


def test_schedules_need_evaluation_data():
    with pytest.raises(ConfigError, match="needs evaluation_data, got None"):
        sgd(init_params([2, 2], seed=0), (DATA.x, DATA.y), epochs=1, mini_batch_size=5,
            eta=0.1, cost="cross_entropy", seed=0, early_stop=3)


def test_halve_rule_counts_anew_after_each_halving():
    rule = halve_on_plateau(1.0, patience=2)
    flat = History(tuple(EpochRecord(e, evaluation_accuracy=0.5) for e in range(15)))
    assert [rule(e, flat[:e]) for e in range(16)] == [
        1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.0625, 0.0625, 0.03125, 0.03125,
        0.015625, 0.015625, None]


@pytest.mark.parametrize("extra", [
    dict(optimizer="momentum", optimizer_settings={"mu": 0.9}, eta=0.1, dropout=0.2,
         activation="relu"),
    dict(optimizer="adam", eta=0.01, early_stop=2, schedule="halve:1"),
], ids=["momentum-dropout", "adam-early-stop"])
def test_resume_with_optimizer_state_is_bit_identical(tmp_path, extra):
    whole, whole_history = _run(**extra)
    path = tmp_path / "ck.json"
    start = init_params([2, 6, 2], seed=1, scheme="he")
    kw = dict(mini_batch_size=10, lmbda=0.1, cost=log_likelihood, seed=4,
              evaluation_data=(HELD.x, HELD.y.argmax(1)), monitor_evaluation_accuracy=True,
              **{"eta": 0.5, **extra})
    sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, epochs=3, **kw)
    resumed, history = sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, resume=True,
                                        epochs=6, **kw)
    assert tree_equal(resumed, whole) and history == whole_history


# --- expanded training data -------------------------------------------------------------


def test_shifts_move_pixels_by_one_with_zeros_in():
    img = np.arange(1.0, 10.0).reshape(1, 9)  # [[1 2 3] [4 5 6] [7 8 9]]
    assert shift(img, -1, 0, side=3).tolist() == [[4, 5, 6, 7, 8, 9, 0, 0, 0]]
    assert shift(img, 1, 0, side=3).tolist() == [[0, 0, 0, 1, 2, 3, 4, 5, 6]]
    assert shift(img, 0, -1, side=3).tolist() == [[2, 3, 0, 5, 6, 0, 8, 9, 0]]
    assert shift(img, 0, 1, side=3).tolist() == [[0, 1, 2, 0, 4, 5, 0, 7, 8]]


def test_expand_is_the_books_five_fold_set_and_pure():
    rng = np.random.default_rng(0)
    x = rng.random((4, 784)).astype(np.float32)
    labels = np.array([3, 1, 4, 1])
    x.setflags(write=False)
    big, big_labels = expand(x, labels, seed=0)
    assert big.shape == (20, 784) and big.dtype == np.float32
    np.testing.assert_array_equal(big[:4], x)
    np.testing.assert_array_equal(big[4:8], shift(x, -1, 0))
    assert big_labels.tolist() == labels.tolist() * 5
    r1, _ = expand(x, labels, seed=5, shifts=False, rotations=2)
    r2, _ = expand(x, labels, seed=5, shifts=False, rotations=2)
    assert r1.shape == (12, 784) and r1.tobytes() == r2.tobytes()


def test_a_zero_rotation_is_the_identity_and_a_full_turn_nearly():
    x = np.random.default_rng(1).random((3, 784))
    np.testing.assert_array_equal(rotate(x, np.zeros(3)), x)
    np.testing.assert_allclose(rotate(x, np.full(3, 360.0)), x, atol=1e-9)
