"""The reference fold: network2's step, the optimizer step, mini-batches and dropout masks."""

from __future__ import annotations

import numpy as np
import pytest

from fnn.costs import cross_entropy, quadratic
from fnn.data import Batch
from fnn.errors import DataError
from fnn.optimizers import adam, gradient_descent, momentum
from fnn.params import Params, init_params, tree_equal
from fnn.training import (
    dropout_masks,
    epoch_streams,
    make_config,
    minibatches,
    optimizer_step,
    run_epoch,
    sgd_step,
)

from .conftest import separable


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
    streams = epoch_streams(3, 0, dropout=False)
    batches = list(minibatches(data, 5, streams.shuffle))
    assert [b.x.shape[0] for b in batches] == [5, 5, 1]
    order = epoch_streams(3, 0, dropout=False).shuffle.permutation(11)
    np.testing.assert_array_equal(np.concatenate([b.x for b in batches]), data.x[order])
    params = init_params([2, 3, 2], seed=0)
    by_hand = params
    for b in batches:
        by_hand = sgd_step(by_hand, b, eta=0.5, lmbda=5.0, n=11, cost=cross_entropy)
    new, state = run_epoch((params, ()), data, config, epoch_streams(3, 0, dropout=False))
    assert tree_equal(new, by_hand) and state == ()


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




def test_steps_take_plain_pairs_and_integer_labels_bit_identically():
    params = init_params([4, 5, 3], seed=2)
    rng = np.random.default_rng(6)
    x, labels = rng.random((6, 4)), rng.integers(0, 3, 6)
    pair = (list(params.weights), list(params.biases))
    a = sgd_step(params, Batch(x, np.eye(3)[labels]), eta=0.5, lmbda=5.0, n=50, cost=cross_entropy)
    b = sgd_step(pair, (x, labels), eta=0.5, lmbda=5.0, n=50, cost=cross_entropy)
    assert type(b) is Params and tree_equal(a, b)
    opt = momentum(eta=0.1)
    c, _ = optimizer_step((params, opt.init(params)), Batch(x, np.eye(3)[labels]), optimizer=opt,
                          lmbda=5.0, n=50, cost=cross_entropy)
    d, _ = optimizer_step((pair, opt.init(params)), (x, labels), optimizer=opt, lmbda=5.0, n=50,
                          cost=cross_entropy)
    assert tree_equal(c, d)
    with pytest.raises(DataError, match="batch y must be integer labels"):
        sgd_step(params, (x, labels.astype(float)), eta=0.5, lmbda=0.0, n=6, cost=cross_entropy)


def test_the_optimizer_step_with_gradient_descent_is_network2s_update_up_to_rounding():
    params = init_params([3, 4, 2], seed=0)
    batch = Batch(np.random.default_rng(0).random((5, 3)), np.eye(2)[[0, 1, 1, 0, 1]])
    a = sgd_step(params, batch, eta=0.5, lmbda=5.0, l1=0.5, n=50, cost=cross_entropy)
    b, _ = optimizer_step((params, ()), batch, optimizer=gradient_descent(0.5), lmbda=5.0,
                          l1=0.5, n=50, cost=cross_entropy)
    for x, y in zip((*a.weights, *a.biases), (*b.weights, *b.biases)):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-15)


def test_an_epoch_with_an_optimizer_carries_its_state_through_the_fold():
    data = separable(11)
    opt = adam(eta=0.01)
    config = make_config(epochs=1, mini_batch_size=5, optimizer=opt, lmbda=1.0,
                         cost=cross_entropy, seed=3)
    params = init_params([2, 3, 2], seed=0)
    carry = (params, opt.init(params))
    for b in minibatches(data, 5, epoch_streams(3, 0, dropout=False).shuffle):
        carry = optimizer_step(carry, b, optimizer=opt, lmbda=1.0, n=11, cost=cross_entropy)
    new, state = run_epoch((params, opt.init(params)), data, config,
                           epoch_streams(3, 0, dropout=False))
    assert tree_equal(new, carry[0]) and state[0] == carry[1][0] == 3


def test_dropout_masks_keep_units_with_probability_one_minus_p_scaled_up():
    batch = Batch(np.ones((2000, 3)), np.ones((2000, 1)))
    (mask,) = dropout_masks(batch, [50], 0.25, np.random.default_rng(0))
    assert set(np.unique(mask).tolist()) == {0.0, 1 / 0.75}
    assert np.mean(mask > 0) == pytest.approx(0.75, abs=0.01)


def test_a_deprecated_epoch_rng_is_the_shuffle_stream():
    from fnn.training.reference import epoch_rng
    with pytest.warns(DeprecationWarning, match="epoch_streams"):
        old = epoch_rng(3, 1)
    assert old.permutation(10).tolist() == epoch_streams(3, 1, dropout=False).shuffle.permutation(
        10).tolist()
