"""The epoch compiled with numba (the optional extra ``fnn[jit]``): no Python per mini-batch.

An engine, like ``fnn.training.fastpath``: ``supports(params, data, config)`` covers what the
NumPy fast path covers (every combination of fnn's activations, costs, optimizers, L2, L1
and dropout, in float32 or float64) when numba and SciPy are installed, and
``compiled_epoch(carry, data, config, streams)`` runs the epoch. The shuffle and the dropout
draws come from the same streams in the same order as ``run_epoch``'s, drawn in NumPy (the
draws a chunk of mini-batches at a time); then one compiled call runs every step of the
chunk: it gathers each batch's rows, the matrix products go to BLAS through numba (SciPy's
OpenBLAS, the same kernels as NumPy's), and everything else — bias adds, activations,
deltas, the column sums, the optimizer's update over one flat parameter buffer — runs in
compiled loops.

Its results are not NumPy's bit for bit, by design. The products are (the same BLAS calls
give the same bytes, tested), and so are the column sums; but the exponential is the
kernel's own vectorized one (``fnn.training._kernel``: within 1.2 ulp, where NumPy's SIMD
``exp`` and the C library's each round differently again; it is what makes sigmoid layers
cheap), tanh is the C library's, and network2's weight update is fused into the gradient's
``gemm`` (w ← β·w + α·δᵀa, rounded as BLAS rounds it, where NumPy scales, multiplies and
subtracts in separate passes). So a compiled epoch
agrees with the NumPy one to within rounding (``TOLERANCE``, tested over every combination),
and is itself bit-reproducible: the same seed gives the same bytes every time on the same
machine and library versions. Which family of engines trained a run is part of its record;
a checkpoint resumes on the family that wrote it.

The kernel is compiled on first use per float type and cached on disk (numba's
``cache=True``: next to this module, or numba's user cache directory when that is not
writable), so a later process pays only loading it. ``import fnn`` never imports numba.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from functools import cache
from typing import Any

import numpy as np

from fnn.data import Batch
from fnn.params import Array, Params
from fnn.training import fastpath
from fnn.training.config import TrainConfig
from fnn.training.fastpath import Rows, _Buffers, _Plan, _unflatten
from fnn.training.reference import Carry, EpochStreams, Progress, augmented

__all__ = ["TOLERANCE", "available", "compiled_epoch", "compiled_steps", "supports"]

TOLERANCE = {"float64": 1e-9, "float32": 2e-3}
"""How far a compiled epoch's params may be from the NumPy epoch's, relative to the largest
parameter, after one epoch of the tests' workloads (float32 rounds at 6e-8 per operation and
an epoch compounds thousands of them)."""

_CHUNK_ROWS = 2048  # rows per compiled call under dropout (the draws are made per chunk)
_ACTIVATIONS = {"sigmoid": 0, "tanh": 1, "relu": 2}
_COSTS = {"cross_entropy": 0, "quadratic": 1, "log_likelihood": 2}
_OPTIMIZERS = {"gradient_descent": 0, "momentum": 1, "nesterov": 2, "adam": 3}


@cache
def available() -> bool:
    """Whether numba and SciPy (numba's BLAS) can be imported, without importing them."""
    return all(importlib.util.find_spec(name) is not None for name in ("numba", "scipy"))


def supports(params: Params, data: Batch, config: TrainConfig) -> bool:
    """True when numba is installed and the NumPy fast path covers these arguments."""
    return available() and fastpath.supports(params, data, config)


def compiled_epoch(carry: Carry, data: Batch, config: TrainConfig, streams: EpochStreams, *,
                   progress: Progress | None = None) -> Carry:
    """(params, optimizer state) after one epoch, run by the compiled kernel.

    Arguments as ``run_epoch``'s; only for what ``supports`` accepts. ``progress(done,
    total)`` is called after each compiled chunk of mini-batches. Inputs are only read.
    """
    n, m = data.x.shape[0], min(int(config.mini_batch_size), data.x.shape[0])
    total = -(-n // m)
    # the whole epoch in one call, unless the draws of dropout or the augmented inputs are
    # made a chunk at a time, or progress is wanted (then about 5% of the epoch per call)
    chunked = bool(config.dropout) or config.augment is not None
    per_call = max(1, _CHUNK_ROWS // m) if chunked else total
    per_call = min(per_call, max(1, total // 20)) if progress is not None else per_call
    run = _Run(carry, data, config, streams)
    with _threads_as_numpys():
        for done in run.calls(per_call):
            if progress is not None:
                progress(done, total)
    return run.carry()


def compiled_steps(carry: Carry, data: Batch, config: TrainConfig,
                   streams: EpochStreams) -> Iterator[Carry]:
    """The carry before the epoch and after each mini-batch, one compiled call per batch
    (the same arithmetic as ``compiled_epoch``, to locate where training diverged)."""
    yield carry
    run = _Run(carry, data, config, streams)
    with _threads_as_numpys():
        for _ in run.calls(1):
            yield run.carry()


def _threads_as_numpys() -> AbstractContextManager[Any]:
    """SciPy's BLAS (the compiled kernel's) on as many threads as NumPy's, for the call.

    Thread limits (``threadpoolctl.threadpool_limits``, ``fnn train --threads``) reach only
    the libraries loaded when they are set, and the kernel's BLAS loads later; so the
    compiled epoch copies NumPy's setting, which is what callers set. Products of more than
    one thread can differ in the last bits, so this keeps results as reproducible as NumPy's.
    Without threadpoolctl (installed with ``fnn[jit]``) nothing is changed.
    """
    try:
        from threadpoolctl import ThreadpoolController  # noqa: PLC0415  (optional extra)
    except ImportError:
        return nullcontext()
    _kernel()  # loads SciPy's BLAS, so that the controller sees it
    controller = ThreadpoolController()
    blas = [c for c in controller.lib_controllers if c.user_api == "blas"]
    numpy_threads = [c.num_threads for c in blas if "numpy" in c.filepath]
    scipy_paths = [c.filepath for c in blas if "scipy" in c.filepath and "numpy" not in
                   c.filepath]
    if not numpy_threads or not scipy_paths:
        return nullcontext()
    limiter: AbstractContextManager[Any] = controller.select(filepath=scipy_paths).limit(
        limits=numpy_threads[0])
    return limiter


class _Run:
    """One epoch's flat buffers, shuffle and layout, run ``per_call`` batches at a time."""

    def __init__(self, carry: Carry, data: Batch, config: TrainConfig,
                 streams: EpochStreams) -> None:
        self.params, state = carry
        self.data, self.streams = data, streams
        self.plan = fastpath.plan_of(self.params, data, config)
        self.buffers = _Buffers.of(self.params, state, self.plan)
        self.layout = _Layout.of(self.params, self.plan)
        self.m = min(int(config.mini_batch_size), self.plan.n)
        self.order = streams.shuffle.permutation(self.plan.n)

    def calls(self, per_call: int) -> Iterator[int]:
        """Run the epoch, ``per_call`` batches per compiled call; yield the batches done."""
        n, m, kernel, b = self.plan.n, self.m, _kernel(), self.buffers
        done = 0
        for start in range(0, n, per_call * m):
            rows = self.order[start:start + per_call * m]
            r = rows.shape[0]
            sizes = [m] * (r // m) + ([r % m] if r % m else [])
            uniforms = _draws(self.streams, self.plan, sizes, self.layout.hidden_width)
            x, y, chunk_rows = _inputs(self.data, rows, sizes, self.plan, self.streams)
            kernel(x, y, chunk_rows, np.array(sizes, np.int64),
                   *self.layout.arrays, b.flat, b.grads, *_moments(b),
                   np.array(b.counter, np.int64), _hyper(self.plan), uniforms,
                   self.layout.scratch_size)
            b.counter[0] += len(sizes) if self.plan.kind.name == "adam" else 0
            done += len(sizes)
            yield done

    def carry(self) -> Carry:
        """(params, optimizer state) as they stand, in fresh arrays."""
        return _unflatten(self.params, self.buffers.flat), self.buffers.state_out(self.params)


class _Layout:
    """Where each layer lives in the flat buffers, and the codes the kernel dispatches on."""

    def __init__(self, sizes: np.ndarray, w_off: np.ndarray, b_off: np.ndarray,
                 activations: np.ndarray, codes: np.ndarray) -> None:
        self.arrays = (sizes, w_off, b_off, activations, codes)
        self.hidden_width = int(sizes[1:-1].sum())
        self.scratch_size = int(sizes[1:].sum())

    @classmethod
    def of(cls, params: Params, plan: _Plan) -> _Layout:
        sizes = np.array([params.weights[0].shape[1], *(w.shape[0] for w in params.weights)],
                         np.int64)
        w_sizes = [w.size for w in params.weights]
        w_off = np.concatenate([[0], np.cumsum(w_sizes)]).astype(np.int64)
        b_off = (w_off[-1] + np.concatenate([[0], np.cumsum(sizes[1:])])).astype(np.int64)
        activations = np.array([_ACTIVATIONS[a] for a in plan.hidden], np.int64)
        codes = np.array([_COSTS[plan.cost], _OPTIMIZERS[plan.kind.name],
                          int(bool(plan.dropout))], np.int64)
        return cls(sizes, w_off, b_off, activations, codes)


def _draws(streams: EpochStreams, plan: _Plan, sizes: list[int],
           width: int) -> np.ndarray:
    """The chunk's dropout uniforms, drawn as ``dropout_masks`` draws them: per batch, per
    hidden layer, ``rng.random((m, k))``; laid out batch after batch."""
    if not plan.dropout:
        return np.empty(0)
    assert streams.dropout is not None, "epoch_streams(dropout=True) gives the mask stream"
    return streams.dropout.random(sum(sizes) * width)


def _inputs(data: Batch, rows: Rows, sizes: list[int], plan: _Plan,
            streams: EpochStreams) -> tuple[Array, Array, Rows]:
    """What the kernel reads for a chunk: the training set and the chunk's rows, or, when
    the run augments, the chunk's examples gathered and each batch's inputs augmented in
    batch order (as ``epoch_items`` does), with rows 0, 1, ..."""
    if plan.augment is None:
        return data.x, data.y, rows
    assert streams.augment is not None, "config_streams gives the augmentation stream"
    x, y = data.x.take(rows, 0), data.y.take(rows, 0)
    start = 0
    for size in sizes:
        x[start:start + size] = augmented(plan.augment, streams.augment, x[start:start + size])
        start += size
    return x, y, np.arange(rows.shape[0])


def _moments(buffers: _Buffers) -> tuple[Array, Array]:
    empty = buffers.flat[:0]
    moments = (*buffers.moments, empty, empty)
    return moments[0], moments[1]


def _hyper(plan: _Plan) -> np.ndarray:
    """The update's numbers, in the order the kernel reads them (all float64)."""
    s = plan.kind.settings
    return np.array([s.get("eta", 0.0), s.get("mu", 0.0), s.get("beta1", 0.0),
                     s.get("beta2", 0.0), s.get("eps", 0.0), plan.lmbda, plan.l1,
                     float(plan.n), plan.dropout], np.float64)


@cache
def _kernel() -> Callable[..., None]:
    """The compiled chunk kernel (numba is imported here, on first use)."""
    from fnn.training import _kernel as kernel  # noqa: PLC0415  (numba, an optional extra)

    run_chunk: Callable[..., None] = kernel.run_chunk
    return run_chunk
