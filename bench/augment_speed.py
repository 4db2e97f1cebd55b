"""What augmentation adds to a training epoch: fnn.augment's functions against one epoch.

    python bench/augment_speed.py [--data PATH] [--rounds N] [--threads 1] [--clock cpu|wall]

The epoch (issue 14): 784-800-10, ReLU hidden layer, softmax output (cost fnn.log_likelihood),
fnn.optimizers.momentum(eta=0.01, mu=0.9), mini-batches of 50, float32, on the 50,000 MNIST
training images (fnn.datasets.load_mnist; default /work/shared/data/mnist or $FNN_MNIST). Each
augmentation is timed as training would use it: over one epoch's shuffled mini-batches of 50,
one call per batch, all drawing from the epoch's stream. The batches are views of one shuffled
copy, so only the augmentation is timed, not the gather training does anyway.

Each is the best of --rounds, timed round-robin (other work on a shared machine only ever adds
time, and drift hits all of them alike). With one BLAS thread the default clock is the
process's CPU time, which ignores time other processes take from this one (though not a
sibling hyperthread's contention: compare ratios, and prefer an idle machine).

Measured at 1622801 (2 shared vCPUs, other jobs running; CPU time, best of 4, one thread): the
epoch 2.11 s; shift() +0.11 s (5%), affine() +0.50 s (24%), elastic() +0.82-0.90 s (38-43%),
compose(affine(), elastic()) +1.52 s (72%). Under heavier load the epoch measured up to 5.1 s
and the augmentations ~1.2x their quiet cost. Where elastic's time goes (per batch of 50):
drawing 78,400 uniforms 0.22-0.27 ms, smoothing 0.13-0.15 ms, bilinear resampling 0.32-0.40 ms.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import fnn
from fnn import augment
from fnn.datasets import load_mnist
from fnn.seeds import AUGMENT, stream

BATCH = 50
DEFAULT_DATA = Path("/work/shared/data/mnist")

AUGMENTATIONS = {
    "shift()": augment.shift(),
    "affine()": augment.affine(),
    "elastic()": augment.elastic(),
    "compose(affine(), elastic())": augment.compose(augment.affine(), augment.elastic()),
}


def _best_of_rounds(runs: dict[str, Callable[[], Any]], rounds: int,
                    clock: Callable[[], float]) -> dict[str, float]:
    """The best time of each run, timed round-robin so that drift hits all of them alike."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            start = clock()
            run()
            best[name] = min(best[name], clock() - start)
    return best


def _training_epoch(x: np.ndarray, labels: np.ndarray) -> Callable[[], Any]:
    params = fnn.init_params([784, 800, 10], seed=0, init=fnn.he_init, dtype=np.float32)
    optimizer = fnn.optimizers.momentum(eta=0.01, mu=0.9)

    def run() -> Any:
        return fnn.sgd(params, (x, labels), epochs=1, mini_batch_size=BATCH,
                       optimizer=optimizer, activation=fnn.RELU, cost=fnn.log_likelihood,
                       seed=0)
    return run


def _augmenting_epoch(shuffled: np.ndarray, aug: augment.Augmentation) -> Callable[[], Any]:
    def run() -> None:
        rng = stream(0, AUGMENT, 0)
        for start in range(0, shuffled.shape[0], BATCH):
            aug(rng, shuffled[start:start + BATCH])
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (0: default)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default=None)
    args = parser.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads)
    cpu = args.clock == "cpu" or (args.clock is None and args.threads == 1)
    clock = time.process_time if cpu else time.perf_counter

    data = args.data or (DEFAULT_DATA if DEFAULT_DATA.exists() else None)
    training = load_mnist(data, dtype=np.float32).training
    x, labels = training.x, training.labels
    shuffled = x[np.random.default_rng(0).permutation(x.shape[0])]

    runs = {"epoch": _training_epoch(x, labels)} | {
        name: _augmenting_epoch(shuffled, aug) for name, aug in AUGMENTATIONS.items()}
    best = _best_of_rounds(runs, args.rounds, clock)
    epoch = best.pop("epoch")
    print(f"{x.shape[0]:,} images, batch {BATCH}, float32, {args.threads or 'default'} "
          f"thread(s), {'CPU' if cpu else 'wall'} time, best of {args.rounds}")
    print(f"{'training epoch (784-800-10 ReLU/softmax, momentum)':52s} {epoch:7.3f} s")
    for name, seconds in best.items():
        per_batch = 1e3 * seconds / (x.shape[0] / BATCH)
        print(f"  + {name:48s} {seconds:7.3f} s  {seconds / epoch:6.1%} of the epoch  "
              f"({per_batch:.3f} ms per batch)")


if __name__ == "__main__":
    main()
