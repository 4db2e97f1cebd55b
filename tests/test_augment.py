"""Augmentations as values: seeded, pure, vectorised transforms of a batch of images."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fnn import expand, registry
from fnn.augment import (
    BOOK_SHIFTS,
    _gaussian_matrix,
    affine,
    compose,
    displace,
    elastic,
    shift,
    warp,
)
from fnn.errors import ConfigError, DataError, FnnTypeError

SIDE = 5  # small images keep the property tests fast; the maths is the same at 28
NO_SCIPY = "scipy is not installed (the comparisons with scipy.ndimage; pip install scipy)"


def _augmentations(side: int) -> st.SearchStrategy:
    """fnn's augmentations at random strengths (zero included), and compositions of two."""
    one = st.one_of(
        st.builds(elastic, alpha=st.floats(0, 40), sigma=st.floats(0, 5), side=st.just(side)),
        st.builds(affine, degrees=st.floats(0, 180), scale=st.floats(0, 0.5),
                  shear=st.floats(0, 60), shift=st.floats(0, 3), side=st.just(side)),
        st.builds(shift, pixels=st.integers(0, 3), side=st.just(side)))
    return st.one_of(one, st.builds(compose, one, one))


def _images(dtype, *, low=0.0, high=1.0, side=SIDE) -> st.SearchStrategy:
    elements = st.floats(low, high, width=np.dtype(dtype).itemsize * 8)
    return hnp.arrays(dtype, st.tuples(st.integers(1, 4), st.just(side * side)),
                      elements=elements)


def _frozen(x: np.ndarray) -> np.ndarray:
    y = x.copy()
    y.setflags(write=False)
    return y


def _bits(x: np.ndarray) -> np.ndarray:
    return x.view(np.uint64 if x.dtype == np.float64 else np.uint32)


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(aug=_augmentations(SIDE), dtype=st.sampled_from([np.float32, np.float64]),
       data=st.data(), seed=st.integers(0, 2**32))
def test_same_seed_same_bits_same_shape_and_dtype_inputs_untouched(aug, dtype, data, seed):
    x = _frozen(data.draw(_images(dtype)))  # read-only: a write would raise
    before = x.copy()
    first = aug(np.random.default_rng(seed), x)
    second = aug(np.random.default_rng(seed), x)
    assert first.shape == x.shape and first.dtype == x.dtype
    assert np.array_equal(_bits(first), _bits(second))
    assert np.array_equal(x, before) and not np.shares_memory(first, x)


@settings(max_examples=60, deadline=None)
@given(aug=_augmentations(SIDE), data=st.data(), seed=st.integers(0, 2**32),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_pixels_stay_within_the_inputs_range_and_the_zero_fill(aug, data, seed, dtype):
    x = data.draw(_images(dtype, low=-3.0, high=5.0))
    out = aug(np.random.default_rng(seed), x)
    assert out.min() >= min(x.min(), 0) and out.max() <= max(x.max(), 0)


@settings(max_examples=40, deadline=None)
@given(aug=_augmentations(SIDE), data=st.data(), seed=st.integers(0, 2**32))
def test_mnist_pixels_stay_in_zero_one(aug, data, seed):
    out = aug(np.random.default_rng(seed), data.draw(_images(np.float32)))
    assert ((out >= 0) & (out <= 1)).all()


@pytest.mark.parametrize("aug", [elastic(alpha=0.0, side=SIDE),
                                 elastic(alpha=0.0, sigma=0.0, side=SIDE),
                                 affine(degrees=0, scale=0, shear=0, shift=0, side=SIDE),
                                 shift(pixels=0, side=SIDE), compose(),
                                 compose(shift(0, side=SIDE), elastic(0.0, side=SIDE))],
                         ids=repr)
@settings(max_examples=30, deadline=None)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_zero_strength_is_the_identity_bit_for_bit(aug, data, dtype):
    x = _frozen(data.draw(_images(dtype, low=-1e3, high=1e3)))  # -0.0 included
    out = aug(np.random.default_rng(0), x)
    assert np.array_equal(_bits(out), _bits(x)) and not np.shares_memory(out, x)


@pytest.mark.parametrize("aug", [elastic(), affine(), shift(), compose(affine(), elastic())],
                         ids=repr)
def test_full_size_mnist_batches_of_both_dtypes(aug):
    from fnn.datasets import load_sample
    x = load_sample(dtype=np.float64).training.x[:50]
    out64 = aug(np.random.default_rng(1), _frozen(x))
    out32 = aug(np.random.default_rng(1), _frozen(x.astype(np.float32)))
    assert out64.dtype == np.float64 and out32.dtype == np.float32 and out32.shape == x.shape
    # the same draws whatever the dtype: the two differ only by rounding
    assert np.abs(out64 - out32).max() < 1e-4
    assert not np.array_equal(out64, x)  # it did something
    assert ((out32 >= 0) & (out32 <= 1)).all()


def test_different_streams_give_different_distortions():
    x = np.random.default_rng(0).random((3, 784))
    for aug in (elastic(), affine(), shift()):
        outs = [aug(np.random.default_rng(s), x) for s in range(4)]
        assert len({o.tobytes() for o in outs}) > 1


# --------------------------------------------------------------------------- by hand


@pytest.mark.parametrize(("dy", "dx"), [*BOOK_SHIFTS, (2, -3), (0, 0)])
def test_a_constant_displacement_is_the_shift_of_fnn_expand(dy, dx):
    x = np.random.default_rng(0).random((4, 784))
    out = displace(x, np.full((4, 1, 1), dy), np.full((4, 1, 1), dx))
    assert np.array_equal(out, expand.shift(x, dy, dx))


def test_a_one_pixel_shift_moves_the_pixel():
    x = np.zeros((1, 16))
    x[0, 5] = 1.0  # row 1, column 1 of a 4x4 image
    out = displace(x, np.ones(1), np.zeros(1), side=4)  # one row down
    assert np.flatnonzero(out).tolist() == [9] and out[0, 9] == 1.0
    half = displace(x, np.zeros(1), np.full(1, 0.5), side=4)  # half a column right
    assert half[0, 5] == half[0, 6] == 0.5 and half.sum() == 1.0


class _ConstantRng:
    """A stand-in for a Generator whose uniform draws are all ``value``."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self, shape, dtype=np.float64):
        return np.full(shape, self.value, dtype)


@pytest.mark.parametrize(("alpha", "value", "moved"), [(1.0, 1.0, 1), (2.0, 1.0, 2),
                                                        (1.0, 0.0, -1), (3.0, 0.5, 0)])
def test_elastic_with_a_constant_field_is_a_shift(alpha, value, moved):
    # sigma 0 leaves the field as drawn: uniform draws u give displacements alpha (2u - 1)
    x = np.random.default_rng(0).random((3, 784))
    out = elastic(alpha=alpha, sigma=0.0)(_ConstantRng(value), x)
    assert np.array_equal(out, expand.shift(x, moved, moved))


def test_a_quarter_turn_of_a_small_image():
    img = np.arange(1.0, 10.0).reshape(1, 9)
    quarter = np.array([[[0.0, -1.0], [1.0, 0.0]]])  # counter-clockwise as displayed
    out = warp(img, quarter, side=3).reshape(3, 3)
    assert out.tolist() == np.rot90(img.reshape(3, 3)).tolist() == [[3, 6, 9], [2, 5, 8],
                                                                      [1, 4, 7]]
    assert warp(img, np.eye(2)[None], np.array([[0.0, 1.0]]), side=3).reshape(
        3, 3).tolist() == [[0, 1, 2], [0, 4, 5], [0, 7, 8]]


def test_affine_rotation_is_fnn_expands_rotation_of_the_documented_draws():
    x = np.random.default_rng(0).random((6, 784))
    out = affine(degrees=30, scale=0, shear=0, shift=0)(np.random.default_rng(7), x)
    angles = 30 * np.random.default_rng(7).uniform(-1, 1, (6, 5))[:, 0]
    assert np.allclose(out, expand.rotate(x, angles), atol=1e-12)


def test_affine_shift_scale_and_shear_follow_the_documented_draws():
    x = np.random.default_rng(0).random((6, 784))
    draws = np.random.default_rng(3).uniform(-1, 1, (6, 5))
    moved = affine(degrees=0, scale=0, shear=0, shift=2.0)(np.random.default_rng(3), x)
    assert np.allclose(moved, displace(x, 2 * draws[:, 3, None, None],
                                       2 * draws[:, 4, None, None]), atol=1e-12)
    scaled = affine(degrees=0, scale=0.2, shear=0, shift=0)(np.random.default_rng(3), x)
    factors = 1 + 0.2 * draws[:, 2]
    assert np.allclose(scaled, warp(x, factors[:, None, None] * np.eye(2)), atol=1e-12)
    sheared = affine(degrees=0, scale=0, shear=20, shift=0)(np.random.default_rng(3), x)
    k = np.tan(np.deg2rad(20 * draws[:, 1]))
    lean = np.array([[[1.0, 0.0], [-t, 1.0]] for t in k])  # the top moves right for k > 0
    assert np.allclose(sheared, warp(x, lean), atol=1e-12)


def test_shear_leans_the_top_right():
    x = np.zeros((1, 49))
    x[0, 3] = 1.0  # top middle of a 7x7 image, three rows above the centre
    lean = np.array([[[1.0, 0.0], [-1.0 / 3.0, 1.0]]])
    assert np.flatnonzero(warp(x, lean, side=7)).tolist() == [4]


def test_shift_picks_the_original_or_one_of_the_books_four_shifts():
    assert BOOK_SHIFTS == expand.SHIFTS
    x = np.random.default_rng(0).random((200, 784))
    out = shift()(np.random.default_rng(1), x)
    candidates = [x] + [expand.shift(x, dy, dx) for dy, dx in BOOK_SHIFTS]
    chosen = [next(i for i, c in enumerate(candidates) if np.array_equal(c[k], out[k]))
              for k in range(200)]
    counts = np.bincount(chosen, minlength=5)
    assert (counts > 20).all()  # each of the five about 40 times
    two = shift(pixels=2)(np.random.default_rng(1), x)
    assert all(any(np.array_equal(two[k], expand.shift(x[k:k + 1], 2 * dy, 2 * dx)[0])
                   for dy, dx in ((0, 0), *BOOK_SHIFTS)) for k in range(20))


def test_compose_applies_in_order_from_one_stream():
    x = np.random.default_rng(0).random((4, 784))
    first, second = affine(), elastic()
    rng = np.random.default_rng(5)
    by_hand = second(rng, first(rng, x))
    assert np.array_equal(compose(first, second)(np.random.default_rng(5), x), by_hand)
    assert not np.array_equal(compose(second, first)(np.random.default_rng(5), x), by_hand)


def test_an_empty_batch_gives_an_empty_batch():
    empty = np.zeros((0, 784), np.float32)
    for aug in (elastic(), affine(), shift(), compose(elastic(), shift())):
        out = aug(np.random.default_rng(0), empty)
        assert out.shape == (0, 784) and out.dtype == np.float32


def test_simards_default_moves_pixels_about_one_and_a_half_pixels():
    g = _gaussian_matrix(4.0, 28).astype(np.float64)
    fields = np.random.default_rng(0).uniform(-1, 1, (4000, 28, 28))
    centre = (34 * g @ fields @ g.T)[:, 8:20, 8:20]
    assert 1.3 < centre.std() < 1.5


# --------------------------------------------------------------------------- against scipy


@pytest.mark.parametrize(("sigma", "side"), [(4.0, 28), (1.0, 28), (0.3, 5), (6.0, 10),
                                             (0.0, 7)])
def test_the_gaussian_matrix_is_scipys_gaussian_filter(sigma, side):
    ndimage = pytest.importorskip("scipy.ndimage", reason=NO_SCIPY)
    fields = np.random.default_rng(0).random((3, side, side))
    ours = _gaussian_matrix(sigma, side) @ fields @ _gaussian_matrix(sigma, side).T
    theirs = (fields if sigma == 0 else
              ndimage.gaussian_filter(fields, (0, sigma, sigma), mode="constant"))
    assert np.allclose(ours, theirs, atol=1e-6)


def test_displace_is_scipys_bilinear_map_coordinates_with_zeros_outside():
    ndimage = pytest.importorskip("scipy.ndimage", reason=NO_SCIPY)
    rng = np.random.default_rng(0)
    x = rng.random((5, 784))
    dy, dx = rng.normal(0, 4, (2, 5, 28, 28))
    rows = np.arange(28)[:, None] - dy
    cols = np.arange(28)[None, :] - dx
    image = np.broadcast_to(np.arange(5)[:, None, None], rows.shape)
    theirs = ndimage.map_coordinates(x.reshape(5, 28, 28), [image, rows, cols], order=1,
                                     mode="grid-constant")
    assert np.allclose(displace(x, dy, dx).reshape(5, 28, 28), theirs, atol=1e-12)


# --------------------------------------------------------------------------- values, names


def test_augmentations_built_alike_are_equal_values():
    assert elastic() == elastic(alpha=34, sigma=4) and elastic() != elastic(alpha=8.0)
    assert compose(shift(), affine()) == compose(shift(), affine())
    assert len({elastic(), elastic(), shift()}) == 2
    assert repr(shift()) == "shift(pixels=1, side=28)"


@pytest.mark.parametrize("value", [elastic(), elastic(alpha=8.0, sigma=3.0, side=20),
                                   affine(), affine(degrees=15, scale=0.15, shear=0, shift=2),
                                   shift(), shift(pixels=2),
                                   compose(affine(), elastic(alpha=36.0, sigma=5.0)),
                                   compose(shift(), compose(affine(), elastic())), compose()],
                         ids=repr)
def test_specs_round_trip_through_the_registry(value):
    spec = registry.augmentation_spec(value)
    assert registry.augmentation(spec) == value
    text = registry.spec_text(spec)
    assert registry.augmentation(text) == value
    assert registry.spec_text(registry.parse_spec(text)) == text


def test_registry_names_and_texts():
    assert sorted(registry.AUGMENTATIONS) == ["affine", "compose", "elastic", "shift"]
    assert registry.augmentation("elastic") == elastic()
    assert registry.augmentation_spec(compose(shift(), elastic())) == {
        "name": "compose", "links": [{"name": "shift", "pixels": 1, "side": 28},
                                     {"name": "elastic", "alpha": 34.0, "sigma": 4.0,
                                      "side": 28}]}


def _own(rng, x):
    return x.copy()


@pytest.mark.parametrize(("call", "message"), [
    (lambda: registry.augmentation("cutout"),
     "unknown augmentation 'cutout'; expected one of ['affine', 'compose', 'elastic', 'shift']"),
    (lambda: registry.augmentation("elastic(alpha=-1)"), "alpha must be a finite number >= 0"),
    (lambda: registry.augmentation("elastic(beta=1)"),
     "augmentation 'elastic' does not take ['beta']"),
    (lambda: registry.augmentation({"name": "compose", "links": "shift"}),
     "augmentation.links: expected a list of specs"),
    (lambda: registry.augmentation_spec(_own), "is not one of fnn's own"),
    (lambda: registry.augmentation_spec(compose(shift(), _own)), "is not one of fnn's own"),
])
def test_registry_refuses_unknown_names_bad_settings_and_a_users_own(call, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        call()


# --------------------------------------------------------------------------- bad calls


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: elastic(alpha=-1.0), ConfigError, "alpha must be a finite number >= 0, got -1.0"),
    (lambda: elastic(sigma=math.nan), ConfigError, "sigma must be a finite number >= 0"),
    (lambda: elastic(alpha="34"), FnnTypeError, "alpha must be a finite number >= 0"),
    (lambda: elastic(side=0), ConfigError, "side must be an int >= 1, got 0"),
    (lambda: affine(degrees=-5), ConfigError, "degrees must be a finite number >= 0"),
    (lambda: affine(scale=1.0), ConfigError, r"scale must be a number in \[0, 1\), got 1.0"),
    (lambda: affine(shear=90), ConfigError, r"shear must be a number of degrees in \[0, 90\)"),
    (lambda: affine(shift=math.inf), ConfigError, "shift must be a finite number >= 0"),
    (lambda: shift(pixels=-1), ConfigError, "pixels must be an int >= 0, got -1"),
    (lambda: shift(pixels=1.5), FnnTypeError, "pixels must be an int >= 0, got 1.5"),
    (lambda: shift(side=True), FnnTypeError, "side must be an int >= 1, got True"),
    (lambda: compose(shift(), 3), FnnTypeError, "compose takes augmentations.*got 3 at pos"),
    (lambda: elastic()(np.random.default_rng(0), np.zeros((2, 100))), DataError,
     r"x must be \(m, 784\) rows of 28x28 images, got \(2, 100\)"),
    (lambda: shift()(np.random.default_rng(0), np.zeros(784)), DataError,
     r"x must be \(m, 784\) rows"),
    (lambda: affine()(np.random.default_rng(0), np.zeros((2, 784), np.uint8)), DataError,
     "x must hold floating-point pixels, got dtype uint8"),
    (lambda: warp(np.zeros((2, 9)), np.eye(2)[None], side=3), DataError,
     r"warp needs one \(2, 2\) matrix and one \(2,\) offset per image \(2\)"),
])
def test_bad_settings_and_inputs_are_refused_with_their_name(call, error, message):
    with pytest.raises(error, match=message):
        call()
