"""Optimizers as values: one hand-computed step each, composition, learning rates, and names."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fnn.errors import ConfigError, FnnTypeError
from fnn.optimizers import (
    GradientTransformation,
    adam,
    add_decayed_weights,
    add_l1,
    apply_updates,
    chain,
    clip_by_global_norm,
    descent_rate,
    global_norm,
    gradient_descent,
    learning_rate,
    make_optimizer,
    momentum,
    nesterov,
    scale,
    scale_by_schedule,
    scale_learning_rate,
    sgd,
    with_learning_rate,
)
from fnn.params import Params, tree_equal, tree_map
from fnn.schedules import cosine_decay

P = Params((np.array([[1.0, -2.0]]),), (np.array([0.5]),))
G = Params((np.array([[0.25, -1.0]]),), (np.array([2.0]),))


def _leaves(tree):
    return [a.tolist() for a in (*tree.weights, *tree.biases)]


def _step(opt, grads=G, params=P, state=None):
    updates, state = opt.update(grads, opt.init(params) if state is None else state, params)
    return apply_updates(params, updates), state


def test_gradient_descent_and_momentum_steps_by_hand():
    new, state = _step(gradient_descent(eta=0.5))
    assert _leaves(new) == [[[0.875, -1.5]], [-0.5]] and state == ()
    opt = momentum(eta=0.5, mu=0.5)
    p1, s1 = _step(opt)
    p2, s2 = _step(opt, params=p1, state=s1)
    # v1 = -0.5 g; v2 = 0.5 v1 - 0.5 g = -0.75 g; p2 = p - 1.25 g
    assert _leaves(s2[0]) == [[[-0.1875, 0.75]], [-1.5]]
    assert _leaves(p2) == [[[0.6875, -0.75]], [-2.0]]


def test_nesterov_step_by_hand():
    p1, (v1,) = _step(nesterov(eta=0.5, mu=0.5))
    # v = -eta g; p + (mu v - eta g) = p - 0.75 g
    assert _leaves(v1) == [[[-0.125, 0.5]], [-1.0]]
    assert _leaves(p1) == [[[0.8125, -1.25]], [-1.0]]


def test_adam_first_step_moves_each_entry_by_about_eta():
    opt = adam(eta=0.1, eps=1e-8)
    t, m, v = opt.init(P)
    assert t == 0
    p1, (t1, m1, v1) = _step(opt)
    assert t1 == 1
    np.testing.assert_allclose(m1.weights[0], 0.1 * G.weights[0], rtol=1e-15)
    np.testing.assert_allclose(v1.weights[0], 0.001 * G.weights[0] ** 2, rtol=1e-12)
    # bias-corrected first step: p - eta g/(|g| + eps)
    want = P.weights[0] - 0.1 * G.weights[0] / (np.abs(G.weights[0]) + 1e-8)
    np.testing.assert_allclose(p1.weights[0], want, rtol=1e-12)


def test_weight_decay_and_l1_add_to_the_weights_gradient_only():
    decayed, state = add_decayed_weights(0.5).update(G, (), P)
    assert _leaves(decayed) == [[[0.75, -2.0]], [2.0]] and state == ()
    assert decayed.biases[0] is G.biases[0]  # biases are not decayed: the same array
    kicked, _ = add_l1(0.5).update(G, (), P._replace(weights=(np.array([[1.0, 0.0]]),)))
    assert _leaves(kicked) == [[[0.75, -1.0]], [2.0]]  # sgn 0 = 0


def test_clipping_scales_the_whole_gradient_to_the_norm_and_leaves_short_ones():
    norm = math.sqrt(0.0625 + 1 + 4)
    clipped, _ = clip_by_global_norm(1.0).update(G, (), P)
    assert global_norm(clipped) == pytest.approx(1.0, rel=1e-15)
    np.testing.assert_allclose(clipped.biases[0], [2.0 / norm], rtol=1e-15)
    same, _ = clip_by_global_norm(10.0).update(G, (), P)
    assert same is G


def test_a_chain_applies_its_links_in_order_and_keeps_their_states():
    opt = chain(clip_by_global_norm(1.0), add_decayed_weights(0.1), momentum(eta=0.1, mu=0.9))
    state = opt.init(P)
    assert state[0] == () and state[1] == () and len(state[2]) == 1
    by_hand, _ = clip_by_global_norm(1.0).update(G, (), P)
    by_hand, _ = add_decayed_weights(0.1).update(by_hand, (), P)
    by_hand, _ = momentum(eta=0.1, mu=0.9).update(by_hand, momentum(eta=0.1).init(P), P)
    updates, new_state = opt.update(G, state, P)
    assert tree_equal(updates, by_hand) and tree_equal(new_state[2][0], by_hand)


def test_scale_by_schedule_counts_its_steps():
    opt = chain(scale_by_schedule(cosine_decay(2)), gradient_descent(eta=1.0))
    factors = []
    state = opt.init(P)
    for _ in range(3):
        updates, state = opt.update(G, state, P)
        factors.append(float(updates.biases[0][0]) / -2.0)
    assert factors == [1.0, 0.5, 0.0] and state[0] == 3
    assert _leaves(scale(-2.0).update(G, (), P)[0]) == [[[-0.5, 2.0]], [-4.0]]


def test_learning_rates_are_found_scaled_and_set_in_fnns_optimizers():
    opt = chain(clip_by_global_norm(1.0), momentum(eta=0.2, mu=0.5))
    assert learning_rate(opt) == 0.2 and learning_rate(clip_by_global_norm(1.0)) is None
    assert learning_rate(scale_learning_rate(opt, 0.5)) == 0.1
    assert scale_learning_rate(opt, 1.0) is opt
    set_to = with_learning_rate(opt, 0.05)
    assert learning_rate(set_to) == 0.05 and set_to.update.setting("links")[1].update.setting(
        "mu") == 0.5
    user = GradientTransformation(lambda p: (), lambda g, s, p: (g, s))
    with pytest.raises(ConfigError, match="has no learning rate eta fnn can scale"):
        scale_learning_rate(user, 0.5)
    with pytest.raises(ConfigError, match="exactly one of fnn's optimizers"):
        with_learning_rate(chain(adam(), momentum(eta=0.1)), 0.1)


def test_plain_gradient_descent_is_recognised_only_on_its_own():
    assert descent_rate(gradient_descent(0.5)) == 0.5
    assert descent_rate(chain(gradient_descent(0.5))) is None
    assert descent_rate(momentum(eta=0.5)) is None and descent_rate("sgd") is None


def test_values_built_alike_are_equal_and_their_reprs_read_as_calls():
    assert momentum(eta=0.1, mu=0.9) == momentum(eta=0.1, mu=0.9) != momentum(eta=0.1, mu=0.5)
    assert repr(momentum(eta=0.1, mu=0.9).update) == "momentum_update(eta=0.1, mu=0.9)"
    assert chain(scale(1.0), adam()) == chain(scale(1.0), adam())


def test_every_update_is_pure():
    frozen = tree_map(lambda a: a.copy(), P)
    for a in (*frozen.weights, *frozen.biases):
        a.setflags(write=False)
    for opt in (gradient_descent(0.1), momentum(eta=0.1), nesterov(eta=0.1), adam(),
                chain(clip_by_global_norm(0.1), add_decayed_weights(0.1), add_l1(0.1))):
        _step(opt, params=frozen, grads=frozen)
    assert tree_equal(frozen, P)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: momentum(eta=0.1, mu=1.5), ConfigError, "mu must be a number in [0, 1), got 1.5"),
    (lambda: adam(eta=-1), ConfigError, "eta must be a finite number > 0, got -1"),
    (lambda: clip_by_global_norm(0), ConfigError, "max_norm must be a finite number > 0"),
    (lambda: add_decayed_weights(-0.1), ConfigError, "rate must be a finite number >= 0"),
    (lambda: scale(float("nan")), ConfigError, "factor must be a finite number, got nan"),
    (chain, FnnTypeError, "chain needs one or more GradientTransformations"),
    (lambda: chain(momentum(eta=0.1), "adam"), FnnTypeError, "chain needs one or more"),
    (lambda: scale_by_schedule(0.5), FnnTypeError, "schedule must be a function of the step"),
])
def test_bad_settings_name_the_setting_and_value(call, error, message):
    with pytest.raises(error) as caught:
        call()
    assert message in str(caught.value)


def test_the_old_names_still_work_with_a_warning():
    with pytest.warns(DeprecationWarning, match="renamed gradient_descent"):
        assert sgd(eta=0.5) == gradient_descent(0.5)
    with pytest.warns(DeprecationWarning, match="make_optimizer is deprecated"):
        assert make_optimizer("momentum", eta=0.5, mu=0.5) == momentum(eta=0.5, mu=0.5)
    with pytest.warns(DeprecationWarning, match="make_optimizer"), pytest.raises(
            ConfigError, match=r"optimizer 'momentum' does not take settings \['beta1', 'eta'\]"):
        make_optimizer("momentum", eta=0.1, beta1=0.9)
