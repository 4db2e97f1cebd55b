"""Expanded training data: the book's one-pixel shifts of MNIST, and small rotations.

Pure functions of arrays and a seed: the originals come first, then each transformed
copy; labels follow their images. Images are rows of ``side × side`` pixels (28 for MNIST).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from fnn._checks import Seed, non_negative_float, non_negative_int, positive_int
from fnn.data import Labelled
from fnn.errors import ConfigError, DataError
from fnn.params import Array
from fnn.seeds import EXPAND, stream

__all__ = ["NO_EXPANSION", "SHIFTS", "Expansion", "expand", "expand_labelled", "rotate",
           "shift"]

SHIFTS = ((-1, 0), (1, 0), (0, -1), (0, 1))
"""(rows, columns) moves of the book's expansion: up, down, left, right by one pixel."""


class Expansion(NamedTuple):
    """How ``expand`` enlarges a training set: the four one-pixel ``shifts`` of each image,
    and ``rotations`` copies rotated by up to ±``max_degrees``.

    Its text form (command lines, sweep grids) is ``none``, ``shifts``, ``rotations:K`` or
    ``shifts+rotations:K``:

    >>> Expansion.parse("shifts+rotations:2")
    Expansion(shifts=True, rotations=2, max_degrees=10.0)
    >>> Expansion(shifts=True).text
    'shifts'
    """

    shifts: bool = False
    rotations: int = 0
    max_degrees: float = 10.0

    @property
    def text(self) -> str:
        """The text form (``max_degrees`` is not part of it)."""
        parts = (["shifts"] if self.shifts else []) + (
            [f"rotations:{self.rotations}"] if self.rotations else [])
        return "+".join(parts) or "none"

    @classmethod
    def parse(cls, text: str) -> Expansion:
        """The expansion ``text`` names (ConfigError for anything else)."""
        match = re.fullmatch(r"none|(shifts)|(?:(shifts)\+)?rotations:(\d+)", text.strip())
        if match is None:
            raise ConfigError(f"expansion must be none, shifts, rotations:K or "
                              f"shifts+rotations:K, got {text!r}")
        shifts, shifted, rotations = match.groups()
        return cls(shifts=bool(shifts or shifted), rotations=int(rotations or 0))

    def to_json(self) -> dict[str, Any]:
        """JSON data: ``{"shifts": ..., "rotations": ..., "max_degrees": ...}``."""
        return self._asdict()

    @classmethod
    def from_json(cls, data: Any) -> Expansion:
        """The expansion ``to_json`` wrote (ConfigError for anything else)."""
        if not isinstance(data, dict) or set(data) != set(cls._fields):
            raise ConfigError(f"expansion must have the keys {list(cls._fields)}, got {data!r}")
        if not isinstance(data["shifts"], bool):
            raise ConfigError(f"expansion shifts must be true or false, got {data['shifts']!r}")
        return cls(data["shifts"], non_negative_int("rotations", data["rotations"]),
                   non_negative_float("max_degrees", data["max_degrees"]))


NO_EXPANSION = Expansion()
"""The training set as it is: no shifts, no rotations."""


def _images(x: Array, side: int) -> Array:
    if x.ndim != 2 or x.shape[1] != side * side:
        raise DataError(f"x must be (n, {side * side}) rows of {side}x{side} images, "
                        f"got shape {x.shape}")
    return x.reshape(-1, side, side)


def shift(x: Array, dy: int, dx: int, *, side: int = 28) -> Array:
    """Every image moved ``dy`` rows down and ``dx`` columns right, zeros shifted in.

    >>> shift(np.arange(4.0).reshape(1, 4), 0, 1, side=2).tolist()
    [[0.0, 0.0, 0.0, 2.0]]
    """
    images = _images(x, side)
    out = np.zeros_like(images)
    rows = slice(max(dy, 0), side + min(dy, 0)), slice(max(-dy, 0), side + min(-dy, 0))
    cols = slice(max(dx, 0), side + min(dx, 0)), slice(max(-dx, 0), side + min(-dx, 0))
    out[:, rows[0], cols[0]] = images[:, rows[1], cols[1]]
    return out.reshape(x.shape)


def rotate(x: Array, degrees: NDArray[Any], *, side: int = 28) -> Array:
    """Each image rotated by its own angle (degrees, counter-clockwise) about its centre,
    by bilinear interpolation; pixels from outside the image are 0.

    >>> img = np.zeros((1, 9)); img[0, 1] = 1.0         # top middle of a 3x3 image
    >>> rotate(img, np.array([90.0]), side=3).reshape(3, 3).round(6).tolist()[1]
    [1.0, 0.0, 0.0]
    """
    images = _images(x, side)
    # rows grow downwards, so a counter-clockwise turn as displayed is a negative angle here
    theta = -np.deg2rad(np.asarray(degrees, dtype=np.float64))[:, None, None]
    c = (side - 1) / 2
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float64) - c
    # the source of each output pixel: rotate the output grid back by theta
    src_y = np.cos(theta) * yy - np.sin(theta) * xx + c
    src_x = np.sin(theta) * yy + np.cos(theta) * xx + c
    return _bilinear(images, src_y, src_x).astype(x.dtype).reshape(x.shape)


def _bilinear(images: Array, y: NDArray[Any], x: NDArray[Any]) -> NDArray[Any]:
    n, side = images.shape[0], images.shape[1]
    y0, x0 = np.floor(y).astype(np.int64), np.floor(x).astype(np.int64)
    fy, fx = y - y0, x - x0
    out = np.zeros(y.shape)
    idx = np.arange(n)[:, None, None]
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            yi, xi = y0 + dy, x0 + dx
            inside = (yi >= 0) & (yi < side) & (xi >= 0) & (xi < side)
            values = images[idx, np.clip(yi, 0, side - 1), np.clip(xi, 0, side - 1)]
            out += np.where(inside, values, 0.0) * wy * wx
    return out


def expand(x: Array, labels: NDArray[Any], *, seed: Seed, shifts: bool = True,
           rotations: int = 0, max_degrees: float = 10.0,
           side: int = 28) -> tuple[Array, NDArray[Any]]:
    """The originals, then (``shifts``) the four one-pixel shifts of each image, then
    ``rotations`` copies each rotated by an angle drawn uniformly from ±``max_degrees``.

    The book's expansion is ``shifts=True, rotations=0``: 50,000 images become 250,000.
    Angles come from ``seed``'s own expansion stream, so the result depends on
    (x, labels, seed) only.

    >>> x = np.random.default_rng(0).random((3, 784)); labels = np.array([1, 2, 3])
    >>> big, big_labels = expand(x, labels, seed=0, rotations=1)
    >>> big.shape, big_labels.tolist()[:7]
    ((18, 784), [1, 2, 3, 1, 2, 3, 1])
    """
    side = positive_int("side", side)
    rotations = non_negative_int("rotations", rotations)
    max_degrees = non_negative_float("max_degrees", max_degrees)
    _images(x, side)
    if labels.shape[:1] != x.shape[:1]:
        raise DataError(f"labels must have one entry per image ({x.shape[0]}), "
                        f"got shape {labels.shape}")
    parts = [x] + ([shift(x, dy, dx, side=side) for dy, dx in SHIFTS] if shifts else [])
    rng = stream(seed, EXPAND)
    parts += [rotate(x, np.asarray(rng.uniform(-max_degrees, max_degrees, x.shape[0])),
                     side=side) for _ in range(rotations)]
    return np.concatenate(parts), np.tile(labels, len(parts))


def expand_labelled(data: Labelled, expansion: Expansion, *, seed: Seed) -> Labelled:
    """``data`` expanded as ``expansion`` says (``data`` itself for ``NO_EXPANSION``)."""
    if not (expansion.shifts or expansion.rotations):
        return data
    return Labelled(*expand(data.x, data.labels, seed=seed, shifts=expansion.shifts,
                            rotations=expansion.rotations, max_degrees=expansion.max_degrees))
