"""Expanded training data: the book's one-pixel shifts, seeded rotations, and their spec."""

from __future__ import annotations

import numpy as np
import pytest

from fnn.data import Labelled
from fnn.errors import ConfigError
from fnn.expand import NO_EXPANSION, Expansion, expand, expand_labelled, rotate, shift


def test_shifts_move_pixels_by_one_with_zeros_in():
    img = np.arange(1.0, 10.0).reshape(1, 9)  # [[1 2 3] [4 5 6] [7 8 9]]
    assert shift(img, -1, 0, side=3).tolist() == [[4, 5, 6, 7, 8, 9, 0, 0, 0]]
    assert shift(img, 1, 0, side=3).tolist() == [[0, 0, 0, 1, 2, 3, 4, 5, 6]]
    assert shift(img, 0, -1, side=3).tolist() == [[2, 3, 0, 5, 6, 0, 8, 9, 0]]
    assert shift(img, 0, 1, side=3).tolist() == [[0, 1, 2, 0, 4, 5, 0, 7, 8]]


def test_expand_is_the_books_five_fold_set_and_pure():
    rng = np.random.default_rng(0)
    x = rng.random((4, 784)).astype(np.float32)
    labels = np.array([3, 1, 4, 1])
    x.setflags(write=False)
    big, big_labels = expand(x, labels, seed=0)
    assert big.shape == (20, 784) and big.dtype == np.float32
    np.testing.assert_array_equal(big[:4], x)
    np.testing.assert_array_equal(big[4:8], shift(x, -1, 0))
    assert big_labels.tolist() == labels.tolist() * 5
    r1, _ = expand(x, labels, seed=5, shifts=False, rotations=2)
    r2, _ = expand(x, labels, seed=5, shifts=False, rotations=2)
    assert r1.shape == (12, 784) and r1.tobytes() == r2.tobytes()


def test_a_zero_rotation_is_the_identity_and_a_full_turn_nearly():
    x = np.random.default_rng(1).random((3, 784))
    np.testing.assert_array_equal(rotate(x, np.zeros(3)), x)
    np.testing.assert_allclose(rotate(x, np.full(3, 360.0)), x, atol=1e-9)


@pytest.mark.parametrize(("text", "expansion"), [
    ("none", NO_EXPANSION), ("shifts", Expansion(shifts=True)),
    ("rotations:3", Expansion(rotations=3)),
    ("shifts+rotations:2", Expansion(shifts=True, rotations=2)),
])
def test_an_expansion_reads_and_writes_its_text_and_json(text, expansion):
    assert Expansion.parse(text) == expansion and expansion.text == text
    assert Expansion.from_json(expansion.to_json()) == expansion


@pytest.mark.parametrize("text", ["shiftsrotations:2", "+shifts", "shifts+", "rotations:x", ""])
def test_a_bad_expansion_text_names_the_forms(text):
    with pytest.raises(ConfigError, match="expansion must be none, shifts, rotations:K or "
                                          "shifts\\+rotations:K"):
        Expansion.parse(text)


def test_expanding_labelled_data_follows_the_expansion():
    data = Labelled(np.random.default_rng(2).random((3, 784)), np.array([1, 2, 3]))
    assert expand_labelled(data, NO_EXPANSION, seed=0) is data
    big = expand_labelled(data, Expansion(shifts=True), seed=0)
    assert big.x.shape == (15, 784) and big.labels.tolist() == [1, 2, 3] * 5
    with pytest.raises(ConfigError, match="expansion shifts must be true or false"):
        Expansion.from_json({"shifts": 1, "rotations": 0, "max_degrees": 10.0})
