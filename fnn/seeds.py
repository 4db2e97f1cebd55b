"""Derived random streams: one seed, a separate stream for each purpose.

A stream is keyed by the user's seed plus a purpose code and indices, through
``SeedSequence.spawn_key``, so streams never overlap and each depends only on its
key: epoch 7's shuffle is the same whether or not epochs 0-6 ran in this process.
"""

from __future__ import annotations

import numpy as np

from fnn._checks import Seed, seed_sequence

__all__ = ["AUGMENT", "DROPOUT", "EXPAND", "INIT", "SHUFFLE", "stream"]

# The purposes of fnn's streams: each gets its own, so none shifts another.
INIT = 0
"""The stream that draws the initial parameters."""
SHUFFLE = 1
"""Each epoch's shuffle of the training set (indexed by the epoch)."""
DROPOUT = 2
"""Each epoch's dropout masks (indexed by the epoch)."""
EXPAND = 3
"""The rotations of an expanded training set."""
AUGMENT = 4
"""Each epoch's augmentation draws (indexed by the epoch)."""


def stream(seed: Seed, purpose: int, *index: int) -> np.random.Generator:
    """A fresh Generator for ``purpose`` (and e.g. an epoch index) under ``seed``.

    >>> a = stream(3, SHUFFLE, 0).permutation(5)
    >>> bool((a == stream(3, SHUFFLE, 0).permutation(5)).all())
    True
    >>> stream(-1, INIT)
    Traceback (most recent call last):
    ...
    fnn.errors.ConfigError: seed must be an int >= 0 or a numpy SeedSequence, got -1
    """
    base = seed_sequence(seed)
    child = np.random.SeedSequence(base.entropy, spawn_key=(*base.spawn_key, purpose, *index),
                                   pool_size=base.pool_size)
    return np.random.default_rng(child)
