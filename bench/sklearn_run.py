"""scikit-learn's MLPClassifier on the same split as an fnn row, for the results table.

    python bench/sklearn_run.py --data /usr/share/datasets/fashion-mnist --sizes 784,100,10
        --epochs 30 --mini-batch-size 10 --eta 0.5 --lmbda 5.0 --seed 0 --result out.json

The Fashion-MNIST paper's own benchmark used scikit-learn's classifiers; this is the
multi-layer perceptron among them, set up as close to the fnn row as it allows:

- one hidden layer of the row's width, ``activation`` sigmoid → ``logistic`` (relu, tanh as
  named), solver ``sgd`` with the row's batch size, learning rate ``eta`` (constant) and
  momentum ``mu`` (0 without ``--optimizer momentum``; classical, not Nesterov's);
- L2: scikit-learn adds (alpha / m)·w to each batch's mean gradient, fnn (lmbda / n)·w, so
  alpha = lmbda · m / n gives the same step;
- what differs and cannot be matched: the output is always softmax with the log-loss (fnn's
  sigmoid rows use sigmoid outputs and the cross-entropy), the initial weights are Glorot's
  uniform ones, and there is no per-epoch schedule (an fnn row's ``halve:N`` is left out).

One ``partial_fit`` per epoch (a shuffled pass over the training set, in batches) so the
validation accuracy is measured after every epoch; the test set is measured once at the end.
Data as fnn reads them (``fnn.datasets.load_mnist``: the last 10,000 training images are the
validation set). ``--limit N`` uses the first N examples of the training split.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ACTIVATIONS = {"sigmoid": "logistic", "relu": "relu", "tanh": "tanh"}


def classifier(*, width: int, activation: str, m: int, eta: float, mu: float, alpha: float,
               seed: int) -> Any:
    """The MLPClassifier of the module docstring."""
    from sklearn.neural_network import MLPClassifier
    return MLPClassifier(hidden_layer_sizes=(width,), activation=ACTIVATIONS[activation],
                         solver="sgd", alpha=alpha, batch_size=m, learning_rate="constant",
                         learning_rate_init=eta, momentum=mu, nesterovs_momentum=False,
                         shuffle=True, random_state=seed)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="a directory of the four IDX files")
    p.add_argument("--sizes", required=True, help="784,HIDDEN,10")
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--mini-batch-size", type=int, required=True)
    p.add_argument("--eta", type=float, required=True)
    p.add_argument("--lmbda", type=float, default=0.0)
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default="sigmoid")
    p.add_argument("--optimizer", choices=("sgd", "momentum"), default="sgd")
    p.add_argument("--mu", type=float, default=0.9)
    p.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--result", type=Path)
    args = p.parse_args(argv)
    from fnn.datasets import load_mnist
    splits = load_mnist(args.data, dtype=args.dtype)
    x, labels = splits.training.x[:args.limit], splits.training.labels[:args.limit]
    sizes = [int(s) for s in args.sizes.split(",")]
    if len(sizes) != 3:
        p.error(f"--sizes: one hidden layer, e.g. 784,100,10; got {args.sizes}")
    net = classifier(width=sizes[1], activation=args.activation, m=args.mini_batch_size,
                     eta=args.eta, mu=args.mu if args.optimizer == "momentum" else 0.0,
                     alpha=args.lmbda * args.mini_batch_size / x.shape[0], seed=args.seed)
    classes = np.arange(10)
    curve, start = [], time.perf_counter()
    for _ in range(args.epochs):
        net.partial_fit(x, labels, classes=classes)
        curve.append(float(net.score(splits.validation.x, splits.validation.labels)))
    seconds = time.perf_counter() - start
    result = {"validation_curve": curve,
              "test": float(net.score(splits.test.x, splits.test.labels)), "seconds": seconds}
    if args.result is not None:
        args.result.write_text(json.dumps(result) + "\n")
    print(f"sklearn MLPClassifier: final validation {100 * curve[-1]:.2f}%, best "
          f"{100 * max(curve):.2f}%, test {100 * result['test']:.2f}%  [{seconds:.0f} s]")
    return result


if __name__ == "__main__":
    main()
