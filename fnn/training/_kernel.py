"""The compiled chunk of mini-batch steps behind ``fnn.training.compiled`` (needs numba).

``run_chunk`` runs consecutive mini-batches: it copies each batch's rows into a small reused
buffer, runs the forward pass, the output delta, backprop and the update, with the
parameters, the gradient and the optimizer's moments in flat buffers laid out as
``fnn.training.fastpath`` lays them out. Matrix products go to BLAS (``np.dot`` through
numba, and SciPy's ``gemm`` for network2's fused update); everything else is a simple loop
over contiguous memory that LLVM vectorizes, including the exponential (``_exp64``,
``_exp32``: the C library's ``exp`` would be a call per number). Each operation follows the
reference's formula and order (``fnn.training.reference``, ``fnn.optimizers``), and every
constant is rounded to the parameters' float type first, as NumPy does with a Python float.

Where the time goes (``bench/speed.py --profile``): at batch 10 the products and the
compiled loops together take about GEMM-only time; what is left is reading the batch's
rows, scattered over the training set, from main memory. Software prefetching (all of the
next batch at once, or a piece before each product) did not shorten it on the benchmark
machine, so there is none.

Codes: activations 0 sigmoid, 1 tanh, 2 ReLU; costs 0 cross-entropy, 1 quadratic,
2 log-likelihood (softmax); optimizers 0 gradient descent (network2's update), 1 momentum,
2 Nesterov, 3 Adam. ``hyper`` is (eta, mu, beta1, beta2, eps, lmbda, l1, n, dropout).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (loads the BLAS whose gemm is called below)
from llvmlite import binding, ir
from numba import njit, types
from numba.extending import get_cython_function_address, intrinsic, overload

__all__ = ["run_chunk"]

Array = Any
_NO, _TRANSPOSED = ord("N"), ord("T")
_jit = njit(cache=True, nogil=True, error_model="numpy")
"""Every kernel function: cached on disk, releases the GIL, and divides as NumPy does (no
ZeroDivisionError check in the loop, which would keep LLVM from vectorizing it)."""
_inlined = njit(cache=True, nogil=True, error_model="numpy", inline="always")

# e**x for x <= 0 (``_exp64``, ``_exp32``): x = k·ln 2 + r with |r| <= ln 2 / 2, ln 2 split
# in two so that k·ln2_hi is exact (Cody and Waite); e**r by its Taylor series (to r**13/13!
# in float64, r**7/7! in float32: the first term left out is below a fifth of an ulp);
# 2**k as the product of two powers of two, so that subnormal results come out right.
_LOG2_E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # 32 significant bits
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(14))
_EXP_FLOOR = -746.0  # e**-746 rounds to 0.0 in float64
_F32 = np.float32
_LOG2_E32, _HALF32 = _F32(_LOG2_E), _F32(0.5)
_LN2_HI32 = _F32(0.693359375)  # 9 significant bits
_LN2_LO32 = _F32(math.log(2) - 0.693359375)
_TAYLOR32 = tuple(_F32(1.0 / math.factorial(k)) for k in range(8))
_EXP_FLOOR32 = _F32(-104.0)  # e**-104 rounds to 0.0 in float32


def _blas(name: str) -> Any:
    """SciPy's BLAS ``name`` as an external function numba calls by symbol (so that the
    compiled code can be cached: a ctypes pointer could not). Fortran passes every
    argument by address; the addresses are given as integers."""
    symbol = f"fnn_{name}"
    binding.add_symbol(symbol, get_cython_function_address("scipy.linalg.cython_blas", name))
    return types.ExternalFunction(symbol, types.void(*([types.intp] * 13)))


_DGEMM, _SGEMM = _blas("dgemm"), _blas("sgemm")


@_jit
def _scaled_update(w: Array, delta: Array, a_in: Array, alpha: Any, beta: Any, flags: Array,
                   dims: Array, scalars: Array) -> None:
    """w ← beta·w + alpha·(δᵀ·a) in one BLAS gemm call (the weight gradient never stored).

    Row-major w (k, n) is column-major wᵀ (n, k) = aᵀ·δ, so the column-major call is
    gemm('N', 'T', n, k, m, alpha, a, n, δ, k, beta, w, n). ``flags`` holds 'N', 'T';
    ``dims`` (3 int32) and ``scalars`` (2 of w's type) are scratch for the arguments.
    """
    dims[0], dims[1], dims[2] = a_in.shape[1], delta.shape[1], a_in.shape[0]
    scalars[0], scalars[1] = alpha, beta
    f, d, s = flags.ctypes.data, dims.ctypes.data, scalars.ctypes.data
    n_, k_, m_ = d, d + 4, d + 8
    if w.itemsize == 8:
        _DGEMM(f, f + 1, n_, k_, m_, s, a_in.ctypes.data, n_, delta.ctypes.data, k_, s + 8,
               w.ctypes.data, n_)
    else:
        _SGEMM(f, f + 1, n_, k_, m_, s, a_in.ctypes.data, n_, delta.ctypes.data, k_, s + 4,
               w.ctypes.data, n_)


@_jit
def _copy_rows(x: Array, rows: Array, start: int, out: Array) -> None:
    n = x.shape[1]
    for i in range(out.shape[0]):
        r = rows[start + i]
        for j in range(n):
            out[i, j] = x[r, j]


def _bits_as_float(typingctx: Any, bits: Any) -> Any:  # noqa: ARG001 (numba's signature)
    """The float (float64 for int64 ``bits``, float32 for int32) with those IEEE bits."""
    wide = bits.bitwidth == 64

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:  # noqa: ARG001
        return builder.bitcast(args[0], ir.DoubleType() if wide else ir.FloatType())
    return (types.float64 if wide else types.float32)(bits), codegen


_float_from_bits: Any = intrinsic(_bits_as_float)  # called from compiled code only


@_inlined
def _exp64(x: float) -> Any:
    """e**x in float64 for x <= 0 (and NaN), within 1.2 ulp (tested), in straight-line code that LLVM
    vectorizes (the C library's ``exp``, which ``math.exp`` calls, is one call per number)."""
    x = max(x, _EXP_FLOOR)
    k = math.floor(x * _LOG2_E + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    c = _TAYLOR
    p = c[13]
    for i in range(12, -1, -1):
        p = p * r + c[i]
    half = np.int64(k) >> 1
    rest = np.int64(k) - half
    return p * _float_from_bits((half + 1023) << 52) * _float_from_bits((rest + 1023) << 52)


@_inlined
def _exp32(x: Any) -> Any:
    """``_exp64`` in float32 arithmetic for a float32 x <= 0, within 1.2 ulp (tested; NumPy's
    own float32 exp is within 2.5)."""
    x = max(x, _EXP_FLOOR32)
    k = np.floor(x * _LOG2_E32 + _HALF32)  # a float32 (math.floor gives an int64)
    r = (x - k * _LN2_HI32) - k * _LN2_LO32
    c = _TAYLOR32
    p = c[7]
    for i in range(6, -1, -1):
        p = p * r + c[i]
    half = np.int32(k) >> 1  # numba computes in int64; the bits are cast back to int32
    rest = np.int32(k) - half
    return (p * _float_from_bits(np.int32((half + 127) << 23))
            * _float_from_bits(np.int32((rest + 127) << 23)))


def _exp(x: Any, one: Any) -> Any:
    """e**x for x <= 0 in the float type of ``one`` (``_exp32`` or ``_exp64``)."""
    raise NotImplementedError("compiled only")  # pragma: no cover


@overload(_exp, jit_options={"error_model": "numpy"}, inline="always")  # no cache: inlined
def _exp_typed(x: Any, one: Any) -> Any:  # noqa: ARG001 (numba passes the types)
    def exp32(x: Any, one: Any) -> Any:  # noqa: ARG001
        return _exp32(_F32(x))

    def exp64(x: Any, one: Any) -> Any:  # noqa: ARG001
        return _exp64(float(x))
    return exp32 if one == types.float32 else exp64


@_inlined
def _sigmoid_prime_of(e: Any, one: Any) -> Any:
    """σ' = e / (1 + e)², from e = e**-|z|, as fnn.activations.sigmoid_prime."""
    d = one + e
    return e / (d * d)


# Elementwise passes run over the flat (1-d, contiguous) storage of a layer's arrays: long
# simple loops that LLVM vectorizes; ``_flat`` is such a view of a contiguous 2-d array.


@_inlined
def _flat(a: Array) -> Array:
    return a.ravel()  # a view: every array here is a C-contiguous slice of a buffer


@_jit
def _affine(a_in: Array, w: Array, b: Array, z: Array) -> None:
    """z = a·wᵀ + b."""
    np.dot(a_in, w.T, z)
    for i in range(z.shape[0]):
        row = z[i]
        for j in range(row.shape[0]):
            row[j] = row[j] + b[j]


@_jit
def _sigmoid(z: Array, out: Array) -> None:
    """out = where(z ≥ 0, 1, e) / (1 + e) with e = e**-|z| (fnn.activations.sigmoid), and
    z ← e, which σ' reads (``_sigmoid_prime_of``)."""
    z, out = _flat(z), _flat(out)
    one = z.dtype.type(1.0)
    for i in range(z.shape[0]):
        zi = z[i]
        e = _exp(-abs(zi), one)
        z[i] = e
        out[i] = (one if zi >= 0 else e) / (one + e)


@_jit
def _activate(z: Array, act: int, out: Array) -> None:
    """out = f(z) for activation code ``act``; a sigmoid layer's z becomes e**-|z|."""
    if act == 0:
        _sigmoid(z, out)
        return
    z, out = _flat(z), _flat(out)
    zero = z.dtype.type(0.0)
    if act == 1:
        for i in range(z.shape[0]):
            out[i] = math.tanh(z[i])
    else:
        for i in range(z.shape[0]):
            out[i] = max(zero, z[i])


@_jit
def _mask(uniforms: Array, p: float, keep: Any, plain: Array, mask: Array, out: Array) -> None:
    """mask = (u ≥ p) / (1 - p) from the layer's draws; out = plain · mask."""
    plain, mask, out = _flat(plain), _flat(mask), _flat(out)
    zero = mask.dtype.type(0.0)
    for i in range(plain.shape[0]):
        mask[i] = keep if uniforms[i] >= p else zero
        out[i] = plain[i] * mask[i]


@_jit
def _output(z: Array, a: Array, y: Array, delta: Array, cost: int) -> None:
    """The output layer's activation ``a`` and δ = ∂C/∂z for targets ``y``."""
    if cost == 2:  # softmax, shifted by the row maximum; δ = a - y
        one = z.dtype.type(1.0)
        for i in range(z.shape[0]):
            zi, ai = z[i], a[i]
            top = zi[0]
            for j in range(1, zi.shape[0]):
                top = max(top, zi[j])
            total = z.dtype.type(0.0)
            for j in range(zi.shape[0]):
                ai[j] = _exp(zi[j] - top, one)
                total += ai[j]
            for j in range(zi.shape[0]):
                ai[j] = ai[j] / total
        _difference(a, y, delta)
        return
    _sigmoid(z, a)
    _difference(a, y, delta)
    if cost == 1:  # quadratic: δ = (a - y) ⊙ σ'(z), z holding e**-|z|
        e, d = _flat(z), _flat(delta)
        one = z.dtype.type(1.0)
        for i in range(d.shape[0]):
            d[i] = d[i] * _sigmoid_prime_of(e[i], one)


@_jit
def _difference(a: Array, y: Array, out: Array) -> None:
    a, y, out = _flat(a), _flat(y), _flat(out)
    for i in range(a.shape[0]):
        out[i] = a[i] - y[i]


@_jit
def _back(delta: Array, w: Array, below: Array, z: Array, plain: Array, act: int) -> None:
    """δ below = (δ·w) ⊙ f'(z), in place in ``below`` (the caller applies the mask); a
    sigmoid layer's ``z`` holds e**-|z| (see ``_activate``)."""
    np.dot(delta, w, below)
    d, z, plain = _flat(below), _flat(z), _flat(plain)
    one, zero = z.dtype.type(1.0), z.dtype.type(0.0)
    if act == 0:
        for i in range(d.shape[0]):
            d[i] = d[i] * _sigmoid_prime_of(z[i], one)
    elif act == 1:
        for i in range(d.shape[0]):
            d[i] = d[i] * (one - plain[i] * plain[i])
    else:
        for i in range(d.shape[0]):
            d[i] = d[i] * (one if z[i] > zero else zero)


@_jit
def _decay_and_kick(w: Array, decay: Any, kick: Any) -> None:
    """w ← decay·w - kick·sgn w: network2's L2 and L1 terms in one pass, before the gemm
    adds the gradient's part (beta 1). NumPy rounds ``decay·w - step·∇ - kick·sgn w`` in
    another order: the engines agree within ``compiled.TOLERANCE``, not bit for bit."""
    one = w.dtype.type(1.0)
    for i in range(w.shape[0]):
        w[i] = decay * w[i] - kick * _sign(w[i], one)


@_jit
def _times(a: Array, b: Array) -> None:
    a, b = _flat(a), _flat(b)
    for i in range(a.shape[0]):
        a[i] = a[i] * b[i]


@_jit
def _column_sums(delta: Array, out: Array) -> None:
    out[:] = 0
    for i in range(delta.shape[0]):
        row = delta[i]
        for j in range(row.shape[0]):
            out[j] += row[j]


@_inlined
def _sign(x: Any, one: Any) -> Any:
    """np.sign(x): ``one``, ``-one`` or a zero (NaN stays NaN), in x's own type (``one`` is
    1 of that type: a literal 1 would make it float64, and with it every expression it
    enters, which in float32 kept the update loops from vectorizing)."""
    return one if x > 0 else -one if x < 0 else x - x


@_inlined
def _gradient(grads: Array, flat: Array, i: int, inv_m: Any, decay: Any, kick: Any, one: Any,
              l2: bool, l1: bool) -> Any:
    """g = Σ∇·(1/m) [+ (λ/n)·w] [+ (λ₁/n)·sgn w] for number i (as ``_objective_ops``)."""
    g = grads[i] * inv_m
    if l2:
        g = g + decay * flat[i]
    if l1:
        g = g + kick * _sign(flat[i], one)
    return g


@_jit
def _update(opt: int, flat: Array, grads: Array, m1: Array, m2: Array, c: Array, lo: int,
            hi: int, l2: bool, l1: bool) -> None:
    """Momentum, Nesterov or Adam on ``flat[lo:hi]``, each number in one pass: its gradient
    (``_gradient``), then the optimizer's formula (as ``fnn.optimizers``). c: 1/m, λ/n, λ₁/n,
    eta, mu, beta1, 1-beta1, beta2, 1-beta2, eta/(1-beta1**t), 1/(1-beta2**t), eps. One loop per
    optimizer and per (L2, L1), each without a branch, so that LLVM vectorizes every one."""
    # slices indexed from 0: an index that starts at an arbitrary lo might be negative, and
    # numba's wraparound check for it kept every loop scalar
    p, g, m1, m2 = flat[lo:hi], grads[lo:hi], m1[lo:hi], m2[lo:hi]
    if l2 and l1:
        _update_loop(opt, p, g, m1, m2, c, True, True)
    elif l2:
        _update_loop(opt, p, g, m1, m2, c, True, False)
    elif l1:
        _update_loop(opt, p, g, m1, m2, c, False, True)
    else:
        _update_loop(opt, p, g, m1, m2, c, False, False)


@_inlined
def _update_loop(opt: int, flat: Array, grads: Array, m1: Array, m2: Array, c: Array, l2: bool,
                 l1: bool) -> None:
    inv_m, decay, kick, eta, mu = c[0], c[1], c[2], c[3], c[4]
    beta1, rest1, beta2, rest2, step, r2, eps = c[5], c[6], c[7], c[8], c[9], c[10], c[11]
    one = c.dtype.type(1.0)
    if opt == 1:  # v ← μ·v - η·g; p ← p + v
        for i in range(flat.shape[0]):
            g = _gradient(grads, flat, i, inv_m, decay, kick, one, l2, l1)
            v = mu * m1[i] - eta * g
            m1[i] = v
            flat[i] = flat[i] + v
    elif opt == 2:  # v ← μ·v - η·g; p ← p + (μ·v - η·g)
        for i in range(flat.shape[0]):
            t = eta * _gradient(grads, flat, i, inv_m, decay, kick, one, l2, l1)
            v = mu * m1[i] - t
            m1[i] = v
            flat[i] = flat[i] + (mu * v - t)
    else:  # Adam, one division per number: η/(1-β₁ᵗ) and 1/(1-β₂ᵗ) are taken once a step
        for i in range(flat.shape[0]):
            g = _gradient(grads, flat, i, inv_m, decay, kick, one, l2, l1)
            m = beta1 * m1[i] + rest1 * g
            v = beta2 * m2[i] + rest2 * (g * g)
            m1[i] = m
            m2[i] = v
            flat[i] = flat[i] + -(step * m / (math.sqrt(v * r2) + eps))


@_jit
def _view(buffer: Array, at: int, m: int, k: int) -> Array:
    return buffer[at:at + m * k].reshape((m, k))


@_jit
def run_chunk(x: Array, y: Array, rows: Array, batch_sizes: Array, sizes: Array,
              w_off: Array, b_off: Array, acts: Array, codes: Array, flat: Array,
              grads: Array, m1: Array, m2: Array, counter: Array, hyper: Array,
              uniforms: Array, units: int) -> None:
    """Run ``len(batch_sizes)`` mini-batch steps, batch after batch over the examples
    ``x[rows]``, ``y[rows]``."""
    n_layers = sizes.shape[0] - 1
    cost, opt, drop = codes[0], codes[1], codes[2] == 1
    biggest, dtype = batch_sizes[0], flat.dtype
    z_all = np.empty(biggest * units, dtype)  # per layer: z, activation, plain, δ, mask
    a_all = np.empty(biggest * units, dtype)
    p_all = np.empty(biggest * units, dtype) if drop else a_all
    d_all = np.empty(biggest * units, dtype)
    q_all = np.empty(biggest * units, dtype) if drop else a_all
    x_buffer = np.empty(biggest * x.shape[1], dtype)
    y_buffer = np.empty(biggest * y.shape[1], dtype)
    c = np.empty(12, dtype)
    flags, dims = np.array([_NO, _TRANSPOSED], np.uint8), np.empty(3, np.int32)
    scalars = np.empty(2, dtype)
    eta, mu, beta1, beta2, eps = hyper[0], hyper[1], hyper[2], hyper[3], hyper[4]
    lmbda, l1, n, p_drop = hyper[5], hyper[6], hyper[7], hyper[8]
    n_weights = w_off[n_layers]
    one = dtype.type(1.0)
    keep = one / dtype.type(1.0 - p_drop) if drop else one
    row, u_at, t = 0, 0, counter[0]
    for step in range(batch_sizes.shape[0]):
        m = batch_sizes[step]
        xb, yb = _view(x_buffer, 0, m, x.shape[1]), _view(y_buffer, 0, m, y.shape[1])
        _copy_rows(x, rows, row, xb)
        _copy_rows(y, rows, row, yb)
        at = 0
        for l in range(n_layers):  # forward
            n_in, k = sizes[l], sizes[l + 1]
            w = flat[w_off[l]:w_off[l + 1]].reshape((k, n_in))
            z, a = _view(z_all, at, m, k), _view(a_all, at, m, k)
            _affine(xb if l == 0 else _view(a_all, at - m * n_in, m, n_in), w,
                    flat[b_off[l]:b_off[l] + k], z)
            if l == n_layers - 1:
                _output(z, a, yb, _view(d_all, at, m, k), cost)
            elif drop:
                plain = _view(p_all, at, m, k)
                _activate(z, acts[l], plain)
                _mask(uniforms[u_at:u_at + m * k], p_drop, keep, plain, _view(q_all, at, m, k),
                      a)
                u_at += m * k
            else:
                _activate(z, acts[l], a)
            at += m * k
        c[0], c[1], c[2] = eta / m, 1 - eta * (lmbda / n), eta * (l1 / n)
        for l in range(n_layers - 1, -1, -1):  # backward
            n_in, k = sizes[l], sizes[l + 1]
            at -= m * k
            delta = _view(d_all, at, m, k)
            a_in = xb if l == 0 else _view(a_all, at - m * n_in, m, n_in)
            w = flat[w_off[l]:w_off[l + 1]].reshape((k, n_in))
            if l:  # δ below, from this layer's weights before their update
                below = at - m * n_in
                _back(delta, w, _view(d_all, below, m, n_in), _view(z_all, below, m, n_in),
                      _view(p_all, below, m, n_in), acts[l - 1])
                if drop:
                    _times(_view(d_all, below, m, n_in), _view(q_all, below, m, n_in))
            _column_sums(delta, grads[b_off[l]:b_off[l] + k])
            if opt == 0:  # network2's update, the weights' part fused into the gemm
                decay = c[1]
                if l1 != 0:  # sgn w of the weights before this step, as network2
                    _decay_and_kick(flat[w_off[l]:w_off[l + 1]], decay, c[2])
                    decay = one
                _scaled_update(w, delta, a_in, -c[0], decay, flags, dims, scalars)
            else:
                np.dot(delta.T, a_in, grads[w_off[l]:w_off[l + 1]].reshape((k, n_in)))
        if opt == 0:
            for i in range(n_weights, flat.shape[0]):  # b ← b - step·Σ∇b
                flat[i] = flat[i] - c[0] * grads[i]
        else:
            t += 1
            c[0], c[1], c[2], c[3], c[4] = 1.0 / m, lmbda / n, l1 / n, eta, mu
            c[5], c[6], c[7], c[8] = beta1, 1 - beta1, beta2, 1 - beta2
            c[9], c[10], c[11] = eta / (1 - beta1 ** t), 1 / (1 - beta2 ** t), eps
            _update(opt, flat, grads, m1, m2, c, 0, n_weights, lmbda != 0, l1 != 0)
            _update(opt, flat, grads, m1, m2, c, n_weights, flat.shape[0], False, False)
        row += m
