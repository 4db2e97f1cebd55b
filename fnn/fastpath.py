"""One epoch of mini-batch SGD, engineered for speed and bit-identical to ``run_epoch``.

``fast_epoch(params, data, config, rng)`` returns exactly the bytes ``run_epoch`` returns
for the same arguments: the same shuffle (``rng.permutation(n)``, batches of
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

Inputs the fast path does not cover go to ``run_epoch`` unchanged, before ``rng`` is
touched: an unknown cost, a training setting away from its default (another activation,
optimizer, L1, dropout), mixed or non-float dtypes, ndarray subclasses, non-C-contiguous
weights, and NumPy scalars as eta or lmbda (NumPy 2 does not treat them as weak). As
for any NumPy code, bits are reproducible for a given NumPy/BLAS build and thread
setting; NaN payloads (a diverged net) are not compared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from fnn.costs import Cost, cross_entropy, quadratic
from fnn.data import Batch
from fnn.params import Array, Params

if TYPE_CHECKING:  # fnn.training may import this module, so it is imported where needed
    from fnn.training import TrainConfig

__all__ = ["fast_epoch"]

_CHUNK_BYTES = 1 << 18  # x rows gathered per take: amortises the call, stays in cache
_DOT_MAX = 4096  # largest output (elements) written with np.dot, see _product
# The TrainConfig fields this module reads, or that act only between epochs (the run length,
# the seed, monitoring, the eta schedule, early stopping); any other field must hold its
# default, see _other_settings_neutral.
_EPOCH_FIELDS = frozenset({"epochs", "mini_batch_size", "eta", "lmbda", "cost", "seed",
                           "monitor", "schedule", "early_stop"})
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


def fast_epoch(params: Params, data: Batch, config: TrainConfig, rng: np.random.Generator,
               *, progress: Progress | None = None,
               masks_rng: np.random.Generator | None = None) -> Params:
    """Params after one epoch: ``run_epoch``'s result, bit for bit, in less time.

    Arguments as ``run_epoch``'s (``progress(done, total)`` is called after about every 1%
    of the batches). The arrays of ``params`` and ``data`` are only read; the result shares
    no memory with them.

    >>> from fnn.params import init_params, tree_equal
    >>> from fnn.training import make_config, run_epoch
    >>> x = np.random.default_rng(0).random((23, 4)); y = np.eye(3)[np.arange(23) % 3]
    >>> p = init_params([4, 5, 3], seed=0)
    >>> c = make_config(epochs=1, mini_batch_size=5, eta=0.5, lmbda=5.0,
    ...                 cost="cross_entropy", seed=0)
    >>> fast = fast_epoch(p, Batch(x, y), c, np.random.default_rng(1))
    >>> tree_equal(fast, run_epoch(p, Batch(x, y), c, np.random.default_rng(1)))
    True
    """
    output_ops = _fast_case(params, data, config)
    if output_ops is None:
        from fnn.training import run_epoch  # noqa: PLC0415 (training may import this module)

        return run_epoch(params, data, config, rng, progress=progress, masks_rng=masks_rng)
    n = data.x.shape[0]
    order = rng.permutation(n)
    m = min(int(config.mini_batch_size), n)
    flat = np.concatenate([a.ravel() for a in (*params.weights, *params.biases)])
    grads = np.empty_like(flat)
    chunk_x, chunk_y = _chunk_buffers(data, m)
    full, chunk = n // m * m, chunk_x.shape[0]
    steps = _step_programs(params, flat, grads, output_ops, config, n, chunk_x, chunk_y, m,
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
        _run(_step_programs(params, flat, grads, output_ops, config, n, chunk_x, chunk_y,
                            n - full, 1)[0])
        if tick:
            tick()
    return _unflatten(params, flat)


Progress = Callable[[int, int], None]


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


def _fast_case(params: Params, data: Batch, config: TrainConfig) -> OutputOps | None:
    """How the output δ is computed on the fast path; None when run_epoch must run."""
    if not _other_settings_neutral(config):
        return None
    try:
        output_ops = _OUTPUT_OPS.get(config.cost)
    except TypeError:  # an unhashable look-alike of a Cost
        return None
    leaves = (*params.weights, *params.biases)
    if output_ops is None or not leaves or len(params.weights) != len(params.biases):
        return None
    dtype, arrays = leaves[0].dtype, (*leaves, data.x, data.y)
    if dtype not in _FLOATS or any(type(a) is not np.ndarray or a.dtype != dtype for a in arrays):
        return None  # mixed dtypes promote in the reference; subclasses may override ops
    if not all(type(v) in (float, int) for v in (config.eta, config.lmbda)):
        return None
    if data.x.ndim != 2 or data.x.shape[0] == 0 or not _shapes_fit(params, data):
        return None
    if not all(w.flags.c_contiguous for w in params.weights):
        return None  # the reference multiplies by w.T as laid out; ours are C-ordered
    return output_ops


def _other_settings_neutral(config: TrainConfig) -> bool:
    """True when every TrainConfig field this module does not know is at its default, so
    a setting added to training later (a regulariser, a schedule...) never runs here
    unless it is switched off."""
    defaults = type(config)._field_defaults

    def neutral(name: str) -> bool:
        if name not in defaults:
            return False
        value, default = getattr(config, name), defaults[name]
        return value is default or bool(value == default)

    return all(neutral(name) for name in config._fields if name not in _EPOCH_FIELDS)


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
                   config: TrainConfig, n: int, chunk_x: Array, chunk_y: Array,
                   r: int, count: int) -> list[list[Op]]:
    """The step programs of the first ``count`` batches of r rows in the chunk buffers."""
    layers = _layers(params, flat, grads, r)
    n_weights = sum(w.size for w in params.weights)
    update = _update_ops(flat, grads, n_weights, step=config.eta / r,
                         shrink=1 - config.eta * (config.lmbda / n))
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
