"""PyTorch (CPU) peer for the results recipe: 784-800-10, ReLU, softmax, momentum, batch 50.

Run with the peer interpreter (``bench/speed.py`` uses /work/venvs/peers/bin/python or
$FNN_PEER_PYTHON); it does not import fnn. An idiomatic loop:

  model = Sequential(Linear(784, 800), ReLU(), Linear(800, 10))
  loss  = CrossEntropyLoss()(model(x), labels)      # softmax + log-likelihood, batch mean
  opt   = SGD([{weights, weight_decay = lmbda/n}, {biases, weight_decay = 0}],
              lr = eta, momentum = mu)

and a manual loader (``torch.randperm`` + ``X[idx]`` per mini-batch, tensors in RAM). That
is fnn's arithmetic for ``momentum(eta, mu)`` with ``lmbda``: fnn's objective gradient is the
batch-mean cost gradient plus (λ/n)·W on the weights only (``add_decayed_weights(lmbda / n)``
in ``fnn/training/reference.py``), then v ← μ·v − η·g, w ← w + v; torch's SGD adds
``weight_decay``·W to the same mean gradient, then buf ← μ·buf + g, w ← w − lr·buf, which is
the same update with v = −lr·buf (first step: buf = g, as v = −η·g).

Timing excludes a warm-up epoch; each timed epoch is wall seconds; ``cpu_per_wall`` is the
process's CPU seconds per wall second over them. ``--threads N`` calls
``torch.set_num_threads(N)`` (the runner also sets OMP_NUM_THREADS/MKL_NUM_THREADS). Prints one
``RESULT {json}`` line, the shared peers' protocol.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

ETA, MU, LMBDA, N_TRAIN, SIZES = 0.01, 0.9, 5.0, 50_000, (784, 800, 10)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dtype", choices=("f64", "f32"), default="f32")
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--n", type=int, default=N_TRAIN, help="training examples per epoch")
    p.add_argument("--hidden", type=int, default=SIZES[1])
    p.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: its default)")
    p.add_argument("--seed", type=int, default=0)
    return p


def _model(torch, sizes, dtype, n: int):
    """The net (Nielsen's initialiser), its optimizer and its loss."""
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.ReLU(),
                          nn.Linear(sizes[1], sizes[2])).to(dtype)
    linears = (model[0], model[2])
    with torch.no_grad():
        for lin in linears:
            lin.weight.normal_(0.0, 1.0 / math.sqrt(lin.in_features))
            lin.bias.normal_(0.0, 1.0)
    opt = torch.optim.SGD([
        {"params": [lin.weight for lin in linears], "weight_decay": LMBDA / n},
        {"params": [lin.bias for lin in linears], "weight_decay": 0.0}], lr=ETA, momentum=MU)
    return model, opt, nn.CrossEntropyLoss()


def _data(torch, n: int, dtype, seed: int):
    """Inputs in [0, 1) and integer labels (rows = examples)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.random((n, SIZES[0]), dtype={"f64": np.float64, "f32": np.float32}[dtype])
    return torch.from_numpy(x), torch.from_numpy(rng.integers(0, SIZES[-1], n))


def _timed(run, warmup: int, epochs: int) -> tuple[list[float], float]:
    for _ in range(warmup):
        run()
    times, cpu = [], time.process_time()
    for _ in range(epochs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times, (time.process_time() - cpu) / sum(times)


def main() -> int:
    args = _parser().parse_args()
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = {"f64": torch.float64, "f32": torch.float32}[args.dtype]
    x, labels = _data(torch, args.n, args.dtype, args.seed)
    model, opt, loss_fn = _model(torch, (SIZES[0], args.hidden, SIZES[-1]), dtype,
                                 args.n)
    torch.manual_seed(args.seed + 2)
    n, m = args.n, args.batch

    def run():
        order = torch.randperm(n)
        for k in range(0, n, m):
            idx = order[k:k + m]
            opt.zero_grad()
            loss_fn(model(x[idx]), labels[idx]).backward()
            opt.step()

    times, cpu_per_wall = _timed(run, args.warmup, args.epochs)
    assert torch.isfinite(model[0].weight).all()
    print("RESULT " + json.dumps({
        "peer": "torch", "variant": "recipe", "dtype": args.dtype, "batch": m,
        "hidden": args.hidden, "threads": args.threads, "n": n, "scale": 1.0,
        "epoch_times_raw": [round(t, 6) for t in times],
        "s_per_epoch": statistics.median(times), "s_per_epoch_min": min(times),
        "s_per_epoch_max": max(times), "cpu_per_wall": cpu_per_wall,
        "loadavg_1m_end": os.getloadavg()[0], "python": platform.python_version(),
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "env": {k: os.environ[k] for k in sorted(os.environ)
                if k.startswith(("OPENBLAS", "OMP_", "MKL_"))}}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
