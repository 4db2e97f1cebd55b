"""Streams derived from one seed: one per purpose and index, never overlapping."""

from __future__ import annotations

import numpy as np

from fnn.seeds import AUGMENT, DROPOUT, EXPAND, INIT, SHUFFLE, stream


def test_each_purpose_and_index_has_its_own_stream_and_reruns_match():
    draws = {(p, i): stream(7, p, i).random() for p in (INIT, SHUFFLE, DROPOUT, EXPAND, AUGMENT)
             for i in range(3)}
    assert len(set(draws.values())) == len(draws)
    assert stream(7, SHUFFLE, 2).random() == draws[SHUFFLE, 2]


def test_a_seed_sequence_child_is_a_seed_of_its_own():
    child = np.random.SeedSequence(7, spawn_key=(1,))
    assert stream(child, INIT).random() != stream(7, INIT).random()
    assert stream(child, INIT).random() == stream(np.random.SeedSequence(7, spawn_key=(1,)),
                                                  INIT).random()
