"""The run loop: reproducible, prefix-exact, pure; every option trains; engines agree."""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fnn
from fnn.checkpoint import sgd_checkpointed
from fnn.costs import cross_entropy, log_likelihood, quadratic
from fnn.errors import ConfigError, NonFiniteError
from fnn.network import forward
from fnn.optimizers import adam, chain, clip_by_global_norm, momentum, nesterov
from fnn.params import he_init, init_params, tree_equal
from fnn.registry import COSTS
from fnn.schedules import halve_on_plateau
from fnn.training import iterate_sgd, make_config, sgd, train
from fnn.training.engines import NUMPY, REFERENCE

from .conftest import read_only, separable


def _train(**overrides):
    kwargs = dict(epochs=4, mini_batch_size=7, eta=0.5, lmbda=0.5, cost=cross_entropy, seed=11,
                  jit=False)
    kwargs.update(overrides)
    data = separable(60, seed=1)
    return sgd(init_params([2, 4, 2], seed=2), (data.x, data.y), **kwargs)


def test_same_seed_gives_identical_bytes_and_other_seeds_differ(jit):
    p1, h1 = _train(jit=jit, monitor_training_cost=True)
    p2, h2 = _train(jit=jit, monitor_training_cost=True)
    assert tree_equal(p1, p2) and h1 == h2
    p3, h3 = _train(jit=jit, seed=12, monitor_training_cost=True)
    assert not tree_equal(p1, p3) and h1 != h3


def test_a_short_run_is_an_exact_prefix_of_a_longer_one(jit):
    short, _ = _train(jit=jit, epochs=2)
    steps = list(iterate_sgd(init_params([2, 4, 2], seed=2), separable(60, seed=1),
                             epochs=4, mini_batch_size=7, eta=0.5, lmbda=0.5,
                             cost=cross_entropy, seed=11, jit=jit))
    assert tree_equal(steps[1][0], short)
    assert tree_equal(steps[3][0], _train(jit=jit)[0])


def test_monitoring_never_changes_the_trajectory(jit):
    data = separable(30, seed=9)
    plain, _ = _train(jit=jit)
    watched, history = _train(jit=jit, evaluation_data=(data.x, data.y.argmax(1)),
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
                       mini_batch_size=6, eta=0.7, lmbda=1.0, cost=fnn.quadratic, seed=5,
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
               lmbda=1.0, cost=quadratic, seed=5, monitor_training_cost=True)
    blob = b"".join(a.tobytes() for a in (*p.weights, *p.biases)) + h.to_json().encode()
    assert out == hashlib.sha256(blob).hexdigest()


def test_training_leaves_global_random_and_error_state_alone(jit):
    np_state, py_state, err = np.random.get_state()[1].copy(), random.getstate(), np.geterr()
    _train(jit=jit, monitor_training_cost=True)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert random.getstate() == py_state and np.geterr() == err


def test_read_only_inputs_train_unchanged_and_outputs_do_not_alias(jit):
    data = separable(25, seed=4)
    x, y, labels = data.x.copy(), data.y.copy(), data.y.argmax(1)
    for a in (x, y, labels):
        a.setflags(write=False)
    params = read_only(init_params([2, 3, 2], seed=0))
    before = b"".join(a.tobytes() for a in (*params.weights, *params.biases, x, y, labels))
    for epochs in (0, 2):
        out, _ = sgd(params, (x, y), epochs=epochs, mini_batch_size=4, eta=1.0, lmbda=1.0,
                     cost=quadratic, seed=0, evaluation_data=(x, labels),
                     monitor_evaluation_accuracy=True, monitor_training_cost=True, jit=jit)
        leaves = (*out.weights, *out.biases)
        assert not any(np.shares_memory(o, a) for o in leaves
                       for a in (*params.weights, *params.biases, x, y))
        assert all(o.flags.writeable for o in leaves)
    assert before == b"".join(a.tobytes() for a in (*params.weights, *params.biases, x, y,
                                                     labels))


@pytest.mark.parametrize("cost", COSTS.values(), ids=COSTS.keys())
def test_a_small_network_learns_a_separable_problem(cost, jit):
    data, held_out = separable(400, seed=0), separable(200, seed=1)
    params, history = sgd(init_params([2, 8, 2], seed=0), (data.x, data.y), epochs=40,
                          mini_batch_size=10, eta=3.0 if cost is quadratic else 1.0, lmbda=0.0,
                          cost=cost, seed=0, evaluation_data=(held_out.x, held_out.y.argmax(1)),
                          monitor_training_cost=True, monitor_evaluation_accuracy=True, jit=jit)
    costs = [r.training_cost for r in history]
    assert costs[-1] < 0.5 * costs[0]
    assert history[-1].evaluation_accuracy >= 0.95
    assert history[-1].evaluation_correct == round(200 * history[-1].evaluation_accuracy)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("cost", COSTS.values(), ids=COSTS.keys())
def test_divergence_raises_non_finite_error_in_the_first_epoch(cost, jit):
    data = separable(50, seed=0)
    start = init_params([2, 3, 2], seed=0)
    with pytest.raises(NonFiniteError, match=r"epoch 0, mini-batch \d+") as info:
        sgd(start, (data.x, data.y), epochs=3, mini_batch_size=10, eta=1e308, lmbda=5.0,
            cost=cost, seed=0, jit=jit)
    err = info.value
    assert err.epoch == 0 and err.batch is not None and len(err.history) == 0
    assert all(np.isfinite(a).all() for a in (*err.params.weights, *err.params.biases))
    assert isinstance(err, FloatingPointError)
    if err.batch == 0:
        assert tree_equal(err.params, start)


def test_the_deprecated_misspelt_monitor_keyword_still_works(jit):
    with pytest.warns(DeprecationWarning, match="monitor_traning_cost"):
        _, history = _train(jit=jit, monitor_traning_cost=True)
    assert all(r.training_cost is not None for r in history)


def test_integer_labels_and_one_hot_targets_train_identically(jit):
    data = separable(30, seed=3)
    a, _ = sgd(init_params([2, 2], seed=0), (data.x, data.y), epochs=2, mini_batch_size=4,
               eta=1.0, cost=cross_entropy, seed=0, jit=jit)
    b, _ = sgd(init_params([2, 2], seed=0), (data.x, data.y.argmax(1)), epochs=2,
               mini_batch_size=4, eta=1.0, cost=cross_entropy, seed=0, jit=jit)
    assert tree_equal(a, b)


def test_float32_training_stays_float32(jit):
    data = separable(30, seed=3)
    params, _ = sgd(init_params([2, 3, 2], seed=0, dtype=np.float32),
                    (data.x.astype(np.float32), data.y), epochs=2, mini_batch_size=4, eta=1.0,
                    cost=cross_entropy, seed=0, jit=jit)
    assert {a.dtype for a in (*params.weights, *params.biases)} == {np.dtype(np.float32)}


DATA, HELD = separable(120, seed=2), separable(60, seed=3)


def _run(**kw):
    args = dict(epochs=6, mini_batch_size=10, eta=0.5, lmbda=0.1, cost=log_likelihood, seed=4,
                evaluation_data=(HELD.x, HELD.y.argmax(1)), monitor_evaluation_accuracy=True,
                jit=False)
    args.update(kw)
    return sgd(init_params([2, 6, 2], seed=1, init=he_init), (DATA.x, DATA.y), **args)


def _optimizer(name, eta, **settings):
    return {"eta": None, "optimizer": {"momentum": momentum, "nesterov": nesterov,
                                       "adam": adam}[name](eta=eta, **settings)}


EXTRAS = {
    "relu": dict(activation=fnn.RELU),
    "tanh-momentum": dict(activation=fnn.TANH, **_optimizer("momentum", 0.1, mu=0.9)),
    "nesterov": _optimizer("nesterov", 0.2, mu=0.5),
    "adam": _optimizer("adam", 0.01),
    "clip-momentum": dict(eta=None, optimizer=chain(clip_by_global_norm(1.0),
                                                    momentum(eta=0.1, mu=0.9))),
    "dropout": dict(dropout=0.3, activation=fnn.RELU),
    "l1": dict(l1=0.5),
    "schedule-early-stop": dict(schedule=halve_on_plateau(patience=2), early_stop=4, eta=2.0),
}


@pytest.mark.parametrize("extra", EXTRAS.values(), ids=EXTRAS.keys())
def test_extensions_learn_and_reproduce_bit_for_bit(extra, jit):
    p1, h1 = _run(jit=jit, epochs=15, **extra)
    p2, h2 = _run(jit=jit, epochs=15, **extra)
    assert tree_equal(p1, p2) and h1 == h2
    assert max(r.evaluation_accuracy for r in h1) >= 0.9


def test_the_eta_shorthand_is_the_default_optimizer_and_defaults_change_nothing():
    a, ha = sgd(init_params([2, 3, 2], seed=0), (DATA.x, DATA.y), epochs=2, mini_batch_size=7,
                eta=1.0, lmbda=1.0, cost=cross_entropy, seed=0)
    b, hb = sgd(init_params([2, 3, 2], seed=0), (DATA.x, DATA.y), epochs=2, mini_batch_size=7,
                optimizer=fnn.optimizers.gradient_descent(1.0), lmbda=1.0, cost=cross_entropy,
                seed=0, activation=fnn.SIGMOID, l1=0.0, dropout=0.0,
                schedule=fnn.schedules.constant())
    assert tree_equal(a, b) and ha == hb


def test_dropout_changes_training_but_not_evaluation(jit):
    plain, _ = _run(jit=jit, activation=fnn.RELU)
    dropped, history = _run(jit=jit, activation=fnn.RELU, dropout=0.5)
    assert not tree_equal(plain, dropped)
    x = HELD.x
    assert forward(dropped, x, activation=fnn.RELU).tolist() == forward(
        dropped, x, activation=fnn.RELU).tolist()


def test_halving_schedule_records_etas_and_stops_at_eta0_over_128(jit):
    # lmbda large and eta tiny: accuracy cannot improve, so every epoch halves with patience 1
    _, history = _run(jit=jit, schedule=halve_on_plateau(patience=1), eta=1e-9, epochs=20)
    etas = [r.eta for r in history]
    assert etas[:3] == [1e-9, 1e-9, 5e-10]
    assert history.stopped is not None and "eta fell to its floor" in history.stopped[1]
    assert etas[-1] == 1e-9 / 64 and len(history) < 20


def test_early_stop_returns_the_best_params_seen(jit):
    params, history = _run(jit=jit, early_stop=2, epochs=40, eta=2.0)
    epoch, reason = history.stopped
    best = int(reason.split("epoch ")[-1].split("'")[0])
    accuracies = [r.evaluation_accuracy for r in history]
    assert accuracies[best] == max(accuracies) and epoch - best >= 2
    again, _ = _run(jit=jit, epochs=best + 1, eta=2.0)  # the prefix property gives epoch best's params
    assert tree_equal(params, again)


def test_early_stop_keeps_its_promise_when_the_epoch_limit_comes_first(jit):
    _, long_history = _run(jit=jit, early_stop=30, epochs=12, eta=2.0)
    accuracies = [r.evaluation_accuracy for r in long_history]
    best = accuracies.index(max(accuracies))
    assert long_history.stopped is None and best < len(accuracies) - 1  # not the last epoch
    params, _ = _run(jit=jit, early_stop=30, epochs=12, eta=2.0)
    at_best, _ = _run(jit=jit, epochs=best + 1, eta=2.0)
    assert tree_equal(params, at_best)


def test_schedules_need_evaluation_data():
    with pytest.raises(ConfigError, match="needs evaluation_data, got None"):
        sgd(init_params([2, 2], seed=0), (DATA.x, DATA.y), epochs=1, mini_batch_size=5,
            eta=0.1, cost=cross_entropy, seed=0, early_stop=3)


@pytest.mark.parametrize("extra", [
    dict(**_optimizer("momentum", 0.1, mu=0.9), dropout=0.2, activation=fnn.RELU),
    dict(**_optimizer("adam", 0.01), early_stop=2, schedule=halve_on_plateau(patience=1)),
    dict(eta=None, optimizer=chain(clip_by_global_norm(0.5), nesterov(eta=0.1))),
], ids=["momentum-dropout", "adam-early-stop", "clip-nesterov"])
def test_resume_with_optimizer_state_is_bit_identical(tmp_path, extra, jit):
    whole, whole_history = _run(jit=jit, **extra)
    path = tmp_path / "ck.json"
    start = init_params([2, 6, 2], seed=1, init=he_init)
    kw = dict(mini_batch_size=10, lmbda=0.1, cost=log_likelihood, seed=4,
              evaluation_data=(HELD.x, HELD.y.argmax(1)), monitor_evaluation_accuracy=True,
              **{"eta": 0.5, **extra})
    sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, epochs=3, **kw, jit=jit)
    resumed, history = sgd_checkpointed(start, (DATA.x, DATA.y), checkpoint=path, resume=True,
                                        epochs=6, **kw, jit=jit)
    assert tree_equal(resumed, whole) and history == whole_history


def test_a_user_written_optimizer_trains_on_the_generic_path():
    def counted_descent(eta):  # plain descent that also counts its steps
        def update(grads, state, params):
            return fnn.tree_map(lambda g: -eta * g, grads), state + 1
        return fnn.GradientTransformation(init=lambda params: 0, update=update)

    params, history = _run(eta=None, optimizer=counted_descent(0.5), epochs=15)
    assert max(r.evaluation_accuracy for r in history) >= 0.9
    assert all(r.eta is None for r in history)  # it has no eta fnn knows of
    again, _ = _run(eta=None, optimizer=counted_descent(0.5), epochs=15)
    assert tree_equal(params, again)
    builtin, _ = _run(eta=None, optimizer=chain(fnn.optimizers.gradient_descent(0.5)), epochs=15)
    assert tree_equal(params, builtin)  # the same arithmetic as fnn's own on the generic path


@pytest.mark.parametrize("extra", [{}, dict(lmbda=0.0), dict(cost=quadratic)], ids=str)
def test_every_engine_gives_the_references_bytes(monkeypatch, extra):
    fast, fast_history = _run(**{"cost": cross_entropy, **extra})
    assert NUMPY.supports(init_params([2, 6, 2], seed=1, init=he_init),  # _run's jit=False
                               fnn.Batch(DATA.x, DATA.y),
                               make_config(epochs=1, mini_batch_size=10, eta=0.5,
                                           cost=extra.get("cost", cross_entropy), seed=0))
    monkeypatch.setattr("fnn.training.engines.ENGINES", (REFERENCE,))
    assert fnn.training.engines.choose(init_params([2, 2], seed=0), fnn.Batch(DATA.x, DATA.y),
                                       make_config(epochs=1, mini_batch_size=10, eta=0.5,
                                                   cost=cross_entropy, seed=0)) is REFERENCE
    ref, ref_history = _run(**{"cost": cross_entropy, **extra})
    assert tree_equal(fast, ref) and fast_history == ref_history


# --- augmentation -----------------------------------------------------------------------------


def _images(n: int, seed: int) -> fnn.Batch:
    """n 4x4 images: a bright bar, horizontal (class 0) or vertical (class 1), anywhere."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    x = np.zeros((n, 4, 4))
    at = rng.integers(0, 4, n)
    x[labels == 0, at[labels == 0], :] = 1.0
    x[labels == 1, :, at[labels == 1]] = 1.0
    return fnn.Batch(x.reshape(n, 16), np.eye(2)[labels])


IMAGES, HELD_IMAGES = _images(200, 0), _images(100, 1)
AUGMENT = fnn.augment.compose(fnn.augment.shift(side=4),
                              fnn.augment.elastic(alpha=1.0, sigma=1.0, side=4))


def _augmented(**kw):
    args = dict(epochs=4, mini_batch_size=10, eta=0.5, lmbda=0.1, cost=cross_entropy, seed=4,
                augment=AUGMENT, evaluation_data=(HELD_IMAGES.x, HELD_IMAGES.y.argmax(1)),
                monitor_evaluation_accuracy=True, jit=False)
    args.update(kw)
    return sgd(init_params([16, 8, 2], seed=1), (IMAGES.x, IMAGES.y), **args)


def test_augmentation_is_seeded_prefix_exact_and_changes_training(jit):
    p1, h1 = _augmented(jit=jit)
    p2, h2 = _augmented(jit=jit)
    assert tree_equal(p1, p2) and h1 == h2
    assert not tree_equal(p1, _augmented(jit=jit, seed=5)[0])
    assert not tree_equal(p1, _augmented(jit=jit, augment=None)[0])
    assert tree_equal(_augmented(jit=jit, epochs=2)[0], next(
        p for i, (p, _) in enumerate(iterate_sgd(
            init_params([16, 8, 2], seed=1), (IMAGES.x, IMAGES.y), epochs=4,
            mini_batch_size=10, eta=0.5, lmbda=0.1, cost=cross_entropy, seed=4,
            augment=AUGMENT, jit=jit)) if i == 1))


def test_an_augmented_run_resumed_from_a_checkpoint_is_the_uninterrupted_run(tmp_path, jit):
    whole, whole_history = _augmented(jit=jit, epochs=5, dropout=0.2)
    path = tmp_path / "ck.json"
    kw = dict(mini_batch_size=10, eta=0.5, lmbda=0.1, cost=cross_entropy, seed=4, dropout=0.2,
              augment=AUGMENT, evaluation_data=(HELD_IMAGES.x, HELD_IMAGES.y.argmax(1)),
              monitor_evaluation_accuracy=True, jit=jit)
    start = init_params([16, 8, 2], seed=1)
    sgd_checkpointed(start, (IMAGES.x, IMAGES.y), checkpoint=path, epochs=2, **kw)
    resumed, history = sgd_checkpointed(start, (IMAGES.x, IMAGES.y), checkpoint=path,
                                        resume=True, epochs=5, **kw)
    assert tree_equal(resumed, whole) and history == whole_history


def test_the_augmentation_sees_each_batch_once_per_epoch_in_order():
    seen = []

    def recorded(rng, x):  # a user's own: any function of (rng, x)
        seen.append(x.copy())
        return x + 0.0

    _augmented(augment=recorded, epochs=2, mini_batch_size=30)
    assert [len(x) for x in seen] == [30] * 6 + [20] + [30] * 6 + [20]
    epoch0 = np.concatenate(seen[:7])
    assert sorted(map(bytes, epoch0)) == sorted(map(bytes, IMAGES.x))  # every example, once


@pytest.mark.parametrize(("augment", "error", "message"), [
    (lambda rng, x: x[:, :3], fnn.errors.DataError,
     r"must return an array of its input's shape and dtype, \(10, 16\) float64; got \(10, 3\)"),
    (lambda rng, x: x.astype(np.float32), fnn.errors.DataError, r"got \(10, 16\) float32"),
    (lambda rng, x: x.tolist(), fnn.errors.DataError, "got list"),
    ("elastic", fnn.errors.FnnTypeError, "augment must be None or a function aug"),
])
def test_a_bad_augmentation_is_refused_by_name(augment, error, message):
    with pytest.raises(error, match=message):
        _augmented(augment=augment, epochs=1)


def test_train_with_a_config_is_sgd_with_keywords():
    config = make_config(epochs=3, mini_batch_size=10, eta=0.5, lmbda=0.1, cost=log_likelihood,
                         seed=4, monitor=fnn.Monitor(evaluation_accuracy=True), jit=False)
    a, ha = train(init_params([2, 6, 2], seed=1, init=he_init), (DATA.x, DATA.y), config,
                  evaluation_data=(HELD.x, HELD.y.argmax(1)))
    b, hb = _run(epochs=3)
    assert tree_equal(a, b) and ha == hb


def test_a_user_written_activation_trains_on_the_generic_path_with_the_same_results():
    mine = fnn.Activation("my_tanh", np.tanh, lambda _z, a: 1.0 - a * a)
    params = init_params([2, 6, 2], seed=1, init=he_init)
    config = make_config(epochs=1, mini_batch_size=10, eta=0.5, cost=cross_entropy, seed=0,
                         activation=mine)
    assert fnn.training.engines.choose(params, fnn.Batch(DATA.x, DATA.y), config) is REFERENCE
    theirs, history = _run(activation=mine, epochs=8)
    ours, our_history = _run(activation=fnn.TANH, epochs=8)  # fnn's tanh, on the fast path
    assert tree_equal(theirs, ours) and history == our_history
