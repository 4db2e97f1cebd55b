"""network2's algorithm, as the book runs it, for the results table's comparison rows.

    python bench/network2_run.py --data mnist.pkl.gz --sizes 784,30,10 --epochs 30
        --mini-batch-size 10 --eta 0.5 --lmbda 5.0 --init large --seed 0 --result out.json

Nielsen's ``network2.py`` trains one example at a time: a forward pass and backprop on
column vectors, the examples' gradients summed over the mini-batch, then
w ← (1 − η·λ/n)·w − (η/m)·Σ∇w and b ← b − (η/m)·Σ∇b; the cross-entropy's output error is
a − y. Its randomness comes from Python's ``random`` (``random.shuffle`` of the training
list every epoch) and NumPy's legacy global generator (``np.random.randn`` for the initial
weights: N(0, 1) with ``large_weight_initializer``, N(0, 1/n_in) for the weights with the
default one, N(0, 1) biases either way). This module does the same, seeding both with
``--seed``: seed s here is one draw of network2's own distribution of runs, as fnn's seed s
is one draw of fnn's, so the table compares distributions, not paired runs.

By default the sum of the mini-batch's per-example gradients is computed as matrix products
over the batch's columns (Σₓ δₓ aₓᵀ = Δ Aᵀ), which is the same sum in a different order of
roundings, about ten times faster in Python; ``--per-example`` runs the book's loop itself,
one example at a time. Both draw the same random numbers in the same order (the shuffle and
the initial weights are all the randomness), and a test checks that they agree to rounding.

Each epoch's accuracy on the validation set is measured as network2's
``monitor_evaluation_accuracy`` measures it (the argmax of the output for each example); the
test set is read once, after the last epoch. ``--limit N`` trains on the first N training
examples (and measures on N of each held-out set), for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

Column = np.ndarray
Example = tuple[Column, Column]


def _sigmoid(z: Column) -> Column:
    return 1.0 / (1.0 + np.exp(-z))


def initial(sizes: Sequence[int], init: str) -> tuple[list[Column], list[Column]]:
    """network2's initial weights and biases, from NumPy's global generator."""
    # network2's own generator: the legacy global one (what the comparison is about)
    biases = [np.random.randn(n, 1) for n in sizes[1:]]  # noqa: NPY002
    divisor = {"large": lambda _n_in: 1.0, "default": np.sqrt}[init]
    weights = [np.random.randn(n_out, n_in) / divisor(n_in)  # noqa: NPY002
               for n_in, n_out in pairwise(sizes)]
    return weights, biases


def _gradient(weights: list[Column], biases: list[Column], x: Column,
              y: Column) -> tuple[list[Column], list[Column]]:
    """∇w and ∇b of the cross-entropy cost of one example (column vectors)."""
    activation, activations, zs = x, [x], []
    for w, b in zip(weights, biases):
        z = np.dot(w, activation) + b
        zs.append(z)
        activation = _sigmoid(z)
        activations.append(activation)
    delta = activations[-1] - y
    grad_w, grad_b = [np.dot(delta, activations[-2].T)], [delta]
    for layer in range(2, len(weights) + 1):
        s = _sigmoid(zs[-layer])
        delta = np.dot(weights[-layer + 1].T, delta) * (s * (1 - s))
        grad_w.insert(0, np.dot(delta, activations[-layer - 1].T))
        grad_b.insert(0, delta)
    return grad_w, grad_b


def _step(weights: list[Column], biases: list[Column], batch: Sequence[Example], eta: float,
          lmbda: float, n: int) -> tuple[list[Column], list[Column]]:
    sum_w = [np.zeros(w.shape) for w in weights]
    sum_b = [np.zeros(b.shape) for b in biases]
    for x, y in batch:
        grad_w, grad_b = _gradient(weights, biases, x, y)
        sum_w = [s + g for s, g in zip(sum_w, grad_w)]
        sum_b = [s + g for s, g in zip(sum_b, grad_b)]
    m = len(batch)
    return ([(1 - eta * (lmbda / n)) * w - (eta / m) * s for w, s in zip(weights, sum_w)],
            [b - (eta / m) * s for b, s in zip(biases, sum_b)])


def _batched_step(weights: list[Column], biases: list[Column], batch: Sequence[Example],
                  eta: float, lmbda: float, n: int) -> tuple[list[Column], list[Column]]:
    """``_step``'s update, with the sum over the batch's examples taken by matrix products."""
    x = np.hstack([e[0] for e in batch])  # one column per example, as network2 holds them
    y = np.hstack([e[1] for e in batch])
    activations, zs = [x], []
    for w, b in zip(weights, biases):
        zs.append(np.dot(w, activations[-1]) + b)
        activations.append(_sigmoid(zs[-1]))
    delta = activations[-1] - y
    sum_w, sum_b = [np.dot(delta, activations[-2].T)], [delta.sum(axis=1, keepdims=True)]
    for layer in range(2, len(weights) + 1):
        s = _sigmoid(zs[-layer])
        delta = np.dot(weights[-layer + 1].T, delta) * (s * (1 - s))
        sum_w.insert(0, np.dot(delta, activations[-layer - 1].T))
        sum_b.insert(0, delta.sum(axis=1, keepdims=True))
    m = len(batch)
    return ([(1 - eta * (lmbda / n)) * w - (eta / m) * s for w, s in zip(weights, sum_w)],
            [b - (eta / m) * s for b, s in zip(biases, sum_b)])


def correct(weights: list[Column], biases: list[Column], x: np.ndarray,
            labels: np.ndarray) -> int:
    """How many examples of (x, labels) the net classifies right (the argmax of each
    example's output, as network2's ``accuracy``)."""
    hits = 0
    for start in range(0, len(x), 1000):  # 1,000 columns at a time: the same argmaxes
        a = x[start:start + 1000].T
        for w, b in zip(weights, biases):
            a = _sigmoid(np.dot(w, a) + b)
        hits += int(np.sum(np.argmax(a, axis=0) == labels[start:start + 1000]))
    return hits


def train(training: list[Example], validation: tuple[np.ndarray, np.ndarray], *,
          sizes: Sequence[int], epochs: int, mini_batch_size: int, eta: float, lmbda: float,
          init: str, seed: int, per_example: bool = False,
          ) -> tuple[list[Column], list[Column], list[float]]:
    """network2's SGD with the book's seeding; the params and the validation accuracies."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (network2's generator)
    weights, biases = initial(sizes, init)
    training, n = list(training), len(training)
    step = _step if per_example else _batched_step
    curve = []
    for _ in range(epochs):
        random.shuffle(training)
        for k in range(0, n, mini_batch_size):
            weights, biases = step(weights, biases, training[k:k + mini_batch_size], eta,
                                   lmbda, n)
        curve.append(correct(weights, biases, *validation) / len(validation[1]))
    return weights, biases, curve


def _mnist(path: str, limit: int | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """network2's split of mnist.pkl.gz through fnn's safe loader, cut to ``limit``."""
    from fnn.datasets import load_pickle
    splits = load_pickle(path)
    cut = slice(None, limit)
    return {name: (part.x[cut], part.labels[cut]) for name, part in
            (("training", splits.training), ("validation", splits.validation),
             ("test", splits.test))}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="network2's mnist.pkl.gz")
    p.add_argument("--sizes", required=True, help="layer sizes, e.g. 784,30,10")
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--mini-batch-size", type=int, required=True)
    p.add_argument("--eta", type=float, required=True)
    p.add_argument("--lmbda", type=float, default=0.0)
    p.add_argument("--init", choices=("large", "default"), default="default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--per-example", action="store_true",
                   help="the book's loop over the batch's examples (slower; the same sums)")
    p.add_argument("--limit", type=int, default=None, help="use the first N examples of each split")
    p.add_argument("--result", type=Path, help="write the figures to this JSON file")
    args = p.parse_args(argv)
    data = _mnist(args.data, args.limit)
    x, labels = data["training"]
    targets = np.eye(10)[labels]
    training = [(row.reshape(-1, 1), t.reshape(-1, 1)) for row, t in zip(x, targets)]
    sizes = [int(s) for s in args.sizes.split(",")]
    start = time.perf_counter()
    weights, biases, curve = train(training, data["validation"], sizes=sizes,
                                   epochs=args.epochs, mini_batch_size=args.mini_batch_size,
                                   eta=args.eta, lmbda=args.lmbda, init=args.init,
                                   seed=args.seed, per_example=args.per_example)
    seconds = time.perf_counter() - start
    test_x, test_labels = data["test"]
    result = {"validation_curve": curve, "per_example": args.per_example,
              "test": correct(weights, biases, test_x, test_labels) / len(test_labels),
              "seconds": seconds}
    if args.result is not None:
        args.result.write_text(json.dumps(result) + "\n")
    print(f"network2's algorithm: final validation {100 * curve[-1]:.2f}%, best "
          f"{100 * max(curve):.2f}% (epoch {curve.index(max(curve)) + 1}), test "
          f"{100 * result['test']:.2f}%  [{seconds:.0f} s]")
    return result


if __name__ == "__main__":
    main()
