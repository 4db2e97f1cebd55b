"""One epoch of mini-batch training in NumPy, engineered for speed, bit-identical to ``run_epoch``.

An engine: ``supports(params, data, config)`` declares what it covers — every combination of
fnn's own parts: sigmoid, tanh or ReLU hidden layers (one per layer), the quadratic,
cross-entropy or log-likelihood (softmax) cost, ``gradient_descent`` (network2's update),
``momentum``, ``nesterov`` or ``adam``, L2 and L1, dropout, and any augmentation (it is
called per batch, as the reference calls it) — on C-contiguous float arrays
of one dtype; ``fast_epoch(carry, data, config, streams)`` then returns exactly the bytes
``fnn.training.reference.run_epoch`` returns: the same shuffle, the same dropout draws and
the same floating-point operations on operands of the same shapes and layouts, in the same
order. Only the bookkeeping changes:

- every array of the epoch is allocated once, before the first step, and reused: a step is a
  fixed list of NumPy calls writing into those arrays with ``out``, built once, so a step
  does no allocation, attribute lookup or tuple building;
- rows are gathered with ``ndarray.take(..., out=)`` into one reused buffer, a few batches
  at a time (never the whole training set);
- the weights and biases live in one private flat array, and so do the gradient and each
  moment of the optimizer's state, so an update is a few ufunc calls for every layer at
  once; the caller's arrays are only read, the result is fresh;
- σ(z) = where(z ≥ 0, 1, e) / (1 + e) with e = exp(-|z|) is computed as
  exp(min(z, 0)) / (1 + e): the numerator is the same number and one ``exp`` call computes
  both exponentials over a stacked buffer; σ'(z) = e / (1 + e)² reuses them;
- the constants 0, -1 and 1 are arrays of the operand's shape, which NumPy adds without
  the scalar conversion and broadcasting set-up of a Python float.

Training asks ``supports`` first and runs the reference fold for anything else (a user's own
activation, cost or optimizer, a chain, mixed or non-float dtypes, ndarray subclasses,
non-C-contiguous weights). As for any NumPy code, bits are reproducible for a given
NumPy/BLAS build and thread setting; NaN payloads (a diverged net) are not compared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from fnn.activations import RELU, SIGMOID, TANH, per_layer
from fnn.augment import Augmentation
from fnn.costs import cross_entropy, log_likelihood, quadratic
from fnn.data import Batch
from fnn.optimizers import Kind, kind_of
from fnn.params import Array, Params
from fnn.training.config import TrainConfig
from fnn.training.reference import Carry, EpochStreams, Progress, augmented

__all__ = ["fast_epoch", "plan_of", "supports"]

_CHUNK_BYTES = 1 << 18  # x rows gathered per take: amortises the call, stays in cache
_DOT_MAX = 4096  # largest output (elements) written with np.dot, see _product
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_HIDDEN = {SIGMOID: "sigmoid", TANH: "tanh", RELU: "relu"}
_COSTS = {cross_entropy: "cross_entropy", quadratic: "quadratic",
          log_likelihood: "log_likelihood"}

Rows = NDArray[np.integer[Any]]
Op = tuple[Callable[..., Any], tuple[Any, ...]]
"""One NumPy call of a step: ``fn(*args)``, every argument bound when the epoch starts."""


def supports(params: Params, data: Batch, config: TrainConfig) -> bool:
    """True when ``fast_epoch`` gives ``run_epoch``'s bytes for these arguments."""
    if kind_of(config.optimizer) is None or not params.weights:
        return False
    if not all(any(a == known for known in _HIDDEN) for a in per_layer(
            config.activation, len(params.weights) - 1)):
        return False
    if not any(config.cost == known for known in _COSTS):
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


class _Plan(NamedTuple):
    """What an epoch runs, decided once: per-layer activations, the cost, the optimizer and
    the penalties, and the numbers the update needs."""

    hidden: tuple[str, ...]
    cost: str
    kind: Kind
    lmbda: float
    l1: float
    dropout: float
    n: int
    augment: Augmentation | None = None


def plan_of(params: Params, data: Batch, config: TrainConfig) -> _Plan:
    """The plan of an epoch ``supports`` accepts (what the compiled engine runs too)."""
    kind = kind_of(config.optimizer)
    assert kind is not None, "supports() accepts fnn's optimizers only"
    return _Plan(tuple(_HIDDEN[a] for a in per_layer(config.activation, len(params.weights) - 1)),
                 _COSTS[config.cost], kind, config.lmbda, config.l1, config.dropout,
                 data.x.shape[0], config.augment)


def fast_epoch(carry: Carry, data: Batch, config: TrainConfig, streams: EpochStreams, *,
               progress: Progress | None = None) -> Carry:
    """(params, optimizer state) after one epoch: ``run_epoch``'s result, bit for bit, faster.

    Only for what ``supports`` accepts. Arguments as ``run_epoch``'s (``progress(done,
    total)`` is called after about every 1% of the batches). The arrays of the params, the
    state and ``data`` are only read; the result shares no memory with them.

    >>> from fnn.params import init_params, tree_equal
    >>> from fnn.training.config import make_config
    >>> from fnn.training.reference import epoch_streams, run_epoch
    >>> x = np.random.default_rng(0).random((23, 4)); y = np.eye(3)[np.arange(23) % 3]
    >>> p = init_params([4, 5, 3], seed=0)
    >>> c = make_config(epochs=1, mini_batch_size=5, optimizer=fnn.optimizers.adam(),
    ...                 lmbda=5.0, cost=fnn.log_likelihood, activation=fnn.RELU, seed=0)
    >>> supports(p, Batch(x, y), c)
    True
    >>> state = c.optimizer.init(p)
    >>> fast = fast_epoch((p, state), Batch(x, y), c, epoch_streams(1, 0, dropout=False))
    >>> ref = run_epoch((p, state), Batch(x, y), c, epoch_streams(1, 0, dropout=False))
    >>> tree_equal(fast[0], ref[0]) and tree_equal(fast[1][1], ref[1][1])
    True
    """
    params, state = carry
    plan = plan_of(params, data, config)
    n, m = plan.n, min(int(config.mini_batch_size), plan.n)
    order = streams.shuffle.permutation(n)
    buffers = _Buffers.of(params, state, plan)
    chunk_x, chunk_y = _chunk_buffers(data, m)
    full, chunk = n // m * m, chunk_x.shape[0]
    steps = _step_programs(params, buffers, plan, streams, chunk_x, chunk_y, m, chunk // m)
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
        _run(_step_programs(params, buffers, plan, streams, chunk_x, chunk_y, n - full, 1)[0])
        if tick:
            tick()
    return _unflatten(params, buffers.flat), buffers.state_out(params)


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


# --------------------------------------------------------------------------- flat buffers


def _flat(tree: Params) -> Array:
    return np.concatenate([a.ravel() for a in (*tree.weights, *tree.biases)])


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


class _Buffers(NamedTuple):
    """The epoch's flat arrays: params, gradient, scratch, and the optimizer's moments
    (``moments[0]`` the velocity or Adam's first moment, ``moments[1]`` Adam's second);
    ``counter`` is Adam's step count, in a one-element list the step functions advance."""

    flat: Array
    grads: Array
    scratch: Array
    scratch2: Array
    n_weights: int
    moments: tuple[Array, ...]
    counter: list[int]

    @classmethod
    def of(cls, params: Params, state: Any, plan: _Plan) -> _Buffers:
        flat = _flat(params)
        n_weights = sum(w.size for w in params.weights)
        name = plan.kind.name
        moments: tuple[Array, ...] = ()
        counter = [0]
        if name in ("momentum", "nesterov"):
            moments = (_flat(state[0]),)
        elif name == "adam":
            moments, counter = (_flat(state[1]), _flat(state[2])), [int(state[0])]
        return cls(flat, np.empty_like(flat), np.empty_like(flat), np.empty_like(flat),
                   n_weights, moments, counter)

    def state_out(self, params: Params) -> Any:
        """The optimizer's state as the reference keeps it: tuples of fresh Params trees."""
        trees = tuple(_unflatten(params, m) for m in self.moments)
        return (self.counter[0], *trees) if len(trees) == 2 else trees


# --------------------------------------------------------------------------- per-layer arrays


class _Layer(NamedTuple):
    """One layer's arrays for batches of r rows: views of the flat parameters and
    gradient, scratch space, and constants (all C-contiguous, all of one dtype)."""

    w: Array      # (k, n_in) private weights
    b: Array      # (k,) private biases
    gw: Array     # (k, n_in) Σ∇w over the batch
    gb: Array     # (k,) Σ∇b
    z: Array      # (r, k) weighted input
    pair: Array   # (2, r, k): [min(z, 0), -|z|], then exp of both in place (σ)
    den: Array    # (r, k) 1 + e (σ)
    a: Array      # (r, k) the activation (masked under dropout)
    plain: Array  # (r, k) the activation before the mask (= a without dropout)
    delta: Array  # (r, k) ∂C/∂z summed form
    sp: Array     # (r, k) the activation's derivative
    back: Array   # (r, k) δ of the layer above times its weights
    flags: NDArray[np.bool_]  # (r, k) z > 0 (ReLU) or the kept units (dropout)
    draw: NDArray[np.float64]  # (r, k) uniform draws for the dropout mask
    mask: Array   # (r, k) the inverted-dropout mask
    rowmax: Array  # (r, 1) softmax's row maximum
    rowsum: Array  # (r, 1) softmax's row sum
    zeros: Array  # (r, k) of 0
    minus: Array  # (r, k) of -1
    ones: Array   # (r, k) of 1


def _layers(params: Params, buffers: _Buffers, r: int, dropout: bool) -> tuple[_Layer, ...]:
    """Each layer's views of the flat arrays and its scratch space for batches of r rows."""
    (ws, bs), (gws, gbs) = _pieces(params, buffers.flat), _pieces(params, buffers.grads)
    dtype = buffers.flat.dtype

    def layer(w: Array, b: Array, gw: Array, gb: Array) -> _Layer:
        shape = (r, w.shape[0])

        def new() -> Array:
            return np.empty(shape, dtype)

        a = new()
        return _Layer(w=w, b=b, gw=gw, gb=gb, z=new(), pair=np.empty((2, *shape), dtype),
                      den=new(), a=a, plain=new() if dropout else a, delta=new(), sp=new(),
                      back=new(), flags=np.empty(shape, np.bool_), draw=np.empty(shape),
                      mask=new(), rowmax=np.empty((r, 1), dtype), rowsum=np.empty((r, 1), dtype),
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


# --------------------------------------------------------------------------- a step's ops


def _step_programs(params: Params, buffers: _Buffers, plan: _Plan, streams: EpochStreams,
                   chunk_x: Array, chunk_y: Array, r: int, count: int) -> list[list[Op]]:
    """The step programs of the first ``count`` batches of r rows in the chunk buffers."""
    layers = _layers(params, buffers, r, bool(plan.dropout))
    update = _update_ops(buffers, plan, r)
    return [[*_augment_ops(plan.augment, streams.augment, chunk_x[i:i + r]),
             *_mask_ops(layers[:-1], plan.dropout, streams.dropout),
             *_gradient_ops(layers, plan, chunk_x[i:i + r], chunk_y[i:i + r]), *update]
            for i in range(0, count * r, r)]


def _augment_ops(augment: Augmentation | None, rng: np.random.Generator | None,
                 x: Array) -> list[Op]:
    """Replace the batch's gathered inputs ``x`` (rows of the gather buffer) by their
    augmentation, as ``epoch_items`` does."""
    if augment is None:
        return []
    assert rng is not None, "config_streams gives the augmentation stream"
    return [(_augment_into, (augment, rng, x))]


def _augment_into(augment: Augmentation, rng: np.random.Generator, x: Array) -> None:
    x[...] = augmented(augment, rng, x)


def _mask_ops(hidden: tuple[_Layer, ...], p: float,
              rng: np.random.Generator | None) -> list[Op]:
    """Draw this batch's inverted-dropout masks as ``dropout_masks`` does: per hidden layer,
    uniforms ``rng.random((r, k))``, kept where ≥ p, as floats divided by 1 - p."""
    if not p:
        return []
    assert rng is not None, "epoch_streams(dropout=True) gives the mask stream"
    ops: list[Op] = []
    for layer in hidden:
        keep = layer.mask.dtype.type(1 - p)
        ops += [(_draw, (rng, layer.draw)), (np.greater_equal, (layer.draw, p, layer.flags)),
                (np.copyto, (layer.mask, layer.flags)),
                (np.divide, (layer.mask, keep, layer.mask))]
    return ops


def _draw(rng: np.random.Generator, out: NDArray[np.float64]) -> None:
    rng.random(out=out)


def _gradient_ops(layers: tuple[_Layer, ...], plan: _Plan, x: Array, y: Array) -> list[Op]:
    """The ops leaving Σ∇w and Σ∇b of the batch (x, y) in every layer's gw and gb."""
    inputs = (x, *(layer.a for layer in layers[:-1]))
    ops: list[Op] = []
    for layer, a_in, name in zip(layers, inputs, (*plan.hidden, None)):
        ops += [_product(a_in, layer.w.T, layer.z), (np.add, (layer.z, layer.b, layer.z))]
        ops += _hidden_ops(layer, name, bool(plan.dropout)) if name else _output_ops(layer, plan.cost, y)
    for l in range(len(layers) - 1, -1, -1):
        layer = layers[l]
        ops += [_product(layer.delta.T, inputs[l], layer.gw),  # δᵀ·a
                (np.add.reduce, (layer.delta, 0, None, layer.gb))]  # δ.sum(axis=0)
        if l:
            below = layers[l - 1]  # δ_{l-1} = (δ_l · w_l) ⊙ f'(z_{l-1}) [⊙ mask]
            ops += [_product(layer.delta, layer.w, below.back),
                    *_prime_ops(below, plan.hidden[l - 1]),
                    (np.multiply, (below.back, below.sp, below.delta))]
            if plan.dropout:
                ops.append((np.multiply, (below.delta, below.mask, below.delta)))
    return ops


def _product(a: Array, b: Array, out: Array) -> Op:
    """``a @ b`` into ``out``. For matrices (every dimension > 1) ``np.dot`` and
    ``np.matmul`` make the same ``gemm`` call, and ``np.dot`` costs less to enter, but it
    zeroes ``out`` first, so it only pays for small outputs. Vector shapes keep matmul's
    own (gemv) path, as in the reference."""
    small_matrix = min(*a.shape, b.shape[1]) > 1 and out.size <= _DOT_MAX
    return (np.dot if small_matrix else np.matmul, (a, b, out))


def _sigmoid_ops(layer: _Layer, out: Array) -> list[Op]:
    """σ(z) = exp(min(z, 0)) / (1 + exp(-|z|)) into ``out``; leaves e and 1 + e for σ'."""
    num, e = layer.pair
    return [(np.fmin, (layer.z, layer.zeros, num)),
            (np.copysign, (layer.z, layer.minus, e)),
            (np.exp, (layer.pair, layer.pair)),
            (np.add, (e, layer.ones, layer.den)),
            (np.divide, (num, layer.den, out))]


def _hidden_ops(layer: _Layer, name: str, dropout: bool) -> list[Op]:
    """The hidden activation of z (as the reference: sigmoid, np.tanh, np.maximum(z, 0)),
    then the dropout mask."""
    if name == "sigmoid":
        ops = _sigmoid_ops(layer, layer.plain)
    elif name == "tanh":
        ops = [(np.tanh, (layer.z, layer.plain))]
    else:  # NumPy 2 takes maximum's output by keyword only
        ops = [(partial(np.maximum, out=layer.plain), (layer.z, 0))]
    if dropout:
        ops.append((np.multiply, (layer.plain, layer.mask, layer.a)))
    return ops


def _prime_ops(layer: _Layer, name: str) -> list[Op]:
    """The derivative of the hidden activation into ``sp``, as the reference computes it."""
    if name == "sigmoid":  # σ'(z) = e / (1 + e)² from the forward pass's e and 1 + e
        return [(np.square, (layer.den, layer.sp)),
                (np.divide, (layer.pair[1], layer.sp, layer.sp))]
    if name == "tanh":  # 1 - a·a
        return [(np.multiply, (layer.plain, layer.plain, layer.sp)),
                (np.subtract, (1.0, layer.sp, layer.sp))]
    return [(np.greater, (layer.z, 0, layer.flags)),  # (z > 0) as 0.0 / 1.0
            (np.copyto, (layer.sp, layer.flags))]


def _output_ops(out: _Layer, cost: str, y: Array) -> list[Op]:
    """The output activation and δ = ∂C/∂z for the batch's targets ``y``."""
    if cost == "log_likelihood":  # softmax, shifted by the row maximum; δ = a - y
        e = out.pair[0]
        return [(np.maximum.reduce, (out.z, 1, None, out.rowmax, True)),
                (np.subtract, (out.z, out.rowmax, e)), (np.exp, (e, e)),
                (np.add.reduce, (e, 1, None, out.rowsum, True)),
                (np.divide, (e, out.rowsum, out.a)), (np.subtract, (out.a, y, out.delta))]
    ops: list[Op] = [*_sigmoid_ops(out, out.a), (np.subtract, (out.a, y, out.delta))]
    if cost == "quadratic":  # δ = (a - y) ⊙ σ'(z)
        ops += [*_prime_ops(out, "sigmoid"), (np.multiply, (out.delta, out.sp, out.delta))]
    return ops


# --------------------------------------------------------------------------- updates


def _update_ops(buffers: _Buffers, plan: _Plan, r: int) -> list[Op]:
    """The update of every layer at once, from Σ∇ in ``grads``."""
    if plan.kind.name == "gradient_descent":
        return _network2_ops(buffers, plan, r)
    step: Op = (_OPTIMIZER_STEPS[plan.kind.name], (buffers, plan.kind.settings))
    return [*_objective_ops(buffers, plan, r), step]


def _network2_ops(buffers: _Buffers, plan: _Plan, r: int) -> list[Op]:
    """w ← shrink·w - step·Σ∇w [- kick·sgn w₀] and b ← b - step·Σ∇b."""
    eta = plan.kind.settings["eta"]
    step, shrink = eta / r, 1 - eta * (plan.lmbda / plan.n)
    flat, grads, weights = buffers.flat, buffers.grads, buffers.flat[:buffers.n_weights]
    signs = buffers.scratch[:buffers.n_weights]
    ops: list[Op] = [(np.sign, (weights, signs))] if plan.l1 else []
    ops.append((np.multiply, (grads, step, grads)))
    if shrink != 1.0:
        ops.append((np.multiply, (weights, shrink, weights)))
    ops.append((np.subtract, (flat, grads, flat)))
    if plan.l1:
        kick = eta * (plan.l1 / plan.n)
        ops += [(np.multiply, (signs, kick, signs)), (np.subtract, (weights, signs, weights))]
    return ops


def _objective_ops(buffers: _Buffers, plan: _Plan, r: int) -> list[Op]:
    """The mean gradient (Σ∇ · 1/m), plus (λ/n)·W, plus (λ₁/n)·sgn W: the gradient every
    other optimizer is given."""
    grads, weights = buffers.grads, buffers.flat[:buffers.n_weights]
    g_w, t = grads[:buffers.n_weights], buffers.scratch[:buffers.n_weights]
    ops: list[Op] = [(np.multiply, (grads, 1.0 / r, grads))]
    if plan.lmbda:
        ops += [(np.multiply, (weights, plan.lmbda / plan.n, t)), (np.add, (g_w, t, g_w))]
    if plan.l1:
        ops += [(np.sign, (weights, t)), (np.multiply, (t, plan.l1 / plan.n, t)),
                (np.add, (g_w, t, g_w))]
    return ops


def _momentum_step(b: _Buffers, settings: dict[str, float]) -> None:
    """v ← μ·v - η·g; p ← p + v."""
    (v,), g, t = b.moments, b.grads, b.scratch
    np.multiply(v, settings["mu"], out=v)
    np.multiply(g, settings["eta"], out=t)
    np.subtract(v, t, out=v)
    np.add(b.flat, v, out=b.flat)


def _nesterov_step(b: _Buffers, settings: dict[str, float]) -> None:
    """v ← μ·v - η·g; p ← p + (μ·v - η·g)."""
    (v,), g, t, u = b.moments, b.grads, b.scratch, b.scratch2
    mu, eta = settings["mu"], settings["eta"]
    np.multiply(v, mu, out=v)
    np.multiply(g, eta, out=t)
    np.subtract(v, t, out=v)
    np.multiply(v, mu, out=u)
    np.subtract(u, t, out=u)
    np.add(b.flat, u, out=b.flat)


def _adam_step(b: _Buffers, settings: dict[str, float]) -> None:
    """Adam as ``fnn.optimizers.adam`` computes it, operation for operation."""
    (m, v), g, t, u = b.moments, b.grads, b.scratch, b.scratch2
    beta1, beta2, eta, eps = settings["beta1"], settings["beta2"], settings["eta"], settings["eps"]
    b.counter[0] += 1
    step = b.counter[0]
    np.multiply(m, beta1, out=m)
    np.multiply(g, 1 - beta1, out=t)
    np.add(m, t, out=m)
    np.multiply(g, g, out=t)
    np.multiply(t, 1 - beta2, out=t)
    np.multiply(v, beta2, out=v)
    np.add(v, t, out=v)
    c1, c2 = 1 - beta1**step, 1 - beta2**step
    np.divide(m, c1, out=u)
    np.multiply(u, eta, out=u)  # eta · (m / c1)
    np.divide(v, c2, out=t)
    np.sqrt(t, out=t)
    np.add(t, eps, out=t)
    np.divide(u, t, out=u)
    np.negative(u, out=u)
    np.add(b.flat, u, out=b.flat)


_OPTIMIZER_STEPS: dict[str, Callable[[_Buffers, dict[str, float]], None]] = {
    "momentum": _momentum_step, "nesterov": _nesterov_step, "adam": _adam_step}

