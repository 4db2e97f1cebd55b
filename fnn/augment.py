"""Data augmentation as values: seeded transforms of a batch of training images.

An **augmentation** is any function ``aug(rng, x) -> x'`` of a random stream and a batch of
flattened images ``x`` (m, side·side), returning a new array of the same shape and dtype. It
never writes ``x``, draws only from ``rng``, and treats the whole batch at once. Training
hands it the epoch's own stream, so the same seed gives the same distorted images, a run
resumed from a checkpoint sees the images an uninterrupted one would, and a sweep can vary it.

>>> aug = compose(shift(), elastic(alpha=8.0, sigma=4.0))
>>> aug
compose(links=(shift(pixels=1, side=28), elastic(alpha=8.0, sigma=4.0, side=28)))
>>> x = np.zeros((5, 784), dtype=np.float32); x[:, 300:320] = 1.0
>>> a, b = aug(np.random.default_rng(0), x), aug(np.random.default_rng(0), x)
>>> a.shape, a.dtype, bool((a == b).all()), bool(((a >= 0) & (a <= 1)).all())
((5, 784), dtype('float32'), True, True)

fnn's own (``elastic``, ``affine``, ``shift``, ``compose``) are ``Bound`` values, so two built
alike are equal and ``fnn.registry`` can write them by name. Yours can be any function:

>>> def invert_some(rng, x):                   # the ink of about half the images inverted
...     flip = rng.random(x.shape[0]) < 0.5
...     return np.where(flip[:, None], 1 - x, x)
>>> compose(invert_some, shift())(np.random.default_rng(0), x).shape
(5, 784)

The geometric ones rest on two deterministic building blocks, ``displace`` (move every pixel's
content by its own displacement) and ``warp`` (move each image by its own affine map), both
bilinear with zeros outside the image, in plain NumPy over the whole batch. No scipy is needed:
smoothing a field by a Gaussian is a product with a small matrix and bilinear resampling is
four gathers, several times faster here than scipy.ndimage's ``gaussian_filter`` and
``map_coordinates`` on the stacked batch; the tests check both against those.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fnn._bound import bind
from fnn._checks import fraction, non_negative_float, non_negative_int, positive_int
from fnn.errors import ConfigError, DataError, FnnTypeError
from fnn.params import Array

__all__ = ["BOOK_SHIFTS", "Augmentation", "affine", "compose", "displace", "elastic", "shift",
           "warp"]

Augmentation = Callable[[np.random.Generator, Array], Array]
"""``aug(rng, x) -> x'``: a new batch of the same shape and dtype, drawn from ``rng`` only."""

BOOK_SHIFTS = ((-1, 0), (1, 0), (0, -1), (0, 1))
"""(rows, columns) moves of the book's expansion: up, down, left, right (``fnn.expand.SHIFTS``)."""


# --------------------------------------------------------------------------- building blocks


def _images(x: Any, side: int) -> Array:
    """``x`` seen as (m, side, side) images (a view), after checking its shape and dtype."""
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != side * side:
        raise DataError(f"x must be (m, {side * side}) rows of {side}x{side} images, got "
                        f"{getattr(x, 'shape', type(x).__name__)}")
    if x.dtype.kind != "f":
        raise DataError(f"x must hold floating-point pixels, got dtype {x.dtype}")
    return x.reshape(-1, side, side)


def _bilinear(images: NDArray[Any], rows: NDArray[Any], cols: NDArray[Any]) -> NDArray[Any]:
    """Each image sampled at its own (rows, cols) positions, (m, s, s) each: bilinear, zeros
    outside; computed in the images' dtype (in place on its own temporaries: the bulk of an
    elastic distortion's time is spent here)."""
    m, side = images.shape[0], images.shape[1]
    width = side + 3  # one zero row/column before the image, two after
    padded = np.zeros((m, width, width), images.dtype)
    padded[:, 1:side + 1, 1:side + 1] = images
    flat = padded.ravel()
    # Beyond one pixel outside, both neighbours are zero: clamping there changes nothing.
    r = np.clip(rows, -1, side).astype(images.dtype, copy=False)
    c = np.clip(cols, -1, side).astype(images.dtype, copy=False)
    r0, c0 = np.floor(r), np.floor(c)
    r -= r0
    c -= c0
    r0 *= width
    r0 += c0  # the top-left neighbour's offset in its padded image: a small exact integer
    corner = r0.astype(np.intp)
    corner += np.arange(width + 1, m * width * width + 1, width * width)[:, None, None]
    a: NDArray[Any] = flat.take(corner)
    b = flat.take(corner + 1)
    corner += width
    lower, d = flat.take(corner), flat.take(corner + 1)
    b -= a
    b *= c
    a += b  # the upper pair interpolated
    d -= lower
    d *= c
    d += lower  # the lower pair
    d -= a
    d *= r
    a += d
    return a


def _within(out: NDArray[Any], x: Array) -> NDArray[Any]:
    """``out`` clipped to the hull of x's values and the zero fill. Interpolation weights are
    convex, so this only removes a possible last-bit rounding overshoot: it keeps the promise
    that pixels in [0, 1] stay in [0, 1] exactly."""
    np.clip(out, min(float(x.min()), 0.0), max(float(x.max()), 0.0), out=out)
    return out


def _grid(side: int, dtype: np.dtype[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
    """Row and column indices, (side, 1) and (1, side), in ``dtype``."""
    return np.arange(side, dtype=dtype)[:, None], np.arange(side, dtype=dtype)[None, :]


def displace(x: Array, dy: NDArray[Any], dx: NDArray[Any], *, side: int = 28) -> Array:
    """Every pixel's content moved by its own displacement: ``dy`` rows down and ``dx``
    columns right (each broadcastable to (m, side, side)), by bilinear interpolation, zeros
    coming in from outside. A constant displacement is a shift:

    >>> displace(np.arange(4.0).reshape(1, 4), np.zeros(1), np.ones(1), side=2).tolist()
    [[0.0, 0.0, 0.0, 2.0]]
    """
    images = _images(x, positive_int("side", side))
    if x.size == 0:
        return x.copy()
    rows, cols = _grid(side, x.dtype)
    shape = images.shape
    out = _bilinear(images, np.broadcast_to(rows - np.asarray(dy), shape),
                    np.broadcast_to(cols - np.asarray(dx), shape))
    return _within(out, x).reshape(x.shape)


def warp(x: Array, matrices: NDArray[Any], offsets: NDArray[Any] | None = None, *,
         side: int = 28) -> Array:
    """Each image moved by its own affine map about the image centre: the content at
    (row, column) p, measured from the centre, goes to ``matrices[k] @ p + offsets[k]``
    (matrices (m, 2, 2), offsets (m, 2) in pixels, rows first). Bilinear, zeros outside.

    A quarter turn counter-clockwise as displayed takes the top middle to the middle left:

    >>> img = np.zeros((1, 9)); img[0, 1] = 1.0
    >>> quarter = np.array([[[0.0, -1.0], [1.0, 0.0]]])
    >>> warp(img, quarter, side=3).reshape(3, 3).tolist()[1]
    [1.0, 0.0, 0.0]
    """
    images = _images(x, positive_int("side", side))
    matrices = np.asarray(matrices, dtype=np.float64)
    offsets = np.zeros((images.shape[0], 2)) if offsets is None else np.asarray(offsets,
                                                                                 np.float64)
    if matrices.shape != (images.shape[0], 2, 2) or offsets.shape != (images.shape[0], 2):
        raise DataError(f"warp needs one (2, 2) matrix and one (2,) offset per image "
                        f"({images.shape[0]}), got {matrices.shape} and {offsets.shape}")
    if x.size == 0:
        return x.copy()
    inverse = np.linalg.inv(matrices)
    centre = (side - 1) / 2
    rows, cols = _grid(side, np.dtype(np.float64))
    # Where each output pixel's content came from: the inverse map of its centred position.
    # A term in the row (m, side, 1) plus one in the column (m, 1, side): one full-size sum.
    u = (rows - centre)[None] - offsets[:, 0, None, None]
    v = (cols - centre)[None] - offsets[:, 1, None, None]
    src = [(inverse[:, i, 0, None, None] * u + centre).astype(x.dtype)
           + (inverse[:, i, 1, None, None] * v).astype(x.dtype) for i in (0, 1)]
    return _within(_bilinear(images, *src), x).reshape(x.shape)


# --------------------------------------------------------------------------- elastic


@lru_cache(maxsize=32)
def _gaussian_matrix(sigma: float, side: int) -> NDArray[np.float32]:
    """G with ``G @ f`` the Gaussian smoothing of f along its first axis, zeros beyond the
    edges: scipy.ndimage.gaussian_filter1d(f, sigma, mode="constant") (truncate 4), as one
    matrix product; float32, read-only, as it is shared."""
    if sigma == 0:
        g = np.eye(side)
    else:
        radius = int(4.0 * sigma + 0.5)
        taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
        taps /= taps.sum()
        offset = np.arange(side)[:, None] - np.arange(side)[None, :]
        g = np.where(np.abs(offset) <= radius, taps[np.clip(offset + radius, 0, 2 * radius)],
                     0.0)
    g32 = g.astype(np.float32)
    g32.setflags(write=False)
    return g32


def _elastic(rng: np.random.Generator, x: Array, *, alpha: float, sigma: float,
             side: int) -> Array:
    images = _images(x, side)
    if alpha == 0.0 or x.size == 0:
        return x.copy()
    g = _gaussian_matrix(sigma, side)
    fields = rng.random((2 * images.shape[0] * side, side), dtype=np.float32)
    fields *= 2
    fields -= 1  # uniform on [-1, 1)
    # smooth along the rows of all fields in one matrix product, then down their columns
    along = (fields @ g.T).reshape(2, *images.shape)
    dy, dx = (alpha * g) @ along
    return displace(x, dy, dx, side=side)


def elastic(alpha: float = 34.0, sigma: float = 4.0, side: int = 28) -> Augmentation:
    """Simard et al.'s elastic distortion (2003): per image, two fields of displacements drawn
    uniformly from [-1, 1) at every pixel, each smoothed by a Gaussian of width ``sigma``
    pixels (zeros beyond the edges, truncated at 4 sigma) and scaled by ``alpha``; the image
    is resampled bilinearly at the displaced positions, with zeros from outside.

    A small ``sigma`` gives a nearly random field; a large one a smoother (and, as it averages
    more draws, smaller) one, close to a translation. Simard et al. used sigma 4 and alpha
    34 on 28x28 MNIST: displacements of about 1.4 pixels (standard deviation).
    ``alpha=0`` is the identity. The fields are drawn and smoothed in float32 whatever x's
    dtype, so a float32 and a float64 batch get the same fields; only the resampling runs
    in x's dtype.

    >>> out = elastic()(np.random.default_rng(0), np.zeros((3, 784)))
    >>> out.shape
    (3, 784)
    >>> elastic(alpha=-1.0)
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: alpha must be a finite number >= 0, got -1.0
    """
    return bind(_elastic, alpha=non_negative_float("alpha", alpha),
                sigma=non_negative_float("sigma", sigma), side=positive_int("side", side))


# --------------------------------------------------------------------------- affine


def _affine_matrices(draws: NDArray[np.float64], *, degrees: float, scale: float,
                     shear: float) -> NDArray[np.float64]:
    """(m, 2, 2) maps of (row, column): scale, then shear, then rotate."""
    theta = np.deg2rad(degrees * draws[:, 0])
    k = np.tan(np.deg2rad(shear * draws[:, 1]))
    s = 1.0 + scale * draws[:, 2]
    cos, sin, one, zero = np.cos(theta), np.sin(theta), np.ones_like(k), np.zeros_like(k)
    # rows grow downwards: counter-clockwise as displayed is (r, c) -> (cos r - sin c, ...)
    rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    shearing = np.stack([np.stack([one, zero], -1), np.stack([-k, one], -1)], -2)
    maps: NDArray[np.float64] = rotation @ shearing * s[:, None, None]
    return maps


def _affine(rng: np.random.Generator, x: Array, *, degrees: float, scale: float, shear: float,
            shift: float, side: int) -> Array:
    images = _images(x, side)
    if degrees == scale == shear == shift == 0.0 or x.size == 0:
        return x.copy()
    draws = rng.uniform(-1.0, 1.0, (images.shape[0], 5))
    matrices = _affine_matrices(draws, degrees=degrees, scale=scale, shear=shear)
    return warp(x, matrices, shift * draws[:, 3:], side=side)


def affine(degrees: float = 10.0, scale: float = 0.1, shear: float = 10.0, shift: float = 1.0,
           side: int = 28) -> Augmentation:
    """Small random affine distortions: each image scaled by a factor in
    [1 - ``scale``, 1 + ``scale``], sheared by an angle in ±``shear`` degrees (a positive
    angle leans it right, like italics), rotated by ±``degrees`` (positive: counter-clockwise
    as displayed), all about its centre, then moved by up to ±``shift`` pixels along the rows
    and, independently, along the columns. Bilinear, zeros from outside (``warp``).

    Per image it draws one row of ``rng.uniform(-1, 1, 5)``: the fractions of the rotation,
    shear and scale bounds, and of ``shift`` for the rows and columns moved. All bounds 0 is
    the identity.

    >>> affine(degrees=15)(np.random.default_rng(0), np.zeros((2, 784), np.float32)).dtype
    dtype('float32')
    >>> affine(shear=90)
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: shear must be a number of degrees in [0, 90), got 90
    """
    if non_negative_float("shear", shear) >= 90:
        raise ConfigError(f"shear must be a number of degrees in [0, 90), got {shear!r}")
    return bind(_affine, degrees=non_negative_float("degrees", degrees),
                scale=fraction("scale", scale), shear=float(shear),
                shift=non_negative_float("shift", shift), side=positive_int("side", side))


# --------------------------------------------------------------------------- shift


def _shift(rng: np.random.Generator, x: Array, *, pixels: int, side: int) -> Array:
    images = _images(x, side)
    if pixels == 0 or x.size == 0:
        return x.copy()
    moves = np.array(((0, 0), *BOOK_SHIFTS)) * pixels
    dy, dx = moves[rng.integers(0, len(moves), images.shape[0])].T
    m, width = images.shape[0], side + 2 * pixels
    padded = np.zeros((m, width, width), x.dtype)
    padded[:, pixels:pixels + side, pixels:pixels + side] = images
    # content moved by (dy, dx): output (i, j) reads the padded input at (i - dy, j - dx)
    start = np.arange(m) * width * width + (pixels - dy) * width + (pixels - dx)
    pixel = np.arange(side)[:, None] * width + np.arange(side)[None, :]
    out: Array = padded.ravel().take(start[:, None, None] + pixel)
    return out.reshape(x.shape)


def shift(pixels: int = 1, side: int = 28) -> Augmentation:
    """The book's expansion, drawn afresh each epoch: each image is left as it is or moved
    ``pixels`` up, down, left or right (``BOOK_SHIFTS``), the five equally likely, with
    zeros shifted in (``rng.integers(0, 5)`` per image: 0 keeps it, 1-4 are the shifts in
    ``BOOK_SHIFTS``'s order).

    ``fnn.expand.expand(shifts=True)`` trains every epoch on the original and all four
    one-pixel shifts of each image, five times the data; ``shift()`` shows each image once per
    epoch as one of those five, so an epoch costs what it did without augmentation.
    ``pixels=0`` is the identity.

    >>> x = np.zeros((1, 9)); x[0, 4] = 1.0          # the centre of a 3x3 image
    >>> sorted({int(np.flatnonzero(shift(side=3)(np.random.default_rng(s), x))[0])
    ...         for s in range(30)})                  # where the centre pixel went
    [1, 3, 4, 5, 7]
    """
    return bind(_shift, pixels=non_negative_int("pixels", pixels),
                side=positive_int("side", side))


# --------------------------------------------------------------------------- compose


def _compose(rng: np.random.Generator, x: Array, *, links: tuple[Augmentation, ...]) -> Array:
    out = x.copy() if not links else x  # compose() is the identity, still a new array
    for aug in links:
        out = aug(rng, out)
    return out


def compose(*augs: Augmentation) -> Augmentation:
    """One augmentation applying ``augs`` in order, all drawing from the one stream in turn.

    >>> compose(shift(), elastic()) == compose(shift(), elastic())
    True
    >>> compose(shift(), "elastic")
    Traceback (most recent call last):
    ...
    fnn.errors.FnnTypeError: compose takes augmentations, functions (rng, x) -> x'; got 'elastic' at position 1
    """
    for i, aug in enumerate(augs):
        if not callable(aug):
            raise FnnTypeError(f"compose takes augmentations, functions (rng, x) -> x'; got "
                               f"{aug!r} at position {i}")
    return bind(_compose, links=tuple(augs))
