"""The baselines fnn is timed against, each written for this bench, and their helpers.

Every function here takes the same reference workload (sizes, data, eta, lmbda, batch
size) and returns seconds; none of them is part of fnn.

- ``network2_epoch``: network2's algorithm, one example at a time with column vectors,
  the per-example nablas summed per mini-batch; timed on a prefix of the epoch and scaled.
- ``plain_epoch``: what a competent NumPy user writes: gather the batch rows, matrix
  products, new arrays every step.
- ``gemm_only_epoch``: only the matrix products of an epoch, at the epoch's shapes, into
  preallocated outputs (the floor for any NumPy implementation at that batch size).
- ``peak_gemm_rate`` and ``flops_per_epoch``: the FLOP floor, FLOPs ÷ measured peak.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np

Array = np.ndarray


def make_data(n: int, n_in: int, n_out: int, dtype: type, seed: int = 0):
    """Random inputs in [0, 1) made directly in ``dtype``, labels, and one-hot targets."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, n_in), dtype=dtype)
    labels = rng.integers(0, n_out, n)
    y = np.zeros((n, n_out), dtype=dtype)
    y[np.arange(n), labels] = 1
    return x, y, labels


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = CLOCKS["wall"]


def use_clock(name: str) -> None:
    """Time with wall seconds or with this process's CPU seconds (all its threads): on a
    shared machine a single-threaded run's CPU time leaves out the time other processes
    held the core, which wall time counts."""
    global _clock  # noqa: PLW0603 (one setting for the whole worker process)
    _clock = CLOCKS[name]


def timed(fn: Callable[[], object]) -> float:
    """Seconds (of the clock chosen by ``use_clock``) of one call of ``fn``."""
    start = _clock()
    fn()
    return _clock() - start


# --- network2's algorithm: one example at a time -----------------------------------------


def _column_sigmoid(z: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-z))


def _example_gradient(weights: list[Array], biases: list[Array], x: Array,
                      y: Array) -> tuple[list[Array], list[Array]]:
    """∇b and ∇w of the cross-entropy cost for one column-vector example."""
    activations, zs = [x], []
    for w, b in zip(weights, biases):
        zs.append(np.dot(w, activations[-1]) + b)
        activations.append(_column_sigmoid(zs[-1]))
    delta = activations[-1] - y
    grad_b, grad_w = [delta], [np.dot(delta, activations[-2].T)]
    for l in range(len(weights) - 2, -1, -1):
        s = _column_sigmoid(zs[l])
        delta = np.dot(weights[l + 1].T, delta) * (s * (1 - s))
        grad_b.insert(0, delta)
        grad_w.insert(0, np.dot(delta, activations[l].T))
    return grad_b, grad_w


def _network2_batch(weights, biases, batch, eta, lmbda, n):
    sum_b = [np.zeros_like(b) for b in biases]
    sum_w = [np.zeros_like(w) for w in weights]
    for x, y in batch:
        grad_b, grad_w = _example_gradient(weights, biases, x, y)
        sum_b = [s + g for s, g in zip(sum_b, grad_b)]
        sum_w = [s + g for s, g in zip(sum_w, grad_w)]
    step, shrink = eta / len(batch), 1 - eta * (lmbda / n)
    return ([shrink * w - step * g for w, g in zip(weights, sum_w)],
            [b - step * g for b, g in zip(biases, sum_b)])


def network2_epoch(sizes: Sequence[int], x: Array, y: Array, *, batch: int, eta: float,
                   lmbda: float, examples: int, seed: int = 0) -> float:
    """Seconds for a full epoch of network2's per-example loop, from ``examples`` of them.

    The data are lists of (n_in, 1) and (n_out, 1) columns, as network2's loader makes
    them; building the lists is not timed, and neither is it in network2.
    """
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((o, i)).astype(x.dtype) / np.sqrt(i) for i, o in pairwise(sizes)]
    biases = [rng.standard_normal((o, 1)).astype(x.dtype) for o in sizes[1:]]
    examples = max(batch, examples // batch * batch)
    order = rng.permutation(x.shape[0])[:examples]
    data = [(x[i].reshape(-1, 1), y[i].reshape(-1, 1)) for i in order]

    def run():
        nonlocal weights, biases
        for start in range(0, examples, batch):
            weights, biases = _network2_batch(weights, biases, data[start:start + batch], eta,
                                              lmbda, x.shape[0])

    return timed(run) * x.shape[0] / examples


# --- plain vectorised NumPy ---------------------------------------------------------------


def plain_epoch(params, x: Array, y: Array, *, batch: int, eta: float, lmbda: float,
                seed: int = 0) -> float:
    """Seconds for one epoch of straightforward mini-batch NumPy (rows are examples)."""
    weights, biases = list(params.weights), list(params.biases)
    n = x.shape[0]
    shrink = 1 - eta * (lmbda / n)

    def run():
        order = np.random.default_rng(seed).permutation(n)
        for start in range(0, n, batch):
            rows = order[start:start + batch]
            xb, yb = x[rows], y[rows]
            activations = [xb]
            for w, b in zip(weights, biases):
                activations.append(1 / (1 + np.exp(-(activations[-1] @ w.T + b))))
            delta = activations[-1] - yb  # cross-entropy
            step = eta / xb.shape[0]
            for l in range(len(weights) - 1, -1, -1):
                grad_w, grad_b = delta.T @ activations[l], delta.sum(axis=0)
                if l:
                    a = activations[l]
                    delta = (delta @ weights[l]) * a * (1 - a)
                weights[l] = shrink * weights[l] - step * grad_w
                biases[l] = biases[l] - step * grad_b

    with np.errstate(over="ignore"):  # exp(-z) overflows to inf for z < -709: σ = 0, fine
        return timed(run)


# --- the floors ---------------------------------------------------------------------------


def _products(sizes: Sequence[int], m: int, dtype: type) -> list[tuple[Array, Array, Array]]:
    """(a, b, out) for every matrix product of one step of a batch of m rows."""
    rng = np.random.default_rng(0)
    new = lambda *shape: rng.random(shape, dtype=dtype)
    products = []
    for l, (n_in, n_out) in enumerate(pairwise(sizes)):
        a, w, delta = new(m, n_in), new(n_out, n_in), new(m, n_out)
        products.append((a, w.T, new(m, n_out)))            # z = a·wᵀ
        products.append((delta.T, a, new(n_out, n_in)))     # Σ∇w = δᵀ·a
        if l:
            products.append((delta, w, new(m, n_in)))       # δ·w, back to layer l - 1
    return products


def gemm_only_epoch(sizes: Sequence[int], n: int, *, batch: int, dtype: type) -> float:
    """Seconds for only the matrix products of one epoch, in epoch order, each written into
    a reused output by whichever of np.matmul and np.dot is faster for its shape."""
    steps = [(batch, n // batch)] + ([(n % batch, 1)] if n % batch else [])
    plans = [(count, [_fastest(a, b, out) for a, b, out in _products(sizes, m, dtype)])
             for m, count in steps]

    def run():
        for count, calls in plans:
            for _ in range(count):
                for f, a, b, out in calls:
                    f(a, b, out)

    return timed(run)


def _fastest(a: Array, b: Array, out: Array) -> tuple[Callable[..., object], Array, Array, Array]:
    def per_call(f: Callable[..., object]) -> float:
        f(a, b, out)
        start = time.perf_counter()
        for _ in range(50):
            f(a, b, out)
        return time.perf_counter() - start

    return min((np.matmul, np.dot), key=per_call), a, b, out


def flops_per_epoch(sizes: Sequence[int], n: int) -> int:
    """Multiply-adds ×2 of one epoch: forward, Σ∇w, and δ·w for every layer but the first."""
    layers = list(pairwise(sizes))
    per_example = sum(2 * 2 * i * o for i, o in layers) + sum(2 * i * o for i, o in layers[1:])
    return per_example * n


def peak_gemm_rate(dtype: type, size: int = 1536, repeats: int = 3) -> float:
    """FLOP/s of the best of ``repeats`` square GEMMs of ``size`` (this machine's peak)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((size, size), dtype=dtype), rng.random((size, size), dtype=dtype)
    out = np.empty((size, size), dtype=dtype)
    np.matmul(a, b, out)
    best = min(timed(lambda: np.matmul(a, b, out)) for _ in range(repeats))
    return 2 * size**3 / best
