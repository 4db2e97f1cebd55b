"""One epoch of network2's SGD, engineered for speed and bit-identical to ``run_epoch``.

An engine: ``supports(params, data, config)`` declares what it covers (plain
``gradient_descent`` with L2, sigmoid hidden layers, the quadratic or cross-entropy cost, no
L1 or dropout, one float dtype throughout), and ``fast_epoch(carry, data, config, streams)``
returns exactly the bytes ``fnn.training.reference.run_epoch`` returns for the same
arguments: the same shuffle (``streams.shuffle.permutation(n)``, batches of
``config.mini_batch_size``, the last one partial) and the same floating-point operations,
on operands of the same shapes and layouts, in the same order. Only the bookkeeping
around them changes:

- every array of the epoch is allocated once, before the first step, and reused: each
  step is a fixed list of NumPy calls writing into those arrays with ``out``, built
  once, so a step does no allocation, attribute lookup or tuple building;
- rows are gathered with ``ndarray.take(..., out=)`` into one reused buffer, a few
  batches at a time (never the whole training set);
- all weights and biases live in one private flat array, so the update of every
  layer is three ufunc calls; the caller's arrays are only read, the result is fresh;
- σ(z) = where(z ≥ 0, 1, e) / (1 + e) with e = exp(-|z|) is computed as
  exp(min(z, 0)) / (1 + e): the numerator is the same number (1.0 for z ≥ 0, e for
  z < 0) and one ``exp`` call computes both exponentials, over a stacked buffer;
  -|z| is ``copysign(z, -1)``; σ'(z) = e / (1 + e)² reuses the forward pass's e and 1 + e;
- the constants 0, -1 and 1 are arrays of the operand's shape, which NumPy adds
  without the scalar conversion and broadcasting set-up of a Python float.

Training asks ``supports`` first and runs the reference fold for anything else: another
cost, optimizer or activation, L1, dropout, mixed or non-float dtypes, ndarray subclasses,
non-C-contiguous weights. As for any NumPy code, bits are reproducible for a given
NumPy/BLAS build and thread setting; NaN payloads (a diverged net) are not compared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from fnn.activations import SIGMOID, per_layer
from fnn.costs import Cost, cross_entropy, quadratic
from fnn.data import Batch
from fnn.optimizers import descent_rate
from fnn.params import Array, Params
from fnn.training.config import TrainConfig
from fnn.training.reference import Carry, EpochStreams, Progress

__all__ = ["fast_epoch", "supports"]

_CHUNK_BYTES = 1 << 18  # x rows gathered per take: amortises the call, stays in cache
_DOT_MAX = 4096  # largest output (elements) written with np.dot, see _product
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

Rows = NDArray[np.integer[Any]]
Op = tuple[Callable[..., Any], tuple[Any, ...]]
"""One NumPy call of a step: ``fn(*args)``, every argument bound when the epoch starts."""


class _Layer(NamedTuple):
    """One layer's arrays for batches of r rows: views of the flat parameters and
    gradient, scratch space, and constants (all C-contiguous, all of one dtype)."""

    w: Array      # (k, n_in) private weights
    b: Array      # (k,) private biases
    gw: Array     # (k, n_in) Σ∇w over the batch
    gb: Array     # (k,) Σ∇b
    z: Array      # (r, k) weighted input
    pair: Array   # (2, r, k): [min(z, 0), -|z|], then exp of both in place
    den: Array    # (r, k) 1 + e
    a: Array      # (r, k) σ(z)
    delta: Array  # (r, k) ∂C/∂z summed form
    sp: Array     # (r, k) σ'(z)
    back: Array   # (r, k) δ of the layer above times its weights
    zeros: Array  # (r, k) of 0
    minus: Array  # (r, k) of -1
    ones: Array   # (r, k) of 1


def fast_epoch(carry: Carry, data: Batch, config: TrainConfig, streams: EpochStreams, *,
               progress: Progress | None = None) -> Carry:
    """(params, optimizer state) after one epoch: ``run_epoch``'s result, bit for bit, faster.

    Only for what ``supports`` accepts. Arguments as ``run_epoch``'s (``progress(done,
    total)`` is called after about every 1% of the batches). The arrays of the params and
    ``data`` are only read; the result shares no memory with them.

    >>> from fnn.params import init_params, tree_equal
    >>> from fnn.training.config import make_config
    >>> from fnn.training.reference import epoch_streams, run_epoch
    >>> x = np.random.default_rng(0).random((23, 4)); y = np.eye(3)[np.arange(23) % 3]
    >>> p = init_params([4, 5, 3], seed=0)
    >>> c = make_config(epochs=1, mini_batch_size=5, eta=0.5, lmbda=5.0,
    ...                 cost=fnn.cross_entropy, seed=0)
    >>> supports(p, Batch(x, y), c)
    True
    >>> fast = fast_epoch((p, ()), Batch(x, y), c, epoch_streams(1, 0, dropout=False))
    >>> ref = run_epoch((p, ()), Batch(x, y), c, epoch_streams(1, 0, dropout=False))
    >>> tree_equal(fast[0], ref[0])
    True
    """
    params = carry[0]
    output_ops = _OUTPUT_OPS[config.cost]
    eta = descent_rate(config.optimizer)
    assert eta is not None, "supports() accepts plain gradient descent only"
    n = data.x.shape[0]
    order = streams.shuffle.permutation(n)
    m = min(int(config.mini_batch_size), n)
    flat = np.concatenate([a.ravel() for a in (*params.weights, *params.biases)])
    grads = np.empty_like(flat)
    chunk_x, chunk_y = _chunk_buffers(data, m)
    full, chunk = n // m * m, chunk_x.shape[0]
    rates = _Rates(eta, config.lmbda, n)
    steps = _step_programs(params, flat, grads, output_ops, rates, chunk_x, chunk_y, m,
                           chunk // m)
    tick = _ticker(progress, -(-n // m))
    for start in range(0, full, chunk):
        rows = order[start:min(start + chunk, full)]
        _gather(data, rows, chunk_x, chunk_y)
        for program in steps[:rows.shape[0] // m]:
            _run(program)
            if tick:
                tick()
    if full < n:
        _gather(data, order[full:], chunk_x, chunk_y)
        _run(_step_programs(params, flat, grads, output_ops, rates, chunk_x, chunk_y,
                            n - full, 1)[0])
        if tick:
            tick()
    return _unflatten(params, flat), carry[1]


class _Rates(NamedTuple):
    """network2's update constants: w ← (1 − η·λ/n)·w − (η/m)·Σ∇w."""

    eta: float
    lmbda: float
    n: int


def _ticker(progress: Progress | None, total: int) -> Callable[[], None] | None:
    """A function to call after each batch that calls ``progress`` as run_epoch does."""
    if progress is None:
        return None
    every, done = max(1, total // 100), 0

    def tick() -> None:
        nonlocal done
        done += 1
        if done % every == 0 or done == total:
            progress(done, total)

    return tick


def _run(program: Sequence[Op]) -> None:
    for fn, args in program:
        fn(*args)


OutputOps = Callable[[_Layer, Array], list[Op]]


def _cross_entropy_ops(out: _Layer, y: Array) -> list[Op]:
    return [(np.subtract, (out.a, y, out.delta))]  # δ = a - y


def _quadratic_ops(out: _Layer, y: Array) -> list[Op]:
    # δ = (a - y) ⊙ σ'(z), σ'(z) = e / (1 + e)²
    return [(np.subtract, (out.a, y, out.delta)), *_sigmoid_prime_ops(out),
            (np.multiply, (out.delta, out.sp, out.delta))]


_OUTPUT_OPS: dict[Cost, OutputOps] = {cross_entropy: _cross_entropy_ops,
                                      quadratic: _quadratic_ops}


def supports(params: Params, data: Batch, config: TrainConfig) -> bool:
    """True when ``fast_epoch`` gives ``run_epoch``'s bytes for these arguments: plain
    ``gradient_descent`` with L2, sigmoid hidden layers, cross-entropy or quadratic cost, no
    L1 or dropout, and C-contiguous float arrays of one dtype throughout."""
    if descent_rate(config.optimizer) is None or config.l1 or config.dropout:
        return False
    if any(a != SIGMOID for a in per_layer(config.activation, len(params.weights) - 1)):
        return False
    if not any(config.cost == known for known in _OUTPUT_OPS) or not params.weights:
        return False
    leaves = (*params.weights, *params.biases)
    dtype, arrays = leaves[0].dtype, (*leaves, data.x, data.y)
    if dtype not in _FLOATS or any(type(a) is not np.ndarray or a.dtype != dtype for a in arrays):
        return False  # mixed dtypes promote in the reference; subclasses may override ops
    if data.x.ndim != 2 or data.x.shape[0] == 0 or not _shapes_fit(params, data):
        return False
    return all(w.flags.c_contiguous for w in params.weights)  # the reference multiplies by w.T


def _shapes_fit(params: Params, data: Batch) -> bool:
    n_in = data.x.shape[1]
    for w, b in zip(params.weights, params.biases):
        if w.ndim != 2 or b.shape != (w.shape[0],) or w.shape[1] != n_in:
            return False
        n_in = w.shape[0]
    return bool(data.y.shape == (data.x.shape[0], n_in))


def _pieces(params: Params, flat: Array) -> tuple[list[Array], list[Array]]:
    """Views of ``flat`` shaped like the weights and like the biases of ``params``."""
    leaves = (*params.weights, *params.biases)
    ends = np.cumsum([a.size for a in leaves]).tolist()
    views = [flat[end - a.size:end].reshape(a.shape) for a, end in zip(leaves, ends)]
    return views[:len(params.weights)], views[len(params.weights):]


def _unflatten(params: Params, flat: Array) -> Params:
    """Fresh arrays shaped like ``params`` holding the private flat copy."""
    weights, biases = _pieces(params, flat)
    return Params(weights=tuple(w.copy() for w in weights), biases=tuple(b.copy() for b in biases))


def _layers(params: Params, flat: Array, grads: Array, r: int) -> tuple[_Layer, ...]:
    """Each layer's views of the flat arrays and its scratch space for batches of r rows."""
    (ws, bs), (gws, gbs) = _pieces(params, flat), _pieces(params, grads)

    def layer(w: Array, b: Array, gw: Array, gb: Array) -> _Layer:
        shape, dtype = (r, w.shape[0]), flat.dtype

        def new() -> Array:
            return np.empty(shape, dtype)

        return _Layer(w=w, b=b, gw=gw, gb=gb, z=new(), pair=np.empty((2, *shape), dtype),
                      den=new(), a=new(), delta=new(), sp=new(), back=new(),
                      zeros=np.zeros(shape, dtype), minus=np.full(shape, -1, dtype),
                      ones=np.ones(shape, dtype))

    return tuple(map(layer, ws, bs, gws, gbs))


def _chunk_buffers(data: Batch, m: int) -> tuple[Array, Array]:
    """Reused gather buffers for a whole number of batches, about _CHUNK_BYTES of x."""
    batches = max(1, _CHUNK_BYTES // max(1, data.x.shape[1] * data.x.itemsize * m))
    rows = min(batches, data.x.shape[0] // m) * m
    return (np.empty((rows, data.x.shape[1]), data.x.dtype),
            np.empty((rows, data.y.shape[1]), data.y.dtype))


def _gather(data: Batch, rows: Rows, chunk_x: Array, chunk_y: Array) -> None:
    """Copy the examples at ``rows`` to the top of the chunk buffers. Mode 'clip' skips
    the bounds checks (rows come from a permutation) and the temporary they need."""
    data.x.take(rows, 0, out=chunk_x[:rows.shape[0]], mode="clip")
    data.y.take(rows, 0, out=chunk_y[:rows.shape[0]], mode="clip")


def _step_programs(params: Params, flat: Array, grads: Array, output_ops: OutputOps,
                   rates: _Rates, chunk_x: Array, chunk_y: Array,
                   r: int, count: int) -> list[list[Op]]:
    """The step programs of the first ``count`` batches of r rows in the chunk buffers."""
    layers = _layers(params, flat, grads, r)
    n_weights = sum(w.size for w in params.weights)
    update = _update_ops(flat, grads, n_weights, step=rates.eta / r,
                         shrink=1 - rates.eta * (rates.lmbda / rates.n))
    return [[*_gradient_ops(layers, output_ops, chunk_x[i:i + r], chunk_y[i:i + r]), *update]
            for i in range(0, count * r, r)]


def _gradient_ops(layers: tuple[_Layer, ...], output_ops: OutputOps, x: Array,
                  y: Array) -> list[Op]:
    """The ops leaving Σ∇w and Σ∇b of the batch (x, y) in every layer's gw and gb."""
    inputs = (x, *(layer.a for layer in layers[:-1]))
    ops = [op for layer, a in zip(layers, inputs) for op in _forward_ops(layer, a)]
    ops += output_ops(layers[-1], y)
    for l in range(len(layers) - 1, -1, -1):
        layer = layers[l]
        ops += [_product(layer.delta.T, inputs[l], layer.gw),  # δᵀ·a
                (np.add.reduce, (layer.delta, 0, None, layer.gb))]  # δ.sum(axis=0)
        if l:
            below = layers[l - 1]  # δ_{l-1} = (δ_l · w_l) ⊙ σ'(z_{l-1})
            ops += [_product(layer.delta, layer.w, below.back), *_sigmoid_prime_ops(below),
                    (np.multiply, (below.back, below.sp, below.delta))]
    return ops


def _product(a: Array, b: Array, out: Array) -> Op:
    """``a @ b`` into ``out``. For matrices (every dimension > 1) ``np.dot`` and
    ``np.matmul`` make the same ``gemm`` call, and ``np.dot`` costs less to enter, but it
    zeroes ``out`` first, so it only pays for small outputs. Vector shapes keep matmul's
    own (gemv) path, as in the reference."""
    small_matrix = min(*a.shape, b.shape[1]) > 1 and out.size <= _DOT_MAX
    return (np.dot if small_matrix else np.matmul, (a, b, out))


def _forward_ops(layer: _Layer, a: Array) -> list[Op]:
    """z = a·wᵀ + b; σ(z) = exp(min(z, 0)) / (1 + exp(-|z|))."""
    num, e = layer.pair
    return [_product(a, layer.w.T, layer.z),
            (np.add, (layer.z, layer.b, layer.z)),
            (np.fmin, (layer.z, layer.zeros, num)),
            (np.copysign, (layer.z, layer.minus, e)),
            (np.exp, (layer.pair, layer.pair)),
            (np.add, (e, layer.ones, layer.den)),
            (np.divide, (num, layer.den, layer.a))]


def _sigmoid_prime_ops(layer: _Layer) -> list[Op]:
    """σ'(z) = e / (1 + e)² from the forward pass's e and 1 + e."""
    return [(np.square, (layer.den, layer.sp)), (np.divide, (layer.pair[1], layer.sp, layer.sp))]


def _update_ops(flat: Array, grads: Array, n_weights: int, *, step: float,
                shrink: float) -> list[Op]:
    """w ← shrink·w - step·Σ∇w and b ← b - step·Σ∇b, for every layer at once."""
    weights = flat[:n_weights]
    scale = [(np.multiply, (weights, shrink, weights))] if shrink != 1.0 else []
    return [(np.multiply, (grads, step, grads)), *scale, (np.subtract, (flat, grads, flat))]
